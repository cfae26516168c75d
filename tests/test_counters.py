"""The shared-cache window counters and refilling allowances, and the limits built on them: the SMS budget
and the circuit breaker (wrong guesses: tests/test_guess_limits.py)."""

from __future__ import annotations

import hashlib
import logging
import math
import sys
import threading
import time
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.cache.backends.base import CacheKeyWarning, memcache_key_warnings
from redis.exceptions import ConnectionError as RedisConnectionError

from sms import breaker, budget
from waterbill.counters import (
    EXPIRY_MARGIN,
    GIVE_BACK,
    REFILL,
    TAKE,
    Allowance,
    Count,
    CounterUnavailable,
    WindowCounter,
    apply,
    settle,
)

# 12:00:10 UTC: ten seconds into a minute window, ten seconds into an hour window.
NOW = datetime(2026, 3, 2, 12, 0, 10, tzinfo=UTC)


def seconds_to_live(key: str) -> float:
    """How long the cache keeps `key` (a counter's key, before Django's prefix), on locmem or Redis."""
    full_key = cache.make_key(key)
    expire_info = getattr(cache, "_expire_info", None)
    if expire_info is not None:  # LocMemCache: None for a key without expiry
        expires_at = expire_info[full_key]
        return math.inf if expires_at is None else float(expires_at) - time.time()
    client = cache._cache.get_client(full_key)  # type: ignore[attr-defined]  # RedisCache
    milliseconds = client.pttl(full_key)
    return math.inf if milliseconds == -1 else float(milliseconds) / 1000


