"""The account API's HTTP plumbing: its two kinds of view, its responses, the schema's error shapes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import Token

from users import serializers as s
from users.backends import client_address
from users.models import User
from users.services.sessions import device_label, device_of, open_session
from users.tokens import session_id_of, token_pair
from waterbill.exception_handler import parse_error_body
from waterbill.tasks import run_after_response
from waterbill.throttling import FixedWindowScopedThrottle
from waterbill.views import bad_request_body, csrf_failed_body, request_too_large_body

ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail", "code"],
}
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"message": {"type": "string"}, "code": {"type": "string"}},
            "required": ["message", "code"],
        },
    },
}


def bad_request(description: str = "") -> OpenApiResponse:
    """A 400: invalid fields `{field: [{message, code}]}`, or `{detail, code}` (unreadable body, or a refusal)."""
    return OpenApiResponse(
        response={"anyOf": [FIELD_ERRORS_SCHEMA, ERROR_SCHEMA]},
        description=(description + " " if description else "")
        + "Invalid fields answer `{field: [{message, code}]}`; an unreadable body answers `{detail, code}` "
        "with `parse_error`.",
    )


def error(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=s.ErrorSerializer, description=description)


def _example(body: dict[str, str]) -> dict[str, Any]:
    """An OpenAPI `examples` map of one real answer, keyed by its code."""
    return {body["code"]: {"value": body}}


def _quoted(body: dict[str, str]) -> str:
    return f"`{json.dumps(body, ensure_ascii=False)}`"


def document_refusals(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the answers Django and the parser give before a view runs.

    Every operation with a request body gets a 413 `request_too_large`; every one with a JSON body, a
    `parse_error` example on its 400 (a 400 of that one shape where the view documents none). The bad-Host
    400 and the CSRF 403 go in the schema's description instead. Examples are the real bodies in the active
    language (French unless the schema request asks otherwise).
    """
    result["components"]["schemas"].setdefault("Error", ERROR_SCHEMA)
    error_ref = {"$ref": "#/components/schemas/Error"}
    too_large = request_too_large_body()
    for operations in result["paths"].values():
        for operation in operations.values():
            body = operation.get("requestBody")
            if body is None:
                continue
            responses = operation["responses"]
            responses["413"] = {
                "description": "`request_too_large`: the body is over `DATA_UPLOAD_MAX_MEMORY_SIZE` "
                f"({settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes).",
                "content": {"application/json": {"schema": error_ref, "examples": _example(too_large)}},
            }
            if "application/json" in body["content"]:
                refused = responses.setdefault(
                    "400",
                    {"description": "`parse_error`: the body is not JSON.", "content": {"application/json": {}}},
                )
                content = refused["content"]["application/json"]
                content.setdefault("schema", error_ref)
                content.setdefault("examples", {}).update(_example(parse_error_body()))
    # Not per operation: a bad Host is refused before any URL is resolved (any path, any method), and no
    # operation can fail the CSRF check (DRF's views are csrf_exempt and JWT-only, a session cookie counts
    # for nothing); only `POST health/`, which is not in the schema, answers it.
    result["info"]["description"] += (
        f" Any request whose `Host` is not in `DJANGO_ALLOWED_HOSTS` answers 400 {_quoted(bad_request_body())}, "
        "whatever its path. A failed CSRF check answers 403 "
        f"{_quoted(csrf_failed_body())}: no operation here can (they take bearer tokens and no CSRF token), "
        "only cookie-authenticated POSTs outside the API (the admin's forms, `POST /api/v1/health/`)."
    )
    return result


def close_request_bodies(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every request body takes its listed keys only
    (`additionalProperties: false`), as users.serializers.RequestSerializer enforces (`unknown_field`, `read_only`)."""
    for name, component in result["components"]["schemas"].items():
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    return result


def new_session_pair(request: Request, user: User, device_name: str | None = None) -> dict[str, str]:
    """Open a session of `user` on the caller's device (its `device_name`, else its User-Agent) and answer its
    first token pair."""
    device = device_label(device_name, request.headers.get("User-Agent", ""))
    return token_pair(user, open_session(user, device=device, client_ip=client_ip(request)))


def continued_session_pair(request: Request, user: User) -> dict[str, str]:
    """After a change that ended every session of `user` (password, number): the caller's device goes on in a
    new session under the name of the (ended) session the request came in on; that session's first pair."""
    return new_session_pair(request, user, device_of(current_session(request)))


def current_session(request: Request) -> int | None:
    """The id of the session the request's access token belongs to (None for a token from before sessions)."""
    return session_id_of(request.auth) if isinstance(request.auth, Token) else None


UNAUTHENTICATED = error(
    "`not_authenticated`, `token_not_valid`, `user_inactive`, `user_not_found`, or `session_ended` (the account's "
    "sessions were ended since the token was issued: password changed or reset, number changed, account disabled)."
)


def client_ip(request: Request) -> str | None:
    """The client's address as the throttles see it (REMOTE_ADDR, or X-Forwarded-For per NUM_PROXIES)."""
    return client_address(request)


class AnswerFirstResponse(Response):
    """A response whose tasks start once it has been sent: the WSGI server closes a response after writing its
    body, and `close()` hands them to waterbill.tasks, off this connection's thread (so neither the end of the
    answer nor the next request on a kept-alive connection waits for them).

    For work whose duration must not show in the answer's timing (the reset SMS of a real account).
    """

    def __init__(self, *args: Any, tasks: list[Callable[[], None]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tasks = tasks

    def close(self) -> None:
        try:
            for task in self.tasks:
                run_after_response(task)
        finally:
            super().close()


def tokens_response(data: Any) -> Response:
    """An answer carrying tokens: never stored by a cache or a proxy on the way (RFC 9111 `no-store`)."""
    return Response(data, headers={"Cache-Control": "no-store"})


class PublicAPIView(APIView):
    """An endpoint for callers without a token (a stray Authorization header is ignored, not rejected)."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    # Per client IP, with the rate of the view's `throttle_scope` (settings DEFAULT_THROTTLE_RATES).
    throttle_classes = [FixedWindowScopedThrottle]

    def get_authenticate_header(self, request: Request) -> str:
        """A refused token (logout) is a 401 with this challenge, as simplejwt's own views answer."""
        return 'Bearer realm="api"'


class AccountAPIView(APIView):
    """An endpoint of the logged-in user (a valid access token)."""

    permission_classes = [IsAuthenticated]

    def account(self, request: Request) -> User:
        """The authenticated user (IsAuthenticated has refused anonymous requests)."""
        return cast(User, request.user)
