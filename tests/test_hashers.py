"""waterbill.hashers: Argon2id with at most PASSWORD_HASH_CONCURRENCY hashes at once, old hashes still valid."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, get_hasher, identify_hasher, make_password

from tests.conftest import settings_printed
from users.hashers import Argon2idHasher
from waterbill import settings as production
from waterbill.hashers import BoundedArgon2idHasher, hash_slots

PASSWORD = "Eau-potable-2026"  # noqa: S105 -- a test password


@pytest.fixture
def production_hashers(settings: Any) -> None:
    """The production hasher list (the test overlay uses MD5 for speed)."""
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


class Gauge:
    """Counts the calls inside a patched method at once, and the most seen."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.most = 0

    def wrap(self, method: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.now += 1
                self.most = max(self.most, self.now)
            try:
                time.sleep(0.05)  # long enough for every thread to pile up here if nothing stopped them
                return method(*args, **kwargs)
            finally:
                with self.lock:
                    self.now -= 1

        return counted


def test_the_production_hasher_is_the_bounded_one_under_the_argon2_name(production_hashers: None) -> None:
    hasher = get_hasher()
    assert isinstance(hasher, BoundedArgon2idHasher)
    assert hasher.algorithm == Argon2PasswordHasher.algorithm == "argon2"
    assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (2, 19 * 1024, 1)


def test_hashes_made_without_the_bound_still_verify(production_hashers: None) -> None:
    by_plain_argon2id = Argon2idHasher().encode(PASSWORD, Argon2idHasher().salt())
    by_django_argon2 = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    for encoded in (by_plain_argon2id, by_django_argon2):
        assert isinstance(identify_hasher(encoded), BoundedArgon2idHasher)
        assert check_password(PASSWORD, encoded)
        assert not check_password("wrong", encoded)
    # And the other way round: what the bounded hasher makes, the plain ones read.
    assert Argon2idHasher().verify(PASSWORD, make_password(PASSWORD))


def test_make_password_and_check_password_take_a_slot(
    production_hashers: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []

    class Recorder:
        def wait(self, *, first: bool = False) -> Recorder:
            events.append("first" if first else "in turn")
            return self

        def __enter__(self) -> None:
            events.append("take")

        def __exit__(self, *exc: object) -> None:
            events.append("give back")

    def hash_inside(method: Any) -> Any:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            events.append("hash")
            return method(*args, **kwargs)

        return recorded

    monkeypatch.setattr("waterbill.hashers.hash_slots", Recorder)
    monkeypatch.setattr(Argon2idHasher, "encode", hash_inside(Argon2idHasher.encode))
    monkeypatch.setattr(Argon2idHasher, "verify", hash_inside(Argon2idHasher.verify))
    encoded = make_password(PASSWORD)
    assert events == ["in turn", "take", "hash", "give back"]
    assert check_password(PASSWORD, encoded)
    assert events == ["in turn", "take", "hash", "give back", "first", "take", "hash", "give back"]


@pytest.mark.parametrize("size", [1, 2])
def test_the_slots_bound_the_hashes_running_at_once(
    production_hashers: None, settings: Any, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    """Eight real threads hashing and verifying at once: never more than `size` inside Argon2 together."""
    settings.PASSWORD_HASH_CONCURRENCY = size
    gauge = Gauge()
    monkeypatch.setattr(Argon2idHasher, "encode", gauge.wrap(Argon2idHasher.encode))
    monkeypatch.setattr(Argon2idHasher, "verify", gauge.wrap(Argon2idHasher.verify))
    encoded = make_password(PASSWORD)
    start = threading.Barrier(8)

    def work(n: int) -> bool:
        start.wait()
        return make_password(PASSWORD) != "" if n % 2 else check_password(PASSWORD, encoded)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert all(pool.map(work, range(8)))
    assert gauge.most == size


def test_a_thread_waiting_for_a_slot_does_not_hash(production_hashers: None, settings: Any) -> None:
    """With every slot held, a hash waits; released, it runs."""
    settings.PASSWORD_HASH_CONCURRENCY = 1
    done = threading.Event()
    with hash_slots().enter():
        thread = threading.Thread(target=lambda: (make_password(PASSWORD), done.set()))
        thread.start()
        assert not done.wait(0.3)
    assert done.wait(5)
    thread.join()


def test_the_default_shares_the_cores_this_process_may_use_among_the_workers() -> None:
    import os

    cores = len(os.sched_getaffinity(0))
    assert production.PASSWORD_HASH_CONCURRENCY == max(1, cores // 2)  # WEB_CONCURRENCY's default, 2 workers
    one_worker = settings_printed(
        "import waterbill.settings as s; print(s.PASSWORD_HASH_CONCURRENCY)", DJANGO_DEBUG="1", WEB_CONCURRENCY="1"
    )
    assert one_worker.stdout.strip() == str(cores), one_worker.stderr
    many = settings_printed(
        "import waterbill.settings as s; print(s.PASSWORD_HASH_CONCURRENCY)", DJANGO_DEBUG="1", WEB_CONCURRENCY="64"
    )
    assert many.stdout.strip() == "1", many.stderr  # at least one slot per worker


def test_a_waiting_verification_takes_the_next_slot_before_waiting_new_hashes(
    production_hashers: None, settings: Any
) -> None:
    """A login during a sign-up flood: its verification passes the queued encodes, one slot being held."""
    settings.PASSWORD_HASH_CONCURRENCY = 1
    encoded = make_password(PASSWORD)
    order: list[str] = []
    lock = threading.Lock()

    def run(kind: str) -> None:
        if kind == "encode":
            make_password(PASSWORD)
        else:
            check_password(PASSWORD, encoded)
        with lock:
            order.append(kind)

    with hash_slots().enter():
        encodes = [threading.Thread(target=run, args=("encode",)) for _ in range(3)]
        for thread in encodes:
            thread.start()
        time.sleep(0.2)  # the encodes wait for the slot
        verification = threading.Thread(target=run, args=("verify",))
        verification.start()
        time.sleep(0.2)
    for thread in [*encodes, verification]:
        thread.join(timeout=10)
    assert order[0] == "verify"
    assert sorted(order) == ["encode", "encode", "encode", "verify"]
