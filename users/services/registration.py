"""Sign-up: a pending user and its activation code, all or nothing (docs/atomic-registration.md).

A user row exists only if its activation SMS went out, and an SMS goes out only for a user that is saved.
Hence the password is hashed before the transaction; inside it come the user insert, the code insert and,
last, the bounded SMS call, so that any failure rolls back both rows.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone, translation

from users.exceptions import PhoneTaken, ServiceUnavailable, SmsBusy
from users.models import ActivationToken, User
from users.phone import mask_phone
from users.services import audit
from users.services.blocks import check_block_allowance
from users.services.delivery import (
    code_for,
    ensure_available,
    get_gateway,
    issue_activation_code,
    keep_sent_after_failed_commit,
    log_level,
    record_failure,
    sends_in_flight,
)
from users.services.limits import check_send_limits
from users.validation import clean_registration
from waterbill.errors import DomainError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """A completed sign-up: the pending user, the secret its activation requires, the code's timing."""

    user: User
    signup_token: str
    code_expires_at: datetime
    resend_available_at: datetime
    #: The activation SMS's status: "accepted" (the provider took it) when the sign-up answers.
    sms_status: str = "accepted"


def register(
    *,
    phone: str,
    first_name: str,
    last_name: str,
    password: str,
    privacy_notice_version: str = "",
    client_ip: str | None = None,
    now: datetime | None = None,
) -> Registration:
    """Create a pending user for `phone` (E.164) and send its activation code, all or nothing.

    The arguments have passed `users.validation.clean_registration` (the API's serializer runs it). A pending
    account none of whose codes can still be used is replaced, within the per-number send limits. The answer
    carries the sign-up token that activation requires.
    Raises PhoneTaken, ResendTooSoon, ResendLimitReached, PhoneRejected, SmsServiceUnavailable or
    ServiceUnavailable (the database failed); after any of them nothing was written and no code can have
    reached the phone for an account that does not exist.
    """
    now = now or timezone.now()
    existing = User.objects.filter(phone=phone).first()
    if existing is not None and not _is_replaceable(existing, now):
        logger.warning("Registration refused for %s: phone taken", mask_phone(phone))
        raise PhoneTaken.pending() if existing.is_pending else PhoneTaken()
    gateway = get_gateway()
    ensure_available(gateway)
    check_block_allowance(phone, now)
    if sends_in_flight().full():  # shed before the hash and the transaction, not after them
        logger.warning("Registration of %s shed: every SMS slot of this worker is taken", mask_phone(phone))
        raise SmsBusy()
    # Argon2id, ~30-40 ms of CPU (docs/performance.md): paid before the transaction, never while holding it.
    password_hash = make_password(password)
    code = code_for(phone)
    signup_token = secrets.token_urlsafe(32)
    fields = {
        "first_name": first_name,
        "last_name": last_name,
        "password": password_hash,
        "signup_token_hash": User.hash_signup_token(signup_token),
        "date_joined": now,
        "language": _request_language(),
    }
    if privacy_notice_version:  # the consent, as it was given: which notice, in which language, when
        fields.update(
            privacy_notice_version=privacy_notice_version,
            privacy_notice_language=fields["language"],
            privacy_notice_accepted_at=now,
        )
    token: ActivationToken | None = None
    try:
        # durable: the SMS must leave only when this very transaction commits, never inside a caller's.
        with transaction.atomic(durable=True):
            user = _insert_user(phone, fields) if existing is None else _replace_pending_user(existing.pk, fields, now)
            # Before the code and its SMS, which stay last: an SMS leaves only once every write before it held.
            audit.record(audit.Kind.SIGNUP, user=user, client_ip=client_ip, now=now)
            token = issue_activation_code(user, code, gateway, now, supersede=existing is not None)
    except DatabaseError as exc:
        # The seed's failure table: a database error at any step leaves no user, and is the seed's ValueError.
        logger.exception("Atomic registration of %s rolled back: database error", mask_phone(phone))
        keep_sent_after_failed_commit(token, exc)  # the SMS may have gone out: its record survives the rollback
        raise ServiceUnavailable() from exc
    except DomainError as exc:
        logger.log(log_level(exc), "Atomic registration of %s rolled back: %s", mask_phone(phone), exc.code)
        record_failure(phone, "activation", exc)
        raise
    logger.info(
        "User %s %s and activation code sent",
        mask_phone(user.phone),
        "created" if existing is None else "re-registered",
    )
    return Registration(
        user=user,
        signup_token=signup_token,
        code_expires_at=token.expires_at,
        resend_available_at=now + settings.ACTIVATION_RESEND_COOLDOWN,
        sms_status=token.sms_record.status,
    )


def register_user(data: Mapping[str, Any]) -> User:
    """The seed's contract: sign up from the raw dict (phone in any spelling, first_name, last_name, password,
    password_confirm), checked with the API's rules; returns the pending user.

    Raises ValidationFailed (every invalid field at once), or as `register`: every error is a ValueError.
    """
    return register(**asdict(clean_registration(data))).user


def _request_language() -> str:
    """The active language (the request's, set by LocaleMiddleware) among settings.LANGUAGES."""
    try:
        return translation.get_supported_language_variant(translation.get_language() or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def _is_replaceable(user: User, now: datetime) -> bool:
    """A pending account none of whose codes can still be used (expired, used, or out of attempts)."""
    return user.is_pending and not ActivationToken.objects.filter(user=user).live(now).exists()


def _insert_user(phone: str, fields: dict[str, Any]) -> User:
    """Insert the pending user. Raises PhoneTaken when a concurrent sign-up inserted the phone first."""
    try:
        # The savepoint keeps the outer transaction usable; IntegrityError is caught outside it.
        with transaction.atomic():
            return User.objects.create(phone=phone, **fields)
    except IntegrityError:
        logger.warning("Registration refused for %s: phone taken by a concurrent sign-up", mask_phone(phone))
        raise PhoneTaken() from None


def _replace_pending_user(pk: int, fields: dict[str, Any], now: datetime) -> User:
    """Lock the pending account and overwrite it with the new sign-up.

    Raises PhoneTaken if it changed meanwhile (activated, re-registered or deleted), ResendTooSoon /
    ResendLimitReached if the number already got its share of codes.
    """
    user = User.objects.select_for_update().filter(pk=pk).first()
    if user is None or not _is_replaceable(user, now):
        raise PhoneTaken()
    check_send_limits(ActivationToken.objects.filter(user=user), now)
    for name, value in fields.items():
        setattr(user, name, value)
    user.save(update_fields=list(fields))
    return user
