"""`manage.py purge_sms_records`: delete SMS records older than SMS_RECORD_RETENTION_DAYS (default 90 days)."""

from __future__ import annotations

from users.management.retention import RetentionCommand
from users.models import SmsRecord


class Command(RetentionCommand):
    help = "Delete SMS records (users.SmsRecord) created more than --days ago (default SMS_RECORD_RETENTION_DAYS)."
    model = SmsRecord
    days_setting = "SMS_RECORD_RETENTION_DAYS"
    rows = "SMS record(s)"
