"""Counts in the shared cache, atomic across workers: fixed-window counters for rates, refilling allowances for locks.

Both keep one key per ident in Django's default cache and raise CounterUnavailable when it fails, so every
limit fails the same way. Fixed windows count what was spent in a clock window (the SMS budget, throttles,
the breaker): simple, reportable, up to twice the limit across a window's edge. An allowance (GCRA, the
generic cell rate algorithm of ATM networks) is what a lock needs: it refills steadily, so a lock always
ends by itself after one refill period, and a burst at a window's edge buys nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote

from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: Seconds a window's key outlives the window: a hit computed just before the end still finds its key.
EXPIRY_MARGIN = 5
#: Longer names are refused: with the ident (at most MAX_IDENT_LENGTH), the window index and Django's key
#: prefix and version, a key stays well under memcached's 250 characters.
MAX_NAME_LENGTH = 64
MAX_IDENT_LENGTH = 100
# Kept as they are in keys: E.164 numbers, IPv4/IPv6 addresses and scope names read as themselves.
_IDENT_SAFE_CHARS = ":+@[]"


class CounterUnavailable(Exception):
    """The shared cache could not count (RedisError): callers decide to refuse (fail closed) or to go on."""


@dataclass(frozen=True)
class Count:
    """What a hit left: the counter's value and the end of the window it counted in."""

    value: int  # the counter's value after the hit
    window_end: datetime  # when this window ends (aware)

    def retry_after(self, now: datetime) -> int:
        """Whole seconds from `now` until the window ends, at least 1 (a Retry-After of 0 invites a retry loop)."""
        return max(1, math.ceil((self.window_end - now).total_seconds()))


def _key_part(ident: str) -> str:
    """`ident` as a piece of cache key that memcached-style checks accept, distinct for distinct idents.

    Percent-encoding leaves the idents counted in practice (addresses, E.164 numbers, names) readable and
    removes spaces and control characters, injectively. An ident still too long (a client-written
    X-Forwarded-For) becomes `#` and its SHA-256, which no encoded ident can be (`#` is encoded).
    """
    encoded = quote(ident, safe=_IDENT_SAFE_CHARS, errors="surrogatepass")
    if len(encoded) <= MAX_IDENT_LENGTH:
        return encoded
    return "#" + hashlib.sha256(ident.encode("utf-8", "surrogatepass")).hexdigest()


# A window's hit on Redis: INCR, and the expiry with the window's first hit, atomically (ARGV[1]: seconds).
# Django stores integers as plain Redis integers, so cache.get reads the count back.
_HIT_LUA = """
local value = redis.call('INCR', KEYS[1])
if value == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return value
"""


