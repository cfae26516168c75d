"""JWT authentication that refuses the tokens of ended sessions: a token's session version must be its user's."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.tokens import Token

from users.models import User
from users.tokens import SESSION_ENDED, session_of


class SessionJWTAuthentication(JWTAuthentication):
    """simplejwt's JWTAuthentication, plus: the token's session version must equal the user's.

    Checked on the user row simplejwt loads anyway (no extra query). A password change or reset, a phone
    change, or an administrator disabling the account or setting its password bumps the version
    (users.services.sessions.end_sessions), so every access token issued before stops working on its next
    request, not when it expires. Raises AuthenticationFailed `session_ended` (401).
    """

    def get_user(self, validated_token: Token) -> Any:
        user = super().get_user(validated_token)
        if not isinstance(user, User) or session_of(validated_token) != user.session_version:
            raise AuthenticationFailed(SESSION_ENDED, code="session_ended")
        return user


class SessionJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of SessionJWTAuthentication: simplejwt's Bearer scheme (registered on import)."""

    target_class = "users.authentication.SessionJWTAuthentication"
