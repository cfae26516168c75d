"""Sign-up, activation, resend and login: the decisions and the writes. Never imports DRF.

The sign-up rule: a user row exists only if its activation SMS went out, and an SMS goes out only for
a user that is saved. Hence validation and password hashing happen before the transaction; inside it
come the user insert, the code insert and, last, the bounded SMS call, so that any failure rolls back
both rows. See docs/atomic-registration.md.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from sms import get_sms_gateway
from sms.backends.base import BaseSmsBackend
from sms.exceptions import SmsNumberRejected
from users.exceptions import (
    AccountDisabled,
    AccountInactive,
    AccountNotPending,
    CodeAttemptsExceeded,
    CodeExpired,
    CodeInvalid,
    CodeUsed,
    InvalidCredentials,
    PhoneRejected,
    PhoneTaken,
    ResendLimitReached,
    ResendTooSoon,
    SmsServiceUnavailable,
)
from users.models import ActivationToken, User
from users.phone import mask_phone
from users.validation import RegistrationData, clean_registration
from waterbill.errors import DomainError

logger = logging.getLogger(__name__)

HOUR = 3600.0


@dataclass(frozen=True)
class Registration:
    """A completed sign-up: the pending user, when its code expires, when a new code may be asked for."""

    user: User
    code_expires_at: datetime
    resend_available_at: datetime


# --- SMS sending -----------------------------------------------------------------------------------------


def _ensure_available(gateway: BaseSmsBackend) -> None:
    """Refuse before any write when the gateway already knows it cannot send. Raises SmsServiceUnavailable."""
    try:
        available = gateway.is_available()
    except Exception:
        logger.exception("SMS gateway %s failed its availability check", type(gateway).__module__)
        available = False
    if not available:
        logger.error("SMS gateway %s unavailable: request refused before any write", type(gateway).__module__)
        raise SmsServiceUnavailable()


def _send_activation_code(gateway: BaseSmsBackend, phone: str, code: str) -> None:
    """Send the code, turning every failure into a domain error. Raises PhoneRejected or SmsServiceUnavailable.

    The gateway is the outside world: any exception it raises means "not sent" and must roll back.
    """
    try:
        sent = gateway.send_activation_code(phone, code)
    except SmsNumberRejected as exc:
        logger.warning("Activation SMS to %s rejected by the provider (error %s)", mask_phone(phone), exc.provider_code)
        raise PhoneRejected() from exc
    except Exception as exc:
        logger.error(
            "Activation SMS to %s failed (error %s): %s: %s",
            mask_phone(phone),
            getattr(exc, "provider_code", None),
            type(exc).__name__,
            str(exc).replace(phone, mask_phone(phone)),  # a backend's message may quote the number
        )
        raise SmsServiceUnavailable() from exc
    if not sent:
        logger.error("Activation SMS to %s failed: the gateway reported it was not sent", mask_phone(phone))
        raise SmsServiceUnavailable()


def _issue_code(user: User, code: str, gateway: BaseSmsBackend, now: datetime, *, supersede: bool) -> ActivationToken:
    """Inside the caller's transaction: retire the user's live codes, save the new one, send it last."""
    if supersede:
        ActivationToken.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    token = ActivationToken.create_token(user, code, now=now)
    _send_activation_code(gateway, user.phone, code)
    return token


# --- Per-phone send limits (in the cache, so every worker shares them) -----------------------------------


def _cooldown_key(phone: str) -> str:
    return f"activation:cooldown:{phone}"


def _hour_key(phone: str) -> str:
    return f"activation:sent:{phone}"


def _record_send(phone: str, now: datetime) -> datetime:
    """Note a code sent to `phone` at `now`; returns when the next one may be asked for."""
    ts = now.timestamp()
    cooldown = settings.ACTIVATION_RESEND_COOLDOWN.total_seconds()
    cache.set(_cooldown_key(phone), ts + cooldown, timeout=cooldown)
    recent = [t for t in cache.get(_hour_key(phone), []) if t > ts - HOUR]
    if ts not in recent:
        recent.append(ts)
    cache.set(_hour_key(phone), recent, timeout=HOUR)
    return now + settings.ACTIVATION_RESEND_COOLDOWN


def _reserve_send(phone: str, now: datetime) -> None:
    """Take this phone's send slot, or raise ResendTooSoon / ResendLimitReached (with retry_after).

    `cache.add` is atomic, so of concurrent requests for one phone only one gets past the cooldown.
    """
    ts = now.timestamp()
    cooldown = settings.ACTIVATION_RESEND_COOLDOWN.total_seconds()
    if not cache.add(_cooldown_key(phone), ts + cooldown, timeout=cooldown):
        until = cache.get(_cooldown_key(phone))
        if until is not None and until > ts:
            raise ResendTooSoon(retry_after=math.ceil(until - ts))
        cache.set(_cooldown_key(phone), ts + cooldown, timeout=cooldown)  # stale entry (injected clock)
    recent = sorted(t for t in cache.get(_hour_key(phone), []) if t > ts - HOUR)
    if len(recent) >= settings.ACTIVATION_RESEND_MAX_PER_HOUR:
        cache.delete(_cooldown_key(phone))
        raise ResendLimitReached(retry_after=math.ceil(recent[0] + HOUR - ts))
    _record_send(phone, now)


def _release_send(phone: str, now: datetime) -> None:
    """Give back a slot taken by _reserve_send when nothing was sent."""
    ts = now.timestamp()
    cache.delete(_cooldown_key(phone))
    cache.set(_hour_key(phone), [t for t in cache.get(_hour_key(phone), []) if t != ts], timeout=HOUR)


# --- Services ------------------------------------------------------------------------------------------


class AuthService:
    """Sign-up and login."""

    @staticmethod
    def register(data: Mapping[str, Any], *, now: datetime | None = None) -> Registration:
        """Create a pending user and send its activation code, all or nothing.

        `data` is the raw sign-up dict (phone, first_name, last_name, password, password_confirm), checked
        here with the API's rules. A pending account whose codes have all expired is replaced.
        Raises ValidationFailed, PhoneTaken, PhoneRejected or SmsServiceUnavailable; after any of them nothing
        was written and no code can have reached the phone for an account that does not exist.
        """
        now = now or timezone.now()
        try:
            cleaned = clean_registration(data)
        except DomainError as exc:
            logger.warning("Registration refused: invalid %s", ", ".join(getattr(exc, "errors", {exc.field: ()})))
            raise
        existing = User.objects.filter(phone=cleaned.phone).first()
        if existing is not None and not _is_replaceable(existing, now):
            logger.warning("Registration refused for %s: phone taken", mask_phone(cleaned.phone))
            raise PhoneTaken()
        gateway = get_sms_gateway()
        _ensure_available(gateway)
        if existing is not None:
            # Replacing a pending account sends one more code to a number that already got some:
            # the per-phone limits apply, as for a resend.
            _reserve_send(cleaned.phone, now)
        # ~0.1-0.3 s of CPU: paid before the transaction, never while holding it.
        password_hash = make_password(cleaned.password)
        code = ActivationToken.generate_code()
        try:
            with transaction.atomic():
                if existing is None:
                    user = _insert_user(cleaned, password_hash, now)
                else:
                    user = _replace_pending_user(existing.pk, cleaned, password_hash, now)
                token = _issue_code(user, code, gateway, now, supersede=existing is not None)
        except BaseException as exc:
            if existing is not None:
                _release_send(cleaned.phone, now)
            if isinstance(exc, DomainError):
                logger.log(_level(exc), "Atomic registration of %s rolled back: %s", mask_phone(cleaned.phone), exc.code)
            raise
        resend_at = _record_send(user.phone, now)
        logger.info(
            "User %s %s and activation code sent",
            mask_phone(user.phone),
            "created" if existing is None else "re-registered",
        )
        return Registration(user=user, code_expires_at=token.expires_at, resend_available_at=resend_at)

    @staticmethod
    def register_user(data: Mapping[str, Any]) -> User:
        """The seed's contract: `register` returning only the user. Raises as `register` does."""
        return AuthService.register(data).user

    @staticmethod
    def login(phone: str, password: str, *, now: datetime | None = None) -> User:
        """Check an E.164 phone and a password; returns the active user and records the login.

        Raises InvalidCredentials (unknown phone or wrong password, indistinguishable), AccountInactive
        (right password, never activated) or AccountDisabled (right password, deactivated).
        """
        user = User.objects.filter(phone=phone).first()
        if user is None:
            make_password(password)  # same cost as a real check: timing does not reveal unknown numbers
            logger.warning("Login failed for %s: unknown phone", mask_phone(phone))
            raise InvalidCredentials()
        if not user.check_password(password):
            logger.warning("Login failed for %s: wrong password", mask_phone(phone))
            raise InvalidCredentials()
        if user.is_pending:
            logger.warning("Login refused for %s: account not activated", mask_phone(phone))
            raise AccountInactive()
        if not user.is_active:
            logger.warning("Login refused for %s: account disabled", mask_phone(phone))
            raise AccountDisabled()
        user.last_login = now or timezone.now()
        User.objects.filter(pk=user.pk).update(last_login=user.last_login)
        logger.info("User %s logged in", mask_phone(phone))
        return user


