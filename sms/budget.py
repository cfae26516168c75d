"""A global hourly budget of SMS, counted in the shared cache: a pumping attack cannot run up the bill."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def _key(now: datetime) -> str:
    return f"sms:budget:{now:%Y%m%d%H}"


def take(now: datetime) -> bool:
    """Count one SMS against the budget of `now`'s clock hour; False (and an ERROR log) when it is spent.

    `cache.add` then `cache.incr` are atomic on Redis and locmem, so concurrent senders never overspend.
    """
    key = _key(now)
    try:
        cache.add(key, 0, timeout=2 * 3600)
        used = cache.incr(key)
    except (RedisError, ValueError) as exc:  # unreachable cache: no way to know what was spent, so refuse
        logger.error("SMS budget unavailable (cache error %s): send refused", type(exc).__name__)
        return False
    if used > settings.SMS_HOURLY_BUDGET:
        give_back(now)
        logger.error(
            "SMS budget of %d per hour is spent: send refused (possible SMS pumping)", settings.SMS_HOURLY_BUDGET
        )
        return False
    return True


def give_back(now: datetime) -> None:
    """Return a unit taken by `take` for an SMS that was not sent."""
    try:
        cache.decr(_key(now))
    except (RedisError, ValueError):  # expired meanwhile, or the cache is down: nothing to give back
        pass
