"""The audit trail: one event per security-relevant action on an account (kept AUDIT_RETENTION_DAYS)."""

from __future__ import annotations

import ipaddress
from datetime import datetime

from django.utils import timezone

from users.models import AuditEvent, User
from waterbill.logging import current_request_id

Kind = AuditEvent.Kind

# How much of a client address an event keeps: the network, not the subscriber (Law No. 2024/017 asks for no
# more personal data than the purpose needs; a /24 or a /48 still tells "the same network as the attacker").
IPV4_KEPT_PREFIX = 24
IPV6_KEPT_PREFIX = 48


def mask_address(address: str | None) -> str:
    """`address` as its network: `197.159.12.0/24`, `2001:db8:1::/48`; "" for none or not an address."""
    try:
        parsed = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return ""
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = IPV4_KEPT_PREFIX if isinstance(parsed, ipaddress.IPv4Address) else IPV6_KEPT_PREFIX
    return str(ipaddress.ip_network((parsed, prefix), strict=False))


def record(
    kind: str,
    *,
    user: User | None,
    client_ip: str | None = None,
    actor: User | None = None,
    detail: str = "",
    now: datetime | None = None,
) -> AuditEvent:
    """Write one event of `kind` (an AuditEvent.Kind) about `user` (None: no account, e.g. a failed login on an
    unknown number), by `actor` (a staff member, for the support desk's actions), with the masked client
    network and the current request id. `detail` is a short code or name (a refusal's code, an admin action),
    never a code, a password or a token. Inside the caller's transaction, if any: rolled back with it."""
    return AuditEvent.objects.create(
        kind=kind,
        user=user,
        actor=actor,
        address=mask_address(client_ip),
        request_id=current_request_id() if current_request_id() != "-" else "",
        detail=detail[:200],
        created_at=now or timezone.now(),
    )