@pytest.fixture
def add_and_incr(settings: Any) -> None:
    """The counters on LocMemCache, whatever the test settings say: the tests that patch `cache.add` and
    `cache.incr` are about that path (on Redis a hit is one script, and an unreachable Redis is tested as
    it is: test_an_unreachable_cache_is_counter_unavailable)."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()  # local memory is shared by every LocMemCache of the process: start empty


def failing_once(real: Callable[..., Any], before: Callable[[], object]) -> Callable[..., Any]:
    """`real`, except that its first call runs `before` and raises ValueError (a key gone meanwhile)."""
    calls = 0

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            before()
            raise ValueError("Key not found")
        return real(*args, **kwargs)

    return call


def test_a_hit_counts_and_returns_the_end_of_its_window() -> None:
    counter = WindowCounter("test", 60)
    assert [counter.hit("a", NOW).value for _ in range(3)] == [1, 2, 3]
    count = counter.hit("b", NOW)  # each ident counts apart
    assert count == Count(value=1, window_end=datetime(2026, 3, 2, 12, 1, tzinfo=UTC))
    assert count.retry_after(NOW) == 50
    assert count.retry_after(count.window_end - timedelta(milliseconds=1)) == 1  # whole seconds, rounded up
    assert count.retry_after(count.window_end) == 1  # never 0
    assert counter.get("a", NOW) == 3


def test_a_new_window_starts_from_zero() -> None:
    counter = WindowCounter("test", 60)
    last_second = datetime(2026, 3, 2, 12, 0, 59, 999000, tzinfo=UTC)
    counter.hit("a", last_second)
    assert counter.hit("a", last_second).value == 2
    next_window = counter.hit("a", last_second + timedelta(milliseconds=1))
    assert next_window == Count(value=1, window_end=datetime(2026, 3, 2, 12, 2, tzinfo=UTC))
    assert counter.get("a", NOW) == 2


def test_windows_are_aligned_on_the_epoch_whatever_the_time_zone() -> None:
    counter = WindowCounter("test", 3600)
    douala = NOW.astimezone(ZoneInfo("Africa/Douala"))
    counter.hit("a", NOW)
    count = counter.hit("a", douala)
    assert count.value == 2
    assert count.window_end == datetime(2026, 3, 2, 13, tzinfo=UTC)
    assert count.window_end.utcoffset() == timedelta(hours=1)  # in the caller's zone


def test_undo_takes_back_one_hit_and_is_harmless_without_a_count() -> None:
    counter = WindowCounter("test", 60)
    for _ in range(3):
        counter.hit("a", NOW)
    counter.undo("a", NOW)
    assert counter.get("a", NOW) == 2
    assert counter.hit("a", NOW).value == 3
    counter.undo("nobody", NOW)  # no key: nothing to take back, no error, no key created
    assert counter.get("nobody", NOW) == 0
    assert counter.hit("nobody", NOW).value == 1


def test_reset_forgets_only_that_window() -> None:
    counter = WindowCounter("test", 60)
    previous = NOW - timedelta(minutes=1)
    counter.hit("a", previous)
    counter.hit("a", NOW)
    counter.hit("a", NOW)
    counter.reset("a", NOW)
    assert counter.get("a", NOW) == 0
    assert counter.hit("a", NOW).value == 1
    assert counter.get("a", previous) == 1


def test_the_key_lives_until_the_end_of_its_window_plus_a_margin() -> None:
    counter = WindowCounter("test", 60)
    counter.hit("a", NOW)
    assert counter.key("a", NOW) == f"test:a:{int(NOW.timestamp()) // 60}"
    assert 50 + EXPIRY_MARGIN - 1 < seconds_to_live(counter.key("a", NOW)) <= 50 + EXPIRY_MARGIN


@pytest.mark.usefixtures("add_and_incr")
def test_a_key_that_expired_between_add_and_incr_is_added_again() -> None:
    counter = WindowCounter("test", 60)
    key = counter.key("a", NOW)
    with patch.object(cache, "incr", failing_once(cache.incr, lambda: cache.delete(key))):
        assert counter.hit("a", NOW).value == 1
    assert counter.hit("a", NOW).value == 2
    assert seconds_to_live(key) > 50  # added again with its expiry


@pytest.mark.usefixtures("add_and_incr")
def test_a_key_incr_recreated_without_expiry_still_expires() -> None:
    """Redis's INCR on a key that expired after Django's EXISTS recreates it at 1 and without an expiry."""
    counter = WindowCounter("test", 60)
    key = counter.key("a", NOW)

    def incr_recreating(real: Callable[..., int]) -> Callable[..., int]:
        def incr(*args: Any, **kwargs: Any) -> int:
            cache.set(key, 0, timeout=None)
            return real(*args, **kwargs)

        return incr

    with patch.object(cache, "incr", incr_recreating(cache.incr)):
        assert counter.hit("a", NOW).value == 1
    assert 50 < seconds_to_live(key) <= 50 + EXPIRY_MARGIN


@pytest.mark.usefixtures("add_and_incr")
def test_a_cache_that_keeps_no_key_cannot_count() -> None:
    counter = WindowCounter("test", 60)
    with patch.object(cache, "incr", side_effect=ValueError("Key not found")), pytest.raises(CounterUnavailable):
        counter.hit("a", NOW)


@pytest.mark.parametrize("method", ["add", "incr"])
@pytest.mark.usefixtures("add_and_incr")
def test_a_redis_error_while_counting_is_counter_unavailable(method: str) -> None:
    with (
        patch.object(cache, method, side_effect=RedisConnectionError("down")),
        pytest.raises(CounterUnavailable) as caught,
    ):
        WindowCounter("test", 60).hit("a", NOW)
    assert isinstance(caught.value.__cause__, RedisConnectionError)


def test_a_redis_error_while_reading_is_counter_unavailable() -> None:
    with patch.object(cache, "get", side_effect=RedisConnectionError("down")), pytest.raises(CounterUnavailable):
        WindowCounter("test", 60).get("a", NOW)


@pytest.mark.usefixtures("add_and_incr")
def test_a_redis_error_after_the_count_does_not_lose_it(caplog: pytest.LogCaptureFixture) -> None:
    """Re-arming the first hit's expiry fails: the hit was counted all the same."""
    counter = WindowCounter("test", 60)
    with patch.object(cache, "touch", side_effect=RedisConnectionError("down")):
        assert counter.hit("a", NOW).value == 1
    assert counter.get("a", NOW) == 1
    assert any(r.levelno == logging.WARNING for r in caplog.records)


