"""A failure injected at each step of sign-up leaves the invariants intact, and the retry works.

Real commits (transactional database), so a failing COMMIT can be injected too. What the person sees in
each case is listed in docs/atomic-registration.md.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from unittest.mock import patch

import pytest
import requests
from django.core.management import call_command
from django.db import DatabaseError, OperationalError, connections
from django.test import override_settings
from rest_framework.test import APIClient

from sms.backends.locmem import SmsBackend, SmsMessage
from sms.backends.twilio import SmsBackend as TwilioBackend
from tests.sms_stub import StubSmsProvider
from users.models import ActivationToken, User

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"phone": "670123456", "first_name": "Awa", "last_name": "Ngono",
        "password": "Tr0ub4dor&3-eau", "password_confirm": "Tr0ub4dor&3-eau"}


def failing_commit() -> AbstractContextManager[object]:
    """The database refuses the COMMIT (connection lost, disk full...) after the provider accepted the SMS."""
    return patch.object(connections["default"], "commit", side_effect=OperationalError("server closed the connection"))


@contextmanager
def provider_that_hangs() -> Iterator[None]:
    """The Twilio backend against the stub provider, which answers after the (shortened) read timeout."""
    with StubSmsProvider() as stub, override_settings(
        SMS_BACKEND="sms.backends.twilio.SmsBackend", TWILIO_ACCOUNT_SID="AC" + "0" * 32, TWILIO_AUTH_TOKEN="t",
        TWILIO_FROM_NUMBER="WaterBill", TWILIO_API_URL=stub.url,
    ), patch.object(TwilioBackend, "read_timeout", 0.3):
        stub.state.mode = "hang"
        stub.state.hang_seconds = 1.0
        yield


FAULTS: dict[str, tuple[Callable[[], AbstractContextManager[object]], int, int]] = {
    # step: (injection, HTTP status the app sees, SMS that left). A database fault is the seed's error too:
    # 503 `service_unavailable` with Retry-After, never a bare 500.
    "user insert fails": (lambda: patch.object(User.objects, "create", side_effect=DatabaseError("disk full")), 503, 0),
    "code insert fails": (
        lambda: patch.object(ActivationToken.objects, "create", side_effect=DatabaseError("disk full")), 503, 0
    ),
    "availability check says no": (lambda: patch.object(SmsBackend, "is_available", return_value=False), 503, 0),
    "availability check raises": (
        lambda: patch.object(SmsBackend, "is_available", side_effect=RuntimeError("bug")), 503, 0
    ),
    "send returns False": (lambda: patch.object(SmsBackend, "send_activation_code", return_value=False), 503, 0),
    "send raises": (lambda: patch.object(SmsBackend, "send", side_effect=requests.ConnectionError("reset")), 503, 0),
    "send times out": (provider_that_hangs, 503, 0),
    "commit fails after the provider accepted": (failing_commit, 503, 1),
}


@pytest.fixture
def client() -> APIClient:
    return APIClient(raise_request_exception=False)


def invariants_hold() -> bool:
    call_command("check_invariants", stdout=io.StringIO())  # raises CommandError when one is broken
    return True


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_fault_at_each_step_leaves_nothing_behind_and_the_retry_works(
    client: APIClient, fault: str, sms_outbox: list[SmsMessage]
) -> None:
    inject, status, sms_sent = FAULTS[fault]
    with inject():
        response = client.post("/api/v1/auth/register/", BODY, format="json")

    assert response.status_code == status
    assert set(response.json()) == {"detail", "code"}
    database_fault = "insert" in fault or "commit" in fault
    assert response.json()["code"] == ("service_unavailable" if database_fault else "sms_unavailable")
    assert response["Retry-After"] == ("30" if database_fault else "60")
    assert User.objects.count() == 0
    assert ActivationToken.objects.count() == 0
    # Only a failed COMMIT (or a provider that accepted too late) leaves a code for an account that does not exist.
    assert len(sms_outbox) == sms_sent
    assert invariants_hold()

    retry = client.post("/api/v1/auth/register/", BODY, format="json")
    assert retry.status_code == 201
    assert User.objects.count() == 1
    assert ActivationToken.objects.count() == 1
    assert invariants_hold()
