"""The password hasher: Argon2id with OWASP's parameters (see docs/performance.md for the measurements)."""

from __future__ import annotations

from django.contrib.auth.hashers import Argon2PasswordHasher


class Argon2idHasher(Argon2PasswordHasher):
    """Argon2id, m=19 MiB, t=2, p=1: OWASP Password Storage Cheat Sheet's first recommended configuration.

    One lane because a request already runs on one core, and another request wants the other; 19 MiB per
    hash keeps workers x threads concurrent hashes well inside the container's memory. Hashes made with
    other parameters (or with PBKDF2) still verify and are re-hashed with these at the next login.
    """

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