def _is_replaceable(user: User, now: datetime) -> bool:
    """A pending account none of whose codes can still be used (all expired or used)."""
    return user.is_pending and not user.activation_tokens.filter(used_at__isnull=True, expires_at__gt=now).exists()


def _insert_user(cleaned: RegistrationData, password_hash: str, now: datetime) -> User:
    """Insert the pending user. Raises PhoneTaken when a concurrent sign-up inserted the phone first."""
    try:
        # The savepoint keeps the outer transaction usable; IntegrityError is caught outside it.
        with transaction.atomic():
            return User.objects.create(
                phone=cleaned.phone,
                first_name=cleaned.first_name,
                last_name=cleaned.last_name,
                password=password_hash,
                date_joined=now,
            )
    except IntegrityError:
        logger.warning("Registration refused for %s: phone taken by a concurrent sign-up", mask_phone(cleaned.phone))
        raise PhoneTaken() from None


def _replace_pending_user(pk: int, cleaned: RegistrationData, password_hash: str, now: datetime) -> User:
    """Lock the pending account and overwrite it with the new sign-up. Raises PhoneTaken if it changed meanwhile."""
    user = User.objects.select_for_update().filter(pk=pk).first()
    if user is None:  # deleted since we looked: a plain insert
        return _insert_user(cleaned, password_hash, now)
    if not _is_replaceable(user, now):
        raise PhoneTaken()
    user.first_name = cleaned.first_name
    user.last_name = cleaned.last_name
    user.password = password_hash
    user.date_joined = now
    user.save(update_fields=["first_name", "last_name", "password", "date_joined"])
    return user


