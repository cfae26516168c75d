"""Abuse limits of the account flows: codes sent per number, and wrong guesses (passwords and codes).

Codes sent are counted from the code rows in the database (a code exists only if its SMS went out). Wrong
guesses are one mechanism, `Guesses`, on the refilling allowances of `waterbill.counters` in the shared
cache: per number and address, per number, per path; every lock ends by itself (docs/security.md).
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
from users.models import ActivationToken, VerificationCode
from users.phone import mask_phone
from waterbill.counters import GIVE_BACK, REFILL, TAKE, Allowance, CounterUnavailable, WindowCounter, apply, settle
from waterbill.errors import DomainError
from waterbill.throttling import network_of

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


# --- Wrong guesses: one mechanism for passwords and codes ---------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """The units one guess took (per address, per number from this address, per number), to give back or
    forgive."""

    counted: list[tuple[str, Allowance, str]]
    now: datetime

    def undo(self) -> None:
        """Give back every unit of this attempt (it was refused before the guess was checked)."""
        settle([(allowance, ident, GIVE_BACK) for _kind, allowance, ident in self.counted], self.now)

    def forgive(self) -> None:
        """A right guess: it does not count, and the number's earlier failures from this address are forgiven
        (those from elsewhere stay counted in the number's allowance: the owner getting in must not refill a
        stranger's guesses). One round trip to the cache, like the count."""
        settle(
            [
                (allowance, ident, REFILL if kind == "phone-address" else GIVE_BACK)
                for kind, allowance, ident in self.counted
            ],
            self.now,
        )


@dataclass(frozen=True)
class Guesses:
    """Wrong guesses on one path (a login's password, or one kind of SMS code): refilling allowances, counted
    before the guess is checked, per number from one address, per number from every address and, for
    logins, per address.

    Each allowance is a setting `COUNT/SECONDS` (waterbill.env.env_limit): COUNT wrong guesses at once, then
    one more every SECONDS / COUNT (waterbill.counters.Allowance). So every lock ends by itself, at the
    latest one refill interval after the last guess, and every count decays to nothing: no lock grows or
    lasts. A stranger's failures lock the number for the stranger's address first (as django-axes counts),
    and the number for everyone only past the higher per-number allowance, which bounds the guesses spread
    over many addresses. Each path counts apart: one path's failures never lock another.
    """

    path: str
    error: type[LoginLocked] | type[ActivationLocked] | type[CodeLocked]
    per_number_from_address: str  # setting names, read at each use (tests change them)
    per_number: str
    per_address: str | None = None

    def allowance(self, kind: str) -> Allowance:
        """The allowance of `kind` ("address", "phone-address" or "phone") on this path, from the settings."""
        setting = {
            "address": self.per_address,
            "phone-address": self.per_number_from_address,
            "phone": self.per_number,
        }[kind]
        if setting is None:
            raise ValueError(f"{self.path} has no {kind} allowance")
        return Allowance.per(f"guess:{self.path}:{kind}", getattr(settings, setting))

    def count(self, phone: str, client_ip: str | None, now: datetime) -> Attempt:
        """Count a guess on `phone` from `client_ip` before it is checked; `forgive()` it when it is right.

        Counted first: checked-then-counted, parallel guesses would all pass before any was counted. Every
        allowance or none: a refused guess takes nothing, so a locked address cannot add to a number's counts.
        Raises this path's lock error (with retry_after) when an allowance is empty, LimitsUnavailable when the
        cache cannot count.
        """
        address = network_of(client_ip) if client_ip else "unknown"  # an IPv6 client as its /64
        limits = [("address", address)] if client_ip and self.per_address else []
        limits += [("phone-address", f"{phone}|{address}"), ("phone", phone)]
        counted = [(kind, self.allowance(kind), ident) for kind, ident in limits]
        try:
            # All of them or none, in one round trip: a refused guess takes nothing.
            taken = apply([(allowance, ident, TAKE) for _kind, allowance, ident in counted], now)
        except CounterUnavailable as exc:
            logger.error("Shared cache unreachable, %s refused: %s", self.path, exc)
            raise LimitsUnavailable() from exc
        if not taken.granted:
            logger.warning("%s refused for %s: too many wrong guesses", self.path, mask_phone(phone))
            # The wait is until every empty allowance has a unit again: the Retry-After that is true.
            raise self.error(retry_after=taken.retry_after())
        return Attempt(counted, now)

    def state(self, phone: str, now: datetime) -> tuple[int, DomainError | None]:
        """`phone`'s allowance on this path from every address: the wrong guesses it has left, and the lock
        error while it is empty (else None), from one look that takes nothing.

        Raises LimitsUnavailable when the cache cannot tell."""
        try:
            taken = self.allowance("phone").peek(phone, now)
        except CounterUnavailable as exc:
            raise LimitsUnavailable() from exc
        return taken.left, None if taken.granted else self.error(retry_after=taken.retry_after())

    def lock(self, phone: str, now: datetime) -> DomainError | None:
        """The lock error while `phone`'s allowance on this path (from every address) is empty, else None.
        Raises as `state`."""
        return self.state(phone, now)[1]

    def left(self, phone: str, now: datetime) -> int:
        """Wrong guesses `phone` has left on this path from every address. Raises as `state`."""
        return self.state(phone, now)[0]

    def lift(self, phone: str) -> None:
        """Fill `phone`'s allowance from every address again (an administrator lifts the lock). The per-address
        allowances cannot be listed: they end by themselves within their refill interval."""
        self.allowance("phone").refill(phone)


#: Passwords: the API's login, the admin's, and the current-password checks (users.backends.PhoneBackend).
LOGIN = Guesses(
    "login", LoginLocked, "LOGIN_FAILURE_LIMIT_PHONE", "LOGIN_FAILURE_LIMIT_PHONE_ALL", "LOGIN_FAILURE_LIMIT_IP"
)
#: Activation codes sent with the sign-up token: only its holder can spend this path.
ACTIVATION = Guesses("activation", ActivationLocked, "CODE_FAILURE_LIMIT_PHONE", "CODE_FAILURE_LIMIT_PHONE_ALL")
#: Claims (an activation code with a new password, no token): apart, so a stranger never locks the token holder.
CLAIM = Guesses("claim", ActivationLocked, "CODE_FAILURE_LIMIT_PHONE", "CODE_FAILURE_LIMIT_PHONE_ALL")
#: Password-reset codes, counted for every number alike (unknown ones too: a lock tells nothing).
RESET = Guesses("reset", CodeLocked, "CODE_FAILURE_LIMIT_PHONE", "CODE_FAILURE_LIMIT_PHONE_ALL")
#: Phone-change codes, counted on the number they were sent to (the new number).
PHONE_CHANGE = Guesses("phone-change", CodeLocked, "CODE_FAILURE_LIMIT_PHONE", "CODE_FAILURE_LIMIT_PHONE_ALL")
#: Every path of SMS codes: together they bound the codes tested per number and day (docs/security.md).
CODE_PATHS = (ACTIVATION, CLAIM, RESET, PHONE_CHANGE)


def check_code(
    row: SentCode, code: str, now: datetime, *, per_code: bool = True, tell_remaining: bool = True
) -> DomainError | None:
    """The verdict on `code` for the locked `row`, inside the caller's transaction (which counted the guess
    on its path's Guesses first).

    None when it may be used. Otherwise the error to answer: CodeAttemptsExceeded (the code's
    settings.ACTIVATION_MAX_ATTEMPTS are spent), CodeExpired, or for a wrong code CodeInvalid, after counting
    it on the code (committed with the transaction: the caller raises after it), with the attempts left when
    `tell_remaining`. `per_code=False` (claims) neither checks nor counts the code's attempts, which belong
    to the token holder.
    """
    if per_code and row.attempts >= settings.ACTIVATION_MAX_ATTEMPTS:
        return CodeAttemptsExceeded()
    if row.is_expired(now):
        return CodeExpired()
    if row.matches(code):
        return None
    if not per_code:
        return CodeInvalid()
    type(row)._default_manager.filter(pk=row.pk).update(attempts=F("attempts") + 1)
    row.refresh_from_db(fields=["attempts"])
    remaining = settings.ACTIVATION_MAX_ATTEMPTS - row.attempts
    if remaining <= 0:
        return CodeAttemptsExceeded()
    return CodeInvalid.with_remaining(remaining) if tell_remaining else CodeInvalid()
