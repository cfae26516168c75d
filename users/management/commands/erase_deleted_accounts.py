"""`manage.py erase_deleted_accounts`: erase the accounts whose owners deleted them ACCOUNT_DELETION_GRACE_DAYS ago."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from users.services import AccountDeletionService


class Command(BaseCommand):
    help = (
        "Erase the personal data of every account deleted by its owner more than ACCOUNT_DELETION_GRACE_DAYS ago "
        "(users.services.deletion.erase_due). Run it daily."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        erased = AccountDeletionService.erase_due()
        self.stdout.write(self.style.SUCCESS(f"Erased {erased} account(s) past their grace period."))
