"""Hourly SMS allowances, counted in the shared cache: a pumping attack cannot run up the bill, nor starve accounts."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from waterbill.counters import CounterUnavailable, WindowCounter

logger = logging.getLogger(__name__)

#: Codes to numbers nobody has proved yet: sign-ups and activation resends. Anyone can cause them with a
#: random number.
SIGNUPS = "signups"
#: Codes and notices for active accounts: password reset and phone-change codes, password and number notices,
#: and the operator's resend to a pending account (the support desk keeps working during a pumping attack).
ACCOUNTS = "accounts"
#: Each allowance and the setting holding its hourly limit. Two pools, so that sign-ups cannot spend what
#: active accounts need (issue 9 point 5: a spent budget left every reset answering 202 and sending nothing).
ALLOWANCES = {SIGNUPS: "SMS_HOURLY_BUDGET_SIGNUPS", ACCOUNTS: "SMS_HOURLY_BUDGET_ACCOUNTS"}

# One count per allowance for every number together, per hour aligned on the epoch: a clock hour in UTC, and
# in any zone a whole number of hours away (Douala). Key `sms:budget:<allowance>:<hour>`.
_sent = WindowCounter("sms:budget", 3600)
_alerts = WindowCounter("sms:budget-alerts", 3600)


@dataclass(frozen=True)
class Usage:
    """What one allowance spent in the current clock hour."""

    allowance: str
    used: int
    limit: int

    @property
    def share(self) -> float:
        """The share of the limit spent, 0.0 to 1.0 (a limit of 0 is all spent)."""
        return min(self.used / self.limit, 1.0) if self.limit > 0 else 1.0


def limit(allowance: str) -> int:
    """The hourly limit of `allowance` (SIGNUPS or ACCOUNTS). Raises KeyError for another name."""
    return int(getattr(settings, ALLOWANCES[allowance]))


def take(now: datetime, allowance: str) -> bool:
    """Count one SMS against `allowance` in `now`'s clock hour; False (and a log) when it is spent.

    The count is atomic (waterbill.counters), so concurrent senders never overspend. When the cache cannot
    count, there is no way to know what was spent: False too, with an ERROR log. The first refusal of an
    allowance in an hour logs an ERROR, the next ones a WARNING. Raises KeyError for an unknown allowance,
    nothing else.
    """
    cap = limit(allowance)
    try:
        used = _sent.hit(allowance, now).value
    except CounterUnavailable as exc:
        logger.error("SMS budget unavailable (%s): %s send refused", exc, allowance)
        return False
    if used > cap:
        give_back(now, allowance)  # a refused send spends nothing: the allowance is exactly `cap` sends
        # One ERROR per hour and allowance for the alert (its first refusal of the window), WARNINGs after.
        try:
            first = _alerts.hit(allowance, now).value == 1
        except CounterUnavailable:
            first = True
        logger.log(
            logging.ERROR if first else logging.WARNING,
            "SMS budget for %s of %d per hour is spent: send refused (possible SMS pumping)",
            allowance,
            cap,
        )
        return False
    return True


def usage(now: datetime) -> list[Usage] | None:
    """Each allowance's use in `now`'s clock hour (SIGNUPS first), or None when the cache cannot tell."""
    try:
        return [Usage(name, _sent.get(name, now), limit(name)) for name in ALLOWANCES]
    except CounterUnavailable:
        return None


def give_back(now: datetime, allowance: str) -> None:
    """Return a unit taken by `take(now, allowance)` (same `now`) for an SMS that was not sent.

    Best effort, never raises for the cache."""
    _sent.undo(allowance, now)
