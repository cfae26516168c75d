"""Delivery per provider from the SmsRecords: what the operator sees, and which providers the failover tries last."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from redis.exceptions import RedisError

from users.models import SmsRecord

logger = logging.getLogger(__name__)

Status = SmsRecord.Status

#: What the operator's figures cover.
DAY = timedelta(hours=24)
#: Statuses of a send the provider took (a refusal of the send itself is not one).
TAKEN = (Status.ACCEPTED, Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.FAILED)
#: The final word of a delivery receipt: the ratios count these only.
RECEIPTS = (Status.DELIVERED, Status.UNDELIVERED, Status.FAILED)
#: A provider's standing is judged over its RECENT_RECEIPTS newest receipts, once it has MIN_RECEIPTS of them.
RECENT_RECEIPTS = 50
MIN_RECEIPTS = 10


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


def recent_ratio(provider: str) -> float | None:
    """`provider`'s delivered ratio over its RECENT_RECEIPTS newest final receipts, or None with fewer than
    MIN_RECEIPTS of them (too few to judge). One query, on the receipts' partial index."""
    statuses = list(
        SmsRecord.objects.filter(provider=provider, status__in=RECEIPTS)
        .order_by("-updated_at")
        .values_list("status", flat=True)[:RECENT_RECEIPTS]
    )
    if len(statuses) < MIN_RECEIPTS:
        return None
    return statuses.count(Status.DELIVERED) / len(statuses)


def _standing_key(provider: str) -> str:
    return f"sms:standing:{provider}"


#: How long a provider's standing (its recent delivered ratio) orders the failover before it must be judged anew.
STANDING_SECONDS = 24 * 3600


def judge(provider: str) -> float | None:
    """After a final receipt from `provider`: its recent ratio, kept in the shared cache for the failover
    order (`poor`). An ERROR when it falls below SMS_MIN_DELIVERED_RATIO (once, as it crosses), an INFO when
    it climbs back. Never raises for the cache (the order then stays as configured)."""
    ratio = recent_ratio(provider)
    was_poor = provider in poor([provider])
    is_poor = _below(ratio, settings.SMS_MIN_DELIVERED_RATIO)
    try:
        # For a day at most: a provider tried last gets few sends, hence few receipts to judge it again by; a day
        # later it takes its configured place and earns its standing anew (review of issue 11).
        cache.set(_standing_key(provider), ratio, timeout=STANDING_SECONDS)
    except RedisError as exc:
        logger.warning("SMS provider %s: standing not kept (cache unavailable: %s)", provider, exc)
    if is_poor and not was_poor:
        logger.error(
            "SMS provider %s delivered %.0f%% of its last %d receipts (below %.0f%%): tried last from now on",
            provider, (ratio or 0) * 100, RECENT_RECEIPTS, settings.SMS_MIN_DELIVERED_RATIO * 100,
        )
    elif was_poor and not is_poor:
        logger.info("SMS provider %s delivers again: back in its configured place", provider)
    return ratio


def standings(providers: list[str]) -> dict[str, float | None]:
    """The recent ratio `judge` kept for each of `providers` (None: not judged yet); one cache round trip,
    {} when the cache cannot be read."""
    try:
        kept = cache.get_many([_standing_key(name) for name in providers])
    except RedisError:
        return {}
    return {name: kept.get(_standing_key(name)) for name in providers}


def poor(providers: list[str]) -> set[str]:
    """Those of `providers` whose recent ratio is below SMS_MIN_DELIVERED_RATIO (as `judge` kept it)."""
    threshold = settings.SMS_MIN_DELIVERED_RATIO
    return {name for name, ratio in standings(providers).items() if _below(ratio, threshold)}


def health_figures(now: datetime, providers: list[str]) -> dict[str, dict[str, Any]]:
    """For the health check (settings.HEALTH_SMS_FIGURES): each of `providers`' delivered ratio over the 24
    hours before `now` (`delivered_ratio_24h`) and over its last receipts (`recent_delivered_ratio`, as `judge`
    kept it), both rounded to 3 places, None without receipts, and whether the failover tries it last
    (`tried_last`). One aggregate query and one cache round trip."""
    day = last_day(now)
    recent = standings(providers)
    threshold = settings.SMS_MIN_DELIVERED_RATIO
    return {
        name: {
            "delivered_ratio_24h": _rounded(day[name].ratio if name in day else None),
            "recent_delivered_ratio": _rounded(recent.get(name)),
            "tried_last": _below(recent.get(name), threshold),
        }
        for name in providers
    }


def _rounded(ratio: float | None) -> float | None:
    return None if ratio is None else round(ratio, 3)


def _below(ratio: float | None, threshold: float) -> bool:
    return ratio is not None and ratio < threshold
