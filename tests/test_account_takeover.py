"""A stolen access token alone cannot take the account, the owner hears of every change, and nothing about an
account leaks before its code is proved."""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from sms.exceptions import SmsNotProcessed
from tests.conftest import code_in, field_codes
from users.models import SmsRecord, User, VerificationCode
from users.services import limits
from users.tests.factories import PASSWORD, SIGNUP_TOKEN, ActivationTokenFactory, UserFactory
from users.tokens import token_pair

pytestmark = pytest.mark.django_db
PHONE_CHANGE = "/api/v1/users/me/phone/"
RESET = "/api/v1/auth/password/reset/"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm/"
ACTIVATE = "/api/v1/auth/activate/"


@pytest.fixture
def owner() -> User:
    return UserFactory(phone="+237670123456", first_name="Awa", last_name="Mbarga", language="en")


@pytest.fixture
def thief(owner: User) -> APIClient:
    """A client holding the owner's access token, and nothing else."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(owner)['access']}")
    return client


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


# --- A stolen access token -------------------------------------------------------------------------------


@pytest.mark.parametrize("password", ["wrong-password-1", None])
def test_moving_the_number_needs_the_current_password(
    thief: APIClient, owner: User, password: str | None, sms_outbox: list[SmsMessage]
) -> None:
    body = {"new_phone": "699001122"} | ({"current_password": password} if password else {})
    response = thief.post(PHONE_CHANGE, body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"current_password": ["password_incorrect" if password else "required"]}
    assert sms_outbox == []
    assert not VerificationCode.objects.exists()


def test_a_password_change_tells_the_number(thief: APIClient, owner: User, sms_outbox: list[SmsMessage]) -> None:
    body = {"current_password": PASSWORD, "new_password": "Nouveau-Robinet-77"}
    assert thief.post("/api/v1/users/me/password/", body, format="json").status_code == 200
    assert sms_outbox == [
        SmsMessage(
            phone="+237670123456",
            text="WaterBill: the password of your account was changed. If this was not you, reset it now in the app.",
        )
    ]


def test_a_notice_that_cannot_be_sent_never_undoes_the_change(
    thief: APIClient, owner: User, sms_outbox: list[SmsMessage]
) -> None:
    body = {"current_password": PASSWORD, "new_password": "Nouveau-Robinet-77"}
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsNotProcessed("down", provider_code=20500)):
        response = thief.post("/api/v1/users/me/password/", body, format="json")
    assert response.status_code == 200
    owner.refresh_from_db()
    assert owner.check_password("Nouveau-Robinet-77")
    failure = SmsRecord.objects.get()
    assert (failure.phone, failure.purpose, failure.status) == ("+237670123456", "password_notice", "sms_unavailable")
    assert (failure.provider, failure.provider_code, failure.language) == ("locmem", "20500", "en")


# --- Nothing leaks before the code is proved ----------------------------------------------------------------


def test_a_wrong_reset_code_says_nothing_of_the_account_names(owner: User, sms_outbox: list[SmsMessage]) -> None:
    APIClient().post(RESET, {"phone": owner.phone}, format="json")
    wrong = other_than(code_in(sms_outbox[-1]))
    body = {"phone": owner.phone, "code": wrong, "new_password": "Mbarga2026"}  # close to the last name
    response = APIClient().post(RESET_CONFIRM, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "code_invalid"  # not `password_too_similar`


def test_once_the_code_is_right_the_password_rules_apply_and_the_code_still_works(
    owner: User, sms_outbox: list[SmsMessage]
) -> None:
    APIClient().post(RESET, {"phone": owner.phone}, format="json")
    code = code_in(sms_outbox[-1])
    refused = APIClient().post(
        RESET_CONFIRM, {"phone": owner.phone, "code": code, "new_password": "Mbarga2026"}, format="json"
    )
    assert refused.status_code == 400
    assert field_codes(refused.json()) == {"new_password": ["password_too_similar"]}
    row = VerificationCode.objects.get()
    assert (row.attempts, row.used_at) == (0, None)
    accepted = APIClient().post(
        RESET_CONFIRM, {"phone": owner.phone, "code": code, "new_password": "Nouveau-Robinet-77"}, format="json"
    )
    assert accepted.status_code == 200


@pytest.mark.parametrize("account", ["unknown", "pending", "active", "disabled"])
def test_a_reset_confirmation_answers_alike_for_every_kind_of_number(
    account: str, sms_outbox: list[SmsMessage]
) -> None:
    """After a stranger asked for a reset, a wrong code with a name-like password: the same status, code and
    headers for every kind of number (the `detail` of an active account's counts the attempts left:
    docs/security.md, What remains)."""
    if account != "unknown":
        UserFactory(
            phone="+237670123456",
            last_name="Mbarga",
            **({"pending": True} if account == "pending" else {"is_active": account == "active"}),
        )
    APIClient().post(RESET, {"phone": "670123456"}, format="json")
    assert len(sms_outbox) == (1 if account == "active" else 0)
    wrong = other_than(code_in(sms_outbox[-1])) if sms_outbox else "123456"
    body = {"phone": "670123456", "code": wrong, "new_password": "Mbarga2026"}
    response = APIClient().post(RESET_CONFIRM, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "code_invalid"
    assert "Retry-After" not in response
    assert "WWW-Authenticate" not in response


def test_a_claim_with_a_wrong_code_says_nothing_of_the_account_names() -> None:
    ActivationTokenFactory(user__phone="+237670123456", user__last_name="Mbarga", code="123456")
    body = {"phone": "670123456", "code": "654321", "password": "Mbarga2026"}
    response = APIClient().post(ACTIVATE, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "code_invalid"


def test_a_claim_with_the_right_code_checks_the_password_then_activates() -> None:
    token = ActivationTokenFactory(user__phone="+237670123456", user__last_name="Mbarga", code="123456")
    body = {"phone": "670123456", "code": "123456", "password": "Mbarga2026"}
    similar = APIClient().post(ACTIVATE, body, format="json")
    assert field_codes(similar.json()) == {"password": ["password_too_similar"]}
    token.user.refresh_from_db()
    assert token.user.is_pending
    assert limits.CLAIM.left("+237670123456", timezone.now()) == 12  # a right code is not a wrong guess
    claimed = APIClient().post(
        ACTIVATE, {"phone": "670123456", "code": "123456", "password": "Nouveau-Robinet-77"}, format="json"
    )
    assert claimed.status_code == 200
    assert User.objects.get(pk=token.user.pk).check_password("Nouveau-Robinet-77")


def test_the_sign_up_token_holder_is_not_affected_by_a_claim_refused_for_its_password() -> None:
    ActivationTokenFactory(user__phone="+237670123456", user__last_name="Mbarga", code="123456")
    APIClient().post(ACTIVATE, {"phone": "670123456", "code": "123456", "password": "Mbarga2026"}, format="json")
    response = APIClient().post(
        ACTIVATE, {"phone": "670123456", "code": "123456", "signup_token": SIGNUP_TOKEN}, format="json"
    )
    assert response.status_code == 200


# --- A stranger's number is not a target ------------------------------------------------------------------


@pytest.mark.usefixtures("clear_of_window_edges")
def test_at_most_five_phone_change_codes_reach_one_number_per_hour(sms_outbox: list[SmsMessage]) -> None:
    answers = []
    for n in range(7):  # seven accounts, each with its own password, all aiming at one stranger's number
        account = UserFactory(phone=f"+23767000{n:04d}")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(account)['access']}")
        response = client.post(PHONE_CHANGE, {"new_phone": "699001122", "current_password": PASSWORD}, format="json")
        answers.append((response.status_code, response.json().get("code")))
    assert answers[:5] == [(202, None)] * 5
    assert answers[5:] == [(429, "resend_limit_reached")] * 2
    assert [m.phone for m in sms_outbox].count("+237699001122") == 5


@pytest.mark.usefixtures("clear_of_window_edges")
def test_a_failed_phone_change_send_does_not_count_against_the_number(sms_outbox: list[SmsMessage]) -> None:
    accounts = [UserFactory(phone=f"+23767000{n:04d}") for n in range(6)]
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsNotProcessed("down", provider_code=20500)):
        for account in accounts[:3]:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(account)['access']}")
            body = {"new_phone": "699001122", "current_password": PASSWORD}
            assert client.post(PHONE_CHANGE, body, format="json").status_code == 503
    for account in accounts:  # the failed sends gave their units back: five of these six get through
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(account)['access']}")
        client.post(PHONE_CHANGE, {"new_phone": "699001122", "current_password": PASSWORD}, format="json")
    assert [m.phone for m in sms_outbox].count("+237699001122") == 5


# --- The answer's timing --------------------------------------------------------------------------------


@pytest.mark.parametrize("account", ["active", "unknown"])
def test_a_reset_request_is_answered_before_any_sms_is_sent(account: str, sms_outbox: list[SmsMessage]) -> None:
    """The SMS of a real account leaves after the answer (when the server closes the response), so the answer
    takes the same time for every number, whatever the provider's round trip."""
    from rest_framework.test import APIRequestFactory

    from users.views import PasswordResetView

    if account == "active":
        UserFactory(phone="+237670123456")
    request = APIRequestFactory().post(RESET, {"phone": "670123456"}, format="json")
    response = PasswordResetView.as_view()(request)
    response.render()
    assert response.status_code == 202
    assert sms_outbox == []  # answered: nothing sent yet, for either kind of number
    response.close()  # what the WSGI server does once the answer is written
    assert [m.phone for m in sms_outbox] == (["+237670123456"] if account == "active" else [])