@pytest.mark.parametrize(("method", "operation"), [("decr", "undo"), ("delete", "reset")])
def test_undo_and_reset_never_raise_for_redis(method: str, operation: str, caplog: pytest.LogCaptureFixture) -> None:
    counter = WindowCounter("test", 60)
    counter.hit("a", NOW)
    with patch.object(cache, method, side_effect=RedisConnectionError("down")):
        getattr(counter, operation)("a", NOW)
    assert counter.get("a", NOW) == 1
    assert [r.levelno for r in caplog.records] == [logging.WARNING]


@pytest.mark.parametrize("method", ["add", "decr", "delete", "get"])
@pytest.mark.usefixtures("add_and_incr")
def test_errors_of_another_cache_backend_are_not_swallowed(method: str) -> None:
    counter = WindowCounter("test", 60)
    operation = {"add": counter.hit, "decr": counter.undo, "delete": counter.reset, "get": counter.get}[method]
    with (
        patch.object(cache, method, side_effect=OSError("memcached down")),
        pytest.raises(OSError, match="memcached down"),
    ):
        operation("a", NOW)


@pytest.mark.parametrize(
    "ident",
    ["+237670123456", "2001:db8::ff00:42:8329", "::ffff:192.0.2.128", "[2001:db8::1]:443", "41.202.1.1"],
)
def test_numbers_and_addresses_are_kept_as_they_are_in_keys(ident: str) -> None:
    assert WindowCounter("login", 300).key(ident, NOW) == f"login:{ident}:{int(NOW.timestamp()) // 300}"


@pytest.mark.parametrize("ident", ["a b", "tab\there", "nul\x00", "\x7f", "é", "x" * 1000])
def test_any_ident_makes_a_valid_memcached_key(ident: str) -> None:
    counter = WindowCounter("throttle:register", 3600)
    assert list(memcache_key_warnings(cache.make_key(counter.key(ident, NOW)))) == []
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)
        assert counter.hit(ident, NOW).value == 1


def test_distinct_idents_never_share_a_key() -> None:
    long = "x" * 1000
    idents = ["a b", "a%20b", "a+b", "a:b", long, long + "y", "#" + hashlib.sha256(long.encode()).hexdigest()]
    counter = WindowCounter("test", 60)
    assert len({counter.key(ident, NOW) for ident in idents}) == len(idents)


def test_a_naive_datetime_or_a_bad_name_is_refused() -> None:
    naive = datetime(2026, 3, 2, 12)  # noqa: DTZ001 -- naive on purpose: its refusal is what is tested
    with pytest.raises(ValueError, match="counters need an aware datetime"):
        WindowCounter("test", 60).hit("a", naive)
    bad_name = "invalid counter name"
    for name, seconds, message in [
        ("", 60, bad_name),
        ("with space", 60, bad_name),
        ("x" * 65, 60, bad_name),
        ("test", 0, "a counter window lasts at least one second"),
    ]:
        with pytest.raises(ValueError, match=message):
            WindowCounter(name, seconds)


def test_concurrent_hits_from_real_threads_each_get_their_own_value() -> None:
    """On the cache the test settings configure: Redis when WATERBILL_TEST_REDIS_URL is set, else locmem."""
    threads_count = 40
    counter = WindowCounter("test", 3600)
    barrier = threading.Barrier(threads_count)

    def hit() -> int:
        try:
            barrier.wait(timeout=30)
            return counter.hit("shared", NOW).value
        finally:
            cache.close()  # this thread's connection

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns between any two bytecodes: races show on locmem too
    try:
        with ThreadPoolExecutor(max_workers=threads_count) as pool:
            futures = [pool.submit(hit) for _ in range(threads_count)]
            values = [future.result(timeout=60) for future in futures]  # a thread's exception is raised here
    finally:
        sys.setswitchinterval(switch_interval)
    assert sorted(values) == list(range(1, threads_count + 1))
    assert counter.get("shared", NOW) == threads_count