class WindowCounter:
    """A count per ident in fixed windows of `seconds`, aligned on the epoch, kept in Django's default cache.

    One cache key per window, `{name}:{ident}:{window_index}`, expiring EXPIRY_MARGIN seconds after the
    window's end. On Redis, Django's `incr` is EXISTS then INCR: a key expiring between the two is
    recreated by INCR without an expiry. A fixed key would then count (and lock) forever; a per-window key
    is never read again once its window is over, and `hit` re-arms its expiry anyway.

    `name` is a constant of the code, unique per counter (idents are what clients vary).
    """

    def __init__(self, name: str, seconds: int) -> None:
        """Raises ValueError for an empty or over-long name, a name with spaces or control characters, or
        a window shorter than one second."""
        if not name or len(name) > MAX_NAME_LENGTH or any(c.isspace() or not c.isprintable() for c in name):
            raise ValueError(f"invalid counter name {name!r}: 1 to {MAX_NAME_LENGTH} printable characters, no spaces")
        if seconds < 1:
            raise ValueError(f"a counter window lasts at least one second, not {seconds}")
        self.name = name
        self.seconds = seconds

    def _window(self, now: datetime) -> int:
        if now.tzinfo is None or now.utcoffset() is None:
            # timestamp() would read a naive datetime in the server's zone: windows would shift silently.
            raise ValueError("counters need an aware datetime")
        return math.floor(now.timestamp() / self.seconds)

    def key(self, ident: str, now: datetime) -> str:
        """The cache key (before Django's prefix) counting `ident` in the window containing `now`.

        Raises ValueError for a naive `now`.
        """
        return f"{self.name}:{_key_part(ident)}:{self._window(now)}"

    def window_end(self, now: datetime) -> datetime:
        """The end of the window containing `now`, in `now`'s time zone. Raises ValueError for a naive `now`."""
        return datetime.fromtimestamp((self._window(now) + 1) * self.seconds, tz=now.tzinfo)

    def hit(self, ident: str, now: datetime) -> Count:
        """Atomically add one to `ident`'s count in the window containing `now`; returns the new count.

        Concurrent hits, from any thread or worker, each get a distinct value: on Redis one script (INCR,
        and the key's expiry with the window's first hit: one round trip), elsewhere `cache.add` then
        `cache.incr`, both atomic on LocMemCache. Raises CounterUnavailable when the cache fails
        (RedisError) or cannot keep the key (it vanished twice between add and incr); ValueError for a
        naive `now`. Any other error of the cache backend propagates as it is.
        """
        key = self.key(ident, now)
        window_end = self.window_end(now)
        timeout = math.ceil((window_end - now).total_seconds()) + EXPIRY_MARGIN
        backend = caches["default"]
        if isinstance(backend, RedisCache):
            try:
                full_key = backend.make_and_validate_key(key)
                client = cast(Any, backend)._cache.get_client(full_key, write=True)
                value = int(_registered(client, _HIT_LUA)(keys=[full_key], args=[timeout], client=client))
            except RedisError as exc:
                raise CounterUnavailable(f"counter {self.name} unavailable: {type(exc).__name__}") from exc
            return Count(value=value, window_end=window_end)
        value = self._add_and_incr(key, timeout)
        if value == 1:
            # The window's first hit: if INCR recreated a key that expired after EXISTS, it did so
            # without an expiry. One more round trip per window and ident makes sure the key goes.
            try:
                cache.touch(key, timeout=timeout)
            except RedisError as exc:  # the hit is counted: only the key's expiry is in doubt
                logger.warning("Counter %s: could not re-arm a key's expiry (%s)", self.name, type(exc).__name__)
        return Count(value=value, window_end=window_end)

    def _add_and_incr(self, key: str, timeout: int) -> int:
        """Create `key` at 0 unless it exists, then increment it; the new value. Raises CounterUnavailable."""
        try:
            for _attempt in range(2):
                cache.add(key, 0, timeout=timeout)
                try:
                    return int(cache.incr(key))
                except ValueError:  # the key expired between add and incr: add it again
                    continue
        except RedisError as exc:
            raise CounterUnavailable(f"counter {self.name} unavailable: {type(exc).__name__}") from exc
        # Only a cache that does not keep keys (DummyCache, a full cache evicting at once) gets here.
        raise CounterUnavailable(f"counter {self.name} unavailable: the cache does not keep its key")

    def undo(self, ident: str, now: datetime) -> None:
        """Take back one hit of `ident` in the window containing `now`, for an attempt that did not count.

        Best effort, never raises for the cache: a missing key (expired with its window) has nothing to
        take back, and a RedisError is logged at WARNING (the key expires with its window anyway). Raises
        ValueError for a naive `now`; other errors of the cache backend propagate.
        """
        key = self.key(ident, now)
        try:
            cache.decr(key)
        except ValueError:
            pass
        except RedisError as exc:
            logger.warning("Counter %s: could not take back a hit (%s)", self.name, type(exc).__name__)

    def reset(self, ident: str, now: datetime) -> None:
        """Forget `ident`'s count in the window containing `now` (the next hit counts 1).

        Best effort, never raises for the cache: a RedisError is logged at WARNING (the key expires with
        its window anyway). Raises ValueError for a naive `now`; other errors of the cache backend propagate.
        """
        key = self.key(ident, now)
        try:
            cache.delete(key)
        except RedisError as exc:
            logger.warning("Counter %s: could not reset a count (%s)", self.name, type(exc).__name__)

    def get(self, ident: str, now: datetime) -> int:
        """`ident`'s count in the window containing `now`, 0 when it has none.

        Raises CounterUnavailable when the cache fails (RedisError); ValueError for a naive `now`.
        """
        key = self.key(ident, now)
        try:
            value = cache.get(key, 0)
        except RedisError as exc:
            raise CounterUnavailable(f"counter {self.name} unavailable: {type(exc).__name__}") from exc
        return int(value)


# --- Refilling allowances --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    """What asking an allowance for one unit answered."""

    granted: bool  # the unit was taken (False: the allowance is empty, nothing was taken)
    left: int  # whole units left after this answer
    wait: float  # seconds until the next unit comes back when nothing is left, else 0.0

    def retry_after(self) -> int:
        """Whole seconds until a unit is available again, at least 1 (a Retry-After)."""
        return max(1, math.ceil(self.wait))


