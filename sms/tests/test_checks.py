"""System checks on SMS_BACKEND and SMS_ACTIVATION_TEXT."""

from __future__ import annotations

import pytest

from sms.checks import (
    check_activation_text,
    check_backend_importable,
    check_production_backend,
)


def test_an_unimportable_backend_is_an_error(settings: object) -> None:
    settings.SMS_BACKEND = "sms.backends.nope.SmsBackend"  # type: ignore[attr-defined]
    assert [m.id for m in check_backend_importable(None)] == ["sms.E001"]


def test_empty_entries_of_SMS_BACKEND_are_ignored(settings: object) -> None:
    settings.SMS_BACKEND = "sms.backends.twilio.SmsBackend, ,sms.backends.orange.SmsBackend,"  # type: ignore[attr-defined]
    assert check_backend_importable(None) == []


def test_an_SMS_BACKEND_naming_no_backend_is_an_error(settings: object) -> None:
    settings.SMS_BACKEND = " , "  # type: ignore[attr-defined]
    assert [m.id for m in check_backend_importable(None)] == ["sms.E001"]


def test_development_backends_warn_under_check_deploy(settings: object) -> None:
    settings.SMS_BACKEND = "sms.backends.console.SmsBackend"  # type: ignore[attr-defined]
    assert [m.id for m in check_production_backend(None)] == ["sms.W001"]
    settings.SMS_BACKEND = "sms.backends.twilio.SmsBackend"  # type: ignore[attr-defined]
    assert check_production_backend(None) == []
    assert check_backend_importable(None) == []


def test_a_development_backend_in_a_failover_warns(settings: object) -> None:
    settings.SMS_BACKEND = "sms.backends.twilio.SmsBackend , sms.backends.locmem.SmsBackend"  # type: ignore[attr-defined]
    assert [m.id for m in check_production_backend(None)] == ["sms.W001"]


def test_an_importable_callable_activation_text_passes() -> None:
    assert check_activation_text(None) == []  # sms.tests.texts.activation_text (sms/tests/conftest.py)


@pytest.mark.parametrize(
    "value",
    ["sms.tests.texts.nope", "sms.nowhere.activation_text", "activation_text", "sms.gsm.SEGMENT_LENGTH", None],
    ids=["missing-name", "missing-module", "not-a-path", "not-callable", "not-a-string"],
)
def test_an_activation_text_that_cannot_be_called_is_an_error(settings: object, value: object) -> None:
    settings.SMS_ACTIVATION_TEXT = value  # type: ignore[attr-defined]
    assert [m.id for m in check_activation_text(None)] == ["sms.E002"]
