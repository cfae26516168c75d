"""The SMS texts the account flows send, in the active language; each one GSM-7 segment in every language (tested)."""

from __future__ import annotations

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
