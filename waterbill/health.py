"""GET /api/v1/health/: is this instance able to serve? Cheap enough for a load balancer every few seconds."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sms import budget, get_sms_gateway

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


#: From this share of any hourly SMS allowance spent, `sms` is "degraded": its sends will soon be refused.
BUDGET_WARNING_SHARE = 0.8


def _sms() -> str:
    """The SMS check: "ok", "degraded" (an hourly SMS allowance is 80% spent, or the cache cannot tell) or
    "unavailable" (no gateway can send)."""
    try:
        available = bool(get_sms_gateway().is_available())
    except Exception as exc:
        logger.error("Health check: SMS gateway failed its availability check: %s", exc)
        available = False
    if not available:
        return "unavailable"
    spent = budget.usage(timezone.now())
    if spent is None or any(allowance.share >= BUDGET_WARNING_SHARE for allowance in spent):
        return "degraded"
    return "ok"


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 while the database answers (`status` "ok", or "degraded" when the cache or the SMS gateway does not,
    or an hourly SMS allowance is 80% spent); 503 when the database does not. One query, four cache round
    trips; no authentication, no throttle."""
    checks = {
        "database": "ok" if _database() else "unavailable",
        "cache": "ok" if _cache() else "unavailable",
        "sms": _sms(),
    }
    if checks["database"] != "ok":
        status, code = "unavailable", 503
    elif all(value == "ok" for value in checks.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)
