"""One code, a message for each flow: `phone_taken` and `code_used` say what the user of that flow can do, in
French by default and in English through Accept-Language."""

from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import Registered, code_in
from users.models import User, VerificationCode
from users.services import recovery
from users.tests.factories import PASSWORD, UserFactory
from users.tokens import token_pair

pytestmark = pytest.mark.django_db

PHONE = "/api/v1/users/me/phone/"
PHONE_CONFIRM = "/api/v1/users/me/phone/confirm/"
TAKEN = "+237699001122"

PHONE_TAKEN = {
    "register": {
        "fr": "Un compte utilise déjà ce numéro. Connectez-vous ou réinitialisez votre mot de passe.",
        "en": "An account already uses this number. Log in, or reset your password.",
    },
    "phone change": {
        "fr": "Ce numéro a déjà un compte. Choisissez un autre numéro.",
        "en": "This number already has an account. Choose another number.",
    },
    "phone change confirmed": {
        "fr": "Ce numéro a été pris par un autre compte depuis l'envoi du code. Choisissez un autre numéro.",
        "en": "This number was taken by another account since the code was sent. Choose another number.",
    },
}
CODE_USED = {
    "activation": {
        "fr": "Ce code a déjà été utilisé. Votre compte est actif : connectez-vous.",
        "en": "This code has already been used. Your account is active: log in.",
    },
    "reset": {
        "fr": "Ce code a déjà servi à réinitialiser le mot de passe. Demandez un nouveau code si besoin.",
        "en": "This code has already been used to reset the password. Ask for a new code if needed.",
    },
    "phone change": {
        "fr": "Ce code a déjà été utilisé : votre numéro a déjà été changé.",
        "en": "This code has already been used: your number has been changed.",
    },
}
LANGUAGES = ["fr", "en"]


def bearer(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(user)['access']}")
    return client


def code_for_a_change(client: APIClient, sms_outbox: list[SmsMessage]) -> str:
    """Ask for a move to TAKEN (free yet) and return the code the SMS carried."""
    assert client.post(PHONE, {"new_phone": TAKEN, "current_password": PASSWORD}, format="json").status_code == 202
    return code_in(sms_outbox[-1])


@pytest.fixture
def user() -> User:
    return UserFactory(phone="+237670123456")


@pytest.mark.parametrize("language", LANGUAGES)
def test_phone_taken_at_sign_up_says_log_in_or_reset(
    api_client: APIClient, payload: dict[str, str], language: str
) -> None:
    UserFactory(phone="+237670123456")
    response = api_client.post("/api/v1/auth/register/", payload, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.json() == {"phone": [{"message": PHONE_TAKEN["register"][language], "code": "phone_taken"}]}


@pytest.mark.parametrize("language", LANGUAGES)
def test_phone_taken_at_a_phone_change_says_choose_another_number(user: User, language: str) -> None:
    UserFactory(phone=TAKEN)
    body = {"new_phone": TAKEN, "current_password": PASSWORD}
    response = bearer(user).post(PHONE, body, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert response.json() == {"new_phone": [{"message": PHONE_TAKEN["phone change"][language], "code": "phone_taken"}]}


@pytest.mark.parametrize("language", LANGUAGES)
def test_phone_taken_at_the_confirmation_says_the_number_was_taken_meanwhile(
    user: User, language: str, sms_outbox: list[SmsMessage]
) -> None:
    client = bearer(user)
    code = code_for_a_change(client, sms_outbox)
    UserFactory(phone=TAKEN)
    response = client.post(PHONE_CONFIRM, {"code": code}, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert (response.status_code, response.json()) == (
        400,
        {"detail": PHONE_TAKEN["phone change confirmed"][language], "code": "phone_taken"},
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_code_used_at_activation_says_log_in(api_client: APIClient, registered: Registered, language: str) -> None:
    assert api_client.post("/api/v1/auth/activate/", registered.activation(), format="json").status_code == 200
    again = api_client.post(
        "/api/v1/auth/activate/", registered.activation(), format="json", HTTP_ACCEPT_LANGUAGE=language
    )
    assert again.json() == {"detail": CODE_USED["activation"][language], "code": "code_used"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_code_used_at_a_phone_change_says_the_number_has_changed(
    user: User, language: str, sms_outbox: list[SmsMessage]
) -> None:
    client = bearer(user)
    code = code_for_a_change(client, sms_outbox)
    moved = client.post(PHONE_CONFIRM, {"code": code}, format="json")
    assert moved.status_code == 200
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {moved.json()['access']}")  # the new session
    again = client.post(PHONE_CONFIRM, {"code": code}, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert again.json() == {"detail": CODE_USED["phone change"][language], "code": "code_used"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_code_used_at_a_reset_confirmation_does_not_say_the_account_is_active(
    api_client: APIClient, user: User, language: str, sms_outbox: list[SmsMessage]
) -> None:
    """The reset answers `code_used` only to the loser of two confirmations of one right code: the other one
    uses it while this one hashes its password (simulated here between the two steps)."""
    api_client.post("/api/v1/auth/password/reset/", {"phone": "670123456"}, format="json")
    code = code_in(sms_outbox[-1])
    check_rules = recovery.check_password_rules

    def used_meanwhile(*args: Any) -> None:
        VerificationCode.objects.filter(user=user).update(used_at=timezone.now())
        check_rules(*args)

    body = {"phone": "670123456", "code": code, "new_password": "Nouveau-Robinet-77"}
    with patch.object(recovery, "check_password_rules", used_meanwhile):
        response = api_client.post(
            "/api/v1/auth/password/reset/confirm/", body, format="json", HTTP_ACCEPT_LANGUAGE=language
        )
    assert (response.status_code, response.json()) == (
        400,
        {"detail": CODE_USED["reset"][language], "code": "code_used"},
    )
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
