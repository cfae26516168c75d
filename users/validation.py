"""Every input rule of the account API, once, in plain Django (no DRF): the serializers and the seed's
`register_user(data)` both apply them.

Phone numbers: `users.phone.clean_phone`. Names, passwords, codes and tokens: below. A sign-up as a whole:
`clean_registration`, which reports every invalid field in one answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from users.models import CODE_DIGITS, User
from users.names import validate_name
from users.phone import clean_phone
from waterbill.errors import Message, ValidationFailed

logger = logging.getLogger(__name__)

NAME_MAX_LENGTH = 150
PASSWORD_MAX_LENGTH = 128
SIGNUP_TOKEN_MAX_LENGTH = 128
#: An SMS code as typed: exactly CODE_DIGITS digits (leading zeros kept).
CODE_PATTERN = rf"^[0-9]{{{CODE_DIGITS}}}$"
CODE_MESSAGE = _("Enter the 6-digit code received by SMS.")

FieldErrors = dict[str, list[tuple[Message, str]]]


def too_long(max_length: int) -> tuple[Message, str]:
    """The `max_length` error, naming the limit."""
    return _("Ensure this field has no more than %(max_length)d characters.") % {"max_length": max_length}, "max_length"


def password_errors(password: str, user: User) -> list[tuple[Message, str]]:
    """Django's password validators on `password` for `user`, as (message, code) pairs; empty when it passes."""
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        return _pairs(exc)
    return []


def check_password_rules(password: str, user: User, field: str) -> None:
    """Raise ValidationFailed on `field` when Django's password validators refuse `password` for `user`."""
    if errors := password_errors(password, user):
        raise ValidationFailed({field: errors})


@dataclass(frozen=True)
class SignupData:
    """A sign-up that passed every rule: E.164 phone, stripped names, the clear password (the keyword
    arguments of users.services.registration.register)."""

    phone: str
    first_name: str
    last_name: str
    password: str
    privacy_notice_version: str = ""


def clean_registration(data: Any, *, notice: str = "") -> SignupData:
    """Check a raw sign-up (a dict: phone in any spelling, first_name, last_name, password, password_confirm;
    with `notice`, the version of the privacy notice that must be accepted, `privacy_notice_version` too).

    Returns the cleaned data. Raises ValidationFailed listing every invalid field at once with its codes:
    `required`, `invalid`, `max_length`, `invalid_characters`, the phone codes of users.phone.normalize_phone,
    Django's password-validator codes, `password_mismatch`, `privacy_notice_outdated`; or `non_field_errors` /
    `invalid` when `data` is not a dict.
    """
    if not isinstance(data, Mapping):
        raise ValidationFailed({"non_field_errors": [(_("Send a JSON object."), "invalid")]})
    errors: FieldErrors = {}
    phone = _text(data, "phone", errors, strip=True, max_length=None)
    if phone:
        try:
            phone = clean_phone(phone)
        except ValidationError as exc:
            errors["phone"] = _pairs(exc)
    names = {
        field: _text(data, field, errors, strip=True, max_length=NAME_MAX_LENGTH, validator=validate_name)
        for field in ("first_name", "last_name")
    }
    password = _text(data, "password", errors, strip=False, max_length=PASSWORD_MAX_LENGTH)
    confirm = _text(data, "password_confirm", errors, strip=False, max_length=PASSWORD_MAX_LENGTH)
    if password:
        candidate = User(phone=phone if "phone" not in errors else "", **names)
        if rejected := password_errors(password, candidate):
            errors["password"] = rejected
        if confirm and confirm != password:
            errors["password_confirm"] = [(_("The two passwords do not match."), "password_mismatch")]
    # Checked whenever sent (its type and length, as every field); required and recorded only while a notice is.
    given = "privacy_notice_version" in data or notice
    accepted = _text(data, "privacy_notice_version", errors, strip=True, max_length=32) if given else ""
    accepted = accepted if notice else ""
    if accepted and accepted != notice:
        message = _("Accept the current privacy notice (version %(version)s) to sign up.") % {"version": notice}
        errors["privacy_notice_version"] = [(message, "privacy_notice_outdated")]
    if errors:
        logger.warning("Registration refused: invalid %s", ", ".join(errors))
        raise ValidationFailed(errors)
    return SignupData(phone=phone, password=password, privacy_notice_version=accepted, **names)


def _text(
    data: Mapping[str, Any],
    field: str,
    errors: FieldErrors,
    *,
    strip: bool,
    max_length: int | None,
    validator: Callable[[str], None] | None = None,
) -> str:
    """The string in `data[field]` (stripped if `strip`), or "" after putting its errors in `errors`.

    The codes, and their order, are those of DRF's CharField, which the other endpoints answer with:
    `required`, `null`, `invalid`, `blank`, then the field's own `validator`'s, `max_length`,
    `null_characters_not_allowed`, `surrogate_characters_not_allowed`.
    """
    if field not in data:
        errors[field] = [(_("This field is required."), "required")]
        return ""
    value = data[field]
    if value is None:
        errors[field] = [(_("This field may not be null."), "null")]
        return ""
    if not isinstance(value, str):
        errors[field] = [(_("Not a valid string."), "invalid")]
        return ""
    value = value.strip() if strip else value
    if not value:
        errors[field] = [(_("This field may not be blank."), "blank")]
        return ""
    problems: list[tuple[Message, str]] = []
    if validator is not None:
        try:
            validator(value)
        except ValidationError as exc:
            problems.extend(_pairs(exc))
    if max_length is not None and len(value) > max_length:
        problems.append(too_long(max_length))
    if "\x00" in value:
        problems.append((_("Null characters are not allowed."), "null_characters_not_allowed"))
    if any(0xD800 <= ord(char) <= 0xDFFF for char in value):
        problems.append((_("Surrogate characters are not allowed."), "surrogate_characters_not_allowed"))
    if problems:
        errors[field] = problems
        return ""
    return value


def _pairs(exc: ValidationError) -> list[tuple[Message, str]]:
    """A Django ValidationError as (message, code) pairs, its params applied."""
    return [(error.message % (error.params or {}), error.code or "invalid") for error in exc.error_list]