# --- Refilling allowances ----------------------------------------------------------------------------------


def test_an_allowance_gives_its_burst_then_one_unit_per_interval() -> None:
    allowance = Allowance("test", 3, 60)
    assert [(t.granted, t.left) for t in (allowance.take("a", NOW) for _ in range(4))] == [
        (True, 2), (True, 1), (True, 0), (False, 0),
    ]
    refused = allowance.take("a", NOW)
    assert refused.retry_after() == 60  # one unit back in an interval
    assert not allowance.take("a", NOW + timedelta(seconds=59)).granted
    assert allowance.take("a", NOW + timedelta(seconds=60)).granted
    assert not allowance.take("a", NOW + timedelta(seconds=60)).granted
    assert allowance.peek("a", NOW + timedelta(hours=1)).left == 3  # full again, by itself
    assert allowance.take("b", NOW).left == 2  # each ident apart


def test_a_refused_take_takes_nothing() -> None:
    """Guessing on while locked must not push the lock further away."""
    allowance = Allowance("test", 2, 60)
    allowance.take("a", NOW)
    allowance.take("a", NOW)
    for _ in range(50):
        allowance.take("a", NOW)
    assert allowance.take("a", NOW + timedelta(seconds=60)).granted


def test_several_allowances_are_taken_all_or_none() -> None:
    """A guess takes from two or three allowances at once (users.services.limits): atomically, in one call."""
    small, large = Allowance("small", 1, 60), Allowance("large", 5, 600)
    first = apply([(large, "n", TAKE), (small, "n|a", TAKE)], NOW)
    assert (first.granted, first.left) == (True, 0)  # the fewest units left, after the take
    refused = apply([(large, "n", TAKE), (small, "n|a", TAKE)], NOW)
    assert (refused.granted, refused.retry_after()) == (False, 60)
    assert large.peek("n", NOW).left == 4  # the refused call took nothing from the allowance that had units
    assert apply([(large, "n", TAKE), (small, "n|a", TAKE)], NOW, write=False).retry_after() == 60


def test_the_wait_of_a_refusal_is_until_every_empty_allowance_has_a_unit() -> None:
    short, long = Allowance("short", 1, 10), Allowance("long", 1, 300)
    apply([(short, "x", TAKE), (long, "x", TAKE)], NOW)
    assert apply([(short, "x", TAKE), (long, "x", TAKE)], NOW).retry_after() == 300


def test_settling_gives_back_and_refills_in_one_call() -> None:
    per_address, per_number = Allowance("addr", 3, 60), Allowance("num", 3, 60)
    for _ in range(3):
        apply([(per_address, "n|a", TAKE), (per_number, "n", TAKE)], NOW)
    settle([(per_address, "n|a", REFILL), (per_number, "n", GIVE_BACK)], NOW)
    assert (per_address.peek("n|a", NOW).left, per_number.peek("n", NOW).left) == (3, 1)


def test_nothing_to_apply_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="nothing to apply"):
        apply([], NOW)


def test_giving_back_peeking_and_refilling() -> None:
    allowance = Allowance("test", 2, 60)
    allowance.take("a", NOW)
    allowance.take("a", NOW)
    allowance.give_back("a", NOW)
    assert allowance.peek("a", NOW) == allowance.peek("a", NOW)  # a peek takes nothing
    assert allowance.peek("a", NOW).left == 1
    allowance.give_back("a", NOW)
    allowance.give_back("a", NOW)  # never above the burst
    assert allowance.peek("a", NOW).left == 2
    assert allowance.take("a", NOW).granted
    assert allowance.take("a", NOW).granted
    assert not allowance.take("a", NOW).granted
    allowance.refill("a")
    assert allowance.peek("a", NOW).left == 2


def test_an_allowance_key_expires_once_it_is_full_again() -> None:
    allowance = Allowance("test", 5, 60)
    allowance.take("a", datetime.now(UTC))
    assert 0 < seconds_to_live(allowance.key("a")) <= 60 + 1
    allowance.give_back("a", datetime.now(UTC))
    assert cache.get(allowance.key("a")) is None  # full: nothing kept


