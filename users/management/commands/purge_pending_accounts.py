"""`manage.py purge_pending_accounts`: delete never-activated accounts older than an age (default 7 days)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from users.management.days import positive_days
from users.models import User

# What User.is_pending means, as a filter.
PENDING = Q(is_active=False, activated_at__isnull=True, disabled_at__isnull=True)


class Command(BaseCommand):
    help = "Delete accounts never activated whose sign-up is older than --days (default 7), codes included."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=positive_days, default=7, help="minimum age of the sign-up, in days (default 7)"
        )
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")

    def handle(self, *args: Any, days: int, dry_run: bool, **options: Any) -> None:
        cutoff = timezone.now() - timedelta(days=days)
        # Never activated (an account disabled after activation keeps its history), no live code.
        stale = User.objects.filter(PENDING, date_joined__lt=cutoff).exclude(
            activation_tokens__used_at__isnull=True, activation_tokens__expires_at__gt=timezone.now()
        )
        count = stale.count()
        if dry_run:
            self.stdout.write(f"{count} never-activated account(s) older than {days} day(s) would be deleted.")
            return
        with transaction.atomic():
            # Locked and re-checked in the same statement set: an account activated meanwhile is not deleted.
            ids = list(stale.select_for_update().values_list("pk", flat=True))
            User.objects.filter(PENDING, pk__in=ids).delete()
        self.stdout.write(
            self.style.SUCCESS(f"Deleted {len(ids)} never-activated account(s) older than {days} day(s).")
        )
