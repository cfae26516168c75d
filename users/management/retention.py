"""The retention commands' common part: delete the rows of one model older than a number of days (a setting)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import models
from django.utils import timezone

from users.management.days import positive_days


def older_than(model: type[models.Model], days: int, now: datetime | None = None) -> models.QuerySet[Any]:
    """`model`'s rows whose `created_at` is more than `days` days before `now`."""
    return model._default_manager.filter(created_at__lt=(now or timezone.now()) - timedelta(days=days))


class RetentionCommand(BaseCommand):
    """`--days N` (default: the setting `days_setting`) and `--dry-run`; deletes `model`'s rows whose
    `created_at` is older. Subclasses name the model, the setting and what a row is called in the output."""

    model: type[models.Model]
    days_setting: str
    rows: str  # e.g. "SMS record(s)"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=positive_days,
            default=None,
            help=f"minimum age of a row, in days (default {self.days_setting})",
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args: Any, days: int | None, dry_run: bool, **options: Any) -> None:
        days = days or getattr(settings, self.days_setting)
        old = older_than(self.model, days)
        if dry_run:
            self.stdout.write(f"{old.count()} {self.rows} older than {days} day(s) would be deleted.")
            return
        deleted, _ = old.delete()
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} {self.rows} older than {days} day(s)."))
