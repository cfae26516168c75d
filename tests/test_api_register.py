"""POST /api/v1/auth/register/: the sign-up answer, every refusal and bad input (400, never 500), atomicity."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from unittest.mock import patch

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from sms.exceptions import SmsNumberRejected, SmsRecipientRefused, SmsUnavailable
from tests.conftest import field_codes
from users.models import ActivationToken, User
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/auth/register/"


def assert_nothing_saved() -> None:
    assert User.objects.count() == 0
    assert ActivationToken.objects.count() == 0


def test_sign_up_answers_the_pending_user_and_code_timing(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    before = timezone.now()
    response = api_client.post(URL, payload, format="json")
    after = timezone.now()

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"user", "signup_token", "code_expires_at", "resend_available_at", "sms_status"}
    assert body["user"]["phone"] == "+237670123456"
    assert body["user"]["is_active"] is False
    assert body["user"]["first_name"] == "Awa"
    assert "password" not in body["user"]
    resend_at, expires_at = (datetime.fromisoformat(body[key]) for key in ("resend_available_at", "code_expires_at"))
    assert before + timedelta(seconds=60) <= resend_at <= after + timedelta(seconds=60)  # the cooldown
    assert expires_at - resend_at == timedelta(minutes=9)  # the code lives 10 minutes from the same instant
    assert [m.phone for m in sms_outbox] == ["+237670123456"]
    assert "votre code" in sms_outbox[0].text  # French by default


def test_sms_language_follows_accept_language(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    api_client.post(URL, payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert "your activation code" in sms_outbox[0].text


def test_active_account_phone_is_phone_taken_on_the_phone_field(api_client: APIClient, payload: dict[str, str]) -> None:
    UserFactory(phone="+237670123456")
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "phone": [
            {
                "message": "Un compte utilise déjà ce numéro. Connectez-vous ou réinitialisez votre mot de passe.",
                "code": "phone_taken",
            }
        ]
    }


def test_messages_are_english_under_accept_language_en(api_client: APIClient, payload: dict[str, str]) -> None:
    UserFactory(phone="+237670123456")
    response = api_client.post(URL, payload, format="json", HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert response.json()["phone"][0]["message"].startswith("An account already uses this number")


BAD_FIELDS = [
    ({"phone": "12"}, {"phone": ["phone_invalid"]}),
    ({"phone": "+33612345678"}, {"phone": ["phone_region_not_allowed"]}),
    ({"phone": "222123456"}, {"phone": ["phone_not_mobile"]}),
    ({"phone": True}, {"phone": ["invalid"]}),
    ({"phone": ["670123456"]}, {"phone": ["invalid"]}),
    ({"phone": "6" * 1000}, {"phone": ["phone_invalid"]}),
    ({"first_name": "x" * 10_000}, {"first_name": ["max_length"]}),
    ({"last_name": "x" * 10_000}, {"last_name": ["max_length"]}),
    ({"first_name": "Awa\x00"}, {"first_name": ["invalid_characters", "null_characters_not_allowed"]}),
    ({"last_name": "Ngono\x1b[31m"}, {"last_name": ["invalid_characters"]}),
    ({"first_name": ""}, {"first_name": ["blank"]}),
    ({"first_name": None}, {"first_name": ["null"]}),
    ({"first_name": {"a": 1}}, {"first_name": ["invalid"]}),
    (
        {"password": "x" * 129, "password_confirm": "x" * 129},
        {"password": ["max_length"], "password_confirm": ["max_length"]},
    ),
    ({"password": "84937261", "password_confirm": "84937261"}, {"password": ["password_entirely_numeric"]}),
    ({"password": "short", "password_confirm": "short"}, {"password": ["password_too_short"]}),
    ({"password": "password123", "password_confirm": "password123"}, {"password": ["password_too_common"]}),
    ({"password": "ngono2026", "password_confirm": "ngono2026"}, {"password": ["password_too_similar"]}),
    ({"password_confirm": "Another-Password-9"}, {"password_confirm": ["password_mismatch"]}),
]


@pytest.mark.parametrize(("change", "errors"), BAD_FIELDS, ids=lambda value: repr(value)[:40])
def test_bad_fields_are_400_with_field_and_code(
    api_client: APIClient, payload: dict[str, object], change: dict[str, object], errors: dict[str, list[str]],
    sms_outbox: list[SmsMessage],
) -> None:
    response = api_client.post(URL, {**payload, **change}, format="json")
    assert response.status_code == 400, response.content
    assert field_codes(response.json()) == errors
    assert sms_outbox == []
    assert_nothing_saved()


def test_a_bad_phone_a_short_password_and_a_mismatch_come_in_one_answer(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    """Issue 13: every field's errors at once, not the phone's first and the passwords' on the next try."""
    body = {**payload, "phone": "12345", "password": "Ab1!", "password_confirm": "Ab1?"}
    response = api_client.post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert field_codes(response.json()) == {
        "phone": ["phone_invalid"],
        "password": ["password_too_short"],
        "password_confirm": ["password_mismatch"],
    }
    assert sms_outbox == []
    assert_nothing_saved()


