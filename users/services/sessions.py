"""Sessions: one per signed-in device, opened at activation, login or claim; ended one by one, or all at once inside
the transaction of the change that ends them."""

from __future__ import annotations

import re
from datetime import datetime

from django.db.models import F, QuerySet
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from users.exceptions import SessionEnded, SessionNotFound
from users.models import ActivationToken, AuditEvent, Session, User, VerificationCode
from users.services import audit

DEVICE_MAX_LENGTH = 64
UNKNOWN_DEVICE = "unknown device"


def device_label(device_name: str | None, user_agent: str) -> str:
    """What a session is called: the app's `device_name` ("Pixel 7 d'Awa"), else its User-Agent, cut to 64
    printable characters; "unknown device" when neither says anything."""
    for candidate in (device_name or "", user_agent or ""):
        label = re.sub(r"\s+", " ", "".join(c for c in candidate if c.isprintable())).strip()
        if label:
            return label[:DEVICE_MAX_LENGTH]
    return UNKNOWN_DEVICE


def open_session(user: User, *, device: str, client_ip: str | None, now: datetime | None = None) -> Session:
    """A new session of `user` on `device` (device_label), from `client_ip` (kept as its network)."""
    now = now or timezone.now()
    return Session.objects.create(
        user=user,
        device=device[:DEVICE_MAX_LENGTH],
        address=audit.mask_address(client_ip),
        created_at=now,
        last_used_at=now,
    )


def device_of(session_id: int | None) -> str | None:
    """The device name of session `session_id` (None for none): a device that goes on in a new session keeps it."""
    if session_id is None:
        return None
    return Session.objects.filter(pk=session_id).values_list("device", flat=True).first()


def live_sessions(user: User) -> QuerySet[Session]:
    """`user`'s sessions that are not ended, the most recently used first."""
    return Session.objects.filter(user=user, ended_at__isnull=True)


def end_session(user: User, session_id: int, *, client_ip: str | None, now: datetime | None = None) -> None:
    """End one of `user`'s sessions: its tokens are refused from now on. Raises SessionNotFound when it is not one
    of `user`'s live sessions (another account's id answers the same: nothing tells them apart)."""
    now = now or timezone.now()
    if not live_sessions(user).filter(pk=session_id).update(ended_at=now):
        raise SessionNotFound()
    audit.record(AuditEvent.Kind.SESSION_END, user=user, client_ip=client_ip, detail=f"session {session_id}", now=now)


def end_other_sessions(user: User, current: int | None, *, client_ip: str | None, now: datetime | None = None) -> int:
    """End every live session of `user` but `current` (the caller's); how many ended."""
    now = now or timezone.now()
    others = live_sessions(user) if current is None else live_sessions(user).exclude(pk=current)
    ended = others.update(ended_at=now)
    if ended:
        audit.record(AuditEvent.Kind.SESSION_END, user=user, client_ip=client_ip, detail=f"{ended} other(s)", now=now)
    return ended


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
    live_sessions(user).update(ended_at=timezone.now())  # the list tells the truth too
    # Refused already by their version; blacklisted too, so the admin's list of tokens tells the truth.
    pending = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).values_list("pk", flat=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token_id=pk) for pk in pending], ignore_conflicts=True)


def forget_tokens(user: User) -> None:
    """Delete every refresh token row of `user` (outstanding and, by cascade, blacklisted): for an account being
    erased, whose tokens no longer need refusing (the user row goes in the same transaction)."""
    OutstandingToken.objects.filter(user=user).delete()



def disable_account(user: User, now: datetime, **fields: object) -> None:
    """Inside the caller's transaction, `user`'s row locked: the account is disabled from `now` (with `fields`
    set too), every live code dies and every session ends. What the support desk's "disable" and the owner's
    deletion both do."""
    User.objects.filter(pk=user.pk).update(is_active=False, disabled_at=now, **fields)
    ActivationToken.objects.filter(user=user).retire(now)
    VerificationCode.objects.filter(user=user).retire(now)
    end_sessions(user)
