"""Phone numbers: parse any accepted spelling once, at the boundary, into E.164; mask them for logs."""

from __future__ import annotations

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from waterbill.errors import DomainError

# Long enough for any real spelling ("00 237 6 70 12 34 56"), short enough to bound parsing work.
MAX_INPUT_LENGTH = 32

_SMS_CAPABLE = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


class InvalidPhoneNumber(DomainError):
    """The input is not a valid phone number that may receive our SMS; `code` tells which rule failed."""

    default_code = "phone_invalid"
    default_detail = _("Enter a valid phone number, for example 6 70 12 34 56.")
    field = "phone"


def normalize_phone(raw: str) -> str:
    """Return `raw` in E.164 (`+237670123456`), parsing it in `settings.PHONE_DEFAULT_REGION`.

    `670123456`, `+237 6 70 12 34 56` and `00237670123456` all give `+237670123456`.
    Raises InvalidPhoneNumber with code `phone_invalid` (not a valid number), `phone_region_not_allowed`
    (valid, but outside `settings.PHONE_ALLOWED_REGIONS`) or `phone_not_mobile` (cannot receive SMS).
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_INPUT_LENGTH:
        raise InvalidPhoneNumber()
    try:
        number = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber() from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber()
    if phonenumbers.region_code_for_number(number) not in settings.PHONE_ALLOWED_REGIONS:
        raise InvalidPhoneNumber(
            _("Phone numbers from this country are not accepted."), code="phone_region_not_allowed"
        )
    if phonenumbers.number_type(number) not in _SMS_CAPABLE:
        raise InvalidPhoneNumber(
            _("This number cannot receive SMS: enter a mobile number."), code="phone_not_mobile"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def clean_phone(value: str) -> str:
    """`normalize_phone` for serializers, forms and model fields: E.164, or a Django ValidationError with the
    same message and code. The one place where a phone error changes form."""
    try:
        return normalize_phone(value)
    except InvalidPhoneNumber as exc:
        raise ValidationError(str(exc.detail), code=exc.code) from None


def mask_phone(phone: str) -> str:
    """`+237670123456` -> `+237******456`: the country code and the last three digits, for logs."""
    if not phone:
        return ""
    if phone.startswith("+"):
        try:
            prefix = "+" + str(phonenumbers.parse(phone).country_code)
        except phonenumbers.NumberParseException:
            prefix = phone[:1]
    else:
        prefix = ""
    tail = phone[-3:] if len(phone) - len(prefix) > 3 else ""
    return prefix + "*" * max(len(phone) - len(prefix) - len(tail), 0) + tail
