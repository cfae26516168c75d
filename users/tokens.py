"""JWT pairs: issued at activation and login, rotated at refresh with the old refresh token blacklisted."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from users.models import Session, User
from users.services import audit
from users.services.sessions import UNKNOWN_DEVICE, live_sessions, open_session

SESSION_ENDED = _("This session has ended. Log in again.")


#: The claim carrying the account's session version; both tokens of a pair have it.
SESSION_CLAIM = "sv"


def session_of(token: Token) -> int:
    """The session version a token was issued under (tokens from before the claim existed: version 0)."""
    value = token.get(SESSION_CLAIM, 0)
    return value if isinstance(value, int) else -1


#: The claim carrying the id of the device's session (users.models.Session); both tokens of a pair have it.
SESSION_ID_CLAIM = "sid"


def session_id_of(token: Token) -> int | None:
    """The session a token belongs to; None for a token from before sessions existed."""
    value = token.get(SESSION_ID_CLAIM)
    return value if isinstance(value, int) else None


def token_pair(user: User, session: Session | None = None) -> dict[str, str]:
    """A new pair for `user` on `session` (None: a new session on an unknown device), in its current session
    version; the refresh token is recorded (one INSERT) so that it can be blacklisted."""
    session = session or open_session(user, device=UNKNOWN_DEVICE, client_ip=None)
    refresh = RefreshToken.for_user(user)
    refresh[SESSION_CLAIM] = user.session_version  # both copied into the access token below
    refresh[SESSION_ID_CLAIM] = session.pk
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def rotate(raw_refresh: str, *, client_ip: str | None = None, device: str = UNKNOWN_DEVICE) -> dict[str, str]:
    """Exchange a refresh token for a new pair, blacklisting the old one: each refresh token works once.

    Five queries (simplejwt's own rotation takes nine, and lets two simultaneous refreshes of one token both
    succeed): the unique blacklist row settles that race, so a replayed token is refused.
    Raises InvalidToken (401 `token_not_valid`) or AuthenticationFailed (401 `no_active_account`, or
    `session_ended` when the account's sessions were ended since the token was issued). A used token presented
    again is an audit event (`refresh_reuse`): a stolen copy, or a client that lost its answer. The pair stays
    in the token's session (its last use moves); an ended session answers `session_ended`. A token from before
    sessions existed gets one, named `device`.
    """
    old = _live(raw_refresh, client_ip)
    with transaction.atomic():
        # Under the user's row lock, which every change that ends the sessions takes too: either the change
        # committed first and this token's version is refused, or this rotation did, and the pair it mints
        # carries the old version, refused from the change's commit on.
        user = (
            User.objects.select_for_update()
            .filter(**{api_settings.USER_ID_FIELD: old.payload.get(api_settings.USER_ID_CLAIM)})
            .first()
        )
        if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
            raise AuthenticationFailed(_("No active account found for the given token."), "no_active_account")
        if session_of(old) != user.session_version:
            raise AuthenticationFailed(SESSION_ENDED, "session_ended")
        session_id = session_id_of(old)
        if session_id is None:
            session = open_session(user, device=device, client_ip=client_ip)
        else:
            # One statement: the session is live (its last use moves) or the token is refused.
            if not live_sessions(user).filter(pk=session_id).update(last_used_at=timezone.now()):
                raise AuthenticationFailed(SESSION_ENDED, "session_ended")
            session = Session(pk=session_id, user=user)
        _blacklist(old, client_ip)
        return token_pair(user, session)


def revoke(raw_refresh: str, *, client_ip: str | None = None) -> None:
    """Blacklist a refresh token (logout), an audit event. Raises InvalidToken when it is invalid or already
    used (a reuse is audited, as for `rotate`)."""
    token = _live(raw_refresh, client_ip)
    outstanding = _blacklist(token, client_ip)
    if (session_id := session_id_of(token)) is not None:
        Session.objects.filter(pk=session_id, ended_at__isnull=True).update(ended_at=timezone.now())
    audit.record(audit.Kind.LOGOUT, user=_account(outstanding.user_id), client_ip=client_ip)


def _live(raw_refresh: str, client_ip: str | None) -> RefreshToken:
    """`raw_refresh` checked (signature, expiry, type, not blacklisted). Raises InvalidToken."""
    try:
        # simplejwt annotates `token` as a Token, but takes (and documents) the encoded string.
        return RefreshToken(raw_refresh)  # type: ignore[arg-type]
    except TokenError as exc:
        _audit_reuse(raw_refresh, client_ip)
        raise InvalidToken(exc.args[0]) from exc


def _audit_reuse(raw_refresh: str, client_ip: str | None) -> None:
    """When a refused refresh token is one of ours, live and already used: the audit event of its reuse."""
    try:
        payload = token_backend.decode(raw_refresh, verify=True)  # type: ignore[arg-type]  # signature, expiry
    except TokenBackendError:
        return
    used = BlacklistedToken.objects.filter(token__jti=payload.get(api_settings.JTI_CLAIM)).select_related("token")
    if (row := used.first()) is not None:
        audit.record(audit.Kind.REFRESH_REUSE, user=_account(row.token.user_id), client_ip=client_ip)


def _account(user_id: int | None) -> User | None:
    """The account of a token, as a reference for an event (no query)."""
    return User(pk=user_id) if user_id is not None else None


def _blacklist(token: RefreshToken, client_ip: str | None) -> OutstandingToken:
    """Insert the blacklist row of `token`; its uniqueness makes a second use (even simultaneous) fail.
    Returns the token's outstanding row."""
    outstanding = (
        OutstandingToken.objects.filter(jti=token.payload[api_settings.JTI_CLAIM]).only("pk", "user_id").first()
    )
    if outstanding is None:  # not issued by us (or purged): nothing to blacklist, so refuse it
        raise InvalidToken(str(_("Token is invalid")))
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:  # a simultaneous request with the same token won
        audit.record(audit.Kind.REFRESH_REUSE, user=_account(outstanding.user_id), client_ip=client_ip)
        raise InvalidToken(str(_("Token is blacklisted"))) from None
    return outstanding



