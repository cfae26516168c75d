"""Delivery-aware failover: a code that did not arrive goes once more, the same code, through the next backend."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone, translation

from sms.backends.base import BaseSmsBackend, SendResult
from sms.backends.failover import SmsBackend as Failover
from users.models import ActivationToken, SmsRecord, User, VerificationCode, open_sealed_code
from users.phone import mask_phone
from users.services.delivery import RESENDABLE, accepted_record, deliver, get_gateway, insert, others, record_failure
from users.texts import phone_change_text, reset_text
from waterbill.errors import DomainError

logger = logging.getLogger(__name__)

Status = SmsRecord.Status

#: How each purpose's SMS is written again: the backend's activation text, or the account app's.
SENDS: dict[str, Callable[[BaseSmsBackend, str, str], SendResult]] = {
    "activation": lambda backend, phone, code: backend.send_activation_code(phone, code),
    "password_reset": lambda backend, phone, code: backend.send_message(phone, reset_text(code)),
    "phone_change": lambda backend, phone, code: backend.send_message(phone, phone_change_text(code)),
}
#: A code is sent again only while at least this much of its lifetime is left.
RESEND_MIN_TIME_LEFT = timedelta(minutes=2)


def redeliver(record_id: int, *, now: datetime | None = None) -> SmsRecord | None:
    """Send the code of SmsRecord `record_id` once more, through the gateway's other backends (the next that
    is available, in the failover's order), if it still has its sealed code; the new record (its `retry_of`
    the first), or None when nothing was sent.

    The sealed code is erased first, by a conditional update, so that a receipt and the timeout command
    racing for one record send it once. Nothing is sent when the code can no longer be used (entered,
    expired, replaced by a newer code: its keyed hash no longer matches), or when no other backend is left.
    No new code row: the per-number limits do not count it; the hourly SMS allowance of its purpose does
    (not the number's block, which counted the first send). A failed resend is recorded like any failed send.
    Never raises a domain error (run after a response or by a command).
    """
    now = now or timezone.now()
    record = SmsRecord.objects.filter(pk=record_id).exclude(sealed_code="").first()
    if record is None:
        return None
    if not SmsRecord.objects.filter(pk=record.pk, sealed_code=record.sealed_code).update(sealed_code=""):
        return None  # another process took it
    code = open_sealed_code(record.sealed_code)
    if code is None or not _still_usable(record, code, now):
        logger.info("%s code to %s not sent again: no longer usable", record.purpose, mask_phone(record.phone))
        return None
    fallbacks = others(get_gateway(), record.provider)
    if not fallbacks:
        logger.warning("%s code to %s not sent again: no other SMS backend", record.purpose, mask_phone(record.phone))
        return None
    backend = Failover(fallbacks)
    send = SENDS[record.purpose]
    try:
        with translation.override(record.language or settings.LANGUAGE_CODE):
            result = deliver(
                record.phone,
                now,
                lambda: send(backend, record.phone, code),
                allowance=RESENDABLE[record.purpose],
                # A sign-up code's resend counts on its number block like the first send: pumped numbers that
                # never report "delivered" must not get twice the block's SMS (review of issue 11).
                per_block=record.purpose == "activation",
            )
    except DomainError as exc:
        logger.error("%s code to %s not sent again: %s", record.purpose, mask_phone(record.phone), exc.code)
        record_failure(record.phone, record.purpose, exc, language=record.language, retry_of=record)
        return None
    again = accepted_record(record.phone, record.purpose, result, language=record.language, now=now)
    again.retry_of = record
    insert(again)
    logger.warning(
        "%s code to %s sent again through %s (%s said %s)",
        record.purpose, mask_phone(record.phone), again.provider, record.provider or "-", record.status,
    )
    return again


def _still_usable(record: SmsRecord, code: str, now: datetime) -> bool:
    """Whether `code` is still the newest unused, unexpired code of `record`'s number and purpose."""
    row: ActivationToken | VerificationCode | None
    if record.purpose == "activation":
        user = User.objects.filter(phone=record.phone).first()
        row = ActivationToken.objects.filter(user=user).first() if user is not None and user.is_pending else None
    else:
        row = (
            VerificationCode.objects.filter(phone=record.phone, purpose=record.purpose)
            .order_by("-created_at", "-id")
            .first()
        )
    return (
        row is not None
        and row.used_at is None
        # Time left to type it: a resend arriving as the code expires would only be a second useless SMS.
        and not row.is_expired(now + RESEND_MIN_TIME_LEFT)
        and row.attempts < settings.ACTIVATION_MAX_ATTEMPTS
        and row.matches(code)
    )


def on_receipt(record: SmsRecord, later: Callable[[Callable[[], None]], None]) -> None:
    """After a receipt moved `record` (committed): an `undelivered` or `failed` code is handed to `later`
    (off the request's thread: the resend calls a provider) to be sent again."""
    if record.status in (Status.UNDELIVERED, Status.FAILED) and record.sealed_code:
        record_id = record.pk
        later(lambda: _redeliver_quietly(record_id))


def _redeliver_quietly(record_id: int) -> None:
    redeliver(record_id)


def redeliver_overdue(*, now: datetime | None = None, limit: int = 500) -> tuple[int, int]:
    """The timeout half (`manage.py redeliver_sms`, every minute): erase the sealed codes of records older than
    a code's lifetime, then send again (`redeliver`) up to `limit` codes still without a "delivered" receipt
    SMS_DELIVERY_TIMEOUT after their send, oldest first. Returns (sent again, erased)."""
    now = now or timezone.now()
    sealed = SmsRecord.objects.exclude(sealed_code="")
    erased = sealed.filter(created_at__lte=now - settings.ACTIVATION_CODE_TTL).update(sealed_code="")
    due = (
        sealed.filter(created_at__lte=now - settings.SMS_DELIVERY_TIMEOUT)
        .exclude(status=Status.DELIVERED)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    sent = sum(1 for record_id in list(due) if redeliver(record_id, now=now) is not None)
    return sent, erased
