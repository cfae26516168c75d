"""Activation: a new code for a pending account (resend, operator), and the code that activates it.

The code alone does not activate: the caller proves it is the one who signed up (the sign-up token), or,
holding the code the number received, claims the sign-up with a new password.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, transaction
from django.utils import timezone

from sms.backends.base import BaseSmsBackend
from users.exceptions import (
    AccountNotPending,
    ActivationLocked,
    CodeExpired,
    CodeInvalid,
    CodeUsed,
    ServiceUnavailable,
    SignupInvalid,
)
from users.models import ActivationToken, SmsRecord, User
from users.phone import mask_phone
from users.services import audit
from users.services.delivery import (
    code_for,
    ensure_available,
    get_gateway,
    issue_activation_code,
    keep_sent_after_failed_commit,
    log_level,
    record_failure,
)
from users.services.limits import ACTIVATION, CLAIM, Attempt, check_code, check_send_limits
from users.validation import check_password_rules
from waterbill.errors import DomainError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resend:
    """A resend's answer, the same for every number: when the next code may be asked for, and the status of
    the SMS (an SmsRecord.Status value: "accepted" once the provider took it; an unknown or active number,
    which gets no SMS, answers "accepted" too)."""

    resend_available_at: datetime
    sms_status: str


def create_and_send_activation_code(user: User, *, now: datetime | None = None) -> str:
    """Replace `user`'s code by a new one and send it (an operator's action: the per-number limits do not apply).

    Returns the clear code (for the caller's memory only: never store, return or log it).
    Raises AccountNotPending, PhoneRejected, SmsServiceUnavailable or ServiceUnavailable (the database failed);
    on any of them the old code still works.
    """
    if not user.is_pending:
        raise AccountNotPending()
    gateway = get_gateway()
    ensure_available(gateway)
    return _send_new_code(user, gateway, now or timezone.now(), limited=False).code


def resend_activation_code(phone: str, *, now: datetime | None = None) -> Resend:
    """Send a new code to the pending account of `phone` (E.164); returns when the next may be asked for and
    the SMS's status.

    Unknown and already active numbers get the same answer and no SMS. At most one code a minute and five an
    hour per account (codes sent at sign-up included). A number whose activation guesses are spent still gets
    its code: a claim (a different path) can use it.
    Raises ResendTooSoon, ResendLimitReached, PhoneRejected, SmsServiceUnavailable or ServiceUnavailable.
    """
    now = now or timezone.now()
    gateway = get_gateway()
    ensure_available(gateway)  # before the lookup: an outage answers alike for every number
    user = User.objects.filter(phone=phone).first()
    status: str = SmsRecord.Status.ACCEPTED
    if user is None or not user.is_pending:
        logger.info("Resend for %s ignored: no pending account", mask_phone(phone))
    else:
        status = _send_new_code(user, gateway, now, limited=True).sms_record.status
    return Resend(resend_available_at=now + settings.ACTIVATION_RESEND_COOLDOWN, sms_status=status)


def activate(
    *,
    phone: str,
    code: str,
    signup_token: str | None = None,
    password: str | None = None,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> User:
    """Check `code` against the newest code of `phone` (E.164) and activate the account.

    With `signup_token`, the sign-up's own client activates. With `password` instead, whoever holds the code
    claims the sign-up (someone else made it, or its answer was lost): the password replaces the sign-up's.
    The code is proved before the claim's password is checked against the account's names, so a wrong code
    tells nothing about the account. A guess counts on its path's allowances (users.services.limits: claims
    for every number alike, before anything is looked up; the token holder's once the token is proved) and,
    for the token holder, on the code (committed although an error is raised). Raises CodeInvalid, SignupInvalid,
    ActivationLocked, CodeExpired, CodeUsed or CodeAttemptsExceeded, or, for a claim whose code is right,
    ValidationFailed on `password` (nothing counted, the code still works).
    """
    now = now or timezone.now()
    claiming = password is not None and signup_token is None
    # Anyone may claim: counted first, so parallel guesses cannot pass before they are counted.
    attempt = CLAIM.count(phone, client_ip, now) if claiming else None
    with transaction.atomic():
        user, token = _locked_newest(phone)
        error, held = _verdict(user, token, code, signup_token, claiming, client_ip, now)
        attempt = attempt or held
        if error is None and user is not None and token is not None and not claiming:
            _activate(user, token, now)
            audit.record(audit.Kind.ACTIVATION, user=user, client_ip=client_ip, now=now)
    if error is None and attempt is not None:
        attempt.forgive()  # a right code is not a wrong guess
    if user is None or token is None or error is not None:
        error = error or CodeInvalid()
        logger.warning("Activation failed for %s: %s", mask_phone(phone), error.code)
        raise error
    if password is not None and claiming:
        user = _claim(user, token, password, now, client_ip=client_ip)
    logger.info("User %s activated", mask_phone(phone))
    return user


def _locked_newest(phone: str) -> tuple[User | None, ActivationToken | None]:
    """The user of `phone` and its newest code, both locked (the user first: the order resend and
    re-registration take, so no deadlock)."""
    user = User.objects.select_for_update().filter(phone=phone).first()
    if user is None:
        return None, None
    return user, ActivationToken.objects.select_for_update().filter(user=user).order_by("-created_at", "-id").first()


def _verdict(
    user: User | None,
    token: ActivationToken | None,
    code: str,
    signup_token: str | None,
    claiming: bool,
    client_ip: str | None,
    now: datetime,
) -> tuple[DomainError | None, Attempt | None]:
    """None when `code` may activate, else the error to answer; with the token holder's counted attempt."""
    if user is None or token is None:
        return CodeInvalid(), None
    if token.used_at is not None:
        return CodeUsed(), None
    if not user.is_pending:
        return CodeInvalid(), None
    if signup_token is not None and user.signup_token_matches(signup_token):
        try:
            # Under the user's row lock: the holder's guesses are counted one after the other.
            attempt = ACTIVATION.count(user.phone, client_ip, now)
        except ActivationLocked as exc:
            return exc, None
        return check_code(token, code, now), attempt
    if claiming:
        return check_code(token, code, now, per_code=False), None
    # Not counted: nobody can use up the token holder's guesses without the token.
    return SignupInvalid(), None


def _claim(user: User, proved: ActivationToken, password: str, now: datetime, *, client_ip: str | None) -> User:
    """The code of a claim is proved: check the new password against the account (phone and names), hash it
    outside any transaction, then activate if that code is still the account's newest and unused.
    Raises ValidationFailed on `password`, CodeUsed, CodeExpired or CodeInvalid."""
    check_password_rules(password, user, "password")
    password_hash = make_password(password)
    with transaction.atomic():
        locked, token = _locked_newest(user.phone)
        if locked is None or token is None or token.pk != proved.pk:
            raise CodeInvalid()  # re-registered or deleted meanwhile
        if token.used_at is not None or not locked.is_pending:
            raise CodeUsed()
        if token.expires_at != proved.expires_at or token.is_expired(now):
            raise CodeExpired()  # retired meanwhile
        _activate(locked, token, now, password_hash=password_hash)
        audit.record(audit.Kind.CLAIM, user=locked, client_ip=client_ip, now=now)
    logger.info("Sign-up of %s claimed with its SMS code and a new password", mask_phone(user.phone))
    return locked


def _activate(user: User, token: ActivationToken, now: datetime, *, password_hash: str | None = None) -> None:
    """Inside the caller's transaction: use the code and activate the account (with a claim's new password)."""
    token.used_at = now
    token.save(update_fields=["used_at"])
    user.is_active = True
    user.activated_at = now
    fields = ["is_active", "activated_at"]  # save() also clears the sign-up token
    if password_hash is not None:
        user.password = password_hash
        fields.append("password")
    user.save(update_fields=fields)


def _send_new_code(user: User, gateway: BaseSmsBackend, now: datetime, *, limited: bool) -> ActivationToken:
    """Lock the user, check the send limits (if `limited`), issue and send a new code: one durable transaction.

    The old code stops working only if the new SMS went out and the transaction committed. Returns the new
    code's row (its clear `code` and its `sms_record` on the instance). Raises as `issue_activation_code`, or
    ServiceUnavailable when the database fails; an SMS the provider accepted before a failed COMMIT still
    leaves its SmsRecord.
    """
    code = code_for(user.phone)
    token: ActivationToken | None = None
    try:
        with transaction.atomic(durable=True):
            locked = User.objects.select_for_update().get(pk=user.pk)
            if limited:
                check_send_limits(ActivationToken.objects.filter(user=locked), now)
            token = issue_activation_code(locked, code, gateway, now, supersede=True, by_operator=not limited)
    except DatabaseError as exc:
        logger.exception("New activation code for %s rolled back: database error", mask_phone(user.phone))
        keep_sent_after_failed_commit(token, exc)
        raise ServiceUnavailable() from exc
    except DomainError as exc:
        logger.log(log_level(exc), "New activation code for %s not sent: %s", mask_phone(user.phone), exc.code)
        record_failure(user.phone, "activation", exc)
        raise
    logger.info("Activation code sent to %s", mask_phone(user.phone))
    return token
