"""A bulkhead: at most a fixed number of threads of this process in one kind of slow call, the rest shed at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Full(Exception):
    """Every slot is taken: shed the request now rather than queue it behind the slow calls."""


class Bulkhead:
    """`size` slots per process, taken without waiting (`enter`), so that a slow dependency (an SMS provider
    answering in 1 s, or hanging) can hold at most `size` of a worker's threads: the others stay free for the
    requests that do not need it (`GET users/me/`, login)."""

    def __init__(self, size: int) -> None:
        """Raises ValueError for a size below 1."""
        if size < 1:
            raise ValueError(f"a bulkhead has at least one slot, not {size}")
        self.size = size
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """The slots taken now."""
        return self._in_flight

    def full(self) -> bool:
        """Whether a call now would be shed (a cheap early look, before expensive work: not a reservation)."""
        return self._in_flight >= self.size

    @contextmanager
    def enter(self) -> Iterator[None]:
        """Hold a slot for the duration of the block. Raises Full at once when every slot is taken."""
        with self._lock:
            if self._in_flight >= self.size:
                raise Full()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