# GCRA on one stored number per key, the "theoretical arrival time" (TAT): the moment the allowance would be
# full again. Taking a unit moves it one interval later; it is granted while the TAT stays within `burst`
# intervals of now. A negative cost gives a unit back; the cost "refill" deletes the key. The key expires
# when the allowance is full again, so an idle ident costs nothing and every count decays to zero by itself.
# Several keys at once (a guess takes from two or three allowances): all of them or none, in one round trip.
# Arguments: now, write ('1', or '0' to only look), then per key its interval, burst * interval and cost
# (seconds). Returns {granted (0 or 1), the fewest units left (before a refused or a look, after a write),
# the seconds until every refusing key has a unit again}.
_GCRA_LUA = """
local now = tonumber(ARGV[1])
local write = ARGV[2] == '1'
local refused, wait, left = false, 0, nil
local news = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i])
  local capacity = tonumber(ARGV[3 * i + 1])
  local units
  if ARGV[3 * i + 2] == 'refill' then
    news[i] = false
    units = capacity / interval
  else
    local tat = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
    if tat < now then tat = now end
    local new = tat + tonumber(ARGV[3 * i + 2])
    news[i] = new
    if new - now > capacity + 1e-6 then
      refused = true
      wait = math.max(wait, new - now - capacity)
      units = (capacity - (tat - now)) / interval
    elseif write then
      units = (capacity - math.max(new - now, 0)) / interval
    else
      units = (capacity - (tat - now)) / interval
    end
  end
  if left == nil or units < left then left = units end
end
if refused then return {0, tostring(left), tostring(wait)} end
if write then
  for i = 1, #KEYS do
    local new = news[i]
    if not new or new <= now then
      redis.call('DEL', KEYS[i])
    else
      redis.call('SET', KEYS[i], string.format('%.17g', new), 'PX', math.ceil((new - now) * 1000) + 1000)
    end
  end
end
return {1, tostring(left), '0'}
"""
#: What `apply` costs one allowance: a unit, a unit given back, or all of them back.
TAKE, GIVE_BACK, REFILL = "take", "give back", "refill"

#: LocMemCache lives in this process: one lock makes its read-modify-write atomic across threads.
_LOCMEM_LOCK = threading.Lock()


class Allowance:
    """Per ident, `burst` units that come back one every `interval` seconds (a token bucket, kept as GCRA).

    An empty allowance is a lock that ends by itself within `interval` seconds; over any `period` seconds at
    most `burst + period / interval` units can be taken. Kept in the default cache as one key per ident
    (`allowance:{name}:{ident}`), updated atomically: by a Lua script on Redis (one round trip), under a
    process lock on LocMemCache (per process: development and tests). Other cache backends cannot update a
    key atomically and are refused (CounterUnavailable): the settings only allow those two.

    `name` is a constant of the code, unique per allowance.
    """

    def __init__(self, name: str, burst: int, interval: float) -> None:
        """Raises ValueError for an invalid name (as WindowCounter's), a burst below 1 or an interval not
        above 0."""
        if not name or len(name) > MAX_NAME_LENGTH or any(c.isspace() or not c.isprintable() for c in name):
            raise ValueError(f"invalid allowance name {name!r}: 1 to {MAX_NAME_LENGTH} printable characters, no spaces")
        if burst < 1 or not interval > 0:
            raise ValueError(f"an allowance holds at least one unit and refills: not {burst} every {interval} s")
        self.name = name
        self.burst = burst
        self.interval = float(interval)

    @classmethod
    def per(cls, name: str, limit: tuple[int, int]) -> Allowance:
        """The allowance of a `COUNT/SECONDS` setting (waterbill.env.env_limit): COUNT units at once, refilled
        at COUNT per SECONDS (one back every SECONDS / COUNT)."""
        count, seconds = limit
        return cls(name, count, seconds / max(count, 1))

    def key(self, ident: str) -> str:
        """The cache key (before Django's prefix) of `ident`'s allowance."""
        return f"allowance:{self.name}:{_key_part(ident)}"

    def take(self, ident: str, now: datetime) -> Taken:
        """Take one unit of `ident`'s allowance at `now`, if one is left; concurrent takes never overdraw it.

        Raises CounterUnavailable when the cache fails or cannot update atomically; ValueError for a naive `now`.
        """
        return apply([(self, ident, TAKE)], now)

    def give_back(self, ident: str, now: datetime) -> None:
        """Return one unit (taken for an attempt that does not count). Best effort: a cache failure is logged."""
        settle([(self, ident, GIVE_BACK)], now)

    def peek(self, ident: str, now: datetime) -> Taken:
        """What a take would answer at `now`, taking nothing. Raises as `take`."""
        return apply([(self, ident, TAKE)], now, write=False)

    def refill(self, ident: str) -> None:
        """Fill `ident`'s allowance again (an administrator lifts a lock; a success forgives). Best effort."""
        try:
            cache.delete(self.key(ident))
        except RedisError as exc:
            logger.warning("Allowance %s: could not refill (%s)", self.name, type(exc).__name__)

    def _cost(self, change: str) -> float | None:
        """Seconds of allowance `change` costs (None: a refill)."""
        return {TAKE: self.interval, GIVE_BACK: -self.interval, REFILL: None}[change]

    def _units(self, seconds: float) -> int:
        """Whole units in `seconds` of allowance (a float's rounding never costs a unit)."""
        return math.floor(seconds / self.interval + 1e-9)


