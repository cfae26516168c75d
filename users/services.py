"""Sign-up, activation, resend and login: the decisions and the writes. Never imports DRF.

The sign-up rule: a user row exists only if its activation SMS went out, and an SMS goes out only for
a user that is saved. Hence validation and password hashing happen before the transaction; inside it
come the user insert, the code insert and, last, the bounded SMS call, so that any failure rolls back
both rows. See docs/atomic-registration.md.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from sms import budget, get_sms_gateway
from sms.backends.base import BaseSmsBackend
from sms.exceptions import SmsError, SmsNumberRejected, SmsOutcomeUnknown
from users.exceptions import (
    AccountDisabled,
    ActivationLocked,
    AccountInactive,
    AccountNotPending,
    CodeAttemptsExceeded,
    CodeExpired,
    CodeInvalid,
    CodeLocked,
    CodeUsed,
    InvalidCredentials,
    LimitsUnavailable,
    LoginLocked,
    PhoneRejected,
    PhoneTaken,
    ResendLimitReached,
    ResendTooSoon,
    SignupInvalid,
    SmsServiceUnavailable,
)
from users.models import ActivationToken, SmsFailure, User, VerificationCode
from users.phone import mask_phone
from users.texts import phone_change_text, reset_text
from users.validation import check_password_rules, clean_registration
from waterbill.errors import DomainError, ValidationFailed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Registration:
    """A completed sign-up: the pending user, the secret its activation requires, the code's timing."""

    user: User
    signup_token: str
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


def _send_activation_code(gateway: BaseSmsBackend, phone: str, code: str, now: datetime) -> None:
    """Send the activation code (the seed's gateway call). Raises PhoneRejected or SmsServiceUnavailable."""
    _deliver(phone, now, lambda: gateway.send_activation_code(phone, code))


def _deliver(phone: str, now: datetime, send: Callable[[], bool]) -> None:
    """Run `send` within the global hourly SMS budget. Raises PhoneRejected or SmsServiceUnavailable."""
    if not budget.take(now):
        raise SmsServiceUnavailable()
    try:
        _call_gateway(phone, send)
    except SmsServiceUnavailable as exc:
        if not exc.maybe_sent:  # a timeout may have been sent (and billed): it keeps counting
            budget.give_back(now)
        raise
    except PhoneRejected:
        budget.give_back(now)  # refused by the provider: nothing sent
        raise


def _call_gateway(phone: str, send: Callable[[], bool]) -> None:
    """Send the code, turning every failure into a domain error. Raises PhoneRejected or SmsServiceUnavailable.

    The gateway is the outside world: any exception it raises means "not sent" and must roll back.
    """
    try:
        sent = send()
    except SmsNumberRejected as exc:
        logger.warning("SMS to %s rejected by the provider (error %s)", mask_phone(phone), exc.provider_code)
        raise PhoneRejected() from exc
    except SmsError as exc:
        logger.error("SMS to %s failed (error %s): %s", mask_phone(phone), exc.provider_code, exc)
        error = SmsServiceUnavailable()
        error.maybe_sent = isinstance(exc, SmsOutcomeUnknown)
        raise error from exc
    except Exception as exc:
        # Not one of the outcomes a backend is meant to report: keep the traceback for whoever fixes it.
        logger.exception("SMS to %s failed unexpectedly: %s", mask_phone(phone), type(exc).__name__)
        raise SmsServiceUnavailable() from exc
    if not sent:
        logger.error("SMS to %s failed: the gateway reported it was not sent", mask_phone(phone))
        raise SmsServiceUnavailable()


def _issue_code(user: User, code: str, gateway: BaseSmsBackend, now: datetime, *, supersede: bool) -> ActivationToken:
    """Inside the caller's transaction: retire the user's live codes, save the new one, send it last."""
    if supersede:
        ActivationToken.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    token = ActivationToken.create_token(user, code, now=now)
    with translation.override(user.language):  # the user's language, whatever the request's
        _send_activation_code(gateway, user.phone, code, now)
    return token


# --- Per-phone send limits: counted from the codes in the database, under the user's row lock ----------


