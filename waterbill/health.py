"""GET /api/v1/health/: is this instance able to serve? Cheap enough for a load balancer every few seconds."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sms import get_sms_gateway

logger = logging.getLogger(__name__)


def _database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError as exc:  # one line per probe, not a traceback, while the outage lasts
        logger.error("Health check: database unreachable: %s", exc)
        return False


def _cache() -> bool:
    try:
        cache.set("health:probe", 1, timeout=10)
        return cache.get("health:probe") == 1
    except Exception as exc:  # any cache backend's connection error
        logger.error("Health check: cache unreachable: %s", exc)
        return False


def _sms() -> bool:
    try:
        return bool(get_sms_gateway().is_available())
    except Exception as exc:
        logger.error("Health check: SMS gateway failed its availability check: %s", exc)
        return False


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 while the database answers (`status` "ok", or "degraded" when the cache or SMS gateway does not);
    503 when the database does not. One query, two cache round trips; no authentication, no throttle."""
    checks = {"database": _database(), "cache": _cache(), "sms": _sms()}
    if not checks["database"]:
        status, code = "unavailable", 503
    elif all(checks.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse(
        {"status": status, "checks": {name: "ok" if ok else "unavailable" for name, ok in checks.items()}},
        status=code,
    )
