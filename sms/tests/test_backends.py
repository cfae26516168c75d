"""The contract every SMS backend meets, run against each of them (as Django's mail tests do), and get_sms_gateway."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured

from sms import backend_paths, get_sms_gateway
from sms.backends import africastalking, console, locmem, orange, twilio
from sms.backends.base import BaseSmsBackend
from sms.backends.failover import SmsBackend as Failover
from sms.backends.locmem import SmsMessage

PHONE = "+237670123456"
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "test-token",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "TWILIO_API_URL": "https://twilio.test",
}


@pytest.fixture
def twilio_accepts() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        mock.post(
            f"{TWILIO['TWILIO_API_URL']}/2010-04-01/Accounts/{TWILIO['TWILIO_ACCOUNT_SID']}/Messages.json",
            json={"sid": "SM123", "status": "queued"},
            status=201,
        )
        yield mock


@pytest.fixture(params=["console", "locmem", "twilio", "orange", "africastalking"])
def backend(request: pytest.FixtureRequest, settings: object) -> Iterator[BaseSmsBackend]:
    """Each backend, configured and (for Twilio) talking to a mocked provider that accepts."""
    if request.param == "console":
        yield console.SmsBackend(stream=io.StringIO())
    elif request.param == "locmem":
        yield locmem.SmsBackend()
    elif request.param == "twilio":
        for name, value in TWILIO.items():
            setattr(settings, name, value)
        request.getfixturevalue("twilio_accepts")
        yield twilio.SmsBackend()
    else:
        yield request.getfixturevalue(f"{request.param}_accepts")


@pytest.fixture
def orange_accepts(settings: object) -> Iterator[BaseSmsBackend]:
    for name, value in {"ORANGE_CLIENT_ID": "id", "ORANGE_CLIENT_SECRET": "s", "ORANGE_SENDER_ADDRESS": "tel:+2376990000",
                        "ORANGE_API_URL": "https://orange.test"}.items():
        setattr(settings, name, value)
    with responses.RequestsMock() as mock:
        mock.post("https://orange.test/oauth/v3/token", json={"access_token": "t", "expires_in": 3600})
        mock.post("https://orange.test/smsmessaging/v1/outbound/tel%3A%2B2376990000/requests", json={}, status=201)
        yield orange.SmsBackend()


@pytest.fixture
def africastalking_accepts(settings: object) -> Iterator[BaseSmsBackend]:
    for name, value in {"AFRICASTALKING_USERNAME": "u", "AFRICASTALKING_API_KEY": "k",
                        "AFRICASTALKING_API_URL": "https://at.test"}.items():
        setattr(settings, name, value)
    with responses.RequestsMock() as mock:
        mock.post("https://at.test/version1/messaging", json={"SMSMessageData": {"Recipients": [{"statusCode": 101}]}}, status=201)
        yield africastalking.SmsBackend()


def test_every_backend_is_available_and_sends_the_activation_code(backend: BaseSmsBackend) -> None:
    assert backend.is_available() is True
    assert backend.send_activation_code(PHONE, "042917") is True


def test_every_backend_module_exports_a_class_named_SmsBackend() -> None:
    for module in (console, locmem, twilio, orange, africastalking):
        assert issubclass(module.SmsBackend, BaseSmsBackend)


def test_backend_paths_drops_whitespace_and_empty_entries(settings: object) -> None:
    assert backend_paths(" a.SmsBackend , ,b.SmsBackend,") == ["a.SmsBackend", "b.SmsBackend"]
    assert backend_paths(" , ") == []
    settings.SMS_BACKEND = "sms.backends.twilio.SmsBackend,"  # type: ignore[attr-defined]
    assert backend_paths() == ["sms.backends.twilio.SmsBackend"]


def test_get_sms_gateway_reads_the_setting_at_call_time(settings: object) -> None:
    settings.SMS_BACKEND = "sms.backends.console.SmsBackend"  # type: ignore[attr-defined]
    assert isinstance(get_sms_gateway(), console.SmsBackend)
    settings.SMS_BACKEND = "sms.backends.locmem.SmsBackend"  # type: ignore[attr-defined]
    assert isinstance(get_sms_gateway(), locmem.SmsBackend)
    assert isinstance(get_sms_gateway("sms.backends.console.SmsBackend"), console.SmsBackend)


def test_get_sms_gateway_makes_one_backend_of_a_path_with_empty_entries() -> None:
    assert isinstance(get_sms_gateway("sms.backends.locmem.SmsBackend, ,"), locmem.SmsBackend)


def test_get_sms_gateway_rejects_a_bad_path() -> None:
    with pytest.raises(ImportError):
        get_sms_gateway("sms.backends.nope.SmsBackend")


def test_get_sms_gateway_rejects_a_value_naming_no_backend() -> None:
    with pytest.raises(ImproperlyConfigured):
        get_sms_gateway(" , ")


def test_get_sms_gateway_passes_kwargs_to_the_one_backend() -> None:
    stream = io.StringIO()
    get_sms_gateway("sms.backends.console.SmsBackend", stream=stream).send(PHONE, "x")
    assert stream.getvalue() == f"[SMS to {PHONE}] x\n"


def test_get_sms_gateway_refuses_kwargs_for_several_backends(settings: object) -> None:
    # Even when every constructor would accept them: arguments for one backend are not arguments for all.
    settings.SMS_BACKEND = "sms.backends.console.SmsBackend, sms.backends.console.SmsBackend"  # type: ignore[attr-defined]
    with pytest.raises(TypeError, match=r"\(stream\) for 2 backends"):
        get_sms_gateway(stream=io.StringIO())


def test_get_sms_gateway_builds_a_failover_without_kwargs() -> None:
    gateway = get_sms_gateway("sms.backends.locmem.SmsBackend, sms.backends.console.SmsBackend")
    assert isinstance(gateway, Failover)
    assert [type(backend) for backend in gateway.backends] == [locmem.SmsBackend, console.SmsBackend]


def test_console_backend_prints_the_message() -> None:
    stream = io.StringIO()
    console.SmsBackend(stream=stream).send_activation_code(PHONE, "042917")
    assert stream.getvalue().startswith(f"[SMS to {PHONE}] ")
    assert "042917" in stream.getvalue()


def test_locmem_backend_records_in_the_module_outbox(sms_outbox: list[SmsMessage]) -> None:
    locmem.SmsBackend().send(PHONE, "hello")
    assert sms_outbox == [SmsMessage(phone=PHONE, text="hello")]
    assert locmem.outbox is sms_outbox


def test_base_backend_send_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        BaseSmsBackend().send(PHONE, "x")
