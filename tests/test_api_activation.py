"""POST /api/v1/auth/activate/ and /activate/resend/: codes in, JWT pair out; limits and no enumeration."""

from __future__ import annotations

from datetime import timedelta
from unittest.mock import patch

import pytest
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from sms.exceptions import SmsUnavailable
from tests.conftest import Registered, code_in, field_codes
from users.models import ActivationToken, User
from users.services import limits
from users.tests.factories import PASSWORD, SIGNUP_TOKEN, ActivationTokenFactory, UserFactory

pytestmark = pytest.mark.django_db
ACTIVATE = "/api/v1/auth/activate/"
RESEND = "/api/v1/auth/activate/resend/"


def other_code(code: str) -> str:
    return "000000" if code != "000000" else "111111"


def activation(code: str) -> dict[str, str]:
    """An activation body for the factories' pending user (+237670123456)."""
    return {"phone": "670123456", "code": code, "signup_token": SIGNUP_TOKEN}


def test_activation_answers_a_working_jwt_pair_and_the_active_user(
    api_client: APIClient, registered: Registered
) -> None:
    response = api_client.post(ACTIVATE, registered.activation(phone="670123456"), format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["user"]["is_active"] is True
    assert body["user"]["activated_at"] is not None
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    me = api_client.get("/api/v1/users/me/")
    assert me.status_code == 200
    assert me.json()["phone"] == registered.phone
    refreshed = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": body["refresh"]}, format="json")
    assert refreshed.status_code == 200


def test_used_code_is_code_used(api_client: APIClient, registered: Registered) -> None:
    assert api_client.post(ACTIVATE, registered.activation(), format="json").status_code == 200
    response = api_client.post(ACTIVATE, registered.activation(), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "code_used"


def test_wrong_codes_count_down_then_the_code_dies(api_client: APIClient, registered: Registered) -> None:
    wrong = registered.activation(code=other_code(registered.code))
    answers = [api_client.post(ACTIVATE, wrong, format="json").json() for _ in range(5)]
    assert [a["code"] for a in answers] == ["code_invalid"] * 4 + ["code_attempts_exceeded"]
    assert "4" in answers[0]["detail"]
    right = api_client.post(ACTIVATE, registered.activation(), format="json")
    assert right.json()["code"] == "code_attempts_exceeded"
    assert not User.objects.get().is_active


def test_expired_code_is_code_expired(api_client: APIClient, registered: Registered) -> None:
    ActivationToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_client.post(ACTIVATE, registered.activation(), format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Ce code a expiré. Demandez-en un nouveau.", "code": "code_expired"}


def test_unknown_phone_is_code_invalid(api_client: APIClient) -> None:
    response = api_client.post(ACTIVATE, {"phone": "670123456", "code": "123456", "signup_token": "x"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "code_invalid"


@pytest.mark.parametrize(
    ("code", "codes"),
    [
        ("12345", ["invalid"]),
        # docs/api.md gives `invalid` for a code that is not 6 digits; a longer one also gets `max_length`, first.
        ("1234567", ["max_length", "invalid"]),
        ("12a456", ["invalid"]),
        ("", ["blank"]),
        (None, ["null"]),
        (12345, ["invalid"]),
        (["123456"], ["invalid"]),
        ("１２３４５６", ["invalid"]),  # fullwidth digits are not ASCII digits
    ],
    ids=repr,
)
def test_malformed_codes_are_field_errors(api_client: APIClient, code: object, codes: list[str]) -> None:
    response = api_client.post(ACTIVATE, {"phone": "670123456", "code": code, "signup_token": "x"}, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"code": codes}  # a list under the field `code`, not a refusal
    for error in response.json()["code"]:
        if error["code"] == "invalid":
            assert error["message"] == "Saisissez le code à 6 chiffres reçu par SMS."


def test_resend_sends_a_new_code_and_the_old_one_stops_working(
    api_client: APIClient, sms_outbox: list[SmsMessage]
) -> None:
    ActivationTokenFactory(user__phone="+237670123456", code="111111")
    response = api_client.post(RESEND, {"phone": "00237670123456"}, format="json")
    assert response.status_code == 202
    assert set(response.json()) == {"resend_available_at", "sms_status"}
    assert response.json()["sms_status"] == "accepted"
    new_code = code_in(sms_outbox[-1])
    if new_code != "111111":  # one chance in a million that the new code is the old one
        old = api_client.post(ACTIVATE, activation("111111"), format="json")
        assert old.status_code == 400
        assert old.json()["code"] == "code_invalid"
    assert api_client.post(ACTIVATE, activation(new_code), format="json").status_code == 200


def test_resend_right_after_sign_up_is_429_with_retry_after(api_client: APIClient, registered: Registered) -> None:
    response = api_client.post(RESEND, {"phone": registered.phone}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "resend_too_soon"
    assert 0 < int(response["Retry-After"]) <= 60


@pytest.mark.parametrize("who", ["unknown", "active"])
def test_resend_to_unknown_or_active_phone_is_the_same_202_without_sms(
    api_client: APIClient, who: str, sms_outbox: list[SmsMessage]
) -> None:
    if who == "active":
        UserFactory(phone="+237670123456")
    response = api_client.post(RESEND, {"phone": "670123456"}, format="json")
    assert response.status_code == 202
    assert response.json()["sms_status"] == "accepted"  # as for a pending number's SMS the provider took
    assert set(response.json()) == {"resend_available_at", "sms_status"}
    assert sms_outbox == []


def test_resend_with_provider_down_is_503_and_keeps_the_old_code(api_client: APIClient) -> None:
    ActivationTokenFactory(user__phone="+237670123456", code="111111")
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsUnavailable("down")):
        response = api_client.post(RESEND, {"phone": "670123456"}, format="json")
    assert response.status_code == 503
    assert response.json()["code"] == "sms_unavailable"
    assert api_client.post(ACTIVATE, activation("111111"), format="json").status_code == 200


def test_resend_of_an_invalid_phone_is_a_field_error(api_client: APIClient) -> None:
    response = api_client.post(RESEND, {"phone": "+33612345678"}, format="json")
    assert response.status_code == 400
    assert response.json()["phone"][0]["code"] == "phone_region_not_allowed"


def test_activation_requires_the_sign_ups_token_and_wrong_tokens_use_no_attempts(
    api_client: APIClient, registered: Registered
) -> None:
    blank = api_client.post(ACTIVATE, registered.activation(signup_token=""), format="json")
    assert blank.status_code == 400
    assert field_codes(blank.json()) == {"signup_token": ["blank"]}
    for token in ("a-guess", "x" * 128):
        response = api_client.post(ACTIVATE, registered.activation(signup_token=token), format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "signup_invalid"
    for _ in range(6):
        wrong = api_client.post(
            ACTIVATE, registered.activation(signup_token="stolen-phone-but-no-token"), format="json"
        )
        assert wrong.json()["code"] == "signup_invalid"
    assert ActivationToken.objects.get().attempts == 0
    assert api_client.post(ACTIVATE, registered.activation(), format="json").status_code == 200


def test_someone_else_cannot_take_over_a_sign_up_by_re_registering_and_resending(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    """The attack: register the victim's number with the attacker's password; the victim receives a code.

    The code alone does not activate: activation needs the attacker's sign-up token, which the victim
    does not have, so the victim never ends up in an account whose password someone else knows.
    """
    attacker = api_client.post("/api/v1/auth/register/", {**payload, "first_name": "Mallory"}, format="json")
    assert attacker.status_code == 201
    victim_code = code_in(sms_outbox[-1])
    response = api_client.post(
        ACTIVATE, {"phone": "670123456", "code": victim_code, "signup_token": "what-the-victim-has"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "signup_invalid"
    assert not User.objects.get().is_active


def test_a_replaced_sign_up_can_no_longer_be_activated(
    api_client: APIClient, payload: dict[str, str], registered: Registered, sms_outbox: list[SmsMessage]
) -> None:
    ActivationToken.objects.update(
        created_at=timezone.now() - timedelta(hours=2), expires_at=timezone.now() - timedelta(hours=1)
    )
    second = api_client.post("/api/v1/auth/register/", payload, format="json")
    assert second.status_code == 201
    new_code = code_in(sms_outbox[-1])
    stale = api_client.post(ACTIVATE, registered.activation(code=new_code), format="json")
    assert stale.status_code == 400
    assert stale.json()["code"] == "signup_invalid"
    fresh = registered.activation(code=new_code, signup_token=second.json()["signup_token"])
    assert api_client.post(ACTIVATE, fresh, format="json").status_code == 200


def test_the_numbers_owner_claims_a_sign_up_made_by_someone_else(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    """Someone signed the number up with their own password; its owner, who receives the code, claims it
    with a new password: the squatter's password is gone, the owner's works."""
    squatter = api_client.post(
        "/api/v1/auth/register/",
        {**payload, "password": "Squatter-Pass-1", "password_confirm": "Squatter-Pass-1"},
        format="json",
    )
    assert squatter.status_code == 201
    owner_again = api_client.post("/api/v1/auth/register/", payload, format="json")
    assert owner_again.json()["phone"][0]["code"] == "phone_taken"
    assert "new password" in APIClient().post(
        "/api/v1/auth/register/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en"
    ).json()["phone"][0]["message"]
    code = code_in(sms_outbox[-1])
    claimed = api_client.post(
        ACTIVATE, {"phone": "670123456", "code": code, "password": "Owner-Pass-2026"}, format="json"
    )
    assert claimed.status_code == 200
    assert set(claimed.json()) == {"access", "refresh", "user"}

    def login(password: str) -> Response:
        return api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": password}, format="json")

    assert login("Squatter-Pass-1").status_code == 401
    assert login("Owner-Pass-2026").status_code == 200


def test_a_lost_sign_up_answer_is_recovered_with_the_code_and_a_password(
    api_client: APIClient, registered: Registered
) -> None:
    response = api_client.post(
        ACTIVATE, {"phone": registered.phone, "code": registered.code, "password": "Another-Pass-2026"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["user"]["is_active"] is True

    def login(password: str) -> Response:
        return api_client.post(
            "/api/v1/auth/login/", {"phone": registered.phone, "password": password}, format="json"
        )

    assert login("Another-Pass-2026").status_code == 200
    assert login(PASSWORD).status_code == 401  # the sign-up's password was replaced


def test_wrong_claims_by_strangers_never_stop_the_token_holder(api_client: APIClient, registered: Registered) -> None:
    """Strangers who know the number guess codes with a password of theirs: they lock only the claims."""
    wrong = {"phone": registered.phone, "code": other_code(registered.code), "password": "Stranger-Pass-2026"}
    answers = [
        api_client.post(ACTIVATE, wrong, format="json", REMOTE_ADDR=f"10.0.0.{n}").json()["code"] for n in range(14)
    ]
    assert answers == ["code_invalid"] * 12 + ["activation_locked"] * 2  # CODE_FAILURE_LIMIT_PHONE_ALL: 12
    token = ActivationToken.objects.get()
    assert token.attempts == 0
    assert limits.ACTIVATION.left(registered.phone, timezone.now()) == 12  # the holder's path is untouched
    assert api_client.post(ACTIVATE, registered.activation(), format="json").status_code == 200


def test_a_claim_with_the_token_too_is_refused(api_client: APIClient, registered: Registered) -> None:
    body = registered.activation(password="Another-Pass-2026")
    response = api_client.post(ACTIVATE, body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"password": ["invalid"]}
    assert not User.objects.get().is_active


def test_a_claims_password_is_checked_against_the_accounts_names(api_client: APIClient, registered: Registered) -> None:
    body = {"phone": registered.phone, "code": registered.code, "password": "ngono2026"}  # the sign-up's last name
    response = api_client.post(ACTIVATE, body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"password": ["password_too_similar"]}
    assert ActivationToken.objects.get().attempts == 0  # a refused password counts no attempt


def test_a_claims_password_must_pass_the_password_rules(api_client: APIClient, registered: Registered) -> None:
    response = api_client.post(
        ACTIVATE, {"phone": registered.phone, "code": registered.code, "password": "84937261"}, format="json"
    )
    assert response.status_code == 400
    assert field_codes(response.json()) == {"password": ["password_entirely_numeric"]}
    assert not User.objects.get().is_active


def test_activation_needs_the_token_or_a_password(api_client: APIClient, registered: Registered) -> None:
    response = api_client.post(ACTIVATE, {"phone": registered.phone, "code": registered.code}, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"signup_token": ["required"]}


def test_every_sms_follows_the_users_language_not_the_requests(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    registered = api_client.post("/api/v1/auth/register/", payload, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert registered.json()["user"]["language"] == "en"
    assert "your activation code" in sms_outbox[-1].text
    ActivationToken.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    assert api_client.post(RESEND, {"phone": "670123456"}, format="json", HTTP_ACCEPT_LANGUAGE="fr").status_code == 202
    assert "your activation code" in sms_outbox[-1].text  # a French request, an English user


def test_the_sms_language_is_editable(
    auth_client: APIClient, active_user: User, sms_outbox: list[SmsMessage]
) -> None:
    from users.services import ActivationService

    assert auth_client.patch("/api/v1/users/me/", {"language": "en"}, format="json").json()["language"] == "en"
    refused = auth_client.patch("/api/v1/users/me/", {"language": "de"}, format="json")
    assert refused.status_code == 400
    assert field_codes(refused.json()) == {"language": ["invalid_choice"]}
    User.objects.filter(pk=active_user.pk).update(is_active=False, activated_at=None)  # pending again, for the test
    ActivationService.create_and_send_activation_code(User.objects.get(pk=active_user.pk))
    assert "your activation code" in sms_outbox[-1].text
