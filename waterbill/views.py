"""Project-wide JSON error pages: `{detail, code}` even for unknown URLs, requests Django refuses, and crashes."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """404 for any URL no view matches."""
    return JsonResponse({"detail": _("Not found."), "code": "not_found"}, status=404)


def request_too_large_body() -> dict[str, str]:
    """The 413's body, in the active language (also the OpenAPI schema's example)."""
    return {"detail": _("The request body is too large."), "code": "request_too_large"}


def bad_request_body() -> dict[str, str]:
    """The bad-Host 400's body, in the active language (also quoted by the OpenAPI schema)."""
    return {"detail": _("Bad request."), "code": "bad_request"}


def csrf_failed_body() -> dict[str, str]:
    """The CSRF 403's body, in the active language (also quoted by the OpenAPI schema)."""
    return {"detail": _("CSRF verification failed."), "code": "csrf_failed"}


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """400 for what Django refuses before any view (a Host not in ALLOWED_HOSTS...); 413 for a body over
    DATA_UPLOAD_MAX_MEMORY_SIZE."""
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(request_too_large_body(), status=413)
    return JsonResponse(bad_request_body(), status=400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """403 for a PermissionDenied raised outside DRF."""
    return JsonResponse(
        {"detail": _("You do not have permission to perform this action."), "code": "permission_denied"}, status=403
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    """403 for a cookie-authenticated POST without its CSRF token (the API itself uses none: JWT only)."""
    return JsonResponse(csrf_failed_body(), status=403)


def server_error(request: HttpRequest) -> JsonResponse:
    """500 when a view crashed (the traceback goes to the logs, never to the client)."""
    return JsonResponse({"detail": _("A server error occurred."), "code": "server_error"}, status=500)
