"""Per-client-IP throttles counted atomically in the shared cache (fixed windows)."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle


class FixedWindowScopedThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle (rate per view `throttle_scope`, per client IP), counted with `cache.incr`.

    DRF's own throttles read a history list, append and write it back: concurrent requests overwrite each
    other's entries and far more than the rate gets through. Here each request is one atomic increment of
    the counter of the current window, so the rate holds under concurrency (at the price of allowing up to
    twice the rate across a window boundary).
    """

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = getattr(view, self.scope_attr, None)
        if not scope:
            return True
        self.scope = scope
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        now = time.time()
        window = int(now // self.duration)
        key = f"throttle:{scope}:{self.get_ident(request)}:{window}"
        cache.add(key, 0, timeout=self.duration + 1)
        count = cache.incr(key)
        self.seconds_left = (window + 1) * self.duration - now
        return count <= self.num_requests

    def wait(self) -> float:
        """Seconds until the window ends (becomes Retry-After)."""
        return self.seconds_left
