"""The account services beyond the seed: re-registration, activation, resend limits, login, logs."""

from __future__ import annotations

import logging
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.utils import timezone

from sms import get_sms_gateway
from sms.backends.base import BaseSmsBackend
from sms.backends.locmem import SmsMessage
from sms.exceptions import SmsUnavailable
from users import exceptions as e
from users.models import ActivationToken, User
from users.services import ActivationService, AuthService
from users.tests.factories import PASSWORD, SIGNUP_TOKEN, ActivationTokenFactory, UserFactory, signup
from waterbill.errors import ValidationFailed

pytestmark = pytest.mark.django_db

PHONE = "+237670123456"


def sign_up(phone: str = "670123456", **overrides: str) -> User:
    data = {
        "phone": phone,
        "first_name": "Awa",
        "last_name": "Ngono",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    return AuthService.register_user({**data, **overrides})


def code_of(message: SmsMessage) -> str:
    return next(word for word in message.text.replace(".", " ").split() if word.isdigit() and len(word) == 6)


# --- Registration -----------------------------------------------------------------------------------


def test_registration_sends_one_sms_with_the_code(sms_outbox: list[SmsMessage]) -> None:
    user = sign_up()
    assert [m.phone for m in sms_outbox] == [PHONE]
    assert ActivationToken.objects.get(user=user).matches(code_of(sms_outbox[0]))


def test_registration_reports_expiry_and_resend_time() -> None:
    now = timezone.now()
    data = {
        "phone": "670123456",
        "first_name": "A",
        "last_name": "B",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    registration = AuthService.register(**signup(data), now=now)
    assert registration.code_expires_at == now + timedelta(minutes=10)
    assert registration.resend_available_at == now + timedelta(seconds=60)


def field_codes(error: ValidationFailed) -> dict[str, list[str]]:
    """Each invalid field's codes, in order."""
    return {field: [code for _, code in items] for field, items in error.errors.items()}


def test_invalid_data_lists_every_bad_field() -> None:
    with pytest.raises(ValidationFailed) as caught:
        AuthService.register_user(
            {"phone": "12", "first_name": "", "last_name": "x" * 151, "password": "123", "password_confirm": "124"}
        )
    assert caught.value.code == "phone_invalid"  # the first field's
    assert field_codes(caught.value) == {
        "phone": ["phone_invalid"],
        "first_name": ["blank"],
        "last_name": ["max_length"],
        "password": ["password_too_short", "password_too_common", "password_entirely_numeric"],
        "password_confirm": ["password_mismatch"],
    }
    assert not User.objects.exists()


@pytest.mark.parametrize(("bad", "code"), [(None, "null"), (12, "invalid"), (["a"], "invalid"), ({"a": 1}, "invalid")])
def test_non_string_values_are_invalid_not_crashes(bad: object, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sign_up(first_name=bad)  # type: ignore[arg-type]
    assert caught.value.code == code
    assert field_codes(caught.value) == {"first_name": [code]}


def test_control_characters_in_names_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        sign_up(first_name="Awa\x00", last_name="Ngo\x1bno")
    assert caught.value.code == "invalid_characters"
    assert field_codes(caught.value) == {
        "first_name": ["invalid_characters", "null_characters_not_allowed"],  # the codes the API answers
        "last_name": ["invalid_characters"],
    }


def test_password_similar_to_the_phone_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        sign_up(password="+237670123456", password_confirm="+237670123456")
    assert caught.value.code == "password_too_similar"
    assert field_codes(caught.value) == {"password": ["password_too_similar"]}


def test_active_account_phone_is_taken(sms_outbox: list[SmsMessage]) -> None:
    UserFactory(phone=PHONE)
    with pytest.raises(e.PhoneTaken):
        sign_up()
    assert sms_outbox == []


def test_pending_account_with_a_live_code_is_not_replaced() -> None:
    token = ActivationTokenFactory(user__phone=PHONE)
    with pytest.raises(e.PhoneTaken) as caught:
        sign_up(first_name="Squatter", password="Squatter-Pass-1", password_confirm="Squatter-Pass-1")
    assert caught.value.code == "phone_taken"
    user = User.objects.get()
    assert user.first_name == token.user.first_name
    assert user.check_password(PASSWORD)
    assert ActivationToken.objects.get() == token  # no new code either


def test_pending_account_with_expired_code_is_replaced(sms_outbox: list[SmsMessage]) -> None:
    old = ActivationTokenFactory.expired(user__phone=PHONE, user__first_name="Old")
    user = sign_up(first_name="New")
    assert user.pk == old.user.pk
    user.refresh_from_db()
    assert user.first_name == "New"
    assert user.check_password(PASSWORD)
    assert user.is_pending
    assert ActivationToken.objects.live(timezone.now()).get().matches(code_of(sms_outbox[-1]))


def test_failed_replacement_leaves_the_old_account_untouched() -> None:
    old = ActivationTokenFactory.expired(user__phone=PHONE, user__first_name="Old")
    with (
        patch("sms.backends.locmem.SmsBackend.send", side_effect=OSError("down")),
        pytest.raises(e.SmsServiceUnavailable),
    ):
        sign_up(first_name="New")
    old.user.refresh_from_db()
    assert old.user.first_name == "Old"
    assert ActivationToken.objects.count() == 1


def test_deactivated_account_is_not_replaceable() -> None:
    disabled = UserFactory(phone=PHONE, is_active=False)  # activated once, then disabled by an admin
    with pytest.raises(e.PhoneTaken):
        sign_up(first_name="Squatter")
    disabled.refresh_from_db()
    assert disabled.first_name != "Squatter"
    assert not disabled.is_active
    assert disabled.activated_at is not None


def test_concurrent_insert_of_the_same_phone_is_phone_taken_not_a_crash(sms_outbox: list[SmsMessage]) -> None:
    """The pre-check saw no account, but another sign-up committed it before our insert."""
    def another_sign_up_commits_first() -> BaseSmsBackend:
        # Between our look-up of the number and our insert, a concurrent sign-up of it commits.
        UserFactory(phone=PHONE)
        return get_sms_gateway()

    with (
        patch("users.services.get_sms_gateway", side_effect=another_sign_up_commits_first),
        pytest.raises(e.PhoneTaken),
    ):
        sign_up()
    assert User.objects.count() == 1
    assert sms_outbox == []


# --- Activation -----------------------------------------------------------------------------------------


def test_right_code_activates_and_consumes_it() -> None:
    token = ActivationTokenFactory(user__phone=PHONE, code="246810")
    now = timezone.now()
    user = ActivationService.activate(phone=PHONE, code="246810", signup_token=SIGNUP_TOKEN, now=now)
    assert user.is_active
    assert user.activated_at == now
    token.refresh_from_db()
    assert token.used_at == now
    with pytest.raises(e.CodeUsed):
        ActivationService.activate(phone=PHONE, code="246810", signup_token=SIGNUP_TOKEN)


def test_wrong_code_counts_attempts_until_the_code_dies() -> None:
    token = ActivationTokenFactory(user__phone=PHONE, code="246810")
    for remaining in (4, 3, 2, 1):
        with pytest.raises(e.CodeInvalid) as caught:
            ActivationService.activate(phone=PHONE, code="000000", signup_token=SIGNUP_TOKEN)
        assert str(remaining) in str(caught.value)
    with pytest.raises(e.CodeAttemptsExceeded):
        ActivationService.activate(phone=PHONE, code="000000", signup_token=SIGNUP_TOKEN)
    with pytest.raises(e.CodeAttemptsExceeded):
        # even the right code: it is dead
        ActivationService.activate(phone=PHONE, code="246810", signup_token=SIGNUP_TOKEN)
    token.refresh_from_db()
    assert token.attempts == 5
    assert not User.objects.get(phone=PHONE).is_active


def test_expired_code_is_refused_without_counting() -> None:
    token = ActivationTokenFactory(user__phone=PHONE, code="246810")
    with pytest.raises(e.CodeExpired):
        ActivationService.activate(phone=PHONE, code="246810", signup_token=SIGNUP_TOKEN, now=token.expires_at)
    token.refresh_from_db()
    assert token.attempts == 0


def test_unknown_phone_gets_code_invalid() -> None:
    with pytest.raises(e.CodeInvalid):
        ActivationService.activate(phone=PHONE, code="123456", signup_token=SIGNUP_TOKEN)


def test_deactivated_account_cannot_be_reactivated_with_a_code() -> None:
    token = ActivationTokenFactory(user__phone=PHONE, code="246810")
    User.objects.filter(pk=token.user.pk).update(activated_at=timezone.now())  # activated, later disabled
    with pytest.raises(e.CodeInvalid):
        ActivationService.activate(phone=PHONE, code="246810", signup_token=SIGNUP_TOKEN)
    assert not User.objects.get().is_active
    token.refresh_from_db()
    assert token.used_at is None


# --- Resend ----------------------------------------------------------------------------------------------


def test_resend_replaces_the_code(sms_outbox: list[SmsMessage]) -> None:
    now = timezone.now()
    ActivationTokenFactory(user__phone=PHONE, code="111111", created_at=now - timedelta(minutes=2))
    ActivationService.resend_activation_code(PHONE, now=now)
    new_code = code_of(sms_outbox[-1])
    with pytest.raises(e.CodeInvalid):
        ActivationService.activate(
            phone=PHONE, code="111111" if new_code != "111111" else "222222", signup_token=SIGNUP_TOKEN, now=now
        )
    assert ActivationService.activate(phone=PHONE, code=new_code, signup_token=SIGNUP_TOKEN, now=now).is_active


def test_resend_cooldown_and_hourly_limit(sms_outbox: list[SmsMessage]) -> None:
    start = timezone.now()
    ActivationTokenFactory(user__phone=PHONE, created_at=start - timedelta(minutes=2))  # the sign-up's code: 1
    ActivationService.resend_activation_code(PHONE, now=start)  # 2
    with pytest.raises(e.ResendTooSoon) as caught:
        ActivationService.resend_activation_code(PHONE, now=start + timedelta(seconds=30))
    assert caught.value.retry_after == 30
    for minute in (1, 2, 3):  # 3, 4, 5
        ActivationService.resend_activation_code(PHONE, now=start + timedelta(minutes=minute, seconds=1))
    with pytest.raises(e.ResendLimitReached) as limited:
        ActivationService.resend_activation_code(PHONE, now=start + timedelta(minutes=5))
    assert limited.value.retry_after == 53 * 60  # when the sign-up's code leaves the hour
    assert len(sms_outbox) == 4
    ActivationService.resend_activation_code(PHONE, now=start + timedelta(minutes=58, seconds=1))
    assert len(sms_outbox) == 5


def test_concurrent_style_resends_within_the_cooldown_send_once(sms_outbox: list[SmsMessage]) -> None:
    start = timezone.now()
    ActivationTokenFactory(user__phone=PHONE, created_at=start - timedelta(minutes=5))
    ActivationService.resend_activation_code(PHONE, now=start)
    with pytest.raises(e.ResendTooSoon):
        ActivationService.resend_activation_code(PHONE, now=start)
    assert len(sms_outbox) == 1


@pytest.mark.parametrize("who", ["unknown", "active"])
def test_resend_to_unknown_or_active_phone_answers_alike_and_sends_nothing(
    who: str, sms_outbox: list[SmsMessage]
) -> None:
    if who == "active":
        UserFactory(phone=PHONE)
    now = timezone.now()
    for _ in range(2):
        answer = ActivationService.resend_activation_code(PHONE, now=now)
        assert (answer.resend_available_at, answer.sms_status) == (now + timedelta(seconds=60), "accepted")
    assert sms_outbox == []


def test_a_failed_resend_keeps_the_old_code_and_does_not_count(sms_outbox: list[SmsMessage]) -> None:
    ActivationTokenFactory(user__phone=PHONE, code="111111")
    with (
        patch("sms.backends.locmem.SmsBackend.send", side_effect=OSError("down")),
        pytest.raises(e.SmsServiceUnavailable),
    ):
        ActivationService.resend_activation_code(PHONE)
    ActivationService.resend_activation_code(PHONE)  # not 429: the failed send left no code to count
    assert len(sms_outbox) == 1
    assert ActivationToken.objects.count() == 2


def test_old_code_survives_a_failed_resend() -> None:
    ActivationTokenFactory(user__phone=PHONE, code="111111")
    with (
        patch("sms.backends.locmem.SmsBackend.send", side_effect=OSError("down")),
        pytest.raises(e.SmsServiceUnavailable),
    ):
        ActivationService.resend_activation_code(PHONE)
    assert ActivationService.activate(phone=PHONE, code="111111", signup_token=SIGNUP_TOKEN).is_active


def test_create_and_send_refuses_active_accounts(sms_outbox: list[SmsMessage]) -> None:
    with pytest.raises(e.AccountNotPending):
        ActivationService.create_and_send_activation_code(UserFactory())
    assert sms_outbox == []


def test_create_and_send_returns_the_code_it_sent(sms_outbox: list[SmsMessage]) -> None:
    user = UserFactory(pending=True)
    code = ActivationService.create_and_send_activation_code(user)
    assert code in sms_outbox[0].text


# --- Login -----------------------------------------------------------------------------------------------


def test_login_with_the_right_password_records_last_login() -> None:
    user = UserFactory(phone=PHONE)
    assert AuthService.login(phone=PHONE, password=PASSWORD) == user
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize(
    ("setup", "password", "error"),
    [
        ("none", PASSWORD, e.InvalidCredentials),
        ("active", "wrong", e.InvalidCredentials),
        ("pending", PASSWORD, e.AccountInactive),
        ("pending", "wrong", e.InvalidCredentials),
        ("disabled", PASSWORD, e.AccountDisabled),
    ],
)
def test_login_refusals(setup: str, password: str, error: type[Exception]) -> None:
    if setup == "active":
        UserFactory(phone=PHONE)
    elif setup == "pending":
        UserFactory(phone=PHONE, pending=True)
    elif setup == "disabled":
        UserFactory(phone=PHONE, is_active=False)
    with pytest.raises(error):
        AuthService.login(phone=PHONE, password=password)


# --- Logs ------------------------------------------------------------------------------------------------


def test_logs_mask_phones_and_never_contain_codes(
    caplog: pytest.LogCaptureFixture, sms_outbox: list[SmsMessage]
) -> None:
    caplog.set_level(logging.INFO)
    data = {"phone": PHONE, "first_name": "A", "last_name": "B", "password": PASSWORD, "password_confirm": PASSWORD}
    registration = AuthService.register(**signup(data))
    code = code_of(sms_outbox[0])
    with pytest.raises(e.CodeInvalid):
        ActivationService.activate(
            phone=PHONE, code="000000" if code != "000000" else "111111", signup_token=registration.signup_token
        )
    ActivationService.activate(phone=PHONE, code=code, signup_token=registration.signup_token)
    AuthService.login(phone=PHONE, password=PASSWORD)

    assert "+237******456" in caplog.text
    assert PHONE not in caplog.text
    assert code not in caplog.text
    assert registration.signup_token not in caplog.text
    levels = {(r.levelname, r.getMessage().split(" ")[0]) for r in caplog.records}
    assert ("INFO", "User") in levels
    assert ("WARNING", "Activation") in levels


def test_sms_failures_are_logged_as_errors_with_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    failure = SmsUnavailable("twilio answered HTTP 500", provider_code=20500)
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=failure):
        with pytest.raises(e.SmsServiceUnavailable):
            sign_up()
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("20500" in m and "HTTP 500" in m for m in errors)
    assert any("rolled back" in m and "sms_unavailable" in m for m in errors)


def test_an_unexpected_gateway_exception_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    with (
        patch("sms.backends.locmem.SmsBackend.send", side_effect=KeyError("bug")),
        pytest.raises(e.SmsServiceUnavailable),
    ):
        sign_up()
    [record] = [r for r in caplog.records if "unexpectedly" in r.getMessage()]
    assert record.exc_info is not None
    assert "KeyError" in record.getMessage()


def test_re_registration_counts_against_the_hourly_limit(sms_outbox: list[SmsMessage]) -> None:
    now = timezone.now()
    ActivationTokenFactory.expired(user__phone=PHONE)
    for minute in range(5):  # five codes already went to this number within the hour
        ActivationService.resend_activation_code(PHONE, now=now - timedelta(minutes=50 - minute * 2))
    data = {"phone": PHONE, "first_name": "A", "last_name": "B", "password": PASSWORD, "password_confirm": PASSWORD}
    with pytest.raises(e.ResendLimitReached):
        AuthService.register(**signup(data), now=now)
    assert len(sms_outbox) == 5


def test_a_failed_re_registration_does_not_count_against_the_limits() -> None:
    ActivationTokenFactory.expired(user__phone=PHONE)
    with (
        patch("sms.backends.locmem.SmsBackend.send", side_effect=OSError("down")),
        pytest.raises(e.SmsServiceUnavailable),
    ):
        sign_up()
    assert sign_up().phone == PHONE  # not 429: the failed attempt left no code to count


def test_an_operators_send_starts_the_cooldown() -> None:
    user = UserFactory(pending=True)
    ActivationService.create_and_send_activation_code(user)
    with pytest.raises(e.ResendTooSoon):
        ActivationService.resend_activation_code(user.phone)


def test_a_code_killed_by_wrong_guesses_frees_the_number_for_a_new_sign_up(sms_outbox: list[SmsMessage]) -> None:
    ActivationTokenFactory(user__phone=PHONE, attempts=5, created_at=timezone.now() - timedelta(minutes=5))
    assert sign_up(first_name="Again").first_name == "Again"


def test_sign_up_refuses_to_run_inside_a_callers_transaction(sms_outbox: list[SmsMessage]) -> None:
    """The SMS must leave only when the sign-up's own transaction commits, never inside an outer one."""
    from django.db import transaction

    with pytest.raises(RuntimeError, match="durable atomic block cannot be nested"), transaction.atomic():
        sign_up()
    assert sms_outbox == []
    assert not User.objects.exists()


def test_argon2id_is_the_hasher_and_pbkdf2_hashes_are_upgraded_at_login(settings: object) -> None:
    from django.contrib.auth.hashers import make_password

    from waterbill import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS  # type: ignore[attr-defined]
    assert make_password("x").startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    user = UserFactory(phone=PHONE)
    User.objects.filter(pk=user.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")  # an account from before Argon2id
    )
    assert AuthService.login(phone=PHONE, password=PASSWORD) == user
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert AuthService.login(phone=PHONE, password=PASSWORD) == user
