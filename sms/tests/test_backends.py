"""The contract every SMS backend meets, run against each of them (as Django's mail tests do), and get_sms_gateway."""

from __future__ import annotations

import io
import json
import pkgutil
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from urllib.parse import parse_qs

import pytest
import responses
from django.core.exceptions import ImproperlyConfigured

import sms.backends
from sms import backend_paths, get_sms_gateway
from sms.backends import console, locmem
from sms.backends.base import BaseSmsBackend
from sms.backends.failover import SmsBackend as Failover
from sms.backends.locmem import SmsMessage
from sms.tests import texts

PHONE = "+237670123456"
CODE = "042917"
TWILIO = {
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_AUTH_TOKEN": "test-token",
    "TWILIO_FROM_NUMBER": "+15005550006",
    "TWILIO_API_URL": "https://twilio.test",
}
TWILIO_SEND = f"https://twilio.test/2010-04-01/Accounts/{TWILIO['TWILIO_ACCOUNT_SID']}/Messages.json"
ORANGE = {
    "ORANGE_CLIENT_ID": "id", "ORANGE_CLIENT_SECRET": "s", "ORANGE_SENDER_ADDRESS": "tel:+2376990000",
    "ORANGE_API_URL": "https://orange.test",
}
ORANGE_SEND = "https://orange.test/smsmessaging/v1/outbound/tel%3A%2B2376990000/requests"
AFRICASTALKING = {"AFRICASTALKING_USERNAME": "u", "AFRICASTALKING_API_KEY": "k", "AFRICASTALKING_API_URL": "https://at.test"}
AFRICASTALKING_SEND = "https://at.test/version1/messaging"
# Every module of sms/backends/ that exports SmsBackend: the contract below runs against each.
BACKENDS = ("console", "locmem", "twilio", "orange", "africastalking", "failover")


@dataclass(frozen=True)
class Wired:
    """A configured backend whose provider accepts, how to read back what it delivered, in order, and the
    SendResult's provider and message id it must report."""

    backend: BaseSmsBackend
    delivered: Callable[[], list[tuple[str, str]]]
    accepted_by: tuple[str, str]


def sent_to(wire: responses.RequestsMock, url: str) -> list[str | bytes]:
    return [call.request.body or b"" for call in wire.calls if call.request.url == url]


def form(body: str | bytes, phone_field: str, text_field: str) -> tuple[str, str]:
    parsed = parse_qs(body if isinstance(body, str) else body.decode())
    return parsed[phone_field][0], parsed[text_field][0]


def configure(settings: object, values: dict[str, str]) -> None:
    for name, value in values.items():
        setattr(settings, name, value)


def console_lines(stream: io.StringIO) -> list[tuple[str, str]]:
    matches = [re.fullmatch(r"\[SMS to (\S+)\] (.*)", line) for line in stream.getvalue().splitlines()]
    return [(match[1], match[2]) if match else ("malformed line", "") for match in matches]  # fails the comparison


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture(params=BACKENDS)
def wired(
    request: pytest.FixtureRequest, settings: object, sms_outbox: list[SmsMessage], wire: responses.RequestsMock
) -> Wired:
    """Each backend, configured, with its provider (mocked with `responses`) accepting every message."""
    name = request.param
    if name == "console":
        stream = io.StringIO()
        return Wired(console.SmsBackend(stream=stream), lambda: console_lines(stream), ("console", ""))
    if name == "locmem":
        return Wired(locmem.SmsBackend(), lambda: [(m.phone, m.text) for m in sms_outbox], ("locmem", "locmem-0"))
    if name == "twilio":
        configure(settings, TWILIO)
        wire.post(TWILIO_SEND, json={"sid": "SM123", "status": "queued"}, status=201)
        return Wired(get_sms_gateway("sms.backends.twilio.SmsBackend"),
                     lambda: [form(body, "To", "Body") for body in sent_to(wire, TWILIO_SEND)], ("twilio", "SM123"))
    if name == "orange":
        configure(settings, ORANGE)
        wire.post("https://orange.test/oauth/v3/token", json={"access_token": "t", "expires_in": 3600})
        resource = f"{ORANGE_SEND}/req-7f3a"
        wire.post(ORANGE_SEND, json={"outboundSMSMessageRequest": {"resourceURL": resource}}, status=201)

        def orange_delivered() -> list[tuple[str, str]]:
            sent = [json.loads(body)["outboundSMSMessageRequest"] for body in sent_to(wire, ORANGE_SEND)]
            return [(r["address"].removeprefix("tel:"), r["outboundSMSTextMessage"]["message"]) for r in sent]

        return Wired(get_sms_gateway("sms.backends.orange.SmsBackend"), orange_delivered, ("orange", "req-7f3a"))
    if name == "africastalking":
        configure(settings, AFRICASTALKING)
        recipient = {"statusCode": 101, "messageId": "ATXid_4a1c"}
        wire.post(AFRICASTALKING_SEND, json={"SMSMessageData": {"Recipients": [recipient]}}, status=201)
        return Wired(get_sms_gateway("sms.backends.africastalking.SmsBackend"),
                     lambda: [form(body, "to", "message") for body in sent_to(wire, AFRICASTALKING_SEND)],
                     ("africastalking", "ATXid_4a1c"))
    # failover: Twilio first, down; the message goes out through locmem.
    configure(settings, TWILIO)
    wire.post(TWILIO_SEND, json={"code": 20500}, status=500)
    return Wired(get_sms_gateway("sms.backends.twilio.SmsBackend, sms.backends.locmem.SmsBackend"),
                 lambda: [(m.phone, m.text) for m in sms_outbox], ("locmem", "locmem-0"))


