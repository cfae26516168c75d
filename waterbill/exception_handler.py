"""The one DRF exception handler: every error leaves the API in DRF's own shapes, each with a stable code.

* a refusal of the whole request: `{"detail": "...", "code": "..."}` (the shape simplejwt already uses);
* invalid fields: `{"<field>": [{"message": "...", "code": "..."}]}` (DRF's `get_full_details()`).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import OperationalError
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from psycopg_pool import PoolTimeout
from redis.exceptions import RedisError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler

from waterbill.counters import CounterUnavailable
from waterbill.errors import DomainError, ValidationFailed

logger = logging.getLogger(__name__)


def _domain_to_drf(exc: DomainError) -> exceptions.APIException:
    if isinstance(exc, ValidationFailed):
        return exceptions.ValidationError(
            {
                field: [exceptions.ErrorDetail(str(message), code) for message, code in items]
                for field, items in exc.errors.items()
            }
        )
    if exc.field:
        return exceptions.ValidationError({exc.field: [exceptions.ErrorDetail(str(exc.detail), exc.code)]})
    api_exc = exceptions.APIException(str(exc.detail), exc.code)
    api_exc.status_code = exc.status_code
    return api_exc


CACHE_OUTAGE = _("The service is temporarily unavailable. Please try again in a moment.")


def _is_cache_outage(exc: Exception) -> bool:
    """The shared cache (Redis) is unreachable or refusing writes (failover, out of memory): throttles and
    limits cannot be checked, so refuse with a 503. A counter (waterbill.counters) reports it as
    CounterUnavailable; code calling the cache directly lets the RedisError itself through."""
    return isinstance(exc, (RedisError, CounterUnavailable))


def parse_error_body() -> dict[str, str]:
    """The answer to a body that is not JSON, in the active language (also the OpenAPI schema's example)."""
    return {"detail": str(exceptions.ParseError.default_detail), "code": exceptions.ParseError.default_code}


def _is_pool_exhausted(exc: Exception) -> bool:
    """Every connection of the worker's database pool stayed busy for DATABASE_POOL_TIMEOUT: an overload,
    not a bug. Django raises the pool's PoolTimeout (a psycopg OperationalError) as its own OperationalError,
    the PoolTimeout as its cause."""
    return isinstance(exc, OperationalError) and isinstance(exc.__cause__, PoolTimeout)


def _unavailable() -> exceptions.APIException:
    exc = exceptions.APIException(str(CACHE_OUTAGE), "service_unavailable")
    exc.status_code = 503
    return exc


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render `exc` as described in the module docstring; None (a 500) for anything unexpected."""
    domain = exc if isinstance(exc, DomainError) else None
    if domain is not None:
        exc = _domain_to_drf(domain)
    elif _is_cache_outage(exc):
        exc = _unavailable()
    elif _is_pool_exhausted(exc):
        # One line per refusal, not a traceback: the operator's cue to check the pool against the threads.
        logger.error("Database connection pool exhausted: answered 503 (%s)", exc.__cause__)
        exc = _unavailable()
    elif isinstance(exc, Http404):  # converted as DRF's own handler does, so the shaping below applies
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    if isinstance(exc, exceptions.ValidationError):
        details = exc.get_full_details()
        if not isinstance(details, dict):  # raised without a field: DRF's key for non-field errors
            details = {api_settings.NON_FIELD_ERRORS_KEY: details}
        response.data = details
    elif isinstance(exc, exceptions.ParseError):
        # DRF's parser puts the JSON decoder's English message in the detail: answer the translated one.
        response.data = parse_error_body()
    elif isinstance(response.data, dict) and "detail" in response.data and "code" in response.data:
        # simplejwt's `{"detail", "code", "messages"}`: clients get the one shape, without the token internals.
        response.data = {"detail": str(response.data["detail"]), "code": str(response.data["code"])}
    else:
        detail = exc.detail
        if isinstance(detail, dict):  # an exception raised with a dict: flatten to its first message
            detail = next(iter(detail.values()))
        if isinstance(detail, list):
            detail = detail[0]
        response.data = {"detail": str(detail), "code": getattr(detail, "code", None) or exc.default_code}
    if response.status_code == 503 and "Retry-After" not in response:
        response["Retry-After"] = "30"
    if domain is not None:
        if domain.status_code == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        if domain.retry_after is not None:
            response["Retry-After"] = str(domain.retry_after)
    return response
