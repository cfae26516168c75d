"""System checks on SMS_BACKEND."""

from __future__ import annotations

from sms.checks import check_backend_importable, check_production_backend


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
