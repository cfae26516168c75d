"""The interface every SMS backend implements, and the activation message text."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext


def activation_text(code: str) -> str:
    """The activation SMS in the active language; every translation stays one GSM-7 segment (tested)."""
    minutes = int(settings.ACTIVATION_CODE_TTL.total_seconds() // 60)
    return gettext("WaterBill: your activation code is %(code)s. It expires in %(minutes)d minutes. Never share it.") % {
        "code": code,
        "minutes": minutes,
    }


class BaseSmsBackend:
    """Base class for SMS backends; subclasses implement `send` and may override `is_available`."""

    #: A short name for logs ("twilio", "console"...).
    name = "base"

    def is_available(self) -> bool:
        """Whether a send can be attempted now (configured, not known to be down). Must not raise."""
        return True

    def send(self, phone: str, text: str) -> None:
        """Send `text` to `phone` (E.164) and return once the provider accepted it.

        Raises sms.exceptions.SmsNumberRejected when the provider refuses the number, and
        sms.exceptions.SmsUnavailable when the message was not sent or its fate is unknown.
        """
        raise NotImplementedError("subclasses of BaseSmsBackend must implement send()")

    def send_activation_code(self, phone: str, code: str) -> bool:
        """Send the activation message carrying `code`; True once accepted. Raises as `send` does."""
        self.send(phone, activation_text(code))
        return True
