"""The bulkhead of SMS sends (issue 10): a slow provider holds a bounded share of a worker's threads, and the
sign-ups past it are shed at once with 503 `sms_busy`, nothing kept."""

from __future__ import annotations

import threading
import time
from typing import Any
from unittest.mock import patch

import pytest
from rest_framework.test import APIClient

from sms.backends import locmem
from sms.backends.locmem import SmsMessage
from users.models import User
from users.tests.factories import PASSWORD
from waterbill.bulkhead import Bulkhead, Full

pytestmark = pytest.mark.usefixtures("clear_of_window_edges")


def test_a_bulkhead_holds_its_size_and_sheds_the_rest_at_once() -> None:
    bulkhead = Bulkhead(2)
    with bulkhead.enter(), bulkhead.enter():
        assert bulkhead.full()
        started = time.perf_counter()
        with pytest.raises(Full), bulkhead.enter():
            pass
        assert time.perf_counter() - started < 0.1  # shed, not queued
    assert bulkhead.in_flight == 0
    with bulkhead.enter():  # the slots came back, even after the refusal
        assert bulkhead.in_flight == 1


def test_a_slot_comes_back_when_the_call_fails() -> None:
    bulkhead = Bulkhead(1)
    with pytest.raises(RuntimeError), bulkhead.enter():
        raise RuntimeError("provider down")
    assert not bulkhead.full()


def test_a_bulkhead_needs_a_slot() -> None:
    with pytest.raises(ValueError, match="at least one slot"):
        Bulkhead(0)


@pytest.mark.usefixtures("postgres")  # real threads, real commits: PostgreSQL (skipped on SQLite)
def test_sign_ups_past_the_slots_are_shed_with_503_and_leave_nothing(
    settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    """Two slots, a provider taking 0.5 s, five sign-ups at once from threads: two are sent and kept, three
    are refused at once with 503 `sms_busy` and `Retry-After`, with no user row and no SMS."""
    settings.SMS_SENDS_IN_FLIGHT = 2
    barrier = threading.Barrier(5)
    answers: list[tuple[int, str | None, str | None, float]] = []
    lock = threading.Lock()

    def slow_send(self: locmem.SmsBackend, phone: str, text: str) -> None:
        time.sleep(0.5)
        locmem.outbox.append(SmsMessage(phone=phone, text=text))

    def sign_up(n: int) -> None:
        from django.db import connection

        body = {"phone": f"67000000{n}", "first_name": "Awa", "last_name": "Ngono", "password": PASSWORD,
                "password_confirm": PASSWORD}
        try:
            barrier.wait()
            started = time.perf_counter()
            response = APIClient().post("/api/v1/auth/register/", body, format="json")
            took = time.perf_counter() - started
            code = response.json().get("code") if response.status_code != 201 else None
            with lock:
                answers.append((response.status_code, code, response.get("Retry-After"), took))
        finally:
            connection.close()

    with patch.object(locmem.SmsBackend, "send", slow_send):
        threads = [threading.Thread(target=sign_up, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    shed = [a for a in answers if a[0] == 503]
    assert sorted(a[0] for a in answers) == [201, 201, 503, 503, 503]
    assert {(a[1], a[2]) for a in shed} == {("sms_busy", "5")}
    assert all(a[3] < 0.5 for a in shed)  # at once, not after the provider's round trip
    assert User.objects.count() == len(sms_outbox) == 2
