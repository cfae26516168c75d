"""POST /api/v1/auth/register/: the sign-up answer, every refusal and bad input (400, never 500), atomicity."""

from __future__ import annotations

import json
from unittest.mock import patch

import pytest
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from sms.exceptions import SmsNumberRejected, SmsUnavailable
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
    response = api_client.post(URL, payload, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["phone"] == "+237670123456"
    assert body["user"]["is_active"] is False
    assert body["user"]["first_name"] == "Awa"
    assert "password" not in body["user"]
    assert body["code_expires_at"] > body["resend_available_at"]
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
    ({"phone": "12"}, "phone", "phone_invalid"),
    ({"phone": "+33612345678"}, "phone", "phone_region_not_allowed"),
    ({"phone": "222123456"}, "phone", "phone_not_mobile"),
    ({"phone": True}, "phone", "invalid"),
    ({"phone": ["670123456"]}, "phone", "invalid"),
    ({"phone": "6" * 1000}, "phone", "phone_invalid"),
    ({"first_name": "x" * 10_000}, "first_name", "max_length"),
    ({"last_name": "x" * 10_000}, "last_name", "max_length"),
    ({"first_name": "Awa\x00"}, "first_name", "null_characters_not_allowed"),
    ({"last_name": "Ngono\x1b[31m"}, "last_name", "invalid_characters"),
    ({"first_name": ""}, "first_name", "blank"),
    ({"first_name": None}, "first_name", "null"),
    ({"first_name": {"a": 1}}, "first_name", "invalid"),
    ({"password": "x" * 129, "password_confirm": "x" * 129}, "password", "max_length"),
    ({"password": "12345678", "password_confirm": "12345678"}, "password", "password_entirely_numeric"),
    ({"password": "short", "password_confirm": "short"}, "password", "password_too_short"),
    ({"password": "password123", "password_confirm": "password123"}, "password", "password_too_common"),
    ({"password_confirm": "Another-Password-9"}, "password_confirm", "password_mismatch"),
]


@pytest.mark.parametrize(("change", "field", "code"), BAD_FIELDS)
def test_bad_fields_are_400_with_field_and_code(
    api_client: APIClient, payload: dict[str, object], change: dict[str, object], field: str, code: str,
    sms_outbox: list[SmsMessage],
) -> None:
    response = api_client.post(URL, {**payload, **change}, format="json")
    assert response.status_code == 400, response.content
    assert code in {error["code"] for error in response.json()[field]}
    assert sms_outbox == []
    assert_nothing_saved()


@pytest.mark.parametrize("missing", ["phone", "first_name", "last_name", "password", "password_confirm"])
def test_each_missing_field_is_required(api_client: APIClient, payload: dict[str, str], missing: str) -> None:
    del payload[missing]
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()[missing][0]["code"] == "required"


def test_lone_surrogate_in_a_name_is_400(api_client: APIClient, payload: dict[str, str]) -> None:
    body = json.dumps(payload).replace('"Awa"', '"Aw\\ud800a"')
    response = api_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    assert {e["code"] for e in response.json()["first_name"]} >= {"invalid_characters", "surrogate_characters_not_allowed"}


@pytest.mark.parametrize(
    "body", ["{not json", "", "[]", '"a string"', "null", "123", '{"phone": "670123456"'], ids=repr
)
def test_malformed_or_non_object_bodies_are_400(api_client: APIClient, body: str) -> None:
    response = api_client.post(URL, body, content_type="application/json")
    assert response.status_code == 400
    data = response.json()
    assert data.get("code") == "parse_error" or "non_field_errors" in data or "phone" in data
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
    assert sms_outbox == []
    assert_nothing_saved()


def test_number_rejected_by_the_provider_is_400_on_phone(api_client: APIClient, payload: dict[str, str]) -> None:
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsNumberRejected("21614", provider_code=21614)):
        response = api_client.post(URL, payload, format="json")
    assert response.status_code == 400
    assert response.json()["phone"][0]["code"] == "phone_rejected"
    assert_nothing_saved()


def test_an_unexpected_gateway_exception_is_503_not_500(api_client: APIClient, payload: dict[str, str]) -> None:
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=RuntimeError("bug in a custom backend")):
        response = api_client.post(URL, payload, format="json")
    assert response.status_code == 503
    assert_nothing_saved()


def test_re_registering_a_pending_number_within_its_limits_is_429(api_client: APIClient, payload: dict[str, str]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from users.tests.factories import ActivationTokenFactory

    # A pending sign-up whose code is dead from wrong guesses, sent 30 s ago: replaceable, but not yet.
    ActivationTokenFactory(user__phone="+237670123456", attempts=5, created_at=timezone.now() - timedelta(seconds=30))
    response = api_client.post(URL, payload, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "resend_too_soon"
    assert 0 < int(response["Retry-After"]) <= 30
