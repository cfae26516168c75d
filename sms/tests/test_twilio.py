"""The Twilio backend on the wire (mocked with `responses`): every way a send can end."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import parse_qs

import pytest
import requests
import responses

from sms.backends.twilio import REJECTION_CODES, SmsBackend
from sms.exceptions import SmsNumberRejected, SmsUnavailable
from sms.tests.texts import activation_text

SID = "AC0123456789abcdef0123456789abcdef"
URL = f"https://twilio.test/2010-04-01/Accounts/{SID}/Messages.json"
PHONE = "+237670123456"


@pytest.fixture
def backend() -> SmsBackend:
    return SmsBackend(account_sid=SID, auth_token="secret-token", from_number="WaterBill", api_url="https://twilio.test/")


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def test_accepted_message_posts_the_form_with_basic_auth(backend: SmsBackend, wire: responses.RequestsMock) -> None:
    wire.post(URL, json={"sid": "SM1", "status": "queued"}, status=201)

    backend.send_activation_code(PHONE, "123456")

    request = wire.calls[0].request
    assert parse_qs(request.body) == {"To": [PHONE], "From": ["WaterBill"], "Body": [activation_text("123456")]}
    assert request.headers["Authorization"].startswith("Basic ")


def test_requests_are_bounded_by_connect_and_read_timeouts(backend: SmsBackend, wire: responses.RequestsMock) -> None:
    wire.post(URL, json={"sid": "SM1"}, status=201)
    backend.send(PHONE, "x")
    assert wire.calls[0].request.req_kwargs["timeout"] == (3.05, 7.0)


@pytest.mark.parametrize("code", sorted(REJECTION_CODES))
def test_each_rejection_code_means_number_rejected(
    backend: SmsBackend, wire: responses.RequestsMock, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    wire.post(URL, json={"code": code, "message": "nope", "status": 400}, status=400)
    with pytest.raises(SmsNumberRejected) as caught:
        backend.send(PHONE, "x")
    assert caught.value.provider_code == code


@pytest.mark.parametrize(
    ("status", "body", "provider_code"),
    [
        (500, {"code": 20500, "message": "Internal Server Error"}, 20500),
        (503, "<html>Service Unavailable</html>", 503),
        (429, {"code": 20429, "message": "Too Many Requests"}, 20429),
        (401, {"code": 20003, "message": "Authenticate"}, 20003),
        (400, {"code": 21606, "message": "The From phone number is not a valid, SMS-capable number"}, 21606),
    ],
)
def test_provider_errors_mean_unavailable(
    backend: SmsBackend, wire: responses.RequestsMock, status: int, body: object, provider_code: int
) -> None:
    if isinstance(body, dict):
        wire.post(URL, json=body, status=status)
    else:
        wire.post(URL, body=body, status=status)
    with pytest.raises(SmsUnavailable) as caught:
        backend.send(PHONE, "x")
    assert caught.value.provider_code == provider_code


def test_bad_credentials_are_logged_as_an_error(
    backend: SmsBackend, wire: responses.RequestsMock, caplog: pytest.LogCaptureFixture
) -> None:
    wire.post(URL, json={"code": 20003, "message": "Authenticate"}, status=401)
    with pytest.raises(SmsUnavailable):
        backend.send(PHONE, "x")
    assert any(r.levelno == logging.ERROR and "20003" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("error", "provider_code"),
    [
        (requests.ReadTimeout("read timed out"), "timeout"),
        (requests.ConnectTimeout("connect timed out"), "connection"),  # never connected: not sent
        (requests.ConnectionError("Connection reset by peer"), "connection"),
    ],
)
def test_network_failures_mean_unavailable(
    backend: SmsBackend, wire: responses.RequestsMock, error: Exception, provider_code: str
) -> None:
    wire.post(URL, body=error)
    with pytest.raises(SmsUnavailable) as caught:
        backend.send(PHONE, "x")
    assert caught.value.provider_code == provider_code


@pytest.mark.parametrize("missing", ["account_sid", "auth_token", "from_number"])
def test_missing_configuration_makes_it_unavailable(missing: str, caplog: pytest.LogCaptureFixture) -> None:
    config = {"account_sid": SID, "auth_token": "t", "from_number": "+15005550006", "api_url": "https://twilio.test"}
    config[missing] = ""
    assert SmsBackend(**config).is_available() is False
    assert "not configured" in caplog.text


def test_settings_configure_the_backend(settings: object) -> None:
    settings.TWILIO_ACCOUNT_SID = SID  # type: ignore[attr-defined]
    settings.TWILIO_AUTH_TOKEN = "t"  # type: ignore[attr-defined]
    settings.TWILIO_FROM_NUMBER = "+15005550006"  # type: ignore[attr-defined]
    settings.TWILIO_API_URL = "http://127.0.0.1:9/"  # type: ignore[attr-defined]
    backend = SmsBackend()
    assert backend.is_available()
    assert backend.api_url == "http://127.0.0.1:9"


def test_the_providers_message_which_may_quote_the_number_is_not_kept(
    backend: SmsBackend, wire: responses.RequestsMock
) -> None:
    wire.post(URL, json={"code": 20500, "message": f"Cannot deliver to {PHONE}"}, status=500)
    with pytest.raises(SmsUnavailable) as caught:
        backend.send(PHONE, "x")
    assert PHONE not in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ({"status": 500, "json": {"code": 20500}}, "SmsNotProcessed"),
        ({"status": 429, "json": {"code": 20429}}, "SmsNotProcessed"),
        ({"status": 401, "json": {"code": 20003}}, "SmsConfigurationError"),
        ({"status": 400, "json": {"code": 21606}}, "SmsConfigurationError"),
        ({"status": 400, "json": {"code": 21408}}, "SmsRecipientRefused"),  # region not enabled: this recipient's
        ({"status": 400, "json": {"code": 29999}}, "SmsRecipientRefused"),  # a code we do not know
        ({"body": requests.ConnectionError("refused")}, "SmsNotProcessed"),
        ({"body": requests.ConnectTimeout("connect")}, "SmsNotProcessed"),
        ({"body": requests.ReadTimeout("read")}, "SmsOutcomeUnknown"),
    ],
)
def test_each_failure_maps_onto_one_outcome(
    backend: SmsBackend, wire: responses.RequestsMock, answer: dict[str, object], outcome: str
) -> None:
    wire.post(URL, **answer)  # type: ignore[arg-type]
    with pytest.raises(SmsUnavailable) as caught:
        backend.send(PHONE, "x")
    assert type(caught.value).__name__ == outcome


def test_refusals_tied_to_recipients_never_open_the_circuit(backend: SmsBackend, wire: responses.RequestsMock) -> None:
    """A pumper sending to numbers the provider refuses (known rejection or any other recipient 4xx) must not
    make every sign-up fail fast; five provider errors in a row do open it."""
    from sms import breaker
    from sms.exceptions import SmsError

    for code in (21211, 21408, 29999, 21614, 21408, 29999, 21610):
        wire.post(URL, json={"code": code}, status=400)
        with pytest.raises(SmsError):
            backend.send_message(PHONE, "x")
    assert backend.is_available()
    assert not breaker.is_open("twilio")
    for _ in range(5):
        wire.post(URL, json={"code": 20500}, status=500)
        with pytest.raises(SmsError):
            backend.send_message(PHONE, "x")
    assert breaker.is_open("twilio")