def _replace_code(user: User, gateway: BaseSmsBackend, now: datetime) -> str:
    """Issue and send a new code in its own transaction: the old code stops working only if the SMS left."""
    code = ActivationToken.generate_code()
    try:
        with transaction.atomic():
            _issue_code(user, code, gateway, now, supersede=True)
    except DomainError as exc:
        logger.log(_level(exc), "New activation code for %s rolled back: %s", mask_phone(user.phone), exc.code)
        raise
    logger.info("Activation code sent to %s", mask_phone(user.phone))
    return code


def _level(exc: DomainError) -> int:
    """ERROR for what operators must act on (the SMS service), WARNING for refusals of the request."""
    return logging.ERROR if exc.status_code >= 500 else logging.WARNING


class ActivationService:
    """Activation codes: send, resend, check."""

    @staticmethod
    def create_and_send_activation_code(user: User, *, now: datetime | None = None) -> str:
        """Replace `user`'s code by a new one and send it; the new code counts only if the SMS went out.

        Returns the clear code (for the caller's memory only: never store, return or log it).
        Raises AccountNotPending, PhoneRejected or SmsServiceUnavailable; on any of them the old code still works.
        """
        if not user.is_pending:
            raise AccountNotPending()
        now = now or timezone.now()
        gateway = get_sms_gateway()
        _ensure_available(gateway)
        code = _replace_code(user, gateway, now)
        _record_send(user.phone, now)  # an operator may exceed the limits, but the send still counts
        return code

    @staticmethod
    def resend_activation_code(phone: str, *, now: datetime | None = None) -> datetime:
        """Send a new code to the pending account of `phone` (E.164); returns when the next may be asked for.

        Unknown and already active numbers get the same answer and no SMS, so the endpoint does not tell
        which numbers have accounts; the per-phone limits apply to them alike.
        Raises ResendTooSoon, ResendLimitReached, PhoneRejected or SmsServiceUnavailable.
        """
        now = now or timezone.now()
        gateway = get_sms_gateway()
        _ensure_available(gateway)  # before the lookup: an outage answers alike for every number
        _reserve_send(phone, now)
        user = User.objects.filter(phone=phone).first()
        if user is None or not user.is_pending:
            logger.info("Resend for %s ignored: no pending account", mask_phone(phone))
            return now + settings.ACTIVATION_RESEND_COOLDOWN
        try:
            _replace_code(user, gateway, now)
        except DomainError:
            _release_send(phone, now)
            raise
        return now + settings.ACTIVATION_RESEND_COOLDOWN

    @staticmethod
    def activate(phone: str, code: str, *, now: datetime | None = None) -> User:
        """Check `code` against the newest code of `phone` (E.164) and activate the account.

        A wrong code counts an attempt (committed even though an error is raised); the code dies at
        settings.ACTIVATION_MAX_ATTEMPTS. Raises CodeInvalid, CodeExpired, CodeUsed or CodeAttemptsExceeded.
        """
        now = now or timezone.now()
        error: DomainError | None = None
        with transaction.atomic():
            token = (
                ActivationToken.objects.select_for_update()
                .select_related("user")
                .filter(user__phone=phone)
                .order_by("-created_at", "-id")
                .first()
            )
            if token is None:
                error = CodeInvalid()
            elif token.used_at is not None:
                error = CodeUsed()
            elif not token.user.is_pending:
                error = CodeInvalid()
            elif token.attempts >= settings.ACTIVATION_MAX_ATTEMPTS:
                error = CodeAttemptsExceeded()
            elif token.is_expired(now):
                error = CodeExpired()
            elif not token.matches(code):
                # F(): concurrent wrong guesses each count, even where no row lock is taken (SQLite).
                ActivationToken.objects.filter(pk=token.pk).update(attempts=F("attempts") + 1)
                token.refresh_from_db(fields=["attempts"])
                remaining = settings.ACTIVATION_MAX_ATTEMPTS - token.attempts
                error = CodeInvalid.with_remaining(remaining) if remaining > 0 else CodeAttemptsExceeded()
            else:
                token.used_at = now
                token.save(update_fields=["used_at"])
                user = token.user
                user.is_active = True
                user.activated_at = now
                user.save(update_fields=["is_active", "activated_at"])
        if error is not None:
            logger.warning("Activation failed for %s: %s", mask_phone(phone), error.code)
            raise error
        logger.info("User %s activated", mask_phone(phone))
        return user
