"""`manage.py erase_deleted_accounts`: the daily privacy run: erase the accounts whose owners deleted them
ACCOUNT_DELETION_GRACE_DAYS ago, and the audit events older than AUDIT_RETENTION_DAYS."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from users.management.retention import older_than
from users.models import AuditEvent
from users.services import AccountDeletionService


class Command(BaseCommand):
    help = (
        "Erase the personal data of every account deleted by its owner more than ACCOUNT_DELETION_GRACE_DAYS ago "
        "(users.services.deletion.erase_due), and delete the audit events older than AUDIT_RETENTION_DAYS. Run it "
        "daily."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        erased = AccountDeletionService.erase_due(now)
        events, _ = older_than(AuditEvent, settings.AUDIT_RETENTION_DAYS, now).delete()
        self.stdout.write(
            self.style.SUCCESS(
                f"Erased {erased} account(s) past their grace period; deleted {events} audit event(s) older than "
                f"{settings.AUDIT_RETENTION_DAYS} day(s)."
            )
        )
