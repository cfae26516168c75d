"""Abuse limits of the account flows: codes sent per number, lockouts after wrong codes, failed logins.

Two stores, chosen by what must survive: send limits and lockouts are counted in the database (they are
per account, and must hold across workers, restarts and cache outages); failed logins are counted in the
shared cache with `waterbill.counters` (per address too, and cheap enough to count before the check).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F, QuerySet

from users.exceptions import (
    ActivationLocked,
    CodeAttemptsExceeded,
    CodeExpired,
    CodeInvalid,
    CodeLocked,
    LimitsUnavailable,
    LoginLocked,
    ResendLimitReached,
    ResendTooSoon,
)
from users.models import ActivationToken, User, VerificationCode
from users.phone import mask_phone
from waterbill.counters import CounterUnavailable, WindowCounter
from waterbill.errors import DomainError

logger = logging.getLogger(__name__)

SentCode = ActivationToken | VerificationCode


def seconds_until(moment: datetime, now: datetime) -> int:
    """Whole seconds from `now` to `moment`, at least 1 (a Retry-After)."""
    return max(1, math.ceil((moment - now).total_seconds()))


# --- Codes sent per number: counted from the code rows, under the user's row lock ---------------------------


def check_send_limits(codes: QuerySet[ActivationToken] | QuerySet[VerificationCode], now: datetime) -> None:
    """Refuse one more of `codes` (the code rows of one user and purpose) at `now`.

    The codes themselves are the record: a code exists only if its SMS went out, so failed sends never
    count, and every worker sees the same numbers. Callers hold the user's row lock, so concurrent
    requests for one number are counted one after the other.
    Raises ResendTooSoon (settings.ACTIVATION_RESEND_COOLDOWN) or ResendLimitReached
    (settings.ACTIVATION_RESEND_MAX_PER_HOUR), each with `retry_after`.
    """
    hour_ago = now - timedelta(hours=1)
    sent = list(codes.filter(created_at__gt=hour_ago).order_by("created_at").values_list("created_at", flat=True))
    if not sent:
        return
    next_allowed = sent[-1] + settings.ACTIVATION_RESEND_COOLDOWN
    if next_allowed > now:
        raise ResendTooSoon(retry_after=seconds_until(next_allowed, now))
    if len(sent) >= settings.ACTIVATION_RESEND_MAX_PER_HOUR:
        raise ResendLimitReached(retry_after=seconds_until(sent[0] + timedelta(hours=1), now))


#: Phone-change codes sent to one destination number, whichever accounts ask: a stranger's number must not
#: become the target of many accounts' codes (six accounts sent twelve SMS to one number in a minute).
_CODES_TO_A_NUMBER = WindowCounter("phone-change-to", 3600)


def take_destination_allowance(phone: str, now: datetime) -> None:
    """Count one phone-change code to `phone` in this clock hour's window, or refuse it.

    At most settings.PHONE_CHANGE_MAX_PER_DESTINATION per window, across all accounts (a fixed window: up to
    twice that across a window's edge). Give it back with `give_back_destination_allowance` when the code was
    not sent. Raises ResendLimitReached (with retry_after) or LimitsUnavailable.
    """
    try:
        count = _CODES_TO_A_NUMBER.hit(phone, now)
    except CounterUnavailable as exc:
        raise LimitsUnavailable() from exc
    if count.value > settings.PHONE_CHANGE_MAX_PER_DESTINATION:
        _CODES_TO_A_NUMBER.undo(phone, now)
        logger.warning("Phone-change code to %s refused: its hourly allowance is spent", mask_phone(phone))
        raise ResendLimitReached(retry_after=count.retry_after(now))


def give_back_destination_allowance(phone: str, now: datetime) -> None:
    """Return the unit taken by `take_destination_allowance` for a code that was not sent (best effort)."""
    _CODES_TO_A_NUMBER.undo(phone, now)


# --- Wrong codes: one lockout mechanism, three counters on the account --------------------------------------


@dataclass(frozen=True)
class Lockout:
    """Wrong codes on one path of an account (User fields `failures` and `locked_until`) and the lock they earn.

    Counted across codes (NIST SP 800-63B): from settings.ACTIVATION_LOCKOUT_THRESHOLD wrong codes on, each
    further one locks the path for ACTIVATION_LOCKOUT_BASE, doubling, up to ACTIVATION_LOCKOUT_MAX.
    """

    label: str
    failures: str
    locked_until: str
    error: type[ActivationLocked] | type[CodeLocked]

    def refusal(self, user: User, now: datetime) -> DomainError | None:
        """The lock error (with retry_after) while `user` is locked on this path, else None."""
        until: datetime | None = getattr(user, self.locked_until)
        if until is None or until <= now:
            return None
        return self.error(retry_after=seconds_until(until, now))

    def count_failure(self, user: User, now: datetime) -> DomainError | None:
        """Count one wrong code on the locked `user` (F(): concurrent guesses each count) and lock past the
        threshold. Returns the lock error when this failure locks the path, else None."""
        User.objects.filter(pk=user.pk).update(**{self.failures: F(self.failures) + 1})
        user.refresh_from_db(fields=[self.failures])
        failures: int = getattr(user, self.failures)
        excess = failures - settings.ACTIVATION_LOCKOUT_THRESHOLD
        if excess < 0:
            return None
        delay = min(settings.ACTIVATION_LOCKOUT_BASE * 2 ** min(excess, 16), settings.ACTIVATION_LOCKOUT_MAX)
        setattr(user, self.locked_until, now + delay)
        user.save(update_fields=[self.locked_until])
        logger.warning(
            "%s of %s locked for %s after %d wrong codes", self.label, mask_phone(user.phone), delay, failures
        )
        return self.error(retry_after=seconds_until(now + delay, now))


#: Activation by whoever holds the sign-up token.
ACTIVATION = Lockout("Activation", "activation_failures", "activation_locked_until", ActivationLocked)
#: Claims (code + new password, no token): apart, so a stranger guessing codes never locks the token holder.
CLAIM = Lockout("Claims", "claim_failures", "claim_locked_until", ActivationLocked)
#: Password-reset and phone-change codes.
CODES = Lockout("Verification codes", "code_failures", "code_locked_until", CodeLocked)


def check_code(
    row: SentCode, code: str, user: User, lockout: Lockout, now: datetime, *, per_code: bool = True
) -> DomainError | None:
    """The verdict on `code` for the locked `row` of the locked `user`, inside the caller's transaction.

    None when it may be used. Otherwise the error to answer: the lockout's lock, CodeAttemptsExceeded (the
    code's settings.ACTIVATION_MAX_ATTEMPTS are spent), CodeExpired, or for a wrong code CodeInvalid (with
    the attempts left) after counting it on the code and on the lockout (committed with the transaction:
    the caller raises after it). `per_code=False` (claims) neither checks nor counts the code's attempts,
    which belong to the token holder.
    """
    if (locked := lockout.refusal(user, now)) is not None:
        return locked
    if per_code and row.attempts >= settings.ACTIVATION_MAX_ATTEMPTS:
        return CodeAttemptsExceeded()
    if row.is_expired(now):
        return CodeExpired()
    if row.matches(code):
        return None
    if per_code:
        type(row)._default_manager.filter(pk=row.pk).update(attempts=F("attempts") + 1)
        row.refresh_from_db(fields=["attempts"])
    if (locked := lockout.count_failure(user, now)) is not None:
        return locked
    if not per_code:
        return CodeInvalid()
    remaining = settings.ACTIVATION_MAX_ATTEMPTS - row.attempts
    return CodeInvalid.with_remaining(remaining) if remaining > 0 else CodeAttemptsExceeded()


# --- Failed logins: per client address and per number, in the shared cache ----------------------------------


@dataclass(frozen=True)
class LoginAttempt:
    """The counts one login attempt added (address, number from this address, number from anywhere), to take
    back or forgive."""

    counted: list[tuple[str, WindowCounter, str]]
    now: datetime

    def undo(self) -> None:
        """Take back every count of this attempt (it was refused before the password was checked)."""
        for _kind, counter, ident in self.counted:
            counter.undo(ident, self.now)

    def forgive(self) -> None:
        """A right password: the attempt does not count, and the number's earlier failures from this address are
        forgiven (those from elsewhere stay counted in the number's backstop: the owner logging in must not
        refill a stranger's guesses)."""
        for kind, counter, ident in self.counted:
            if kind == "phone-address":
                counter.reset(ident, self.now)
            else:
                counter.undo(ident, self.now)


def count_login_attempt(phone: str, client_ip: str | None, now: datetime) -> LoginAttempt:
    """Count an attempt before the password is checked, against three limits, in this order:

    * settings.LOGIN_FAILURE_LIMIT_IP, per client address (when it is known);
    * settings.LOGIN_FAILURE_LIMIT_PHONE, per number from this address (as django-axes counts): a stranger's
      failures lock the number for the stranger's address, not for the owner's;
    * settings.LOGIN_FAILURE_LIMIT_PHONE_ALL, per number from every address together: the higher backstop that
      bounds the guesses spread over many addresses.

    Counted first, forgiven on success: checked-then-counted, parallel guesses would all pass before any was
    counted. A refused attempt is taken back, so a locked address cannot add to a number's counts.
    Raises LoginLocked (with retry_after) past a limit, LimitsUnavailable when the cache cannot count.
    """
    address = client_ip or "unknown"
    limits = [("ip", address, settings.LOGIN_FAILURE_LIMIT_IP)] if client_ip else []
    limits.append(("phone-address", f"{phone}|{address}", settings.LOGIN_FAILURE_LIMIT_PHONE))
    limits.append(("phone", phone, settings.LOGIN_FAILURE_LIMIT_PHONE_ALL))
    counted: list[tuple[str, WindowCounter, str]] = []
    for kind, ident, (limit, seconds) in limits:
        counter = WindowCounter(f"login-failures:{kind}", seconds)
        try:
            count = counter.hit(ident, now)
        except CounterUnavailable as exc:
            logger.error("Shared cache unreachable, login refused: %s", exc)
            LoginAttempt(counted, now).undo()
            raise LimitsUnavailable() from exc
        counted.append((kind, counter, ident))
        if count.value > limit:
            LoginAttempt(counted, now).undo()
            logger.warning("Login refused for %s: too many failures (%s)", mask_phone(phone), kind)
            raise LoginLocked(retry_after=count.retry_after(now))
    return LoginAttempt(counted, now)
