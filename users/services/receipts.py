"""Delivery receipts: a provider's word on one SMS moves its SmsRecord forward, never back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from sms import receipts
from sms.receipts import MalformedReceipt, Receipt
from users.exceptions import ReceiptMalformed, ReceiptRefused
from users.models import SmsRecord
from users.phone import mask_phone
from users.services import redelivery, sms_stats

logger = logging.getLogger(__name__)


def apply_receipt(receipt: Receipt, *, now: datetime | None = None) -> SmsRecord | None:
    """Move the record of `receipt`'s message (by provider and message id) to its status, if that is forward.

    Statuses only move forward (SmsRecord.advances): a late "sent" after "delivered", a duplicate, or a word
    that maps to nothing change nothing. "Delivered" erases the record's sealed code (nothing to send again);
    a final word re-judges the provider's recent delivered ratio (users.services.sms_stats.judge). An unknown
    message id changes nothing either (a record purged, or an SMS sent by another system on the same account).
    Returns the record when it changed, else None. Never raises a domain error: whatever the receipt says,
    the provider is answered 2xx.
    """
    now = now or timezone.now()
    with transaction.atomic():
        record = (
            SmsRecord.objects.select_for_update()
            .filter(provider=receipt.provider, provider_message_id=receipt.message_id)
            .first()
        )
        if record is None:
            logger.info("%s receipt for an unknown message ignored", receipt.provider)
            return None
        if not record.advances(receipt.status):
            return None
        record.status = receipt.status
        record.provider_code = receipt.error_code[:64] or record.provider_code
        record.updated_at = now
        if record.status == SmsRecord.Status.DELIVERED:
            record.sealed_code = ""
        record.save(update_fields=["status", "provider_code", "updated_at", "sealed_code"])
    if record.status in sms_stats.RECEIPTS:
        sms_stats.judge(record.provider)
    level = logging.INFO if receipt.status in (SmsRecord.Status.SENT, SmsRecord.Status.DELIVERED) else logging.WARNING
    logger.log(
        level, "%s SMS to %s %s (%s)", record.purpose, mask_phone(record.phone), receipt.status, receipt.provider
    )
    return record


Later = Callable[[Callable[[], None]], None]


def twilio(url: str, params: object, signature: str | None, *, later: Later) -> SmsRecord | None:
    """A Twilio status callback to `url` (ours, as Twilio used it), applied; a resend it calls for is handed to
    `later` (users.services.redelivery.on_receipt). Raises ReceiptRefused (bad or missing X-Twilio-Signature)
    or ReceiptMalformed."""
    return _receive(lambda: receipts.twilio_receipt(url, params, signature), later)


def africastalking(params: object, secret: str | None, *, later: Later) -> SmsRecord | None:
    """An Africa's Talking delivery report, applied, as `twilio`. Raises ReceiptRefused (wrong secret) or
    ReceiptMalformed."""
    return _receive(lambda: receipts.africastalking_receipt(params, secret), later)


def orange(body: object, secret: str | None, *, later: Later) -> SmsRecord | None:
    """An Orange deliveryInfoNotification, applied, as `twilio`. Raises ReceiptRefused (wrong secret) or
    ReceiptMalformed."""
    return _receive(lambda: receipts.orange_receipt(body, secret), later)


def _receive(parse: Callable[[], Receipt], later: Later) -> SmsRecord | None:
    """Parse with the transport, turning its refusals into domain errors, then apply the receipt and hand a
    resend it calls for to `later`."""
    try:
        receipt = parse()
    except receipts.ReceiptRefused:
        logger.warning("SMS receipt refused: bad or missing signature or secret")
        raise ReceiptRefused() from None
    except MalformedReceipt as exc:
        logger.warning("SMS receipt malformed: %s", exc)
        raise ReceiptMalformed() from None
    record = apply_receipt(receipt)
    if record is not None:
        redelivery.on_receipt(record, later)
    return record
