"""Login with a phone number and a password, and changing the password when logged in."""

from __future__ import annotations

import logging
from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from users.exceptions import AccountDisabled, AccountInactive, InvalidCredentials
from users.models import User
from users.phone import mask_phone
from users.services.delivery import send_notice
from users.services.limits import count_login_attempt
from users.services.sessions import end_sessions
from users.texts import password_changed_text
from users.validation import check_password_rules
from waterbill.errors import ValidationFailed

logger = logging.getLogger(__name__)


def login(*, phone: str, password: str, client_ip: str | None = None, now: datetime | None = None) -> User:
    """Check an E.164 phone and a password; returns the active user and records the login.

    Failed attempts are counted per client address and per number (users.services.limits); past
    settings.LOGIN_FAILURE_LIMIT_IP / _PHONE, login is refused before the password is even checked.
    Raises LoginLocked, LimitsUnavailable, InvalidCredentials (unknown phone or wrong password,
    indistinguishable), AccountInactive (right password, never activated) or AccountDisabled (right
    password, deactivated).
    """
    now = now or timezone.now()
    attempt = count_login_attempt(phone, client_ip, now)
    user = User.objects.filter(phone=phone).first()
    if user is None:
        make_password(password)  # same cost as a real check: timing does not reveal unknown numbers
    if user is None or not user.check_password(password):
        logger.warning(
            "Login failed for %s: %s", mask_phone(phone), "unknown phone" if user is None else "wrong password"
        )
        raise InvalidCredentials()
    attempt.forgive()
    if user.is_pending:
        logger.warning("Login refused for %s: account not activated", mask_phone(phone))
        raise AccountInactive()
    if not user.is_active:
        logger.warning("Login refused for %s: account disabled", mask_phone(phone))
        raise AccountDisabled()
    user.last_login = now
    User.objects.filter(pk=user.pk).update(last_login=now)
    logger.info("User %s logged in", mask_phone(phone))
    return user


def change_password(user: User, *, current_password: str, new_password: str, now: datetime | None = None) -> None:
    """Replace `user`'s password after checking the current one; every session of the account ends (the
    caller gives its own client a new pair) and the number gets a notice.

    Raises ValidationFailed: `current_password` / `password_incorrect`, or Django's validator codes on
    `new_password`; then nothing changed.
    """
    now = now or timezone.now()
    if not user.check_password(current_password):
        logger.warning("Password change refused for %s: wrong current password", mask_phone(user.phone))
        raise ValidationFailed(
            {"current_password": [(_("Your current password is not correct."), "password_incorrect")]}
        )
    check_password_rules(new_password, user, "new_password")
    password_hash = make_password(new_password)  # before the transaction
    with transaction.atomic():
        # The UPDATE locks the row, the lock a refresh takes (users.tokens.rotate): no refresh slips between.
        User.objects.filter(pk=user.pk).update(password=password_hash)
        user.password = password_hash
        end_sessions(user)
    logger.info("Password of %s changed", mask_phone(user.phone))
    send_notice(user, phone=user.phone, purpose="password_notice", text=password_changed_text, now=now)
