"""System checks for what the account services rely on: a cache shared by every worker."""

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