def apply(changes: Sequence[tuple[Allowance, str, str]], now: datetime, *, write: bool = True) -> Taken:
    """Apply each (allowance, ident, TAKE | GIVE_BACK | REFILL) at `now`, all of them or none, atomically.

    Granted when no TAKE finds its allowance empty; else nothing is written, and `wait` is the time until
    every refusing allowance has a unit again (the Retry-After that is true). `left` is the fewest units
    left over the allowances (after the changes when written). `write=False` only looks. One Lua script on
    Redis (one round trip); a process lock on LocMemCache.

    Raises CounterUnavailable when the cache fails or cannot update atomically; ValueError for a naive `now`
    or no changes.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("allowances need an aware datetime")
    if not changes:
        raise ValueError("nothing to apply")
    moment = now.timestamp()
    backend = caches["default"]  # the backend itself, not the thread's proxy
    if isinstance(backend, RedisCache):
        arguments: list[str] = [repr(moment), "1" if write else "0"]
        for allowance, _ident, change in changes:
            cost = allowance._cost(change)
            arguments += [
                repr(allowance.interval),
                repr(allowance.burst * allowance.interval),
                "refill" if cost is None else repr(cost),
            ]
        keys = [backend.make_and_validate_key(allowance.key(ident)) for allowance, ident, _change in changes]
        try:
            client = cast(Any, backend)._cache.get_client(keys[0], write=True)  # Django's RedisCacheClient
            granted, left, wait = _registered(client, _GCRA_LUA)(keys=keys, args=arguments, client=client)
        except RedisError as exc:
            names = ", ".join(allowance.name for allowance, _ident, _change in changes)
            raise CounterUnavailable(f"allowance {names} unavailable: {type(exc).__name__}") from exc
        return Taken(granted=bool(int(granted)), left=math.floor(float(left) + 1e-9), wait=float(wait))
    if isinstance(backend, LocMemCache):
        with _LOCMEM_LOCK:
            return _apply_locally(backend, changes, moment, write=write)
    raise CounterUnavailable(f"allowances: {type(backend).__name__} cannot update a key atomically")


def settle(changes: Sequence[tuple[Allowance, str, str]], now: datetime) -> None:
    """`apply` GIVE_BACK and REFILL changes, best effort: a cache failure is logged, not raised."""
    try:
        apply(changes, now)
    except CounterUnavailable as exc:
        logger.warning("Allowances: could not give units back (%s)", exc)


def _registered(client: Any, source: str) -> Any:
    """`source` as a redis-py script: run with EVALSHA, so its text is not sent with every call (redis-py
    loads it again when a server does not know it). Registered once; each call passes the thread's client
    (a race registers it twice: harmless)."""
    script = _SCRIPTS.get(source)
    if script is None:
        script = _SCRIPTS[source] = client.register_script(source)
    return script


_SCRIPTS: dict[str, Any] = {}


def _apply_locally(
    backend: LocMemCache, changes: Sequence[tuple[Allowance, str, str]], moment: float, *, write: bool
) -> Taken:
    """The Lua script's arithmetic, for LocMemCache (the caller holds the lock)."""
    refused, wait, left = False, 0.0, math.inf
    news: list[float | None] = []
    for allowance, ident, change in changes:
        capacity = allowance.burst * allowance.interval
        cost = allowance._cost(change)
        if cost is None:
            news.append(None)
            units = capacity
        else:
            tat = max(float(backend.get(allowance.key(ident), 0.0)), moment)
            new = tat + cost
            news.append(new)
            if new - moment > capacity + 1e-6:  # as the Lua script: float sums must not cost a unit
                refused, wait = True, max(wait, new - moment - capacity)
                units = capacity - (tat - moment)
            else:
                units = capacity - (max(new - moment, 0.0) if write else tat - moment)
        left = min(left, allowance._units(units))
    if refused:
        return Taken(granted=False, left=int(left), wait=wait)
    if write:
        for (allowance, ident, _change), tat_after in zip(changes, news, strict=True):
            if tat_after is None or tat_after <= moment:
                backend.delete(allowance.key(ident))
            else:
                backend.set(allowance.key(ident), tat_after, timeout=math.ceil(tat_after - moment) + 1)
    return Taken(granted=True, left=int(left), wait=0.0)
