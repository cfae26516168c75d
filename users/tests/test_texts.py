"""The SMS texts of the account flows (users.texts): one GSM-7 segment each, in every language, as sent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from django.test import override_settings
from django.utils import translation

from sms import get_sms_gateway
from sms.backends.locmem import SmsMessage
from sms.checks import check_activation_text
from sms.gsm import fits_one_segment, non_gsm7_characters
from users.texts import (
    activation_text,
    deletion_text,
    password_changed_text,
    phone_change_text,
    phone_changed_text,
    reset_text,
)

TEXTS = [activation_text, reset_text, phone_change_text]
NOTICES = [password_changed_text, phone_changed_text]
LANGUAGES = ["fr", "en"]  # settings.LANGUAGES: add a language here when it is added there


def test_every_language_is_tested(settings: object) -> None:
    assert [code for code, _name in settings.LANGUAGES] == LANGUAGES  # type: ignore[attr-defined]


@pytest.mark.parametrize("text", TEXTS, ids=lambda text: text.__name__)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_sms_text_is_one_gsm7_segment_in_every_language(language: str, text: Callable[[str], str]) -> None:
    with translation.override(language), override_settings(ACTIVATION_CODE_TTL=timedelta(minutes=99)):
        sms = text("999999")  # the longest values the text can hold
    assert "999999" in sms
    assert not non_gsm7_characters(sms), f"{language}: {non_gsm7_characters(sms)} force UCS-2"
    assert fits_one_segment(sms), f"{language}: {len(sms)} characters"


@pytest.mark.parametrize("notice", NOTICES, ids=lambda notice: notice.__name__)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_notice_is_one_gsm7_segment_in_every_language(language: str, notice: Callable[[], str]) -> None:
    with translation.override(language):
        sms = notice()
    assert sms.startswith("WaterBill: ")
    assert not non_gsm7_characters(sms), f"{language}: {non_gsm7_characters(sms)} force UCS-2"
    assert fits_one_segment(sms), f"{language}: {len(sms)} characters"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_deletion_notice_is_one_gsm7_segment_and_gives_the_date(language: str) -> None:
    with translation.override(language):
        sms = deletion_text(date(2026, 12, 31))
    assert sms.startswith("WaterBill: ")
    assert "2026-12-31" in sms
    assert not non_gsm7_characters(sms), f"{language}: {non_gsm7_characters(sms)} force UCS-2"
    assert fits_one_segment(sms), f"{language}: {len(sms)} characters"


def test_notices_follow_the_active_language() -> None:
    with translation.override("fr"):
        french = password_changed_text()
    with translation.override("en"):
        english = password_changed_text()
    assert french.startswith("WaterBill: le mot de passe de votre compte a été changé.")
    assert english.startswith("WaterBill: the password of your account was changed.")


def test_activation_text_follows_the_active_language() -> None:
    with translation.override("fr"):
        french = activation_text("123456")
    with translation.override("en"):
        english = activation_text("123456")
    assert french == "WaterBill: votre code d'activation est 123456. Il expire dans 10 minutes. Ne le partagez jamais."
    assert english == "WaterBill: your activation code is 123456. It expires in 10 minutes. Never share it."


@pytest.mark.parametrize("text", TEXTS, ids=lambda text: text.__name__)
@pytest.mark.parametrize(
    ("language", "lifetime"), [("fr", "Il expire dans 15 minutes."), ("en", "It expires in 15 minutes.")]
)
@override_settings(ACTIVATION_CODE_TTL=timedelta(minutes=15))
def test_every_text_states_the_code_lifetime(text: Callable[[str], str], language: str, lifetime: str) -> None:
    with translation.override(language):
        assert lifetime in text("123456")


def test_the_activation_sms_is_users_activation_text(sms_outbox: list[SmsMessage]) -> None:
    # SMS_ACTIVATION_TEXT, as configured, is how the transport gets this app's words without importing it.
    assert check_activation_text(None) == []
    with translation.override("en"):
        get_sms_gateway("sms.backends.locmem.SmsBackend").send_activation_code("+237670123456", "123456")
        expected = activation_text("123456")
    assert sms_outbox == [SmsMessage(phone="+237670123456", text=expected)]