# --- The review's races and guessing paths ---------------------------------------------------------------


def test_a_reset_code_proved_before_the_number_moved_cannot_set_the_password(
    owner: User, sms_outbox: list[SmsMessage]
) -> None:
    """Between the proof of the code and the new password, the owner moves the account to a new SIM: the code
    sent to the old number (a thief's, say) no longer works."""
    from django.contrib.auth.hashers import make_password

    from users.exceptions import CodeInvalid
    from users.services import PasswordResetService, PhoneChangeService

    PasswordResetService.request_reset(owner.phone)
    stolen_code = code_in(sms_outbox[-1])
    PhoneChangeService.request_change(owner, new_phone="+237699001122", current_password=PASSWORD)
    move_code = code_in(sms_outbox[-1])

    def the_owner_moves_meanwhile(password: str) -> str:
        PhoneChangeService.confirm_change(User.objects.get(pk=owner.pk), code=move_code)
        return make_password(password)

    with (
        patch("users.services.recovery.make_password", side_effect=the_owner_moves_meanwhile),
        pytest.raises(CodeInvalid),
    ):
        PasswordResetService.confirm_reset(phone=owner.phone, code=stolen_code, new_password="Voleur-Robinet-66")
    owner.refresh_from_db()
    assert owner.phone == "+237699001122"
    assert owner.check_password(PASSWORD)


@pytest.mark.usefixtures("clear_of_window_edges")
@pytest.mark.parametrize("path", ["/api/v1/users/me/password/", PHONE_CHANGE])
def test_guessing_the_current_password_with_a_stolen_token_counts_as_failed_logins(
    thief: APIClient, owner: User, path: str
) -> None:
    body = {"current_password": "not-the-password"} | (
        {"new_password": "Nouveau-Robinet-77"} if path.endswith("password/") else {"new_phone": "699001122"}
    )
    answers = [thief.post(path, body, format="json").status_code for _ in range(6)]
    assert answers == [400] * 5 + [429]  # LOGIN_FAILURE_LIMIT_PHONE: 5 per 5 minutes
    login = APIClient().post("/api/v1/auth/login/", {"phone": owner.phone, "password": PASSWORD}, format="json")
    assert login.status_code == 429
    assert login.json()["code"] == "login_locked"
