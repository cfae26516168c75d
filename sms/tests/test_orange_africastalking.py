"""The Orange and Africa's Talking backends on the wire (mocked with `responses`): every outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
import requests
import responses

from sms.backends import africastalking, orange
from sms.exceptions import (
    SmsConfigurationError,
    SmsNotProcessed,
    SmsNumberRejected,
    SmsOutcomeUnknown,
    SmsRecipientRefused,
)

PHONE = "+237670123456"
ORANGE = "https://orange.test"
SEND = f"{ORANGE}/smsmessaging/v1/outbound/tel%3A%2B2376990000/requests"
AT = "https://at.test/version1/messaging"


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def orange_backend(settings: object) -> orange.SmsBackend:
    for name, value in {
        "ORANGE_CLIENT_ID": "id", "ORANGE_CLIENT_SECRET": "secret", "ORANGE_SENDER_ADDRESS": "tel:+2376990000",
        "ORANGE_SENDER_NAME": "WaterBill", "ORANGE_API_URL": ORANGE,
    }.items():
        setattr(settings, name, value)
    return orange.SmsBackend()


def token(wire: responses.RequestsMock, value: str = "tok-1", status: int = 200) -> None:
    wire.post(
        f"{ORANGE}/oauth/v3/token",
        json={"token_type": "Bearer", "access_token": value, "expires_in": "3600"},
        status=status,
    )


def test_orange_accepts_with_a_token_fetched_once_and_cached(
    orange_backend: orange.SmsBackend, wire: responses.RequestsMock
) -> None:
    token(wire)
    wire.post(SEND, json={"outboundSMSMessageRequest": {}}, status=201)
    orange_backend.send_activation_code(PHONE, "123456")
    orange_backend.send(PHONE, "again")
    calls = [c.request for c in wire.calls]
    assert [c.url for c in calls] == [f"{ORANGE}/oauth/v3/token", SEND, SEND]
    assert parse_qs(calls[0].body) == {"grant_type": ["client_credentials"]}
    assert calls[0].headers["Authorization"].startswith("Basic ")
    body = json.loads(calls[1].body)["outboundSMSMessageRequest"]
    assert body["address"] == f"tel:{PHONE}"
    assert body["senderName"] == "WaterBill"
    assert "123456" in body["outboundSMSTextMessage"]["message"]
    assert calls[1].headers["Authorization"] == "Bearer tok-1"


def test_orange_renews_the_token_once_on_a_401(orange_backend: orange.SmsBackend, wire: responses.RequestsMock) -> None:
    from django.core.cache import cache

    cache.set(orange.TOKEN_CACHE_KEY, "stale", 600)
    token(wire, "tok-2")
    wire.post(SEND, json={"requestError": {"serviceException": {"messageId": "SVC0001"}}}, status=401)
    wire.post(SEND, json={}, status=201)
    orange_backend.send(PHONE, "x")
    auths = [c.request.headers.get("Authorization") for c in wire.calls if c.request.url == SEND]
    assert auths == ["Bearer stale", "Bearer tok-2"]


@pytest.mark.parametrize(
    ("status", "body", "outcome", "code"),
    [
        (
            400,
            {"requestError": {"serviceException": {"messageId": "SVC0004", "text": "No valid addresses"}}},
            SmsNumberRejected,
            "SVC0004",
        ),
        (
            403,
            {"requestError": {"policyException": {"messageId": "POL0001", "text": "Not enough credit"}}},
            SmsConfigurationError,
            "POL0001",
        ),
        (400, {"requestError": {"serviceException": {"messageId": "SVC0002"}}}, SmsRecipientRefused, "SVC0002"),
        (500, {}, SmsNotProcessed, 500),
        (503, {}, SmsNotProcessed, 503),
        (429, {}, SmsNotProcessed, 429),
    ],
)
def test_orange_answers_map_onto_outcomes(
    orange_backend: orange.SmsBackend,
    wire: responses.RequestsMock,
    status: int,
    body: dict,
    outcome: type,
    code: object,
) -> None:
    token(wire)
    wire.post(SEND, json=body, status=status)
    with pytest.raises(outcome) as caught:
        orange_backend.send(PHONE, "x")
    assert caught.value.provider_code == code


def test_orange_refused_credentials_are_a_configuration_problem(
    orange_backend: orange.SmsBackend, wire: responses.RequestsMock
) -> None:
    wire.post(f"{ORANGE}/oauth/v3/token", json={"error": "invalid_client"}, status=401)
    with pytest.raises(SmsConfigurationError):
        orange_backend.send(PHONE, "x")


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (requests.ConnectTimeout(), SmsNotProcessed),
        (requests.ReadTimeout(), SmsOutcomeUnknown),
        (requests.ConnectionError(), SmsNotProcessed),
    ],
)
def test_orange_network_failures(
    orange_backend: orange.SmsBackend, wire: responses.RequestsMock, error: Exception, outcome: type
) -> None:
    token(wire)
    wire.post(SEND, body=error)
    with pytest.raises(outcome):
        orange_backend.send(PHONE, "x")


def test_orange_needs_its_settings(settings: object, caplog: pytest.LogCaptureFixture) -> None:
    settings.ORANGE_CLIENT_ID = ""  # type: ignore[attr-defined]
    assert orange.SmsBackend().is_available() is False
    assert "ORANGE_CLIENT_ID" in caplog.text


@pytest.fixture
def at_backend(settings: object) -> africastalking.SmsBackend:
    settings.AFRICASTALKING_USERNAME = "waterbill"  # type: ignore[attr-defined]
    settings.AFRICASTALKING_API_KEY = "key"  # type: ignore[attr-defined]
    settings.AFRICASTALKING_SENDER_ID = "WaterBill"  # type: ignore[attr-defined]
    settings.AFRICASTALKING_API_URL = "https://at.test"  # type: ignore[attr-defined]
    return africastalking.SmsBackend()


def recipient(status: int) -> dict:
    return {
        "SMSMessageData": {
            "Message": "Sent to 1/1",
            "Recipients": [{"statusCode": status, "number": PHONE, "status": "x"}],
        }
    }


def test_africastalking_accepts_with_the_api_key_header(
    at_backend: africastalking.SmsBackend, wire: responses.RequestsMock
) -> None:
    wire.post(AT, json=recipient(101), status=201)
    at_backend.send_activation_code(PHONE, "123456")
    request = wire.calls[0].request
    assert request.headers["apiKey"] == "key"
    form = parse_qs(request.body)
    assert form["username"] == ["waterbill"]
    assert form["to"] == [PHONE]
    assert form["from"] == ["WaterBill"]
    assert "123456" in form["message"][0]


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(403, SmsNumberRejected), (404, SmsNumberRejected), (406, SmsNumberRejected), (409, SmsNumberRejected),
     (405, SmsConfigurationError), (401, SmsConfigurationError), (402, SmsConfigurationError),
     (500, SmsNotProcessed), (502, SmsNotProcessed), (407, SmsNotProcessed)],
)
def test_africastalking_recipient_status_inside_a_2xx_decides(
    at_backend: africastalking.SmsBackend, wire: responses.RequestsMock, status: int, outcome: type
) -> None:
    wire.post(AT, json=recipient(status), status=201)
    with pytest.raises(outcome) as caught:
        at_backend.send(PHONE, "x")
    assert caught.value.provider_code == status


@pytest.mark.parametrize(
    ("http_status", "outcome"), [(401, SmsConfigurationError), (500, SmsNotProcessed), (503, SmsNotProcessed)]
)
def test_africastalking_http_errors(
    at_backend: africastalking.SmsBackend, wire: responses.RequestsMock, http_status: int, outcome: type
) -> None:
    wire.post(AT, body="error", status=http_status)
    with pytest.raises(outcome):
        at_backend.send(PHONE, "x")


def test_africastalking_read_timeout_is_an_unknown_outcome(
    at_backend: africastalking.SmsBackend, wire: responses.RequestsMock
) -> None:
    wire.post(AT, body=requests.ReadTimeout())
    with pytest.raises(SmsOutcomeUnknown):
        at_backend.send(PHONE, "x")
