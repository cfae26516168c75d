"""Test backend: keeps every sent SMS in the module-level `outbox` list (cleared in place by a fixture)."""

from __future__ import annotations

from dataclasses import dataclass

from sms.backends.base import BaseSmsBackend, SendResult


@dataclass(frozen=True)
class SmsMessage:
    """One SMS as it would have left: recipient (E.164) and text."""

    phone: str
    text: str


outbox: list[SmsMessage] = []


class SmsBackend(BaseSmsBackend):
    """Appends each message to `sms.backends.locmem.outbox`. Never fails."""

    name = "locmem"

    def send(self, phone: str, text: str) -> SendResult:
        """Record the message; its message id is `locmem-<its index in the outbox>`."""
        outbox.append(SmsMessage(phone=phone, text=text))
        return SendResult(self.name, f"locmem-{len(outbox) - 1}")
