"""Project-wide JSON error pages: an API answers JSON even for unknown URLs and server errors."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """404 for any URL no view matches."""
    return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    """500 when a view crashed (the traceback goes to the logs, never to the client)."""
    return JsonResponse({"detail": _("A server error occurred."), "code": "server_error"}, status=500)
