"""Concurrency on PostgreSQL, with real commits and threads: one phone, many requests at once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import patch

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from sms.backends import locmem
from sms.backends.locmem import SmsMessage
from users.models import ActivationToken, User
from users.services import limits
from users.tests.factories import PASSWORD, SIGNUP_TOKEN, ActivationTokenFactory

pytestmark = pytest.mark.usefixtures("postgres", "clear_of_window_edges")


def run_together(count: int, request: Callable[[APIClient], Any]) -> list[Any]:
    """Start `count` threads at the same instant, each with its own client and DB connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = request(APIClient())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def slow_provider() -> Iterator[None]:
    """The SMS provider takes 0.5 s to accept: the first sign-up holds its transaction that long."""

    def send(self: locmem.SmsBackend, phone: str, text: str) -> None:
        time.sleep(0.5)
        locmem.outbox.append(SmsMessage(phone=phone, text=text))

    with patch.object(locmem.SmsBackend, "send", send):
        yield


def refusals(responses: list[Any]) -> Counter[tuple[int, str]]:
    """How many responses were each (status, code) refusal; every error must be a `{detail, code}` refusal."""
    found: Counter[tuple[int, str]] = Counter()
    for response in responses:
        if response.status_code < 400:
            continue
        body = response.json()
        assert set(body) == {"detail", "code"}, body
        found[(response.status_code, body["code"])] += 1
    return found


def test_twenty_simultaneous_sign_ups_of_one_phone_make_one_user_one_code_one_sms(
    slow_provider: None, sms_outbox: list[SmsMessage]
) -> None:
    body = {
        "phone": "670123456",
        "first_name": "Awa",
        "last_name": "Ngono",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    started = time.monotonic()
    responses = run_together(20, lambda client: client.post("/api/v1/auth/register/", body, format="json"))
    elapsed = time.monotonic() - started

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 1, 400: 19}, [r.json() for r in responses if r.status_code != 201]
    losers = [r.json() for r in responses if r.status_code == 400]
    assert all(
        set(body) == {"phone"} and [e["code"] for e in body["phone"]] == ["phone_taken"] for body in losers
    ), losers
    assert User.objects.count() == 1
    assert ActivationToken.objects.count() == 1
    assert len(sms_outbox) == 1
    assert elapsed < 10  # the losers waited for the winner's bounded SMS call, not for a timeout


def test_parallel_wrong_guesses_all_count_and_the_limit_holds(sms_outbox: list[SmsMessage]) -> None:
    token = ActivationTokenFactory(user__phone="+237670123456", code="111111")
    body = {"phone": "670123456", "code": "222222", "signup_token": SIGNUP_TOKEN}
    responses = run_together(8, lambda client: client.post("/api/v1/auth/activate/", body, format="json"))

    # One address: six guesses counted (CODE_FAILURE_LIMIT_PHONE), five of them on the code, which then dies.
    assert refusals(responses) == {
        (400, "code_invalid"): 4,
        (400, "code_attempts_exceeded"): 2,
        (429, "activation_locked"): 2,
    }
    token.refresh_from_db()
    assert token.attempts == 5
    assert limits.ACTIVATION.left("+237670123456", timezone.now()) == 12 - 6
    right = APIClient().post(
        "/api/v1/auth/activate/", {**body, "code": "111111"}, format="json", REMOTE_ADDR="10.3.0.1"
    )
    assert refusals([right]) == {(400, "code_attempts_exceeded"): 1}


def test_two_simultaneous_right_codes_activate_once() -> None:
    ActivationTokenFactory(user__phone="+237670123456", code="111111")
    body = {"phone": "670123456", "code": "111111", "signup_token": SIGNUP_TOKEN}
    responses = run_together(2, lambda client: client.post("/api/v1/auth/activate/", body, format="json"))

    assert sorted(r.status_code for r in responses) == [200, 400]
    assert refusals(responses) == {(400, "code_used"): 1}
    assert User.objects.get().is_active


def test_simultaneous_resends_send_one_sms(slow_provider: None, sms_outbox: list[SmsMessage]) -> None:
    ActivationTokenFactory(user__phone="+237670123456")
    responses = run_together(
        10, lambda client: client.post("/api/v1/auth/activate/resend/", {"phone": "670123456"}, format="json")
    )

    assert Counter(r.status_code for r in responses) == {202: 1, 429: 9}
    assert refusals(responses) == {(429, "resend_too_soon"): 9}
    assert len(sms_outbox) == 1
    assert ActivationToken.objects.count() == 2


def test_a_refresh_token_replayed_simultaneously_works_once() -> None:
    from users.tests.factories import UserFactory
    from users.tokens import token_pair

    pair = token_pair(UserFactory())
    responses = run_together(
        6, lambda client: client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    )

    assert sorted(r.status_code for r in responses) == [200] + [401] * 5
    assert refusals(responses) == {(401, "token_not_valid"): 5}


def test_parallel_wrong_passwords_cannot_exceed_the_per_number_limits() -> None:
    """Guesses at once: thirty from one address meet the five-per-five-minutes limit of the number and that
    address; sixty from sixty addresses meet the number's backstop of fifty an hour."""
    from users.tests.factories import UserFactory

    UserFactory(phone="+237670123456")
    UserFactory(phone="+237670654321")
    addresses = iter(f"10.0.0.{n}" for n in range(1, 61))
    lock = threading.Lock()

    def from_one_address(client: APIClient) -> Any:
        return client.post("/api/v1/auth/login/", {"phone": "670123456", "password": "guess"}, format="json",
                           REMOTE_ADDR="10.1.0.1")

    def from_many_addresses(client: APIClient) -> Any:
        with lock:
            address = next(addresses)
        return client.post("/api/v1/auth/login/", {"phone": "670654321", "password": "guess"}, format="json",
                           REMOTE_ADDR=address)

    assert refusals(run_together(30, from_one_address)) == {(401, "invalid_credentials"): 5, (429, "login_locked"): 25}
    assert refusals(run_together(60, from_many_addresses)) == {
        (401, "invalid_credentials"): 50,
        (429, "login_locked"): 10,
    }


def test_parallel_wrong_codes_cannot_exceed_the_numbers_allowance() -> None:
    """Thirty wrong reset codes at once from thirty addresses, on an account and on an unknown number: twelve
    are checked (CODE_FAILURE_LIMIT_PHONE_ALL), the rest refused before any look-up, alike for both."""
    from users.tests.factories import UserFactory

    UserFactory(phone="+237670123456")
    addresses = iter(f"10.0.1.{n}" for n in range(1, 61))
    lock = threading.Lock()

    def guess(phone: str) -> Callable[[APIClient], Any]:
        def request(client: APIClient) -> Any:
            with lock:
                address = next(addresses)
            body = {"phone": phone, "code": "123456", "new_password": "Nouveau-Robinet-77"}
            return client.post("/api/v1/auth/password/reset/confirm/", body, format="json", REMOTE_ADDR=address)

        return request

    expected = {(400, "code_invalid"): 12, (429, "code_locked"): 18}
    assert refusals(run_together(30, guess("670123456"))) == expected
    assert refusals(run_together(30, guess("670654321"))) == expected


def test_parallel_requests_cannot_exceed_a_per_ip_throttle(monkeypatch: pytest.MonkeyPatch) -> None:
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "resend", "5/hour")
    responses = run_together(
        30, lambda client: client.post("/api/v1/auth/activate/resend/", {"phone": "670123456"}, format="json")
    )
    assert Counter(r.status_code for r in responses) == {202: 5, 429: 25}
    assert refusals(responses) == {(429, "throttled"): 25}
