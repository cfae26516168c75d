"""The API's URLs plus `bench/bare/`: a plain Django view through the same middleware, the ceiling for cheap
endpoints."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from waterbill.urls import urlpatterns as api_urlpatterns


def bare(request: HttpRequest) -> JsonResponse:
    """Does nothing but answer: what any endpoint costs before its own work."""
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/bare/", bare), *api_urlpatterns]
handler404 = "waterbill.views.not_found"
handler500 = "waterbill.views.server_error"
