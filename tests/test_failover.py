"""Failover between providers and the circuit breaker, with one provider down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import responses
from rest_framework.test import APIClient

from sms import breaker, get_sms_gateway
from sms.backends.failover import SmsBackend as Failover
from sms.exceptions import SmsNotProcessed, SmsNumberRejected, SmsOutcomeUnknown
from users.models import User
from users.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db
TWILIO_URL = "https://twilio.test/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json"
AT_URL = "https://at.test/version1/messaging"
ACCEPTED_BY_AT = {"SMSMessageData": {"Recipients": [{"statusCode": 101}]}}


@pytest.fixture
def two_providers(settings: object) -> Iterator[responses.RequestsMock]:
    """Twilio first, Africa's Talking second, both on mocked wires."""
    for name, value in {
        "SMS_BACKEND": "sms.backends.twilio.SmsBackend, sms.backends.africastalking.SmsBackend",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "WaterBill",
        "TWILIO_API_URL": "https://twilio.test", "AFRICASTALKING_USERNAME": "u", "AFRICASTALKING_API_KEY": "k",
        "AFRICASTALKING_API_URL": "https://at.test",
    }.items():
        setattr(settings, name, value)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as wire:
        yield wire


def sign_up(client: APIClient, n: int) -> int:
    body = {
        "phone": f"67000{n:04d}",
        "first_name": "A",
        "last_name": "B",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    return client.post("/api/v1/auth/register/", body, format="json").status_code


def calls_to(wire: responses.RequestsMock, url: str) -> int:
    return sum(1 for call in wire.calls if call.request.url == url)


def test_several_backends_make_a_failover_gateway(two_providers: responses.RequestsMock) -> None:
    gateway = get_sms_gateway()
    assert isinstance(gateway, Failover)
    assert [b.name for b in gateway.backends] == ["twilio", "africastalking"]


def test_with_the_first_provider_down_sign_ups_go_through_the_second_and_its_circuit_opens(
    api_client: APIClient, two_providers: responses.RequestsMock
) -> None:
    two_providers.post(TWILIO_URL, json={"code": 20500}, status=500)
    two_providers.post(AT_URL, json=ACCEPTED_BY_AT, status=201)

    assert [sign_up(api_client, n) for n in range(8)] == [201] * 8
    assert User.objects.count() == 8
    # Five failures in a row opened Twilio's circuit: the last three sign-ups did not even try it.
    assert calls_to(two_providers, TWILIO_URL) == breaker.FAILURES_TO_OPEN
    assert calls_to(two_providers, AT_URL) == 8
    assert breaker.is_open("twilio")


def test_an_unknown_outcome_fails_over_with_the_same_text(two_providers: responses.RequestsMock) -> None:
    two_providers.post(TWILIO_URL, body=requests.ReadTimeout("read timed out"))
    two_providers.post(AT_URL, json=ACCEPTED_BY_AT, status=201)
    get_sms_gateway().send_activation_code("+237670123456", "424242")
    assert "424242" in two_providers.calls[-1].request.body


def test_a_rejected_number_is_not_tried_elsewhere(two_providers: responses.RequestsMock) -> None:
    two_providers.post(TWILIO_URL, json={"code": 21211}, status=400)
    with pytest.raises(SmsNumberRejected):
        get_sms_gateway().send("+237670123456", "x")
    assert calls_to(two_providers, AT_URL) == 0


def test_when_every_provider_fails_the_worst_outcome_is_reported(two_providers: responses.RequestsMock) -> None:
    two_providers.post(TWILIO_URL, body=requests.ReadTimeout())
    two_providers.post(AT_URL, json={}, status=503)
    with pytest.raises(SmsOutcomeUnknown):  # Twilio may have sent it: the SMS budget keeps it counted
        get_sms_gateway().send("+237670123456", "x")


def test_all_circuits_open_means_unavailable_before_any_write(
    api_client: APIClient, two_providers: responses.RequestsMock
) -> None:
    for name in ("twilio", "africastalking"):
        for _ in range(breaker.FAILURES_TO_OPEN):
            breaker.record_failure(name)
    assert get_sms_gateway().is_available() is False
    assert sign_up(api_client, 1) == 503
    assert not two_providers.calls
    assert not User.objects.exists()


def test_a_success_closes_the_circuit_and_resets_the_count() -> None:
    for _ in range(breaker.FAILURES_TO_OPEN - 1):
        breaker.record_failure("twilio")
    breaker.record_success("twilio")
    breaker.record_failure("twilio")
    assert not breaker.is_open("twilio")


def test_no_backend_available_is_not_processed() -> None:
    with pytest.raises(SmsNotProcessed):
        Failover([]).send("+237670123456", "x")
