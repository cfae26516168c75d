"""Root URLs: the versioned API, its OpenAPI schema and docs, the admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from waterbill.health import health

urlpatterns = [
    path("api/v1/health/", health, name="health"),
    path("api/v1/", include("users.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
]

handler400 = "waterbill.views.bad_request"
handler403 = "waterbill.views.permission_denied"
handler404 = "waterbill.views.not_found"
handler500 = "waterbill.views.server_error"
