"""The rules a sign-up must meet, in plain Django (no DRF): the API and direct callers share them."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from users.models import User
from users.phone import InvalidPhoneNumber, normalize_phone
from waterbill.errors import Message, ValidationFailed

NAME_MAX_LENGTH = 150
PASSWORD_MAX_LENGTH = 128


def validate_name(value: str) -> None:
    """A person's name: no control characters (NUL, newlines, escapes) and no lone surrogates.

    Raises django.core.exceptions.ValidationError with code `invalid_characters`.
    """
    for char in value:
        if unicodedata.category(char) in {"Cc", "Cs"}:
            raise ValidationError(_("This name contains characters that are not allowed."), code="invalid_characters")


def password_errors(password: str, user: User) -> list[tuple[Message, str]]:
    """Django's password validators on `password` for `user`, as (message, code) pairs; empty when it passes."""
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        return [(error.message % (error.params or {}), error.code or "invalid") for error in exc.error_list]
    return []


def check_password_rules(password: str, user: User, field: str) -> None:
    """Raise ValidationFailed on `field` when Django's password validators refuse `password` for `user`."""
    errors = password_errors(password, user)
    if errors:
        raise ValidationFailed({field: errors})


@dataclass(frozen=True)
class RegistrationData:
    """A sign-up that passed every rule: E.164 phone, stripped names, the clear password."""

    phone: str
    first_name: str
    last_name: str
    password: str


def _text(data: Mapping[str, Any], field: str, errors: dict[str, list[tuple[Message, str]]], *, strip: bool) -> str:
    value = data.get(field)
    if value is None or (isinstance(value, str) and not value.strip()):
        errors.setdefault(field, []).append((_("This field is required."), "required"))
        return ""
    if not isinstance(value, str):
        errors.setdefault(field, []).append((_("Not a valid string."), "invalid"))
        return ""
    return value.strip() if strip else value


def clean_registration(data: Mapping[str, Any]) -> RegistrationData:
    """Check a raw sign-up dict (phone, first_name, last_name, password, password_confirm).

    Returns the cleaned data. Raises ValidationFailed listing every invalid field with its code:
    `required`, `invalid`, `max_length`, `invalid_characters`, the phone codes of normalize_phone,
    Django's password-validator codes, `password_mismatch`.
    """
    errors: dict[str, list[tuple[Message, str]]] = {}
    raw_phone = _text(data, "phone", errors, strip=True)
    phone = ""
    if raw_phone:
        try:
            phone = normalize_phone(raw_phone)
        except InvalidPhoneNumber as exc:
            errors["phone"] = [(exc.detail, exc.code)]

    names = {}
    for field in ("first_name", "last_name"):
        value = _text(data, field, errors, strip=True)
        if len(value) > NAME_MAX_LENGTH:
            errors[field] = [(_("Ensure this field has no more than 150 characters."), "max_length")]
        elif value:
            try:
                validate_name(value)
            except ValidationError as exc:
                errors[field] = [(message, exc.code or "invalid") for message in exc.messages]
        names[field] = value

    password = _text(data, "password", errors, strip=False)
    confirm = _text(data, "password_confirm", errors, strip=False)
    if len(password) > PASSWORD_MAX_LENGTH:
        errors["password"] = [(_("Ensure this field has no more than 128 characters."), "max_length")]
    elif password:
        candidate = User(phone=phone, first_name=names["first_name"], last_name=names["last_name"])
        if rejected := password_errors(password, candidate):
            errors["password"] = rejected
        if confirm and confirm != password:
            errors["password_confirm"] = [(_("The two passwords do not match."), "password_mismatch")]

    if errors:
        raise ValidationFailed(errors)
    return RegistrationData(phone=phone, first_name=names["first_name"], last_name=names["last_name"], password=password)
