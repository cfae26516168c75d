"""A circuit breaker per SMS backend, in the shared cache: after repeated failures, stop trying for a while.

So that a provider outage costs one timeout per worker and minute, not one per sign-up: while a backend's
circuit is open, its `is_available()` is False and requests fail fast (or fail over to the next backend).
"""

from __future__ import annotations

import logging
import time

from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

FAILURES_TO_OPEN = 5  # failures in a row (no success between them) within WINDOW seconds open the circuit
WINDOW = 60
OPEN_SECONDS = 30


def is_open(backend: str) -> bool:
    """Whether the backend's circuit is open now (a cache failure counts as closed: try the provider)."""
    try:
        return bool(cache.get(f"sms:breaker:{backend}:open"))
    except RedisError:
        return False


def _failures_key(backend: str) -> str:
    # Per window: a key recreated by INCR after expiring would otherwise count forever.
    return f"sms:breaker:{backend}:failures:{int(time.time() // WINDOW)}"


def record_failure(backend: str) -> None:
    """Count a failure (provider down, too slow); the FAILURES_TO_OPEN-th in a row opens the circuit."""
    key = _failures_key(backend)
    try:
        cache.add(key, 0, timeout=WINDOW + 5)
        if cache.incr(key) >= FAILURES_TO_OPEN and cache.add(f"sms:breaker:{backend}:open", 1, timeout=OPEN_SECONDS):
            logger.error("SMS backend %s failing: circuit open for %d s", backend, OPEN_SECONDS)
    except (RedisError, ValueError):
        pass


def record_success(backend: str) -> None:
    """A send went through: the backend works, and the failures in a row start again from zero."""
    try:
        cache.delete_many([f"sms:breaker:{backend}:open", _failures_key(backend)])
    except RedisError:
        pass
