"""`manage.py check_invariants`: verify the sign-up invariants on a live database; non-zero exit when broken."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from users.models import ActivationToken, User


def broken_invariants() -> dict[str, QuerySet[Any]]:
    """Each invariant's name and the rows that break it (all empty on a healthy database)."""
    now = timezone.now()
    live = {"used_at__isnull": True, "expires_at__gt": now, "attempts__lt": settings.ACTIVATION_MAX_ATTEMPTS}
    pending = User.objects.filter(is_active=False, activated_at__isnull=True, disabled_at__isnull=True)
    return {
        # A user row exists only if its activation SMS went out, i.e. with at least one code.
        "pending users without any code": pending.filter(activation_tokens__isnull=True),
        "pending users without a sign-up token": pending.filter(signup_token_hash=""),
        "codes without a user": ActivationToken.objects.exclude(user_id__in=User.objects.values("pk")),
        "users with more than one live code": User.objects.annotate(
            live_codes=Count("activation_tokens", filter=Q(**{f"activation_tokens__{k}": v for k, v in live.items()}))
        ).filter(live_codes__gt=1),
        "activated users with an unused live code": User.objects.filter(activated_at__isnull=False)
        .filter(**{f"activation_tokens__{k}": v for k, v in live.items()})
        .distinct(),
        "active users without activated_at": User.objects.filter(is_active=True, activated_at__isnull=True),
        "used codes of never-activated users": ActivationToken.objects.filter(
            used_at__isnull=False, user__activated_at__isnull=True
        ),
    }


class Command(BaseCommand):
    help = "Check the sign-up invariants (no user without a sent code, no orphan or stray live code...)."

    def handle(self, *args: Any, **options: Any) -> None:
        failures = 0
        for name, rows in broken_invariants().items():
            count = rows.count()
            failures += count
            style = self.style.ERROR if count else self.style.SUCCESS
            self.stdout.write(style(f"{count:6d}  {name}"))
            if count and options["verbosity"] > 1:
                for row in rows[:20]:
                    self.stdout.write(f"        {row!r}")
        if failures:
            raise CommandError(f"{failures} row(s) break the sign-up invariants", returncode=1)
        self.stdout.write(self.style.SUCCESS("All sign-up invariants hold."))
