"""Consent: with PRIVACY_NOTICE_VERSION set, a sign-up must accept that notice, and the account records it."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import PHONE, field_codes
from users.models import User
from users.services import AuthService

pytestmark = pytest.mark.django_db
REGISTER = "/api/v1/auth/register/"


@pytest.fixture
def notice(settings: Any) -> str:
    settings.PRIVACY_NOTICE_VERSION = "2026-11"
    return "2026-11"


def test_without_a_notice_nothing_is_asked_nor_recorded(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    assert api_client.post(REGISTER, payload, format="json").status_code == 201
    assert (
        api_client.post(
            REGISTER, {**payload, "phone": "+237670000009", "privacy_notice_version": "v0"}, format="json"
        ).status_code
        == 201
    )
    assert set(User.objects.values_list("privacy_notice_version", "privacy_notice_accepted_at")) == {("", None)}


def test_with_a_notice_a_sign_up_without_it_or_with_another_is_refused_with_every_error(
    api_client: APIClient, payload: dict[str, str], notice: str
) -> None:
    missing = api_client.post(REGISTER, {**payload, "password_confirm": "other-Pass-1"}, format="json")
    assert missing.status_code == 400
    assert field_codes(missing.json()) == {
        "privacy_notice_version": ["required"],
        "password_confirm": ["password_mismatch"],
    }
    outdated = api_client.post(REGISTER, {**payload, "privacy_notice_version": "2025-01"}, format="json")
    assert field_codes(outdated.json()) == {"privacy_notice_version": ["privacy_notice_outdated"]}
    assert "2026-11" in outdated.json()["privacy_notice_version"][0]["message"]
    assert not User.objects.exists()


def test_the_account_records_the_notice_its_language_and_the_time(
    api_client: APIClient, payload: dict[str, str], notice: str, sms_outbox: list[SmsMessage]
) -> None:
    response = api_client.post(
        REGISTER, {**payload, "privacy_notice_version": notice}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 201
    user = User.objects.get(phone=PHONE)
    assert (user.privacy_notice_version, user.privacy_notice_language) == ("2026-11", "en")
    assert user.privacy_notice_accepted_at == user.date_joined


def test_the_seeds_register_user_keeps_working_unchanged(notice: str, sms_outbox: list[SmsMessage]) -> None:
    data = {
        "phone": "6 70 12 34 56",
        "first_name": "Awa",
        "last_name": "Ngono",
        "password": "Lac-Municipal-2026",
        "password_confirm": "Lac-Municipal-2026",
    }
    user = AuthService.register_user(data)
    assert user.phone == PHONE
    assert user.privacy_notice_version == ""
