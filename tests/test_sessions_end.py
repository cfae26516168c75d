"""Ending sessions is immediate: after a password change or reset, a phone change, or an administrator disabling
the account or setting its password, every token issued before is refused at its next use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from sms.backends.locmem import SmsMessage
from tests.conftest import code_in
from users.models import User
from users.services import PasswordResetService, change_password
from users.tests.factories import PASSWORD, UserFactory
from users.tokens import SESSION_CLAIM, rotate, token_pair

pytestmark = pytest.mark.django_db
ME = "/api/v1/users/me/"
REFRESH = "/api/v1/auth/token/refresh/"
NEW_PASSWORD = "Nouveau-Robinet-77"


def me(access: str) -> tuple[int, str | None]:
    response = APIClient().get(ME, HTTP_AUTHORIZATION=f"Bearer {access}")
    return response.status_code, response.json().get("code")


def refresh(token: str) -> tuple[int, str | None]:
    response = APIClient().post(REFRESH, {"refresh": token}, format="json")
    return response.status_code, response.json().get("code")


@pytest.fixture
def user() -> User:
    return UserFactory(phone="+237670123456", language="en")


def change_by_api(user: User, sms_outbox: list[SmsMessage]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(user)['access']}")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    assert client.post("/api/v1/users/me/password/", body, format="json").status_code == 200


def reset_by_api(user: User, sms_outbox: list[SmsMessage]) -> None:
    APIClient().post("/api/v1/auth/password/reset/", {"phone": user.phone}, format="json")
    body = {"phone": user.phone, "code": code_in(sms_outbox[-1]), "new_password": NEW_PASSWORD}
    assert APIClient().post("/api/v1/auth/password/reset/confirm/", body, format="json").status_code == 200


def move_by_api(user: User, sms_outbox: list[SmsMessage]) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(user)['access']}")
    client.post("/api/v1/users/me/phone/", {"new_phone": "699001122", "current_password": PASSWORD}, format="json")
    confirmed = client.post("/api/v1/users/me/phone/confirm/", {"code": code_in(sms_outbox[-1])}, format="json")
    assert confirmed.status_code == 200


def admin() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("+237699000000", "admin-Pass-2026"))
    return client


def disable_in_admin(user: User, sms_outbox: list[SmsMessage]) -> None:
    form = {
        "phone": user.phone, "first_name": user.first_name, "last_name": user.last_name, "language": user.language,
        "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "activationtoken_set-TOTAL_FORMS": "0", "activationtoken_set-INITIAL_FORMS": "0",
        "activation_tokens-TOTAL_FORMS": "0", "activation_tokens-INITIAL_FORMS": "0",
        "verification_codes-TOTAL_FORMS": "0", "verification_codes-INITIAL_FORMS": "0",
        "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0",
    }  # is_active left out: unticked
    response = admin().post(reverse("admin:users_user_change", args=[user.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert not user.is_active


def set_password_in_admin(user: User, sms_outbox: list[SmsMessage]) -> None:
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    response = admin().post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]


ENDINGS: dict[str, Callable[[User, list[SmsMessage]], None]] = {
    "password change": change_by_api,
    "password reset": reset_by_api,
    "phone change": move_by_api,
    "admin disables the account": disable_in_admin,
    "admin sets a password": set_password_in_admin,
}


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_every_earlier_token_is_refused_at_its_next_use(
    ending: str, user: User, sms_outbox: list[SmsMessage]
) -> None:
    earlier = [token_pair(user) for _ in range(2)]  # two devices
    assert me(earlier[0]["access"]) == (200, None)

    ENDINGS[ending](user, sms_outbox)

    for pair in earlier:
        status, code = me(pair["access"])
        assert status == 401  # at once: not 15 minutes later
        assert code == ("user_inactive" if ending == "admin disables the account" else "session_ended")
        assert refresh(pair["refresh"]) == (401, "token_not_valid")  # blacklisted with its session


def test_the_changing_client_carries_on_with_the_pair_it_is_answered(
    user: User, sms_outbox: list[SmsMessage]
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair(user)['access']}")
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    answered = client.post("/api/v1/users/me/password/", body, format="json").json()
    assert me(answered["access"]) == (200, None)
    assert refresh(answered["refresh"])[0] == 200


def test_re_enabling_an_account_does_not_revive_its_sessions(user: User, sms_outbox: list[SmsMessage]) -> None:
    earlier = token_pair(user)
    disable_in_admin(user, sms_outbox)
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert me(earlier["access"]) == (401, "session_ended")


def test_tokens_issued_before_the_session_claim_existed_stay_valid_until_a_change(user: User) -> None:
    # Deployed over live sessions: a token without the claim counts as version 0, so nobody is logged out.
    legacy = RefreshToken.for_user(user)
    assert SESSION_CLAIM not in legacy.payload
    assert me(str(legacy.access_token)) == (200, None)
    change_password(user, current_password=PASSWORD, new_password=NEW_PASSWORD)
    assert me(str(legacy.access_token)) == (401, "session_ended")


def test_a_version_of_another_type_is_refused(user: User) -> None:
    token = RefreshToken.for_user(user)
    token[SESSION_CLAIM] = "0"  # not the integer the server issues
    assert me(str(token.access_token)) == (401, "session_ended")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("postgres")
def test_no_refresh_in_flight_outlives_a_password_reset(sms_outbox: list[SmsMessage]) -> None:
    """An attacker refreshing in a loop while the owner resets the password: 50 runs, no surviving token."""
    survivors = 0
    for run in range(50):
        owner = UserFactory(phone=f"+2376701{run:05d}")
        PasswordResetService.request_reset(owner.phone)
        code = code_in(sms_outbox[-1])
        stolen = token_pair(owner)["refresh"]
        minted: list[dict[str, str]] = []
        reset_done = threading.Event()

        def attacker(
            latest: str = stolen, minted: list[dict[str, str]] = minted, reset_done: threading.Event = reset_done
        ) -> None:
            from django.db import connection

            try:
                for _ in range(10_000):  # bounded: one more try after the reset returned, then stop
                    finished = reset_done.is_set()
                    try:
                        pair = rotate(latest)
                    except Exception:  # refused: the session has ended
                        return
                    minted.append(pair)
                    latest = pair["refresh"]
                    if finished:
                        return
            finally:
                connection.close()

        thread = threading.Thread(target=attacker)
        thread.start()
        PasswordResetService.confirm_reset(phone=owner.phone, code=code, new_password=NEW_PASSWORD)
        reset_done.set()
        thread.join()
        survivors += sum(1 for pair in minted if me(pair["access"])[0] == 200 or refresh(pair["refresh"])[0] == 200)
    assert survivors == 0


# --- A change asked with a token cannot land after the sessions ended (the review's race) -----------------


def _ended_meanwhile(user: User) -> User:
    """`user` as the request loaded it, while the owner's reset ends every session before the change lands."""
    from users.services.sessions import end_sessions

    stale = User.objects.get(pk=user.pk)
    end_sessions(User.objects.get(pk=user.pk))  # the owner's reset committed in between
    return stale


