"""`manage.py purge_sms_records`: delete SMS records older than SMS_RECORD_RETENTION_DAYS (default 90 days)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from users.management.days import positive_days
from users.models import SmsRecord


class Command(BaseCommand):
    help = "Delete SMS records (users.SmsRecord) created more than --days ago (default SMS_RECORD_RETENTION_DAYS)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=positive_days,
            default=None,
            help="minimum age of a record, in days (default SMS_RECORD_RETENTION_DAYS)",
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args: Any, days: int | None, dry_run: bool, **options: Any) -> None:
        days = days or settings.SMS_RECORD_RETENTION_DAYS
        old = SmsRecord.objects.filter(created_at__lt=timezone.now() - timedelta(days=days))
        if dry_run:
            self.stdout.write(f"{old.count()} SMS record(s) older than {days} day(s) would be deleted.")
            return
        deleted, _ = old.delete()
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} SMS record(s) older than {days} day(s)."))