def _check_send_limits(codes: QuerySet[Any], now: datetime) -> None:
    """Raise ResendTooSoon or ResendLimitReached (with retry_after) if one more of `codes` (the code rows
    of one user and purpose) may not be sent at `now`.

    The codes themselves are the record: a code exists only if its SMS went out, so failed sends never
    count, and every worker sees the same numbers. Callers hold the user's row lock, so concurrent
    requests for one phone are counted one after the other.
    """
    hour_ago = now - timedelta(hours=1)
    sent = list(codes.filter(created_at__gt=hour_ago).order_by("created_at").values_list("created_at", flat=True))
    if not sent:
        return
    next_allowed = sent[-1] + settings.ACTIVATION_RESEND_COOLDOWN
    if next_allowed > now:
        raise ResendTooSoon(retry_after=math.ceil((next_allowed - now).total_seconds()))
    if len(sent) >= settings.ACTIVATION_RESEND_MAX_PER_HOUR:
        raise ResendLimitReached(retry_after=math.ceil((sent[0] + timedelta(hours=1) - now).total_seconds()))


# --- Services ------------------------------------------------------------------------------------------


class AuthService:
    """Sign-up and login."""

    @staticmethod
    def register(data: Mapping[str, Any], *, now: datetime | None = None) -> Registration:
        """Create a pending user and send its activation code, all or nothing.

        `data` is the raw sign-up dict (phone, first_name, last_name, password, password_confirm), checked
        here with the API's rules. A pending account none of whose codes can still be used is replaced
        (within the per-phone send limits). The answer carries the sign-up token that activation requires.
        Raises ValidationFailed, PhoneTaken, ResendTooSoon, ResendLimitReached, PhoneRejected or
        SmsServiceUnavailable; after any of them nothing was written and no code can have reached the
        phone for an account that does not exist.
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
            raise PhoneTaken.pending() if existing.is_pending else PhoneTaken()
        gateway = get_sms_gateway()
        _ensure_available(gateway)
        # Argon2id, ~30-40 ms of CPU (docs/performance.md): paid before the transaction, never while holding it.
        password_hash = make_password(cleaned.password)
        code = ActivationToken.generate_code()
        signup_token = secrets.token_urlsafe(32)
        fields = {
            "first_name": cleaned.first_name,
            "last_name": cleaned.last_name,
            "password": password_hash,
            "signup_token_hash": User.hash_signup_token(signup_token),
            "date_joined": now,
            "language": _supported_language(),
            # The failures stay counted (a re-registration must not buy new guesses), but the lock is lifted:
            # past the threshold, each further wrong code locks again, with a longer delay.
            "activation_locked_until": None,
        }
        try:
            # durable: the SMS must leave only when this very transaction commits, never inside a caller's.
            with transaction.atomic(durable=True):
                if existing is None:
                    user = _insert_user(cleaned.phone, fields)
                else:
                    user = _replace_pending_user(existing.pk, fields, now)
                token = _issue_code(user, code, gateway, now, supersede=existing is not None)
        except DomainError as exc:
            logger.log(_level(exc), "Atomic registration of %s rolled back: %s", mask_phone(cleaned.phone), exc.code)
            _record_sms_failure(cleaned.phone, "activation", exc)
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
        )

    @staticmethod
    def register_user(data: Mapping[str, Any]) -> User:
        """The seed's contract: `register` returning only the user. Raises as `register` does."""
        return AuthService.register(data).user

    @staticmethod
    def login(phone: str, password: str, *, client_ip: str | None = None, now: datetime | None = None) -> User:
        """Check an E.164 phone and a password; returns the active user and records the login.

        Failed attempts are counted per phone and per client IP in the shared cache; past
        settings.LOGIN_FAILURE_LIMIT_PHONE / _IP, login is refused before the password is even checked.
        Raises LoginLocked, InvalidCredentials (unknown phone or wrong password, indistinguishable),
        AccountInactive (right password, never activated) or AccountDisabled (right password, deactivated).
        """
        now = now or timezone.now()
        counters = _login_failure_counters(phone, client_ip, now)
        # Count the attempt first, forgive it on success: checked-then-counted, parallel guesses would all
        # pass the check before any of them is counted. The address is counted before the number, and a
        # refused attempt is taken back, so a locked address cannot add to a number's count.
        counted: list[str] = []
        for key, limit, window_end in counters:
            counted.append(key)
            if _count(key, window_end, now) > limit:
                _uncount(counted)
                logger.warning("Login refused for %s: too many failures (%s)", mask_phone(phone), key.split(":")[1])
                raise LoginLocked(retry_after=_seconds_until(window_end, now))
        user = User.objects.filter(phone=phone).first()
        if user is None:
            make_password(password)  # same cost as a real check: timing does not reveal unknown numbers
        if user is None or not user.check_password(password):
            logger.warning("Login failed for %s: %s", mask_phone(phone), "unknown phone" if user is None else "wrong password")
            raise InvalidCredentials()
        _forgive(counters)
        if user.is_pending:
            logger.warning("Login refused for %s: account not activated", mask_phone(phone))
            raise AccountInactive()
        if not user.is_active:
            logger.warning("Login refused for %s: account disabled", mask_phone(phone))
            raise AccountDisabled()
        user.last_login = now
        User.objects.filter(pk=user.pk).update(last_login=user.last_login)
        logger.info("User %s logged in", mask_phone(phone))
        return user


