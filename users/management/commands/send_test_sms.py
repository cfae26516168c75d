"""`manage.py send_test_sms <phone>`: send one SMS through the configured backend, to check its settings."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sms import get_sms_gateway
from sms.exceptions import SmsError
from users.phone import InvalidPhoneNumber, normalize_phone


# In users, not sms: the number is read the way sign-up reads it, and the sms transport imports nothing
# from users.
class Command(BaseCommand):
    """Normalises the phone, checks the backend is available, sends `--text` with `send` (no budget, no
    per-phone limits). Raises CommandError on an invalid number, an unavailable backend or any SmsError."""

    help = "Send a test SMS through SMS_BACKEND; exits non-zero when it is not accepted."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("phone", help="the recipient, in any accepted spelling")
        parser.add_argument("--text", default="WaterBill: test SMS.", help="the message (default: a short test text)")

    def handle(self, *args: Any, phone: str, text: str, **options: Any) -> None:
        try:
            number = normalize_phone(phone)
        except InvalidPhoneNumber as exc:
            raise CommandError(f"{phone!r}: {exc} ({exc.code})") from None
        gateway = get_sms_gateway()
        if not gateway.is_available():
            raise CommandError(f"{settings.SMS_BACKEND} is not available (see the ERROR log for what is missing)")
        try:
            gateway.send(number, text)
        except SmsError as exc:
            raise CommandError(f"not sent: {type(exc).__name__} (provider code {exc.provider_code}): {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Accepted by {settings.SMS_BACKEND} for {number}."))
