"""The authentication backend: phone number and password, behind the failed-login limits, for the API and the
admin alike (Django's `authenticate()`, so its signals fire and its timing protection applies)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest
from django.utils import timezone

from users.exceptions import AccountDeletionPending, AccountDisabled, AccountInactive
from users.models import User
from users.phone import InvalidPhoneNumber, normalize_phone
from users.services.limits import LOGIN
from waterbill.throttling import FixedWindowScopedThrottle


def client_address(request: HttpRequest | None) -> str | None:
    """The client's address as the throttles see it (REMOTE_ADDR, or X-Forwarded-For per NUM_PROXIES; an IPv6
    address as its /64, waterbill.throttling.network_of)."""
    if request is None:
        return None
    return FixedWindowScopedThrottle().get_ident(request)  # type: ignore[arg-type]  # reads request.META only


class PhoneBackend(ModelBackend):
    """ModelBackend by phone number (any accepted spelling), with the failed-login limits of
    users.services.limits counted before the password is checked.

    `authenticate()` answers the user when the password is right, None when it is not (or the number is
    unknown; Django's ModelBackend then hashes anyway, so timing does not tell them apart). A right password
    on an account that cannot log in raises AccountInactive (never activated) or AccountDisabled, so that the
    API can say which; LoginLocked and LimitsUnavailable propagate too. Permissions are ModelBackend's.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        *,
        phone: str | None = None,
        client_ip: str | None = None,
        now: datetime | None = None,
        **kwargs: Any,
    ) -> User | None:
        phone = phone if phone is not None else username  # the admin's form says "username"
        if phone is None or password is None:
            return None
        try:
            number = normalize_phone(phone)
        except InvalidPhoneNumber:
            number = phone[:64]  # still counted: guessing with garbage costs attempts like any other
        attempt = LOGIN.count(number, client_ip or client_address(request), now or timezone.now())
        user = super().authenticate(request, username=number, password=password, **kwargs)
        if not isinstance(user, User):
            return None
        attempt.forgive()
        if user.is_pending:
            raise AccountInactive()
        if not user.is_active:
            raise AccountDeletionPending() if user.deletion_requested_at else AccountDisabled()
        return user

    def user_can_authenticate(self, user: Any) -> bool:
        """Every account's password is checked: `authenticate` then tells pending and disabled ones apart."""
        return True
