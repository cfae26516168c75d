"""Bulkheads: at most a fixed number of threads of this process in one kind of call (SMS sends, password hashes)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Full(Exception):
    """Every slot is taken: shed the request now rather than queue it behind the slow calls."""


class Bulkhead:
    """`size` slots per process. `enter` takes one without waiting (a slow dependency, such as an SMS provider
    answering in 1 s or hanging, holds at most `size` of a worker's threads, the rest are shed); `wait` takes
    one as soon as it is free (CPU-bound work, such as Argon2, bounded to the cores). Either way the threads
    outside stay free for the requests that do not need it (`GET users/me/`, login)."""

    def __init__(self, size: int) -> None:
        """Raises ValueError for a size below 1."""
        if size < 1:
            raise ValueError(f"a bulkhead has at least one slot, not {size}")
        self.size = size
        self._in_flight = 0
        self._first_waiting = 0
        self._freed = threading.Condition()

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
        with self._freed:
            if self._in_flight >= self.size:
                raise Full()
            self._in_flight += 1
        yield from self._holding()

    @contextmanager
    def wait(self, *, first: bool = False) -> Iterator[None]:
        """Hold a slot for the duration of the block, waiting for one to be free. A `first` caller takes the next
        free slot before every other waiter (a customer logging in before a flood of sign-ups)."""
        with self._freed:
            if first:
                self._first_waiting += 1
                try:
                    self._freed.wait_for(lambda: self._in_flight < self.size)
                finally:
                    self._first_waiting -= 1
            else:
                self._freed.wait_for(lambda: self._in_flight < self.size and not self._first_waiting)
            self._in_flight += 1
        yield from self._holding()

    def _holding(self) -> Iterator[None]:
        try:
            yield
        finally:
            with self._freed:
                self._in_flight -= 1
                # Every waiter looks: the one woken alone could be an ordinary one that must let a first one pass.
                self._freed.notify_all()


_shared: dict[tuple[str, int], Bulkhead] = {}
_shared_lock = threading.Lock()


def shared(name: str, size: int) -> Bulkhead:
    """The process-wide bulkhead `name` of `size` slots, made on first use. The size comes from a setting read at
    each call (tests change it): a new size is a new bulkhead."""
    with _shared_lock:
        if (name, size) not in _shared:
            _shared[(name, size)] = Bulkhead(size)
        return _shared[(name, size)]
