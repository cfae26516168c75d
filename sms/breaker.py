"""A circuit breaker per SMS backend, in the shared cache: after repeated failures, stop trying for a while.

So that a provider outage costs one timeout per worker and minute, not one per sign-up: while a backend's
circuit is open, its `is_available()` is False and requests fail fast (or fail over to the next backend).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.cache import cache
from django.utils import timezone
from redis.exceptions import RedisError

from waterbill.counters import CounterUnavailable, WindowCounter

logger = logging.getLogger(__name__)

FAILURES_TO_OPEN = 5  # failures in a row (no success between them) within WINDOW seconds open the circuit
WINDOW = 60
OPEN_SECONDS = 30

_failures = WindowCounter("sms:breaker:failures", WINDOW)


def _open_key(backend: str) -> str:
    return f"sms:breaker:{backend}:open"


def is_open(backend: str, now: datetime | None = None) -> bool:
    """Whether the backend's circuit is open at `now` (default: the current time). Never raises: a cache
    failure counts as closed (try the provider)."""
    now = now or timezone.now()
    try:
        open_until = cache.get(_open_key(backend))
    except RedisError:
        return False
    # The flag holds its end, not just 1: a caller's clock (tests) decides, not only the key's expiry.
    return isinstance(open_until, (int, float)) and now.timestamp() < open_until


def recent_failures(backend: str, now: datetime | None = None) -> int | None:
    """The backend's failures in a row (no success since) in the current WINDOW at `now`: its sends are failing
    as soon as this is above 0, before the circuit opens. None when the cache cannot tell."""
    try:
        return _failures.get(backend, now or timezone.now())
    except CounterUnavailable:
        return None


def record_failure(backend: str, now: datetime | None = None) -> None:
    """Count a failure (provider down, too slow) at `now` (default: the current time); the FAILURES_TO_OPEN-th
    in a row within a window opens the circuit for OPEN_SECONDS. Never raises: with the cache failing,
    nothing is counted."""
    now = now or timezone.now()
    try:
        failures = _failures.hit(backend, now).value
    except CounterUnavailable:
        return
    if failures < FAILURES_TO_OPEN or is_open(backend, now):
        return
    open_until = now + timedelta(seconds=OPEN_SECONDS)
    try:
        cache.set(_open_key(backend), open_until.timestamp(), timeout=OPEN_SECONDS)
    except RedisError:
        return
    logger.error("SMS backend %s failing: circuit open for %d s", backend, OPEN_SECONDS)


def record_success(backend: str, now: datetime | None = None) -> None:
    """A send went through at `now` (default: the current time): the circuit closes, and the failures in
    a row start again from zero. Never raises (best effort: both keys expire anyway)."""
    now = now or timezone.now()
    _failures.reset(backend, now)
    try:
        cache.delete(_open_key(backend))
    except RedisError:
        pass
