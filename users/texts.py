"""The SMS texts the account flows send, in the active language; each one GSM-7 segment in every language (tested).

The code texts end with the lines the phones' autofill looks for, when configured (`for_autofill`).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.utils.translation import gettext


def _minutes() -> int:
    return int(settings.ACTIVATION_CODE_TTL.total_seconds() // 60)


def for_autofill(message: str, code: str) -> str:
    """`message`, then, each on its own line when set: SMS_ANDROID_APP_HASH (Android's SMS Retriever hands the
    SMS to the app whose hash it carries) and, last, `@SMS_OTP_DOMAIN #code` (the domain-bound code that
    WebOTP and iOS fill in: it must be the last line)."""
    lines = [message]
    if settings.SMS_ANDROID_APP_HASH:
        lines.append(settings.SMS_ANDROID_APP_HASH)
    if settings.SMS_OTP_DOMAIN:
        lines.append(f"@{settings.SMS_OTP_DOMAIN} #{code}")
    return "\n".join(lines)


def activation_text(code: str) -> str:
    """The activation SMS carrying `code`."""
    message = gettext(
        "WaterBill: your activation code is %(code)s. It expires in %(minutes)d minutes. Never share it."
    )
    return for_autofill(message % {"code": code, "minutes": _minutes()}, code)


def reset_text(code: str) -> str:
    """The password-reset SMS carrying `code`."""
    message = gettext(
        "WaterBill: your password reset code is %(code)s. It expires in %(minutes)d minutes. "
        "Did not ask for it? Ignore this SMS."
    )
    return for_autofill(message % {"code": code, "minutes": _minutes()}, code)


def phone_change_text(code: str) -> str:
    """The SMS to a new number, confirming it for an account."""
    message = gettext(
        "WaterBill: your code to confirm this new number is %(code)s. It expires in %(minutes)d minutes."
    )
    return for_autofill(message % {"code": code, "minutes": _minutes()}, code)


#: Every text that carries a code: each must stay one GSM-7 segment with the autofill lines (users.checks).
CODE_TEXTS = (activation_text, reset_text, phone_change_text)


def password_changed_text() -> str:
    """The notice to the account's number after its password was changed or reset."""
    return gettext(
        "WaterBill: the password of your account was changed. If this was not you, reset it now in the app."
    )


def deletion_text(erase_after: date) -> str:
    """The notice to the account's number after its owner deleted it: when it will be erased, and how to keep it."""
    return gettext(
        "WaterBill: your account will be erased on %(date)s, as you asked. To keep it, call our customer service "
        "before then."
    ) % {"date": erase_after.isoformat()}


def phone_changed_text() -> str:
    """The notice to the old number after the account moved to another one."""
    return gettext(
        "WaterBill: your account was moved to another number. If this was not you, call our customer service."
    )
