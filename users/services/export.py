"""The right of access and portability: everything the API holds about an account, as one document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from users.models import AuditEvent, Session, SmsRecord, User, VerificationCode


def export(user: User, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything held about `user` (docs/privacy.md lists it): the account, its sessions (signed-in devices, ended
    ones included), the SMS sent to its numbers (purpose, status, time: never a text or a code), the numbers its
    phone-change codes went to, and its audit events. Codes and password are held only as hashes: the document
    says so instead of giving them. Read-only."""
    numbers = {user.phone, *VerificationCode.objects.filter(user=user).values_list("phone", flat=True)}
    return {
        "exported_at": now or timezone.now(),
        "account": {
            "id": user.pk,
            "phone": user.phone,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "language": user.language,
            "is_active": user.is_active,
            "date_joined": user.date_joined,
            "activated_at": user.activated_at,
            "last_login": user.last_login,
            "privacy_notice": {
                "version": user.privacy_notice_version,
                "language": user.privacy_notice_language,
                "accepted_at": user.privacy_notice_accepted_at,
            },
            "password": "stored as an Argon2id hash only: it cannot be exported",
        },
        "sessions": list(
            Session.objects.filter(user=user)
            .order_by("created_at", "id")
            .values("id", "device", "address", "created_at", "last_used_at", "ended_at")
        ),
        "sms": list(
            # From the sign-up on: a number that changed hands keeps its former holder's records out of this one's.
            SmsRecord.objects.filter(phone__in=numbers, created_at__gte=user.date_joined)
            .order_by("created_at", "id")
            .values("created_at", "phone", "purpose", "language", "provider", "status", "updated_at")
        ),
        "phone_change_codes": list(
            VerificationCode.objects.filter(user=user, purpose=VerificationCode.Purpose.PHONE_CHANGE)
            .order_by("created_at", "id")
            .values("created_at", "phone", "used_at")
        ),
        "audit_events": list(
            AuditEvent.objects.filter(user=user)
            .order_by("created_at", "id")
            .values("created_at", "kind", "address", "request_id", "detail")
        ),
    }
