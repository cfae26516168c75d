"""Login with a phone number and a password, and changing the password when logged in."""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.utils import timezone

from users.exceptions import AccountDisabled, AccountInactive, InvalidCredentials, password_incorrect
from users.models import User
from users.phone import mask_phone
from users.services import audit
from users.services.delivery import send_notice
from users.services.sessions import end_sessions, lock_current_session
from users.texts import password_changed_text
from users.validation import check_password_rules

logger = logging.getLogger(__name__)


def login(*, phone: str, password: str, client_ip: str | None = None, now: datetime | None = None) -> User:
    """Check an E.164 phone and a password through Django's `authenticate()` (users.backends.PhoneBackend);
    returns the active user and records the login (Django's `user_logged_in`, which sets last_login).

    Failed attempts are counted before the password is checked (users.services.limits.LOGIN:
    per address, per number from this address, per number from every address); past a limit, login is refused.
    Raises LoginLocked, LimitsUnavailable, InvalidCredentials (unknown phone or wrong password,
    indistinguishable), AccountInactive (right password, never activated) or AccountDisabled (right password,
    deactivated).
    """
    try:
        user = authenticate(None, phone=phone, password=password, client_ip=client_ip, now=now)
    except (AccountInactive, AccountDisabled) as exc:
        logger.warning("Login refused for %s: %s", mask_phone(phone), exc.code)
        _failed(phone, client_ip, exc.code, now)
        raise
    if not isinstance(user, User):
        logger.warning("Login failed for %s: unknown phone or wrong password", mask_phone(phone))
        _failed(phone, client_ip, InvalidCredentials.default_code, now)
        raise InvalidCredentials()
    user_logged_in.send(sender=User, request=None, user=user)
    audit.record(audit.Kind.LOGIN, user=user, client_ip=client_ip, now=now)
    logger.info("User %s logged in", mask_phone(phone))
    return user


def _failed(phone: str, client_ip: str | None, reason: str, now: datetime | None) -> None:
    """The audit event of a password that was checked and refused (a locked login was not checked: none),
    about the number's account if there is one."""
    account = User.objects.filter(phone=phone).first()
    audit.record(audit.Kind.LOGIN_FAILED, user=account, client_ip=client_ip, detail=reason, now=now)


def verify_password(
    user: User, password: str, *, client_ip: str | None, now: datetime | None = None, field: str = "current_password"
) -> None:
    """Check the logged-in `user`'s current password like a login: through `authenticate()`, so the failed-login
    limits count it and Django's signals fire (a stolen token must not allow guessing the password at will).

    Raises ValidationFailed (`field`: `password_incorrect`), LoginLocked or LimitsUnavailable.
    """
    try:
        checked = authenticate(None, phone=user.phone, password=password, client_ip=client_ip, now=now)
    except (AccountInactive, AccountDisabled):
        checked = None  # not this request's active account any more
    if not isinstance(checked, User) or checked.pk != user.pk:
        logger.warning("Current password refused for %s", mask_phone(user.phone))
        audit.record(audit.Kind.LOGIN_FAILED, user=user, client_ip=client_ip, detail=field, now=now)
        raise password_incorrect(field)


def change_password(
    user: User,
    *,
    current_password: str,
    new_password: str,
    client_ip: str | None = None,
    now: datetime | None = None,
) -> None:
    """Replace `user`'s password after checking the current one (`verify_password`); every session of the
    account ends (the caller gives its own client a new pair) and the number gets a notice.

    Raises ValidationFailed (`current_password`: `password_incorrect`, or Django's validator codes on
    `new_password`), LoginLocked, LimitsUnavailable, or SessionEnded when the account's sessions were ended
    while this request was under way; then nothing changed.
    """
    now = now or timezone.now()
    verify_password(user, current_password, client_ip=client_ip, now=now)
    check_password_rules(new_password, user, "new_password")
    password_hash = make_password(new_password)  # before the transaction
    with transaction.atomic():
        lock_current_session(user)
        User.objects.filter(pk=user.pk).update(password=password_hash)
        user.password = password_hash
        end_sessions(user)
        audit.record(audit.Kind.PASSWORD_CHANGE, user=user, client_ip=client_ip, now=now)
    logger.info("Password of %s changed", mask_phone(user.phone))
    send_notice(user, phone=user.phone, purpose="password_notice", text=password_changed_text, now=now)