def _count(key: str, window_end: datetime, now: datetime) -> int:
    """Atomically add one to a counter that lives until `window_end`; returns the new value.

    One key per window: were the key to expire between Django's EXISTS and INCR, Redis would recreate it
    without expiry, and a fixed key would then count (and lock) forever. Raises LimitsUnavailable.
    """
    timeout = math.ceil((window_end - now).total_seconds()) + 5
    try:
        cache.add(key, 0, timeout=timeout)
        return cache.incr(key)
    except ValueError:  # the key expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1
    except RedisError as exc:
        logger.error("Shared cache unreachable, login refused: %s", exc)
        raise LimitsUnavailable() from exc


def _uncount(keys: list[str]) -> None:
    """Take back one count from each key (best effort: the keys expire with their window anyway)."""
    for key in keys:
        try:
            cache.decr(key)
        except (RedisError, ValueError):
            pass


def _forgive(counters: list[tuple[str, int, datetime]]) -> None:
    """A right password: the attempt does not count, and the number's earlier failures are forgiven."""
    *ip_counters, (phone_key, _limit, _end) = counters
    _uncount([key for key, _limit, _end in ip_counters])
    try:
        cache.delete(phone_key)
    except RedisError:
        pass  # it expires with its window


def _login_failure_counters(phone: str, client_ip: str | None, now: datetime) -> list[tuple[str, int, datetime]]:
    """The cache keys counting failed logins from this client IP and for this phone (last), in the current
    fixed window of each limit, with their limit and the window's end."""
    limits = [("ip", client_ip, settings.LOGIN_FAILURE_LIMIT_IP)] if client_ip else []
    limits.append(("phone", phone, settings.LOGIN_FAILURE_LIMIT_PHONE))
    counters = []
    for kind, value, (limit, seconds) in limits:
        window = int(now.timestamp() // seconds)
        window_end = datetime.fromtimestamp((window + 1) * seconds, tz=now.tzinfo)
        counters.append((f"login-failures:{kind}:{value}:{window}", limit, window_end))
    return counters


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Replace `user`'s password after checking the current one (two hashes, no transaction needed).

    Raises ValidationFailed: `current_password` / `password_incorrect`, or Django's validator codes on
    `new_password`. The caller ends the other sessions (users.tokens.revoke_all).
    """
    if not user.check_password(current_password):
        logger.warning("Password change refused for %s: wrong current password", mask_phone(user.phone))
        raise ValidationFailed({"current_password": [(_("Your current password is not correct."), "password_incorrect")]})
    check_password_rules(new_password, user, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    logger.info("Password of %s changed", mask_phone(user.phone))


def _supported_language() -> str:
    """The active language (the request's, set by LocaleMiddleware) among settings.LANGUAGES."""
    try:
        return translation.get_supported_language_variant(translation.get_language() or settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


def _is_replaceable(user: User, now: datetime) -> bool:
    """A pending account none of whose codes can still be used (expired, used, or out of attempts)."""
    return user.is_pending and not user.activation_tokens.live(now).exists()


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

    Raises PhoneTaken if it changed meanwhile, ResendTooSoon / ResendLimitReached if the number already
    got its share of codes.
    """
    user = User.objects.select_for_update().filter(pk=pk).first()
    if user is None or not _is_replaceable(user, now):  # activated, re-registered or deleted meanwhile
        raise PhoneTaken()
    _check_send_limits(ActivationToken.objects.filter(user=user), now)
    for name, value in fields.items():
        setattr(user, name, value)
    user.save(update_fields=list(fields))
    return user


def _record_sms_failure(phone: str, purpose: str, exc: DomainError) -> None:
    """Keep a failed send for the admin (after the rollback, so the row survives it); best effort."""
    if not isinstance(exc, (PhoneRejected, SmsServiceUnavailable)):
        return
    cause = exc.__cause__
    provider_code = getattr(cause, "provider_code", None)
    detail = f"{type(cause).__name__} {provider_code}" if cause is not None else "refused before sending"
    try:
        SmsFailure.objects.create(phone=phone, purpose=purpose, outcome=exc.code, provider_code=detail[:64])
    except DatabaseError:
        logger.exception("Could not record the SMS failure")


def _level(exc: DomainError) -> int:
    """ERROR for what operators must act on (the SMS service), WARNING for refusals of the request."""
    return logging.ERROR if exc.status_code >= 500 else logging.WARNING


def _send_new_code(user: User, gateway: BaseSmsBackend, now: datetime, *, limited: bool) -> str:
    """Lock the user, check the limits (if `limited`), issue and send a new code: all in one transaction.

    The old code stops working only if the new SMS went out. Returns the new code.
    """
    code = ActivationToken.generate_code()
    try:
        with transaction.atomic(durable=True):
            locked = User.objects.select_for_update().get(pk=user.pk)
            if limited:
                _check_send_limits(ActivationToken.objects.filter(user=locked), now)
            _issue_code(locked, code, gateway, now, supersede=True)
    except DomainError as exc:
        logger.log(_level(exc), "New activation code for %s not sent: %s", mask_phone(user.phone), exc.code)
        _record_sms_failure(user.phone, "activation", exc)
        raise
    logger.info("Activation code sent to %s", mask_phone(user.phone))
    return code


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def _lock_delay(failures: int) -> timedelta | None:
    """The lock a count of wrong codes earns: none below the threshold, then doubling up to the maximum."""
    excess = failures - settings.ACTIVATION_LOCKOUT_THRESHOLD
    if excess < 0:
        return None
    return min(settings.ACTIVATION_LOCKOUT_BASE * 2 ** min(excess, 16), settings.ACTIVATION_LOCKOUT_MAX)


def _count_account_failure(user: User, failures: str, locked_until: str, now: datetime) -> datetime | None:
    """Add one to the account's `failures` counter (F(): concurrent wrong guesses each count) and, past
    ACTIVATION_LOCKOUT_THRESHOLD, set `locked_until` for a delay that doubles with each further failure.
    Returns the end of the lock, or None when the account is not locked."""
    User.objects.filter(pk=user.pk).update(**{failures: F(failures) + 1})
    user.refresh_from_db(fields=[failures])
    delay = _lock_delay(getattr(user, failures))
    if delay is None:
        return None
    setattr(user, locked_until, now + delay)
    user.save(update_fields=[locked_until])
    logger.warning("%s of %s locked for %s after %d wrong codes", failures, mask_phone(user.phone), delay, getattr(user, failures))
    return now + delay


def _count_wrong_claim(user: User, now: datetime) -> DomainError:
    """Count a wrong code in a claim, on the account's claim counter only (the code's attempts, which the
    token holder relies on, are untouched). Returns the error to answer."""
    locked = _count_account_failure(user, "claim_failures", "claim_locked_until", now)
    return ActivationLocked(retry_after=_seconds_until(locked, now)) if locked else CodeInvalid()


def _count_wrong_code(token: ActivationToken, now: datetime) -> DomainError:
    """Count a wrong guess on the code and on the account (inside the activation's transaction).

    Past ACTIVATION_LOCKOUT_THRESHOLD failures across resends, the account is locked (_count_account_failure).
    Returns the error to answer.
    """
    ActivationToken.objects.filter(pk=token.pk).update(attempts=F("attempts") + 1)
    token.refresh_from_db(fields=["attempts"])
    locked = _count_account_failure(token.user, "activation_failures", "activation_locked_until", now)
    if locked:
        return ActivationLocked(retry_after=_seconds_until(locked, now))
    remaining = settings.ACTIVATION_MAX_ATTEMPTS - token.attempts
    return CodeInvalid.with_remaining(remaining) if remaining > 0 else CodeAttemptsExceeded()


class ActivationService:
    """Activation codes: send, resend, check."""

    @staticmethod
    def create_and_send_activation_code(user: User, *, now: datetime | None = None) -> str:
        """Replace `user`'s code by a new one and send it (an operator's action: the per-phone limits do not apply).

        Returns the clear code (for the caller's memory only: never store, return or log it).
        Raises AccountNotPending, PhoneRejected or SmsServiceUnavailable; on any of them the old code still works.
        """
        if not user.is_pending:
            raise AccountNotPending()
        gateway = get_sms_gateway()
        _ensure_available(gateway)
        return _send_new_code(user, gateway, now or timezone.now(), limited=False)

    @staticmethod
    def resend_activation_code(phone: str, *, now: datetime | None = None) -> datetime:
        """Send a new code to the pending account of `phone` (E.164); returns when the next may be asked for.

        Unknown and already active numbers get the same answer and no SMS. At most one code a minute and
        five an hour per account (codes sent at sign-up included).
        Raises ResendTooSoon, ResendLimitReached, PhoneRejected or SmsServiceUnavailable.
        """
        now = now or timezone.now()
        gateway = get_sms_gateway()
        _ensure_available(gateway)  # before the lookup: an outage answers alike for every number
        user = User.objects.filter(phone=phone).first()
        if user is None or not user.is_pending:
            logger.info("Resend for %s ignored: no pending account", mask_phone(phone))
        elif user.activation_locked_until and user.activation_locked_until > now:
            logger.info("Resend for %s ignored: activation locked", mask_phone(phone))  # a code would be unusable
        else:
            _send_new_code(user, gateway, now, limited=True)
        return now + settings.ACTIVATION_RESEND_COOLDOWN

    @staticmethod
    def activate(
        phone: str,
        code: str,
        signup_token: str | None = None,
        *,
        password: str | None = None,
        now: datetime | None = None,
    ) -> User:
        """Check `code` against the newest code of `phone` (E.164) and activate the account.

        The code alone does not activate: the caller proves it is the one who signed up (`signup_token`),
        or, holding the code the number received, chooses a new `password` that replaces the sign-up's
        (the number's owner can so claim a sign-up someone else made, or one whose answer was lost).
        A wrong code counts an attempt on the code and on the account (committed even though an error is
        raised); the code dies at settings.ACTIVATION_MAX_ATTEMPTS, and past
        settings.ACTIVATION_LOCKOUT_THRESHOLD the account's activation is locked for a growing delay.
        Raises ValidationFailed (password rules), CodeInvalid, SignupInvalid, ActivationLocked,
        CodeExpired, CodeUsed or CodeAttemptsExceeded.
        """
        now = now or timezone.now()
        claim_hash = _claim_password_hash(phone, password) if password is not None else None
        error: DomainError | None = None
        with transaction.atomic():
            # The user first, then its code: the order resend and re-registration take, so no deadlock.
            locked = User.objects.select_for_update().filter(phone=phone).first()
            token = (
                ActivationToken.objects.select_for_update().filter(user=locked).order_by("-created_at", "-id").first()
                if locked is not None
                else None
            )
            if token is not None:
                token.user = locked
            by_token = token is not None and signup_token is not None and token.user.signup_token_matches(signup_token)
            claiming = token is not None and not by_token and claim_hash is not None
            if token is None:
                error = CodeInvalid()
            elif token.used_at is not None:
                error = CodeUsed()
            elif not token.user.is_pending:
                error = CodeInvalid()
            elif not by_token and not claiming:
                # Not counted: nobody can use up the attempts without the token or a password to claim with.
                error = SignupInvalid()
            elif claiming and _locked(token.user.claim_locked_until, now):
                error = ActivationLocked(retry_after=_seconds_until(token.user.claim_locked_until, now))
            elif by_token and _locked(token.user.activation_locked_until, now):
                error = ActivationLocked(retry_after=_seconds_until(token.user.activation_locked_until, now))
            elif by_token and token.attempts >= settings.ACTIVATION_MAX_ATTEMPTS:
                error = CodeAttemptsExceeded()
            elif token.is_expired(now):
                error = CodeExpired()
            elif not token.matches(code):
                error = _count_wrong_claim(token.user, now) if claiming else _count_wrong_code(token, now)
            else:
                token.used_at = now
                token.save(update_fields=["used_at"])
                user = token.user
                user.is_active = True
                user.activated_at = now
                fields = ["is_active", "activated_at"]  # save() also clears the sign-up token
                if claiming:
                    user.password = claim_hash
                    fields.append("password")
                    logger.info("Sign-up of %s claimed with its SMS code and a new password", mask_phone(phone))
                user.save(update_fields=fields)
        if error is not None:
            logger.warning("Activation failed for %s: %s", mask_phone(phone), error.code)
            raise error
        logger.info("User %s activated", mask_phone(phone))
        return user


def _locked(until: datetime | None, now: datetime) -> bool:
    return until is not None and until > now


def _claim_password_hash(phone: str, password: str) -> str:
    """Check a claimant's new password with Django's validators (against the account's phone and names),
    then hash it, before any transaction."""
    account = User.objects.filter(phone=phone).only("phone", "first_name", "last_name").first() or User(phone=phone)
    check_password_rules(password, account, "password")
    return make_password(password)


# --- Codes for password reset and phone change ------------------------------------------------------------


def _send_verification_code(
    user: User, purpose: str, phone: str, text: Callable[[str], str], gateway: BaseSmsBackend, now: datetime
) -> VerificationCode:
    """Lock the user, check its limits for `purpose`, retire its live codes of that purpose, save a new one and
    send it to `phone` last, in the user's language: the new code counts only if the SMS went out."""
    code = ActivationToken.generate_code()
    try:
        row = _save_and_send_verification_code(user, purpose, phone, text, gateway, now, code)
    except DomainError as exc:
        _record_sms_failure(phone, purpose, exc)
        raise
    logger.info("%s code sent to %s", purpose, mask_phone(phone))
    return row


def _save_and_send_verification_code(
    user: User, purpose: str, phone: str, text: Callable[[str], str], gateway: BaseSmsBackend, now: datetime, code: str
) -> VerificationCode:
    with transaction.atomic(durable=True):
        locked = User.objects.select_for_update().get(pk=user.pk)
        codes = VerificationCode.objects.filter(user=locked, purpose=purpose)
        _check_send_limits(codes, now)
        codes.filter(used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
        row = VerificationCode.objects.create(
            user=locked, purpose=purpose, phone=phone, code_hash=VerificationCode.hash_code(purpose, code),
            created_at=now, expires_at=now + settings.ACTIVATION_CODE_TTL,
        )
        with translation.override(locked.language):
            _deliver(phone, now, lambda: gateway.send_message(phone, text(code)))
    return row


def _code_error(user: User | None, row: VerificationCode | None, code: str) -> DomainError | None:
    """Check `code` against the locked `row` of the locked `user` (inside the caller's transaction).

    A wrong guess counts on the code (5 per code) and on the account across codes: past
    ACTIVATION_LOCKOUT_THRESHOLD the account's codes are locked for a doubling delay.
    """
    now = timezone.now()
    if user is None or row is None:
        return CodeInvalid()
    if _locked(user.code_locked_until, now):
        return CodeLocked(retry_after=_seconds_until(user.code_locked_until, now))
    if row.used_at is not None:
        return CodeUsed()
    if row.attempts >= settings.ACTIVATION_MAX_ATTEMPTS:
        return CodeAttemptsExceeded()
    if row.is_expired(now):
        return CodeExpired()
    if row.matches(code):
        return None
    VerificationCode.objects.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    row.refresh_from_db(fields=["attempts"])
    locked = _count_account_failure(user, "code_failures", "code_locked_until", now)
    if locked:
        return CodeLocked(retry_after=_seconds_until(locked, now))
    remaining = settings.ACTIVATION_MAX_ATTEMPTS - row.attempts
    return CodeInvalid.with_remaining(remaining) if remaining > 0 else CodeAttemptsExceeded()


class PasswordResetService:
    """Forgotten password: a code by SMS to the account's number, then the code and a new password."""

    @staticmethod
    def request_reset(phone: str, *, now: datetime | None = None) -> datetime:
        """Send a reset code to the active account of `phone` (E.164); returns when the next may be asked for.

        Unknown, pending and disabled numbers get the same answer and no SMS. At most one code a minute and
        five an hour per account; past them, or when the SMS fails, the answer is the same and nothing is sent.
        Raises SmsServiceUnavailable only when the gateway is known to be down (before looking the number up).
        """
        now = now or timezone.now()
        gateway = get_sms_gateway()
        _ensure_available(gateway)
        user = User.objects.filter(phone=phone, is_active=True).first()
        if user is None:
            logger.info("Password reset for %s ignored: no active account", mask_phone(phone))
            return now + settings.ACTIVATION_RESEND_COOLDOWN
        try:
            _send_verification_code(user, VerificationCode.Purpose.PASSWORD_RESET, user.phone, reset_text, gateway, now)
        except (ResendTooSoon, ResendLimitReached, PhoneRejected, SmsServiceUnavailable) as exc:
            # Answered like an unknown number: these can only happen for a real account. Logged and recorded.
            logger.warning("Password reset code for %s not sent: %s", mask_phone(phone), exc.code)
        return now + settings.ACTIVATION_RESEND_COOLDOWN

    @staticmethod
    def confirm_reset(phone: str, code: str, new_password: str) -> User:
        """Set a new password with the reset code sent to `phone`. The caller ends every session
        (users.tokens.revoke_all). Raises ValidationFailed (password rules), CodeInvalid, CodeExpired, CodeUsed,
        CodeAttemptsExceeded."""
        account = User.objects.filter(phone=phone).first() or User(phone=phone)
        check_password_rules(new_password, account, "new_password")
        password_hash = make_password(new_password)  # before the transaction
        with transaction.atomic():
            # The user first, then its code: the order every writer of both takes, so no deadlock.
            user = User.objects.select_for_update().filter(phone=phone, is_active=True).first()
            row = (
                VerificationCode.objects.select_for_update()
                .filter(user=user, phone=phone, purpose=VerificationCode.Purpose.PASSWORD_RESET)
                .order_by("-created_at", "-id").first()
            ) if user is not None else None
            error = _code_error(user, row, code)
            if error is None:
                row.used_at = timezone.now()
                row.save(update_fields=["used_at"])
                user.password = password_hash
                user.save(update_fields=["password"])
        if error is not None:
            logger.warning("Password reset failed for %s: %s", mask_phone(phone), error.code)
            raise error
        logger.info("Password of %s reset with an SMS code", mask_phone(phone))
        return user


class PhoneChangeService:
    """A new number: a code by SMS to it, then the code; the number changes only then."""

    @staticmethod
    def request_change(user: User, new_phone: str, *, now: datetime | None = None) -> VerificationCode:
        """Send a code to `new_phone` (E.164) for `user`. Raises ValidationFailed (`phone_unchanged`),
        PhoneTaken (field `new_phone`), ResendTooSoon, ResendLimitReached, PhoneRejected, SmsServiceUnavailable."""
        now = now or timezone.now()
        if new_phone == user.phone:
            raise ValidationFailed({"new_phone": [(_("This is already your number."), "phone_unchanged")]})
        if User.objects.filter(phone=new_phone).exists():
            raise PhoneTaken(field="new_phone")
        gateway = get_sms_gateway()
        _ensure_available(gateway)
        try:
            return _send_verification_code(
                user, VerificationCode.Purpose.PHONE_CHANGE, new_phone, phone_change_text, gateway, now
            )
        except PhoneRejected as exc:
            raise PhoneRejected(field="new_phone") from exc

    @staticmethod
    def confirm_change(user: User, code: str) -> User:
        """Move `user` to the number its newest phone-change code was sent to. Raises CodeInvalid, CodeExpired,
        CodeUsed, CodeAttemptsExceeded, or PhoneTaken when the number was taken meanwhile."""
        with transaction.atomic():
            locked = User.objects.select_for_update().get(pk=user.pk)  # the user first, then its code
            row = (
                VerificationCode.objects.select_for_update()
                .filter(user=locked, purpose=VerificationCode.Purpose.PHONE_CHANGE)
                .order_by("-created_at", "-id").first()
            )
            error = _code_error(locked, row, code)
            old_phone = user.phone
            if error is None:
                now = timezone.now()
                row.used_at = now
                row.save(update_fields=["used_at"])
                # Codes sent to the old number (a lost or stolen SIM) must not work any more.
                VerificationCode.objects.filter(user=locked, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
                user.phone = row.phone
                try:
                    with transaction.atomic():  # the savepoint: IntegrityError is caught outside it
                        user.save(update_fields=["phone"])
                except IntegrityError:
                    user.phone = old_phone
                    error = PhoneTaken()
                    row.used_at = None
                    row.save(update_fields=["used_at"])
        if error is not None:
            logger.warning("Phone change failed for %s: %s", mask_phone(user.phone), error.code)
            raise error
        logger.info("User %s moved to %s", mask_phone(old_phone), mask_phone(user.phone))
        return user
