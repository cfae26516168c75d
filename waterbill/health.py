"""GET /api/v1/health/: is this instance able to serve? Cheap enough for a load balancer every few seconds."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from sms import breaker, budget, get_sms_gateway
from sms.backends.failover import members

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


def _backends(with_database: bool) -> list[dict[str, Any]]:
    """Each backend of the gateway, in its order: its `name`, whether it can send now (`available`), its
    circuit breaker (`circuit`: "closed" or "open"), then the sending app's delivery figures for it
    (settings.HEALTH_SMS_FIGURES, skipped without the database: one aggregate query)."""
    try:
        backends = members(get_sms_gateway())
    except Exception as exc:  # an SMS_BACKEND that cannot be loaded: nothing can send
        logger.error("Health check: SMS gateway cannot be loaded: %s", exc)
        return []
    names = [backend.name for backend in backends]
    figures: dict[str, dict[str, Any]] = {}
    if with_database:
        try:
            figures = import_string(settings.HEALTH_SMS_FIGURES)(timezone.now(), names)
        except DatabaseError as exc:
            logger.error("Health check: SMS delivery figures unavailable: %s", exc)
    answer = []
    for backend in backends:
        try:
            available = bool(backend.is_available())
        except Exception as exc:
            logger.error("Health check: SMS backend %s failed its availability check: %s", backend.name, exc)
            available = False
        circuit = "open" if breaker.is_open(backend.name) else "closed"
        failing = breaker.recent_failures(backend.name)
        answer.append({"name": backend.name, "available": available, "circuit": circuit,
                       "recent_failures": failing, **figures.get(backend.name, {})})
    return answer


def _sms(backends: list[dict[str, Any]]) -> str:
    """The SMS check: "ok", "degraded" (a backend's last sends failed, before its circuit opens; an hourly SMS
    allowance is 80% spent, or the cache cannot tell; or a backend delivers so little that the failover tries it
    last) or "unavailable" (no backend can send)."""
    if not any(backend["available"] for backend in backends):
        return "unavailable"
    if any(backend.get("tried_last") or backend.get("recent_failures") != 0 for backend in backends):
        return "degraded"
    spent = budget.usage(timezone.now())
    if spent is None or any(allowance.share >= BUDGET_WARNING_SHARE for allowance in spent):
        return "degraded"
    return "ok"


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """200 while the database answers (`status` "ok", or "degraded" when the cache or the SMS gateway does not,
    or an hourly SMS allowance is 80% spent); 503 when the database does not. `sms_backends` details each
    backend (`_backends`). Two queries (the probe, the SMS aggregate), a few cache round trips; no
    authentication, no throttle."""
    database = _database()
    backends = _backends(with_database=database)
    checks = {
        "database": "ok" if database else "unavailable",
        "cache": "ok" if _cache() else "unavailable",
        "sms": _sms(backends),
    }
    if checks["database"] != "ok":
        status, code = "unavailable", 503
    elif all(value == "ok" for value in checks.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse({"status": status, "checks": checks, "sms_backends": backends}, status=code)
