"""`manage.py purge_audit_events`: delete audit events older than AUDIT_RETENTION_DAYS (default 365 days)."""

from __future__ import annotations

from users.management.retention import RetentionCommand
from users.models import AuditEvent


class Command(RetentionCommand):
    help = "Delete audit events (users.AuditEvent) older than --days (default AUDIT_RETENTION_DAYS)."
    model = AuditEvent
    days_setting = "AUDIT_RETENTION_DAYS"
    rows = "audit event(s)"
