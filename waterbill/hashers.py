"""Argon2id with the hashes running at once bounded to the cores, so a sign-up flood leaves threads to the rest."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from users.hashers import Argon2idHasher
from waterbill.bulkhead import Bulkhead, shared


def hash_slots() -> Bulkhead:
    """The process-wide bulkhead of settings.PASSWORD_HASH_CONCURRENCY slots."""
    return shared("password-hashes", settings.PASSWORD_HASH_CONCURRENCY)


@contextmanager
def _hash_slot(*, first: bool = False) -> Iterator[None]:
    # Waits until a slot is free: a hash past the cores would only share them, while every waiting thread would
    # be one more that cannot serve a cheap request. The wait is bounded by the hashes ahead (~30-40 ms each).
    with hash_slots().wait(first=first):
        yield


class BoundedArgon2idHasher(Argon2idHasher):
    """users.hashers.Argon2idHasher (same parameters, same algorithm name "argon2": every stored hash still
    verifies, and Django picks this class for them), whose encode and verify each take one of
    PASSWORD_HASH_CONCURRENCY process-wide slots for the hash's duration, a verification before the waiting
    encodes. Raises what Argon2idHasher raises."""

    def encode(self, password: str, salt: str) -> str:
        with _hash_slot():
            return super().encode(password, salt)

    def verify(self, password: str, encoded: str) -> bool:
        # A login (or a current-password check) goes before the queued new hashes: during a sign-up flood the
        # customers who have an account still get in, after at most the hashes already running.
        with _hash_slot(first=True):
            return super().verify(password, encoded)
