"""Getting back in and moving house: password reset by SMS code, and moving the account to a new number."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from users.exceptions import (
    CodeExpired,
    CodeInvalid,
    CodeLocked,
    CodeUsed,
    PhoneRejected,
    PhoneTaken,
    ResendLimitReached,
    ResendTooSoon,
    SmsBusy,
    SmsServiceUnavailable,
    phone_unchanged,
)
from users.models import User, VerificationCode
from users.phone import mask_phone
from users.services import audit
from users.services.delivery import ensure_available, get_gateway, send_notice, send_verification_code
from users.services.limits import (
    PHONE_CHANGE,
    RESET,
    check_code,
    give_back_destination_allowance,
    take_destination_allowance,
)
from users.services.login import verify_password
from users.services.sessions import end_sessions, lock_current_session
from users.texts import password_changed_text, phone_change_text, phone_changed_text, reset_text
from users.validation import check_password_rules
from waterbill.errors import DomainError

logger = logging.getLogger(__name__)

Purpose = VerificationCode.Purpose


def _newest_code(user: User | None, purpose: str, **filters: str) -> VerificationCode | None:
    """The newest code of `purpose` of the locked `user`, locked too (the user first: the order every writer
    of both takes, so no deadlock)."""
    if user is None:
        return None
    return (
        VerificationCode.objects.select_for_update()
        .filter(user=user, purpose=purpose, **filters)
        .order_by("-created_at", "-id")
        .first()
    )


def _verdict(
    user: User | None, row: VerificationCode | None, code: str, now: datetime, *, alike: bool = False
) -> DomainError | None:
    """None when `code` may be used; else the error to answer (a wrong code counted on the code).

    `alike` (the reset, which anyone may try for any number): every refusal is the one `code_invalid`
    answer an unknown number gets, so that no answer tells that the number has an account or was sent a code.
    """
    if user is None or row is None:
        return CodeInvalid.not_usable() if alike else CodeInvalid()
    error = _used(row) if row.used_at is not None else check_code(row, code, now, tell_remaining=not alike)
    if alike and error is not None:
        return CodeInvalid.not_usable()
    return error


def _used(row: VerificationCode) -> CodeUsed:
    """`code_used`, worded for the flow of `row` (a reset, or a phone change)."""
    return CodeUsed.at_reset() if row.purpose == Purpose.PASSWORD_RESET else CodeUsed.at_phone_change()


# --- Password reset ----------------------------------------------------------------------------------------


def request_reset(
    phone: str, *, now: datetime | None = None, later: Callable[[Callable[[], None]], None] | None = None
) -> datetime:
    """Send a reset code to the active account of `phone` (E.164); returns when the next may be asked for.

    Unknown, pending and disabled numbers get the same answer and no SMS. At most one code a minute and five
    an hour per account; past them, or when the SMS fails, the answer is the same and nothing is sent.
    With `later`, the send is handed to it instead of run here: the API answers first and sends after (its
    response's close), so the answer's timing does not tell an account from an unknown number.
    Raises SmsServiceUnavailable only when the gateway is known to be down (before looking the number up).
    """
    now = now or timezone.now()
    gateway = get_gateway()
    ensure_available(gateway)
    user = User.objects.filter(phone=phone, is_active=True).first()
    if user is None:
        logger.info("Password reset for %s ignored: no active account", mask_phone(phone))
    else:
        account = user

        def send() -> None:
            try:
                send_verification_code(
                    account,
                    purpose=Purpose.PASSWORD_RESET,
                    phone=account.phone,
                    text=reset_text,
                    gateway=gateway,
                    now=now,
                )
            except (ResendTooSoon, ResendLimitReached, PhoneRejected, SmsServiceUnavailable, SmsBusy) as exc:
                # Never answered: these can only happen for a real account. Logged and recorded.
                logger.warning("Password reset code for %s not sent: %s", mask_phone(phone), exc.code)

        (later or _run_now)(send)
    return now + settings.ACTIVATION_RESEND_COOLDOWN


def _run_now(task: Callable[[], None]) -> None:
    task()


def confirm_reset(
    *, phone: str, code: str, new_password: str, client_ip: str | None = None, now: datetime | None = None
) -> User:
    """Set a new password with the reset code sent to `phone` (E.164); every session of the account ends and
    the number gets a notice.

    The code is proved first, and only then is the password checked against the account's names: before,
    a wrong code with a chosen password would tell a stranger whether the number has an account and what
    its names look like. Every guess counts on users.services.limits.RESET before anything is looked up, for
    every number alike. Raises CodeLocked (no guess left), LimitsUnavailable, CodeInvalid (any code that
    cannot be used: wrong, expired, used, out of attempts, or no account), or, once the code is right,
    ValidationFailed on `new_password` (nothing counted, the code still works).
    """
    now = now or timezone.now()
    attempt = RESET.count(phone, client_ip, now)
    with transaction.atomic():
        user = User.objects.select_for_update().filter(phone=phone, is_active=True).first()
        row = _newest_code(user, Purpose.PASSWORD_RESET, phone=phone)
        error = _verdict(user, row, code, now, alike=True)
    if error is None:
        attempt.forgive()
    if user is None or row is None or error is not None:
        error = error or CodeInvalid.not_usable()
        logger.warning("Password reset failed for %s: %s", mask_phone(phone), error.code)
        raise error
    check_password_rules(new_password, user, "new_password")
    password_hash = make_password(new_password)  # outside any transaction
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=user.pk, is_active=True).first()
        if user is None:
            raise CodeInvalid()  # disabled meanwhile
        # The proved code must still be the account's newest, unused one, untouched since (a number change
        # retires it by moving its expiry), and for the account's number (it was not re-matched).
        if (error := _still_usable(user, row, Purpose.PASSWORD_RESET, now)) is not None:
            raise error
        VerificationCode.objects.filter(pk=row.pk).update(used_at=now)
        user.password = password_hash
        user.save(update_fields=["password"])
        end_sessions(user)
        audit.record(audit.Kind.PASSWORD_RESET, user=user, client_ip=client_ip, now=now)
    logger.info("Password of %s reset with an SMS code", mask_phone(phone))
    send_notice(user, phone=user.phone, purpose="password_notice", text=password_changed_text, now=now)
    return user


def _still_usable(user: User, proved: VerificationCode, purpose: str, now: datetime) -> DomainError | None:
    """None when `proved`, checked a moment ago, is still `user`'s newest live code of `purpose`, unchanged
    since, and sent to the account's number."""
    row = _newest_code(user, purpose)
    if row is None or row.pk != proved.pk or row.phone != user.phone:
        return CodeInvalid()  # a newer code was sent, or the account moved to another number, meanwhile
    if row.used_at is not None:
        return _used(row)
    if row.expires_at != proved.expires_at or row.is_expired(now):
        return CodeExpired()  # retired meanwhile
    return None


# --- Phone change -------------------------------------------------------------------------------------------


def request_change(
    user: User,
    *,
    new_phone: str,
    current_password: str,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> VerificationCode:
    """Send a code to `new_phone` (E.164) for `user`; returns the code's row (its expiry).

    The current password is required and checked like a login (users.services.login.verify_password): an
    access token alone (stolen, or a phone left unlocked) must not be enough to move the account to another SIM.
    At most settings.PHONE_CHANGE_MAX_PER_DESTINATION codes go to one number per hour, whichever accounts ask.
    Raises ValidationFailed (`current_password`: `password_incorrect`; `new_phone`: `phone_unchanged`),
    PhoneTaken (field `new_phone`), ResendTooSoon, ResendLimitReached, PhoneRejected (field `new_phone`),
    SmsServiceUnavailable, LimitsUnavailable, LoginLocked, or SessionEnded (the sessions were ended meanwhile).
    """
    now = now or timezone.now()
    verify_password(user, current_password, client_ip=client_ip, now=now)
    if new_phone == user.phone:
        raise phone_unchanged()
    if User.objects.filter(phone=new_phone).exists():
        raise PhoneTaken.for_phone_change()
    gateway = get_gateway()
    ensure_available(gateway)
    take_destination_allowance(new_phone, now)
    try:
        return send_verification_code(
            user,
            purpose=Purpose.PHONE_CHANGE,
            phone=new_phone,
            text=phone_change_text,
            gateway=gateway,
            now=now,
            same_session=True,
        )
    except DomainError as exc:
        give_back_destination_allowance(new_phone, now)  # not sent: it does not count against the number
        if isinstance(exc, PhoneRejected):
            raise PhoneRejected(field="new_phone") from exc
        raise


def end_old_number(user: User, *, now: datetime) -> None:
    """Inside the transaction that moved `user` to another number (here, or by hand in the admin): the codes
    sent to the old number (a lost or stolen SIM) stop working, and every session ends."""
    VerificationCode.objects.filter(user=user).retire(now)
    end_sessions(user)


def confirm_change(user: User, *, code: str, client_ip: str | None = None, now: datetime | None = None) -> User:
    """Move `user` to the number its newest phone-change code was sent to; the codes sent to the old number die.

    A guess counts on users.services.limits.PHONE_CHANGE for the number the code was sent to.
    Raises SessionEnded (the sessions were ended since this request's token was issued), CodeInvalid,
    CodeLocked, LimitsUnavailable, CodeExpired, CodeUsed, CodeAttemptsExceeded, or PhoneTaken (a refusal of
    the request, no field: it names no number) when the number was taken meanwhile; then nothing but the
    wrong-code counts is written, and the code still works once the number is free.
    """
    now = now or timezone.now()
    old_phone = user.phone
    with transaction.atomic():
        locked = lock_current_session(user)
        row = _newest_code(locked, Purpose.PHONE_CHANGE)
        error: DomainError | None
        try:
            attempt = PHONE_CHANGE.count(row.phone, client_ip, now) if row is not None else None
        except CodeLocked as exc:
            attempt, row, error = None, None, exc
        else:
            error = _verdict(locked, row, code, now)
        if error is None and attempt is not None:
            attempt.forgive()
        if error is None and row is not None:
            try:
                # A savepoint: when the number was taken meanwhile, none of these writes may stay.
                with transaction.atomic():
                    VerificationCode.objects.filter(pk=row.pk).update(used_at=now)
                    User.objects.filter(pk=locked.pk).update(phone=row.phone)
                    end_old_number(locked, now=now)
                    audit.record(audit.Kind.PHONE_CHANGE, user=locked, client_ip=client_ip, now=now)
            except IntegrityError:
                error = PhoneTaken.without_field()
    if error is not None or row is None:
        error = error or CodeInvalid()
        logger.warning("Phone change failed for %s: %s", mask_phone(old_phone), error.code)
        raise error
    user.phone = row.phone
    user.session_version = locked.session_version
    logger.info("User %s moved to %s", mask_phone(old_phone), mask_phone(user.phone))
    # The old number hears of it: if the SIM was not the owner's doing, they know whom to call.
    send_notice(user, phone=old_phone, purpose="phone_notice", text=phone_changed_text, now=now)
    return user
