"""Password reset by SMS code, and moving an account to a new number, over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import code_in, field_codes
from users.models import SmsRecord, User, VerificationCode
from users.services import limits
from users.tests.factories import PASSWORD, SIGNUP_TOKEN, ActivationTokenFactory, UserFactory
from users.tokens import token_pair

pytestmark = pytest.mark.django_db
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
PHONE = "/api/v1/users/me/phone/"
PHONE_CONFIRM = "/api/v1/users/me/phone/confirm/"
NEW_PASSWORD = "Nouveau-Robinet-77"
#: The one refusal of a reset code, whatever the number and the code (users.exceptions.CodeInvalid.not_usable).
NOT_USABLE = {
    "detail": "Ce code n'est pas valide, ou ne l'est plus : vérifiez-le, ou demandez-en un nouveau.",
    "code": "code_invalid",
}


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.fixture
def user() -> User:
    return UserFactory(phone="+237670123456", language="en")


def test_reset_sends_a_code_and_the_confirmation_ends_every_session(
    api_client: APIClient, user: User, sms_outbox: list[SmsMessage]
) -> None:
    old_session = token_pair(user)
    response = api_client.post(RESET, {"phone": "670123456"}, format="json")
    assert response.status_code == 202
    assert set(response.json()) == {"resend_available_at"}
    assert sms_outbox[-1].phone == "+237670123456"
    assert "password reset code" in sms_outbox[-1].text  # the user's language (en), not the request's (fr)
    confirmed = api_client.post(
        CONFIRM, {"phone": "670123456", "code": code_in(sms_outbox[-1]), "new_password": NEW_PASSWORD}, format="json"
    )
    assert confirmed.status_code == 200
    assert set(confirmed.json()) == {"access", "refresh"}
    assert confirmed["Cache-Control"] == "no-store"
    old_refresh = api_client.post("/api/v1/auth/token/refresh/", {"refresh": old_session["refresh"]}, format="json")
    assert old_refresh.status_code == 401
    assert old_refresh.json()["code"] == "token_not_valid"  # blacklisted with its session
    old_access = api_client.get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {old_session['access']}")
    assert old_access.status_code == 401  # at once, not when the access token expires
    assert old_access.json()["code"] == "session_ended"
    reset_sms, notice = sms_outbox[-2:]
    assert notice == SmsMessage(
        phone="+237670123456",
        text="WaterBill: the password of your account was changed. If this was not you, reset it now in the app.",
    )

    def login(password: str) -> Response:
        return api_client.post("/api/v1/auth/login/", {"phone": "670123456", "password": password}, format="json")

    assert login(NEW_PASSWORD).status_code == 200
    assert login(PASSWORD).status_code == 401
    again = api_client.post(
        CONFIRM,
        {"phone": "670123456", "code": code_in(reset_sms), "new_password": "Autre-Robinet-88"},
        format="json",
    )
    assert again.json() == NOT_USABLE  # used: read as any unusable code, as for a number without an account


@pytest.mark.parametrize("who", ["unknown", "pending", "disabled"])
def test_reset_answers_alike_and_sends_nothing_without_an_active_account(
    api_client: APIClient, who: str, sms_outbox: list[SmsMessage]
) -> None:
    if who == "pending":
        UserFactory(phone="+237670123456", pending=True)
    elif who == "disabled":
        UserFactory(phone="+237670123456", is_active=False)
    response = api_client.post(RESET, {"phone": "670123456"}, format="json")
    assert response.status_code == 202
    assert set(response.json()) == {"resend_available_at"}
    assert sms_outbox == []
    assert not VerificationCode.objects.exists()


def test_reset_codes_have_a_cooldown_that_reveals_nothing(
    api_client: APIClient, user: User, sms_outbox: list[SmsMessage]
) -> None:
    assert api_client.post(RESET, {"phone": "670123456"}, format="json").status_code == 202
    again = api_client.post(RESET, {"phone": "670123456"}, format="json")
    assert again.status_code == 202  # as for an unknown number: a 429 would tell the number has an account
    assert set(again.json()) == {"resend_available_at"}
    assert len(sms_outbox) == 1
    assert VerificationCode.objects.count() == 1


def test_a_failed_reset_sms_answers_like_an_unknown_number(api_client: APIClient, user: User) -> None:
    from unittest.mock import patch

    from sms.exceptions import SmsNumberRejected

    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsNumberRejected("21610", provider_code=21610)):
        response = api_client.post(RESET, {"phone": "670123456"}, format="json")
    assert response.status_code == 202
    assert set(response.json()) == {"resend_available_at"}
    assert not VerificationCode.objects.exists()  # the code counts only if its SMS went out
    failure = SmsRecord.objects.get()  # recorded for the admin, not answered
    assert (failure.phone, failure.purpose, failure.status) == ("+237670123456", "password_reset", "phone_rejected")


def test_wrong_codes_lock_the_numbers_reset_across_requests_for_at_most_40_minutes(
    api_client: APIClient, user: User, sms_outbox: list[SmsMessage]
) -> None:
    """Four wrong guesses per code from a new address each, three codes: the 13th guess finds the number's
    allowance (CODE_FAILURE_LIMIT_PHONE_ALL, 12) spent, even with the right code (a new code every minute buys
    nothing); the lock lasts until one guess refills, 40 minutes at most, and the refused guess is not counted."""
    from users.models import VerificationCode as Code

    answers = []
    for round_ in range(3):
        api_client.post(RESET, {"phone": "670123456"}, format="json")
        Code.objects.update(created_at=timezone.now() - timedelta(minutes=5))  # past the one-minute cooldown
        wrong = other_than(code_in(sms_outbox[-1]))
        for n in range(4):
            body = {"phone": "670123456", "code": wrong, "new_password": NEW_PASSWORD}
            response = api_client.post(CONFIRM, body, format="json", REMOTE_ADDR=f"10.1.{round_}.{n}")
            answers.append((response.status_code, response.json()["code"]))
    assert len(sms_outbox) == 3  # three codes, four wrong guesses each
    assert answers == [(400, "code_invalid")] * 12
    right = {"phone": "670123456", "code": code_in(sms_outbox[-1]), "new_password": NEW_PASSWORD}
    locked = api_client.post(CONFIRM, right, format="json", REMOTE_ADDR="10.2.0.1")
    assert (locked.status_code, locked.json()["code"]) == (429, "code_locked")
    assert 0 < int(locked["Retry-After"]) <= 40 * 60
    assert limits.RESET.left("+237670123456", timezone.now()) == 0  # the refused guess took nothing
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_wrong_reset_codes_count_and_the_code_dies_every_refusal_reading_alike(
    api_client: APIClient, user: User, sms_outbox: list[SmsMessage]
) -> None:
    api_client.post(RESET, {"phone": "670123456"}, format="json")
    right = code_in(sms_outbox[-1])
    wrong = "000000" if right != "000000" else "111111"
    answers = [
        api_client.post(
            CONFIRM, {"phone": "670123456", "code": wrong, "new_password": NEW_PASSWORD}, format="json"
        ).json()
        for _ in range(5)
    ]
    # No count of attempts left, no "attempts exceeded": an unknown number gets exactly these answers.
    assert answers == [NOT_USABLE] * 5
    dead = api_client.post(CONFIRM, {"phone": "670123456", "code": right, "new_password": NEW_PASSWORD}, format="json")
    assert (dead.status_code, dead.json()) == (400, NOT_USABLE)  # the fifth wrong guess killed the code
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_an_expired_reset_code_is_refused(api_client: APIClient, user: User, sms_outbox: list[SmsMessage]) -> None:
    api_client.post(RESET, {"phone": "670123456"}, format="json")
    VerificationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api_client.post(
        CONFIRM, {"phone": "670123456", "code": code_in(sms_outbox[-1]), "new_password": NEW_PASSWORD}, format="json"
    )
    assert (response.status_code, response.json()) == (400, NOT_USABLE)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_reset_new_password_follows_the_rules(api_client: APIClient, user: User, sms_outbox: list[SmsMessage]) -> None:
    api_client.post(RESET, {"phone": "670123456"}, format="json")
    response = api_client.post(
        CONFIRM, {"phone": "670123456", "code": code_in(sms_outbox[-1]), "new_password": "84937261"}, format="json"
    )
    assert response.status_code == 400
    assert field_codes(response.json()) == {"new_password": ["password_entirely_numeric"]}
    code = VerificationCode.objects.get()
    assert (code.attempts, code.used_at) == (0, None)  # a refused password counts no attempt


def test_a_reset_code_is_not_an_activation_code(
    api_client: APIClient, user: User, sms_outbox: list[SmsMessage]
) -> None:
    """Nor a code of another purpose: its hash is keyed by its purpose."""
    api_client.post(RESET, {"phone": "670123456"}, format="json")
    code = code_in(sms_outbox[-1])
    # The account pending again (for the test), with an activation code of its own: the reset code does not activate it.
    User.objects.filter(pk=user.pk).update(
        is_active=False, activated_at=None, signup_token_hash=User.hash_signup_token(SIGNUP_TOKEN)
    )
    ActivationTokenFactory(user=user, code=other_than(code))
    activation = api_client.post(
        "/api/v1/auth/activate/", {"phone": "670123456", "code": code, "signup_token": SIGNUP_TOKEN}, format="json"
    )
    assert (activation.status_code, activation.json().get("code")) == (400, "code_invalid")
    # Active again, and its reset row relabelled a phone-change code (to its own number): the hash does not match.
    User.objects.filter(pk=user.pk).update(is_active=True, activated_at=timezone.now())
    VerificationCode.objects.update(purpose=VerificationCode.Purpose.PHONE_CHANGE)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(user)['access']}")
    change = client.post(PHONE_CONFIRM, {"code": code}, format="json")
    assert (change.status_code, change.json().get("code")) == (400, "code_invalid")
    assert VerificationCode.objects.get().used_at is None


@pytest.fixture
def client_of(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(user)['access']}")
    return client


def test_phone_change_sends_a_code_to_the_new_number_and_moves_the_account(
    client_of: APIClient, user: User, sms_outbox: list[SmsMessage]
) -> None:
    response = client_of.post(PHONE, {"new_phone": "6 99 00 11 22", "current_password": PASSWORD}, format="json")
    assert response.status_code == 202
    assert set(response.json()) == {"code_expires_at"}
    assert sms_outbox[-1].phone == "+237699001122"
    assert "confirm this new number" in sms_outbox[-1].text
    user.refresh_from_db()
    assert user.phone == "+237670123456"  # not before the code
    confirmed = client_of.post(PHONE_CONFIRM, {"code": code_in(sms_outbox[-1])}, format="json")
    assert confirmed.status_code == 200
    assert set(confirmed.json()) == {"access", "refresh", "user"}
    assert confirmed.json()["user"]["phone"] == "+237699001122"
    # Every session ended, this client's too; it carries on with the pair of the answer.
    assert client_of.get("/api/v1/users/me/").json()["code"] == "session_ended"
    me = APIClient().get("/api/v1/users/me/", HTTP_AUTHORIZATION=f"Bearer {confirmed.json()['access']}")
    assert me.json()["phone"] == "+237699001122"
    # The old number hears of it, in the user's language.
    assert sms_outbox[-1] == SmsMessage(
        phone="+237670123456",
        text="WaterBill: your account was moved to another number. If this was not you, call our customer service.",
    )
    login = APIClient().post("/api/v1/auth/login/", {"phone": "699001122", "password": PASSWORD}, format="json")
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("new_phone", "code"), [("670123456", "phone_unchanged"), ("699001122", "phone_taken"), ("12", "phone_invalid")]
)
def test_phone_change_refusals_at_the_request(
    client_of: APIClient, user: User, new_phone: str, code: str, sms_outbox: list[SmsMessage]
) -> None:
    UserFactory(phone="+237699001122")
    response = client_of.post(PHONE, {"new_phone": new_phone, "current_password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"new_phone": [code], }
    assert sms_outbox == []
    assert not VerificationCode.objects.exists()


def test_a_number_taken_between_the_two_steps_is_refused_at_the_confirmation(
    client_of: APIClient, api_client: APIClient, user: User, sms_outbox: list[SmsMessage]
) -> None:
    api_client.post(RESET, {"phone": "670123456"}, format="json")  # a live reset code sent to the old number
    client_of.post(PHONE, {"new_phone": "699001122", "current_password": PASSWORD}, format="json")
    UserFactory(phone="+237699001122")  # someone signed it up meanwhile
    response = client_of.post(PHONE_CONFIRM, {"code": code_in(sms_outbox[-1])}, format="json")
    # A refusal of the request (it has no `phone` field), and nothing of the change is kept.
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Ce numéro a été pris par un autre compte depuis l'envoi du code. Choisissez un autre numéro.",
        "code": "phone_taken",
    }
    user.refresh_from_db()
    assert user.phone == "+237670123456"
    now = timezone.now()
    assert VerificationCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).count() == 2
    code = VerificationCode.objects.get(purpose=VerificationCode.Purpose.PHONE_CHANGE)
    assert (code.attempts, code.used_at) == (0, None)  # the code stays unused, no attempt counted


def test_phone_change_with_a_wrong_code(client_of: APIClient, user: User, sms_outbox: list[SmsMessage]) -> None:
    client_of.post(PHONE, {"new_phone": "699001122", "current_password": PASSWORD}, format="json")
    response = client_of.post(PHONE_CONFIRM, {"code": other_than(code_in(sms_outbox[-1]))}, format="json")
    assert response.status_code == 400
    assert response.json() == {"detail": "Ce code n'est pas valide. Il vous reste 4 essais.", "code": "code_invalid"}
    user.refresh_from_db()
    assert user.phone == "+237670123456"
    assert VerificationCode.objects.get().attempts == 1


def test_phone_change_needs_a_token(api_client: APIClient) -> None:
    requests = ((PHONE, {"new_phone": "699001122", "current_password": PASSWORD}), (PHONE_CONFIRM, {"code": "123456"}))
    for path, body in requests:
        response = api_client.post(path, body, format="json")
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_a_reset_code_sent_to_the_old_number_dies_with_the_phone_change(
    client_of: APIClient, api_client: APIClient, user: User, sms_outbox: list[SmsMessage]
) -> None:
    """A thief with the old SIM asks for a reset; the owner moves the account: the thief's code is worthless."""
    api_client.post(RESET, {"phone": "670123456"}, format="json")
    stolen_code = code_in(sms_outbox[-1])
    client_of.post(PHONE, {"new_phone": "699001122", "current_password": PASSWORD}, format="json")
    assert client_of.post(PHONE_CONFIRM, {"code": code_in(sms_outbox[-1])}, format="json").status_code == 200
    # Dead, not merely unreachable: the number it was sent to no longer leads to the account either way.
    reset_code = VerificationCode.objects.get(purpose=VerificationCode.Purpose.PASSWORD_RESET)
    assert reset_code.used_at is None
    assert reset_code.expires_at <= timezone.now()
    for phone in ("670123456", "699001122"):
        response = api_client.post(
            CONFIRM, {"phone": phone, "code": stolen_code, "new_password": NEW_PASSWORD}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "code_invalid"
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_new_number_the_provider_rejects_is_a_new_phone_field_error(client_of: APIClient, user: User) -> None:
    from unittest.mock import patch

    from sms.exceptions import SmsNumberRejected

    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsNumberRejected("21614", provider_code=21614)):
        response = client_of.post(PHONE, {"new_phone": "699001122", "current_password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"new_phone": ["phone_rejected"], }
    assert not VerificationCode.objects.exists()