def test_an_allowance_from_a_setting_refills_its_count_over_its_seconds() -> None:
    allowance = Allowance.per("test", (12, 28800))
    assert (allowance.burst, allowance.interval) == (12, 2400.0)


@pytest.mark.parametrize(("name", "burst", "interval"), [("", 1, 1), ("a b", 1, 1), ("ok", 0, 1), ("ok", 1, 0)])
def test_an_allowance_refuses_nonsense(name: str, burst: int, interval: float) -> None:
    with pytest.raises(ValueError, match="allowance"):
        Allowance(name, burst, interval)


def test_an_allowance_needs_an_aware_datetime() -> None:
    with pytest.raises(ValueError, match="aware"):
        Allowance("test", 1, 1).take("a", datetime(2026, 3, 2, 12, 0))  # noqa: DTZ001


def test_an_unreachable_cache_is_counter_unavailable(settings: Any) -> None:
    from django.core.cache import caches

    settings.CACHES = {
        "default": {
            "BACKEND": "waterbill.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    try:
        with pytest.raises(CounterUnavailable):
            Allowance("test", 1, 1).take("a", NOW)
        Allowance("test", 1, 1).give_back("a", NOW)  # best effort: logged, never raised
        with pytest.raises(CounterUnavailable):
            WindowCounter("test", 60).hit("a", NOW)
    finally:
        caches["default"].close()


def test_a_cache_that_cannot_update_atomically_is_refused(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    with pytest.raises(CounterUnavailable):
        Allowance("test", 1, 1).take("a", NOW)


def test_concurrent_takes_from_real_threads_never_overdraw_an_allowance() -> None:
    """On the cache the test settings configure: Redis when WATERBILL_TEST_REDIS_URL is set, else locmem."""
    threads_count = 40
    allowance = Allowance("test", 10, 3600)
    barrier = threading.Barrier(threads_count)

    def take() -> bool:
        try:
            barrier.wait(timeout=30)
            return allowance.take("shared", NOW).granted
        finally:
            cache.close()

    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(max_workers=threads_count) as pool:
            granted = [f.result(timeout=60) for f in [pool.submit(take) for _ in range(threads_count)]]
    finally:
        sys.setswitchinterval(switch_interval)
    assert granted.count(True) == 10
    assert allowance.peek("shared", NOW).left == 0


# --- The SMS allowances -----------------------------------------------------------------------------------


def test_an_allowance_allows_its_count_per_hour_and_gives_back_a_refused_unit(settings: Any) -> None:
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 2
    assert [budget.take(NOW, budget.SIGNUPS) for _ in range(3)] == [True, True, False]
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 3  # the refused send did not spend the third unit
    assert [budget.take(NOW, budget.SIGNUPS) for _ in range(2)] == [True, False]
    assert budget.take(NOW + timedelta(hours=1), budget.SIGNUPS) is True  # a new hour, a new allowance


def test_the_allowances_are_counted_apart(settings: Any) -> None:
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 1
    settings.SMS_HOURLY_BUDGET_ACCOUNTS = 1
    assert [budget.take(NOW, budget.SIGNUPS) for _ in range(2)] == [True, False]
    assert [budget.take(NOW, budget.ACCOUNTS) for _ in range(2)] == [True, False]
    assert [(u.allowance, u.used, u.limit) for u in budget.usage(NOW) or []] == [
        (budget.SIGNUPS, 1, 1),
        (budget.ACCOUNTS, 1, 1),
    ]


def test_a_unit_given_back_can_be_taken_again(settings: Any) -> None:
    settings.SMS_HOURLY_BUDGET_ACCOUNTS = 1
    assert budget.take(NOW, budget.ACCOUNTS) is True
    budget.give_back(NOW, budget.ACCOUNTS)
    assert budget.take(NOW, budget.ACCOUNTS) is True
    assert budget.take(NOW, budget.ACCOUNTS) is False


@pytest.mark.usefixtures("add_and_incr")
def test_the_budget_refuses_when_the_cache_cannot_count(caplog: pytest.LogCaptureFixture) -> None:
    with patch.object(cache, "add", side_effect=RedisConnectionError("down")):
        assert budget.take(NOW, budget.SIGNUPS) is False
        assert budget.take(NOW, budget.ACCOUNTS) is False
        budget.give_back(NOW, budget.ACCOUNTS)  # never raises
    assert any(r.levelno == logging.ERROR and "budget unavailable" in r.getMessage() for r in caplog.records)


# --- The circuit breaker ---------------------------------------------------------------------------------


def test_five_failures_in_a_window_open_the_circuit_for_thirty_seconds(caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(breaker.FAILURES_TO_OPEN - 1):
        breaker.record_failure("twilio", now=NOW)
    assert not breaker.is_open("twilio", now=NOW)
    breaker.record_failure("twilio", now=NOW)
    assert breaker.is_open("twilio", now=NOW)
    assert breaker.is_open("twilio", now=NOW + timedelta(seconds=breaker.OPEN_SECONDS - 1))
    assert not breaker.is_open("twilio", now=NOW + timedelta(seconds=breaker.OPEN_SECONDS))
    assert not breaker.is_open("africastalking", now=NOW)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "SMS backend twilio failing: circuit open for 30 s"
    ]


def test_failures_in_two_windows_do_not_add_up() -> None:
    window_end = datetime(2026, 3, 2, 12, 1, tzinfo=UTC)
    for _ in range(breaker.FAILURES_TO_OPEN - 1):
        breaker.record_failure("twilio", now=window_end - timedelta(seconds=1))
    breaker.record_failure("twilio", now=window_end)
    assert not breaker.is_open("twilio", now=window_end)


def test_a_failure_after_the_circuit_closed_in_the_same_window_opens_it_again() -> None:
    for _ in range(breaker.FAILURES_TO_OPEN):
        breaker.record_failure("twilio", now=NOW)
    later = NOW + timedelta(seconds=breaker.OPEN_SECONDS + 1)
    assert not breaker.is_open("twilio", now=later)
    breaker.record_failure("twilio", now=later)  # the trial send failed too
    assert breaker.is_open("twilio", now=later)


def test_a_success_closes_the_circuit_and_counts_again_from_zero() -> None:
    for _ in range(breaker.FAILURES_TO_OPEN):
        breaker.record_failure("twilio", now=NOW)
    breaker.record_success("twilio", now=NOW)
    assert not breaker.is_open("twilio", now=NOW)
    for _ in range(breaker.FAILURES_TO_OPEN - 1):
        breaker.record_failure("twilio", now=NOW)
    assert not breaker.is_open("twilio", now=NOW)


@pytest.mark.parametrize("method", ["get", "add", "incr", "set"])
@pytest.mark.usefixtures("add_and_incr")
def test_the_breaker_counts_a_cache_failure_as_closed_and_never_raises(method: str) -> None:
    with patch.object(cache, method, side_effect=RedisConnectionError("down")):
        for _ in range(breaker.FAILURES_TO_OPEN):
            breaker.record_failure("twilio", now=NOW)
        assert not breaker.is_open("twilio", now=NOW)


def test_recording_a_success_never_raises_for_the_cache() -> None:
    with patch.object(cache, "delete", side_effect=RedisConnectionError("down")):
        breaker.record_success("twilio", now=NOW)


@pytest.mark.parametrize(("burst", "seconds"), [(7, 60), (11, 28800), (5, 300), (12, 28800), (3, 10)])
def test_a_burst_is_granted_whole_whatever_the_interval(burst: int, seconds: int) -> None:
    """Float sums of the interval must never cost the last unit of a burst, on Redis as on locmem."""
    allowance = Allowance.per("test", (burst, seconds))
    granted = [allowance.take("a", NOW).granted for _ in range(burst + 1)]
    assert granted == [True] * burst + [False]
