"""Ending every session of an account at once, inside the transaction of the change that ends them."""

from __future__ import annotations

from django.db.models import F
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from users.exceptions import SessionEnded
from users.models import User


def lock_current_session(user: User) -> User:
    """Inside the caller's transaction: lock `user`'s row (the user of this request's token, loaded when the
    request was authenticated) and check that its sessions were not ended since. Returns the locked row.

    A change asked with a token must not land after an ended session: a thief's password or number change in
    flight while the owner resets the password would otherwise overwrite the owner's reset and mint the thief
    a fresh pair. Raises SessionEnded.
    """
    locked = User.objects.select_for_update().get(pk=user.pk)
    if locked.session_version != user.session_version:
        raise SessionEnded()
    return locked


def end_sessions(user: User) -> None:
    """Bump `user`'s session version and blacklist its refresh tokens; call it inside the change's transaction,
    with the user's row locked (the lock a refresh takes too, users.tokens.rotate).

    From the commit on, every token issued before is refused: access tokens at their next request
    (users.authentication), refresh tokens at their next use. A refresh that held the lock first minted a
    pair of the old version, refused alike: none survives. `user.session_version` is updated in memory, so
    a pair issued to the caller afterwards (users.tokens.token_pair) is of the new session.
    """
    User.objects.filter(pk=user.pk).update(session_version=F("session_version") + 1)
    user.refresh_from_db(fields=["session_version"])
    # Refused already by their version; blacklisted too, so the admin's list of tokens tells the truth.
    pending = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).values_list("pk", flat=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token_id=pk) for pk in pending], ignore_conflicts=True)


def forget_tokens(user: User) -> None:
    """Delete every refresh token row of `user` (outstanding and, by cascade, blacklisted): for an account being
    erased, whose tokens no longer need refusing (the user row goes in the same transaction)."""
    OutstandingToken.objects.filter(user=user).delete()


def refresh_tokens(user: User) -> list[dict[str, object]]:
    """`user`'s refresh tokens, oldest first: when each was issued, until when it could be used, and whether it
    was used up (rotated), revoked or ended (a password change, a reset...). Each login, activation or claim
    issued one, and each refresh replaced one by the next."""
    rows = (
        OutstandingToken.objects.filter(user=user)
        .order_by("created_at", "id")
        .values("created_at", "expires_at", "blacklistedtoken__blacklisted_at")
    )
    return [
        {
            "issued_at": row["created_at"],
            "expires_at": row["expires_at"],
            "ended_at": row["blacklistedtoken__blacklisted_at"],
        }
        for row in rows
    ]
