"""JWT pairs: issued at activation and login, rotated at refresh with the old refresh token blacklisted."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from users.models import User


def token_pair(user: User) -> dict[str, str]:
    """A new pair for `user`; the refresh token is recorded (one INSERT) so that it can be blacklisted."""
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def rotate(raw_refresh: str) -> dict[str, str]:
    """Exchange a refresh token for a new pair, blacklisting the old one: each refresh token works once.

    Five queries (simplejwt's own rotation takes nine, and lets two simultaneous refreshes of one token both
    succeed): the unique blacklist row settles that race, so a replayed token is refused.
    Raises InvalidToken (401 `token_not_valid`) or AuthenticationFailed (401 `no_active_account`).
    """
    try:
        # simplejwt annotates `token` as a Token, but takes (and documents) the encoded string.
        old = RefreshToken(raw_refresh)  # type: ignore[arg-type]  # signature, expiry, type, not blacklisted
    except TokenError as exc:
        raise InvalidToken(exc.args[0]) from exc
    user = User.objects.filter(**{api_settings.USER_ID_FIELD: old.payload.get(api_settings.USER_ID_CLAIM)}).first()
    if user is None or not api_settings.USER_AUTHENTICATION_RULE(user):
        raise AuthenticationFailed(_("No active account found for the given token."), "no_active_account")
    with transaction.atomic():
        _blacklist(old)
        return token_pair(user)


def revoke(raw_refresh: str) -> None:
    """Blacklist a refresh token (logout). Raises InvalidToken when it is invalid or already used."""
    try:
        old = RefreshToken(raw_refresh)  # type: ignore[arg-type]  # an encoded token, as above
    except TokenError as exc:
        raise InvalidToken(exc.args[0]) from exc
    _blacklist(old)


def _blacklist(token: RefreshToken) -> None:
    """Insert the blacklist row of `token`; its uniqueness makes a second use (even simultaneous) fail."""
    outstanding = OutstandingToken.objects.filter(jti=token.payload[api_settings.JTI_CLAIM]).only("pk").first()
    if outstanding is None:  # not issued by us (or purged): nothing to blacklist, so refuse it
        raise InvalidToken(str(_("Token is invalid")))
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError:  # a simultaneous request with the same token won
        raise InvalidToken(str(_("Token is blacklisted"))) from None


def revoke_all(user: User) -> None:
    """Blacklist every refresh token of `user` not yet blacklisted: every session ends at its next refresh."""
    pending = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).values_list("pk", flat=True)
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in pending], ignore_conflicts=True  # a concurrent logout wins
    )
