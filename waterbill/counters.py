"""Fixed-window counters in the shared cache, atomic across workers: the one primitive behind every limit."""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from django.core.cache import cache
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

        Concurrent hits, from any thread or worker, each get a distinct value (`cache.add` then
        `cache.incr`, both atomic on Redis and on LocMemCache). Raises CounterUnavailable when the cache
        fails (RedisError) or cannot keep the key (it vanished twice between add and incr); ValueError for
        a naive `now`. Any other error of the cache backend propagates as it is.
        """
        key = self.key(ident, now)
        window_end = self.window_end(now)
        timeout = math.ceil((window_end - now).total_seconds()) + EXPIRY_MARGIN
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