@pytest.mark.parametrize("missing", ["phone", "first_name", "last_name", "password", "password_confirm"])
def test_each_missing_field_is_required(api_client: APIClient, payload: dict[str, str], missing: str) -> None:
    del payload[missing]
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {missing: ["required"]}


def test_lone_surrogate_in_a_name_is_400(api_client: APIClient, payload: dict[str, str]) -> None:
    body = json.dumps(payload).replace('"Awa"', '"Aw\\ud800a"')
    response = api_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"first_name": ["invalid_characters", "surrogate_characters_not_allowed"]}


PARSE_ERROR = {"detail": "Requête malformée.", "code": "parse_error"}
NOT_AN_OBJECT = {"non_field_errors": ["invalid"]}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("{not json", PARSE_ERROR),
        ('{"phone": "670123456"', PARSE_ERROR),
        # No body at all is read as an empty object: every field is missing.
        ("", {field: ["required"] for field in ("phone", "first_name", "last_name", "password", "password_confirm")}),
        ("[]", NOT_AN_OBJECT),
        ('"a string"', NOT_AN_OBJECT),
        ("123", NOT_AN_OBJECT),
        ("null", NOT_AN_OBJECT),
    ],
    ids=repr,
)
def test_malformed_or_non_object_bodies_are_400(api_client: APIClient, body: str, expected: dict[str, object]) -> None:
    response = api_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    data = response.json()
    assert (data if "detail" in data else field_codes(data)) == expected
    assert_nothing_saved()


def test_non_json_content_type_is_415(api_client: APIClient, payload: dict[str, str]) -> None:
    response = api_client.post(URL, payload)  # multipart form
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_a_stray_authorization_header_is_ignored(api_client: APIClient, payload: dict[str, str]) -> None:
    response = api_client.post(URL, payload, format="json", HTTP_AUTHORIZATION="Bearer garbage")
    assert response.status_code == 201


def test_provider_unavailable_is_503_with_retry_after_and_leaves_nothing(
    api_client: APIClient, payload: dict[str, str]
) -> None:
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsUnavailable("down", provider_code=20500)):
        response = api_client.post(URL, payload, format="json")
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json()["code"] == "sms_unavailable"
    assert_nothing_saved()
    assert api_client.post(URL, payload, format="json").status_code == 201


def test_gateway_reporting_unavailable_is_503_before_any_send(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    with patch("sms.backends.locmem.SmsBackend.is_available", return_value=False):
        response = api_client.post(URL, payload, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "sms_unavailable"
    assert response["Retry-After"] == "60"
    assert sms_outbox == []
    assert_nothing_saved()


@pytest.mark.parametrize(
    "refusal",
    [SmsNumberRejected("21614", provider_code=21614), SmsRecipientRefused("21408", provider_code=21408)],
    ids=lambda refusal: type(refusal).__name__,
)
def test_number_rejected_by_the_provider_is_400_on_phone(
    api_client: APIClient, payload: dict[str, str], refusal: Exception
) -> None:
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=refusal):
        response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"phone": ["phone_rejected"]}
    assert_nothing_saved()


def test_an_unexpected_gateway_exception_is_503_not_500(api_client: APIClient, payload: dict[str, str]) -> None:
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=RuntimeError("bug in a custom backend")):
        response = api_client.post(URL, payload, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "sms_unavailable"
    assert_nothing_saved()


def test_re_registering_a_pending_number_within_its_limits_is_429(
    api_client: APIClient, payload: dict[str, str]
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from users.tests.factories import ActivationTokenFactory

    # A pending sign-up whose code is dead from wrong guesses, sent 30 s ago: replaceable, but not yet.
    ActivationTokenFactory(user__phone="+237670123456", attempts=5, created_at=timezone.now() - timedelta(seconds=30))
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "resend_too_soon"
    assert 0 < int(response["Retry-After"]) <= 30