def test_a_password_change_in_flight_cannot_undo_the_owners_reset(user: User) -> None:
    from users.exceptions import SessionEnded

    stale = _ended_meanwhile(user)
    with pytest.raises(SessionEnded):
        change_password(stale, current_password=PASSWORD, new_password="Voleur-Robinet-66")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # untouched by the thief's request


def test_a_phone_change_in_flight_cannot_land_after_the_sessions_ended(
    user: User, sms_outbox: list[SmsMessage]
) -> None:
    from users.exceptions import SessionEnded
    from users.services import PhoneChangeService

    PhoneChangeService.request_change(user, new_phone="+237699001122", current_password=PASSWORD)
    stale = _ended_meanwhile(user)
    with pytest.raises(SessionEnded):
        PhoneChangeService.confirm_change(stale, code=code_in(sms_outbox[-1]))
    with pytest.raises(SessionEnded):
        PhoneChangeService.request_change(stale, new_phone="+237699001133", current_password=PASSWORD)
    user.refresh_from_db()
    assert user.phone == "+237670123456"


def test_an_admin_edit_does_not_write_back_what_a_reset_changed(user: User, sms_outbox: list[SmsMessage]) -> None:
    """The admin's page was loaded before the owner's reset; saving a name afterwards keeps the reset."""
    client = admin()
    url = reverse("admin:users_user_change", args=[user.pk])
    page = client.get(url)
    assert page.status_code == 200
    earlier = token_pair(user)
    reset_by_api(user, sms_outbox)  # the owner resets meanwhile
    form = {
        "phone": user.phone, "first_name": "Awa Marie", "last_name": user.last_name, "language": user.language,
        "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "activation_tokens-TOTAL_FORMS": "0", "activation_tokens-INITIAL_FORMS": "0",
        "verification_codes-TOTAL_FORMS": "0", "verification_codes-INITIAL_FORMS": "0",
        "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0",
    }
    assert client.post(url, form).status_code == 302
    user.refresh_from_db()
    assert user.first_name == "Awa Marie"
    assert user.check_password(NEW_PASSWORD)  # the reset's password, not the page's
    assert me(earlier["access"]) == (401, "session_ended")  # the version was not written back


def test_an_admin_moving_the_number_ends_the_sessions_and_tells_the_old_number(
    user: User, sms_outbox: list[SmsMessage], django_capture_on_commit_callbacks: Any
) -> None:
    earlier = token_pair(user)
    form = {
        "phone": "699001122", "first_name": user.first_name, "last_name": user.last_name,
        "language": user.language, "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "activation_tokens-TOTAL_FORMS": "0", "activation_tokens-INITIAL_FORMS": "0",
        "verification_codes-TOTAL_FORMS": "0", "verification_codes-INITIAL_FORMS": "0",
        "sessions-TOTAL_FORMS": "0", "sessions-INITIAL_FORMS": "0",
    }
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert admin().post(reverse("admin:users_user_change", args=[user.pk]), form).status_code == 302
    assert len(callbacks) == 1
    assert me(earlier["access"]) == (401, "session_ended")
    assert sms_outbox[-1] == SmsMessage(
        phone="+237670123456",
        text="WaterBill: your account was moved to another number. If this was not you, call our customer service.",
    )


def test_ending_the_sessions_ends_the_admins_cookie_sessions_too() -> None:
    from users.services.sessions import end_sessions

    staff = User.objects.create_superuser("+237699000001", "admin-Pass-2026")
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200
    end_sessions(staff)
    assert client.get("/admin/").status_code == 302  # to the login page
