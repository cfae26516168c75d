"""System checks for what the account limits rely on: a cache shared by every worker, the real client address."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_shared_cache(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """users.W001 under `check --deploy` when the cache is per process (local memory)."""
    if settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache":
        return [
            Warning(
                "The cache is local memory: per-IP throttles, login-failure limits and the SMS budget are "
                "counted separately by each worker process.",
                hint="Set CACHE_URL (or REDIS_URL) to a Redis server shared by every worker.",
                id="users.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def check_proxy_count(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """users.W002 under `check --deploy` when no proxy is declared: behind the TLS proxy production assumes,
    every client would share the proxy's address, and one client's failures would lock everyone out."""
    if settings.REST_FRAMEWORK.get("NUM_PROXIES", 0) == 0:
        return [
            Warning(
                "DJANGO_NUM_PROXIES is 0: per-IP limits count the address that connects, which behind the "
                "TLS-terminating proxy is the proxy's, shared by every client.",
                hint="Set DJANGO_NUM_PROXIES to the number of proxies that append to X-Forwarded-For.",
                id="users.W002",
            )
        ]
    return []
