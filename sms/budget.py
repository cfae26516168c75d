"""A global hourly budget of SMS, counted in the shared cache: a pumping attack cannot run up the bill."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings

from waterbill.counters import CounterUnavailable, WindowCounter

logger = logging.getLogger(__name__)

# One count for every number together, per hour aligned on the epoch: a clock hour in UTC, and in any zone
# a whole number of hours away (Douala).
_sent = WindowCounter("sms:budget", 3600)
_alerts = WindowCounter("sms:budget-alerts", 3600)
_ALL = "all"


def take(now: datetime) -> bool:
    """Count one SMS against the budget of `now`'s clock hour; False (and an ERROR log) when it is spent.

    The count is atomic (waterbill.counters), so concurrent senders never overspend. When the cache
    cannot count, there is no way to know what was spent: False too, with an ERROR log. Never raises.
    """
    try:
        used = _sent.hit(_ALL, now).value
    except CounterUnavailable as exc:
        logger.error("SMS budget unavailable (%s): send refused", exc)
        return False
    if used > settings.SMS_HOURLY_BUDGET:
        give_back(now)  # a refused send spends nothing: the budget is exactly SMS_HOURLY_BUDGET sends
        # One ERROR per hour for the alert (the first refusal of the window), a WARNING for each one after.
        try:
            first = _alerts.hit(_ALL, now).value == 1
        except CounterUnavailable:
            first = True
        logger.log(
            logging.ERROR if first else logging.WARNING,
            "SMS budget of %d per hour is spent: send refused (possible SMS pumping)",
            settings.SMS_HOURLY_BUDGET,
        )
        return False
    return True


def usage(now: datetime) -> float | None:
    """The share of this hour's budget spent at `now` (0.0 to 1.0), or None when the cache cannot tell."""
    try:
        return min(_sent.get(_ALL, now) / max(settings.SMS_HOURLY_BUDGET, 1), 1.0)
    except CounterUnavailable:
        return None


def give_back(now: datetime) -> None:
    """Return a unit taken by `take(now)` (same `now`) for an SMS that was not sent. Best effort, never raises."""
    _sent.undo(_ALL, now)
