"""What the support desk (the admin) reads and does on an account: its wrong-guess allowances, its locks."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q

from users.models import User, VerificationCode
from users.services.limits import CODE_PATHS, LOGIN, PHONE_CHANGE, Guesses
from waterbill.errors import DomainError

#: The accounts `User.is_pending` is true of, as a query: signed up, never activated, not disabled.
PENDING = Q(is_active=False, activated_at__isnull=True, disabled_at__isnull=True)

#: Every path of wrong guesses, login first.
GUESS_PATHS = (LOGIN, *CODE_PATHS)


@dataclass(frozen=True)
class PathState:
    """One path's allowance for an account's number from every address: guesses left, and the lock if spent."""

    guesses: Guesses
    left: int
    lock: DomainError | None


def guessed_number(user: User, guesses: Guesses) -> str:
    """The number `user`'s guesses on `guesses` are counted on: the account's, but for a phone change the
    number its newest phone-change code was sent to."""
    if guesses is PHONE_CHANGE:
        newest = (
            VerificationCode.objects.filter(user=user, purpose=VerificationCode.Purpose.PHONE_CHANGE)
            .order_by("-created_at", "-id")
            .values_list("phone", flat=True)
            .first()
        )
        return newest or user.phone
    return user.phone


def guess_states(user: User, now: datetime) -> list[PathState]:
    """Each path's allowance for `user` at `now` (GUESS_PATHS order), looked at without taking anything.

    Raises LimitsUnavailable when the shared cache cannot tell."""
    states = []
    for guesses in GUESS_PATHS:
        left, lock = guesses.state(guessed_number(user, guesses), now)
        states.append(PathState(guesses, left, lock))
    return states


def is_locked(user: User, now: datetime) -> bool:
    """True while any path's allowance for `user` from every address is spent. Raises as `guess_states`."""
    return any(state.lock is not None for state in guess_states(user, now))


def locked_among(users: Iterable[User], now: datetime) -> list[int]:
    """The pks of those of `users` that are locked at `now` (`is_locked`), in their order.

    The locks live in the shared cache, one key per number and path, which cannot be listed: every account
    asked about costs one look per path. Raises as `guess_states`."""
    return [user.pk for user in users if is_locked(user, now)]


def lift_locks(user: User) -> None:
    """Give `user`'s numbers their full allowance of wrong guesses again, on every path (a support call from an
    owner who proved who they are). Locks per address end by themselves within their refill interval."""
    for guesses in GUESS_PATHS:
        guesses.lift(guessed_number(user, guesses))
