"""JWT authentication that refuses the tokens of ended sessions: a token's session version must be its user's."""

from __future__ import annotations

from typing import Any

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from users.models import User
from users.tokens import SESSION_ENDED, session_id_of, session_of


class SessionJWTAuthentication(JWTAuthentication):
    """simplejwt's JWTAuthentication, plus: the token's session version must equal the user's.

    Checked on the user row loaded anyway, by User.objects.for_request: the same row as simplejwt's `get()`, at
    a third of its CPU (docs/performance.md), with, in the same query, whether the token's session (its `sid`)
    is live: an ended session's tokens are refused at once (`session_ended`). A password change or reset, a phone
    change, or an administrator disabling the account or setting its password bumps the version
    (users.services.sessions.end_sessions), so every access token issued before stops working on its next
    request, not when it expires. Raises AuthenticationFailed `session_ended` (401).
    """

    def get_user(self, validated_token: Token) -> Any:
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        user: Any = None
        live = False
        if user_id is not None:
            user, live = User.objects.for_request(user_id, session_id_of(validated_token))
        if user is None or not user.is_active or api_settings.CHECK_REVOKE_TOKEN:
            # simplejwt's own checks and refusals (user_not_found, user_inactive...): a query more, on a refusal.
            user = super().get_user(validated_token)
        if not live or not isinstance(user, User) or session_of(validated_token) != user.session_version:
            raise AuthenticationFailed(SESSION_ENDED, code="session_ended")
        return user


class SessionJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme of SessionJWTAuthentication: simplejwt's Bearer scheme (registered on import)."""

    target_class = "users.authentication.SessionJWTAuthentication"
