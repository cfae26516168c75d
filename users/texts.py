"""The SMS texts the account flows send, in the active language; each one GSM-7 segment in every language (tested)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.utils.translation import gettext


def _minutes() -> int:
    return int(settings.ACTIVATION_CODE_TTL.total_seconds() // 60)


def activation_text(code: str) -> str:
    """The activation SMS carrying `code`."""
    message = gettext(
        "WaterBill: your activation code is %(code)s. It expires in %(minutes)d minutes. Never share it."
    )
    return message % {"code": code, "minutes": _minutes()}


def reset_text(code: str) -> str:
    """The password-reset SMS carrying `code`."""
    return gettext(
        "WaterBill: your password reset code is %(code)s. It expires in %(minutes)d minutes. "
        "Did not ask for it? Ignore this SMS."
    ) % {"code": code, "minutes": _minutes()}


def phone_change_text(code: str) -> str:
    """The SMS to a new number, confirming it for an account."""
    return gettext(
        "WaterBill: your code to confirm this new number is %(code)s. It expires in %(minutes)d minutes."
    ) % {"code": code, "minutes": _minutes()}


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
