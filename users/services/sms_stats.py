"""Delivery per provider from the SmsRecords: what the operator sees (the admin, the health check)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q

from users.models import SmsRecord

Status = SmsRecord.Status

#: What the operator's figures cover.
DAY = timedelta(hours=24)
#: Statuses of a send the provider took (a refusal of the send itself is not one).
TAKEN = (Status.ACCEPTED, Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED)
#: The final word of a delivery receipt: the ratios count these only.
RECEIPTS = (Status.DELIVERED, Status.UNDELIVERED, Status.FAILED)


@dataclass(frozen=True)
class ProviderDelivery:
    """One provider's SMS over a period: `sent` (taken by the provider), how many of them a receipt says
    `delivered` or not (`undelivered`, `failed`), and the sends it `refused` (number rejected, not sent)."""

    provider: str
    sent: int
    delivered: int
    not_delivered: int
    refused: int

    @property
    def waiting(self) -> int:
        """Sent, without a final receipt yet (or ever, with the receipts off)."""
        return self.sent - self.delivered - self.not_delivered

    @property
    def ratio(self) -> float | None:
        """Delivered over those with a final receipt, 0.0 to 1.0; None without any receipt."""
        answered = self.delivered + self.not_delivered
        return self.delivered / answered if answered else None


def last_day(now: datetime) -> dict[str, ProviderDelivery]:
    """Each provider's SMS created in the 24 hours before `now`, by provider name (sorted): one aggregate
    query. Records naming no provider (refused before any was tried) are left out."""
    rows = (
        SmsRecord.objects.filter(created_at__gt=now - DAY)
        .exclude(provider="")
        .values("provider")
        .annotate(
            sent=Count("id", filter=Q(status__in=TAKEN)),
            delivered=Count("id", filter=Q(status=Status.DELIVERED)),
            not_delivered=Count("id", filter=Q(status__in=(Status.UNDELIVERED, Status.FAILED))),
            refused=Count("id", filter=~Q(status__in=TAKEN)),
        )
        .order_by("provider")
    )
    return {row["provider"]: ProviderDelivery(**row) for row in rows}


def health_figures(now: datetime, providers: list[str]) -> dict[str, dict[str, Any]]:
    """For the health check (settings.HEALTH_SMS_FIGURES): each of `providers`' delivered ratio over the 24
    hours before `now` (`delivered_ratio_24h`, rounded to 3 places; None without receipts). One aggregate
    query."""
    day = last_day(now)
    return {name: {"delivered_ratio_24h": _rounded(day[name].ratio if name in day else None)} for name in providers}


def _rounded(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio, 3)
