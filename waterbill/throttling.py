"""Per-client-IP throttles counted atomically in the shared cache (fixed windows)."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.utils import timezone
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

from waterbill.counters import WindowCounter

#: An IPv6 client counts as its /64: one subscriber or site gets a whole /64 (RFC 6177), so counting each
#: /128 apart would hand anyone 2**64 addresses, each with its own allowances.
IPV6_PREFIX = 64


def network_of(address: str) -> str:
    """The ident limits count `address` under: an IPv4 address as itself, an IPv6 address as its /64 network
    (`2001:db8:1:2::/64`); anything that is not an address (a proxy's garbage) as it is."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_PREFIX), strict=False))
    return str(parsed)


class FixedWindowScopedThrottle(ScopedRateThrottle):
    """DRF's ScopedRateThrottle (rate per view `throttle_scope`, per client IP), counted with a WindowCounter.

    DRF's own throttles read a history list, append and write it back: concurrent requests overwrite each
    other's entries and far more than the rate gets through. Here each request is one atomic hit on the
    counter of the current window, so the rate holds under concurrency (at the price of allowing up to
    twice the rate across a window boundary).

    `allow_request` raises waterbill.counters.CounterUnavailable when the shared cache fails: the request
    cannot be checked, and the exception handler answers 503 `service_unavailable`.
    """

    seconds_left: int

    def get_ident(self, request: Request) -> str:
        """DRF's client address (REMOTE_ADDR, or X-Forwarded-For per NUM_PROXIES), an IPv6 one as its /64."""
        return network_of(str(super().get_ident(request)))

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = getattr(view, self.scope_attr, None)
        if not scope:
            return True
        self.scope = scope
        self.rate = self.get_rate()
        num_requests, duration = self.parse_rate(self.rate)
        self.num_requests, self.duration = num_requests, duration
        if num_requests is None or duration is None:  # no rate for this scope
            return True
        now = timezone.now()
        # Named so that the keys stay `throttle:{scope}:{ident}:{window}`: a deploy does not reset windows.
        count = WindowCounter(f"throttle:{scope}", duration).hit(str(self.get_ident(request)), now)
        self.seconds_left = count.retry_after(now)
        return count.value <= num_requests

    def wait(self) -> float:
        """Whole seconds until the window ends, at least 1 (becomes Retry-After)."""
        return self.seconds_left
