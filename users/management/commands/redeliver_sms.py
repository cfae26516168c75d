"""`manage.py redeliver_sms`: send once more the codes still undelivered SMS_DELIVERY_TIMEOUT after their send."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from users.services.redelivery import redeliver_overdue


class Command(BaseCommand):
    help = (
        "Send once more, through the next SMS backend, each code without a delivered receipt SMS_DELIVERY_TIMEOUT "
        "after its send, and erase the sealed codes past their lifetime. Run it every minute."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        sent, erased = redeliver_overdue()
        self.stdout.write(f"{sent} code(s) sent again, {erased} expired sealed code(s) erased.")