def test_every_backend_is_available_once_configured(wired: Wired) -> None:
    assert wired.backend.is_available() is True


def test_every_backend_delivers_the_activation_text_that_SMS_ACTIVATION_TEXT_names(wired: Wired) -> None:
    wired.backend.send_activation_code(PHONE, CODE)
    assert wired.delivered() == [(PHONE, texts.activation_text(CODE))]


@pytest.mark.parametrize("method", ["send", "send_message"])
def test_every_backend_delivers_a_text_as_given(wired: Wired, method: str) -> None:
    getattr(wired.backend, method)(PHONE, "Relevé de mars : 12,5 m3.")
    assert wired.delivered() == [(PHONE, "Relevé de mars : 12,5 m3.")]


@pytest.mark.parametrize("method", ["send_message", "send_activation_code"])
def test_every_backend_reports_who_accepted_the_message_its_id_and_its_segments(wired: Wired, method: str) -> None:
    result = getattr(wired.backend, method)(PHONE, CODE)
    assert (result.provider, result.message_id, result.segments) == (*wired.accepted_by, 1)
    assert result  # callers written for the old True keep working


def test_a_failed_send_names_the_backend_that_failed(settings: object, wire: responses.RequestsMock) -> None:
    from sms.exceptions import SmsNotProcessed

    configure(settings, TWILIO)
    wire.post(TWILIO_SEND, json={"code": 20500}, status=500)
    with pytest.raises(SmsNotProcessed) as failed:
        get_sms_gateway("sms.backends.twilio.SmsBackend").send_message(PHONE, "x")
    assert (failed.value.provider, failed.value.provider_code) == ("twilio", 20500)


def test_the_contract_runs_against_every_backend_module() -> None:
    modules = {info.name for info in pkgutil.iter_modules(sms.backends.__path__)} - {"base", "http"}
    assert modules == set(BACKENDS)
    for name in modules:
        assert issubclass(import_module(f"sms.backends.{name}").SmsBackend, BaseSmsBackend)


def test_console_backend_writes_one_line_per_message() -> None:
    stream = io.StringIO()
    console.SmsBackend(stream=stream).send_activation_code(PHONE, CODE)
    assert stream.getvalue() == f"[SMS to {PHONE}] {texts.activation_text(CODE)}\n"


def test_locmem_backend_records_in_the_module_outbox(sms_outbox: list[SmsMessage]) -> None:
    locmem.SmsBackend().send_activation_code(PHONE, CODE)
    assert sms_outbox == [SmsMessage(phone=PHONE, text=texts.activation_text(CODE))]
    assert locmem.outbox is sms_outbox


def test_an_unimportable_activation_text_sends_nothing(settings: object, sms_outbox: list[SmsMessage]) -> None:
    settings.SMS_ACTIVATION_TEXT = "sms.tests.texts.nope"  # type: ignore[attr-defined]
    with pytest.raises(ImportError):
        locmem.SmsBackend().send_activation_code(PHONE, CODE)
    assert sms_outbox == []


def test_base_backend_send_is_abstract() -> None:
    with pytest.raises(NotImplementedError):
        BaseSmsBackend().send(PHONE, "x")


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
