"""Delivery receipts: each provider's status callback, authenticated and parsed into one `Receipt`.

Transport knowledge only (signatures, field names, the providers' status words); what a receipt changes is
the sending app's business. Every parser raises `ReceiptRefused` (the caller answers 403) when the request
does not prove it comes from the provider, and `MalformedReceipt` (400) when it is not a receipt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from django.conf import settings

#: Our statuses (the sending app stores them): every provider word maps onto one of these, or is ignored.
SENT, DELIVERED, UNDELIVERED, FAILED = "sent", "delivered", "undelivered", "failed"

#: The callback paths under PUBLIC_BASE_URL, one per provider.
PATHS = {
    "twilio": "/api/v1/sms/status/twilio/",
    "africastalking": "/api/v1/sms/status/africastalking/",
    "orange": "/api/v1/sms/status/orange/",
}

# Twilio's MessageStatus: queued, accepted, scheduled and sending say no more than "accepted" (ignored).
TWILIO_STATUSES = {
    "sent": SENT,
    "delivered": DELIVERED,
    "read": DELIVERED,
    "undelivered": UNDELIVERED,
    "failed": FAILED,
    "canceled": FAILED,
}
# Africa's Talking's delivery report `status`: Rejected (by the operator) and Failed (not to the handset) are
# final; the newer reasons-as-statuses (AbsentSubscriber, Expired...) are failures to deliver too.
AFRICASTALKING_STATUSES = {
    "Sent": SENT,
    "Submitted": SENT,
    "Buffered": SENT,
    "Success": DELIVERED,
    "Rejected": FAILED,
    "Failed": UNDELIVERED,
    "AbsentSubscriber": UNDELIVERED,
    "Expired": UNDELIVERED,
}
# Orange's (GSMA OneAPI) deliveryStatus; DeliveryUncertain and DeliveryNotificationNotSupported say nothing.
ORANGE_STATUSES = {
    "DeliveredToNetwork": SENT,
    "MessageWaiting": SENT,
    "DeliveredToTerminal": DELIVERED,
    "DeliveryImpossible": UNDELIVERED,
}


class ReceiptRefused(Exception):
    """The callback does not prove it comes from the provider (signature or secret missing or wrong)."""


class MalformedReceipt(Exception):
    """The callback is not a delivery receipt (a required field missing or of the wrong type)."""


#: The longest message id a record keeps (users.models.SmsRecord.provider_message_id, provider_code).
MAX_ID_LENGTH = 64


@dataclass(frozen=True)
class Receipt:
    """What a provider says of one message: `status` one of ours, or "" for a word that moves nothing.

    Raises MalformedReceipt for a message id no record can hold (empty, over MAX_ID_LENGTH characters, or with a
    NUL, which PostgreSQL refuses in text); the error code is cut to what a record keeps, NULs removed.
    """

    provider: str
    message_id: str
    status: str
    error_code: str = ""

    def __post_init__(self) -> None:
        if not self.message_id or len(self.message_id) > MAX_ID_LENGTH or "\x00" in self.message_id:
            raise MalformedReceipt("the message id is empty, too long or holds a NUL")
        object.__setattr__(self, "error_code", self.error_code.replace("\x00", "")[:MAX_ID_LENGTH])


def fields(data: object) -> dict[str, str]:
    """A posted form (a QueryDict: the last value of each field) or a JSON object of strings, as a dict.
    Raises MalformedReceipt on anything else (a JSON list, a number among the values)."""
    if not isinstance(data, Mapping):
        raise MalformedReceipt("the body is not a set of fields")
    values = {name: data.get(name) for name in data}
    if not all(isinstance(name, str) and isinstance(value, str) for name, value in values.items()):
        raise MalformedReceipt("every field must be a string")
    return cast(dict[str, str], values)


#: The setting that authenticates each provider's receipts: without it, every receipt is refused.
AUTHENTICATED_BY = {
    "twilio": "TWILIO_AUTH_TOKEN",
    "africastalking": "AFRICASTALKING_CALLBACK_SECRET",
    "orange": "ORANGE_CALLBACK_SECRET",
}


def expected(provider: str) -> bool:
    """Whether the sends of `provider` (a backend's name) come back with receipts we accept: PUBLIC_BASE_URL
    set and the setting that authenticates them. Africa's Talking and Orange also need the URL registered with
    them (docs/sms-gateways.md), which no setting can tell."""
    setting = AUTHENTICATED_BY.get(provider)
    return bool(settings.PUBLIC_BASE_URL and setting and getattr(settings, setting, ""))


def callback_url(provider: str) -> str:
    """The public URL of `provider`'s status callback, or "" when PUBLIC_BASE_URL is not set (no callbacks)."""
    base = settings.PUBLIC_BASE_URL
    return f"{base}{PATHS[provider]}" if base else ""


def twilio_signature(url: str, params: Mapping[str, str], auth_token: str) -> str:
    """Twilio's X-Twilio-Signature: base64 of HMAC-SHA1, keyed with the auth token, of the full URL followed
    by every POST parameter's name and value, sorted by name."""
    payload = url + "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode("utf-8", "surrogatepass"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def twilio_receipt(url: str, data: object, signature: str | None) -> Receipt:
    """A Twilio status callback posted to `url` (the URL Twilio used: ours, under PUBLIC_BASE_URL). Raises
    ReceiptRefused on a missing or wrong signature (or no TWILIO_AUTH_TOKEN), MalformedReceipt without
    MessageSid or MessageStatus."""
    params = fields(data)
    token = settings.TWILIO_AUTH_TOKEN
    # Bytes, not str: compare_digest refuses a str with non-ASCII characters (a TypeError, so a 500, for anyone).
    given = (signature or "").encode("utf-8", "surrogatepass")
    if not token or not given or not hmac.compare_digest(twilio_signature(url, params, token).encode(), given):
        raise ReceiptRefused("bad or missing X-Twilio-Signature")
    sid, word = params.get("MessageSid", ""), params.get("MessageStatus", "")
    if not sid or not word:
        raise MalformedReceipt("MessageSid and MessageStatus are required")
    return Receipt("twilio", sid, TWILIO_STATUSES.get(word, ""), params.get("ErrorCode", ""))


def check_secret(given: str | None, expected: str) -> None:
    """Raise ReceiptRefused unless `given` is `expected` (constant time) and `expected` is set."""
    if not expected or not given or not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode()):
        raise ReceiptRefused("bad or missing callback secret")


def africastalking_receipt(data: object, secret: str | None) -> Receipt:
    """An Africa's Talking delivery report (form fields id, status, phoneNumber, networkCode, failureReason,
    ...), authenticated by `secret` from its URL against AFRICASTALKING_CALLBACK_SECRET (it signs nothing).
    Raises ReceiptRefused or MalformedReceipt (no id or status)."""
    check_secret(secret, settings.AFRICASTALKING_CALLBACK_SECRET)
    params = fields(data)
    message_id, word = params.get("id", ""), params.get("status", "")
    if not message_id or not word:
        raise MalformedReceipt("id and status are required")
    return Receipt("africastalking", message_id, AFRICASTALKING_STATUSES.get(word, ""), params.get("failureReason", ""))


def orange_receipt(body: object, secret: str | None) -> Receipt:
    """An Orange deliveryInfoNotification (JSON: `callbackData`, our message reference, and
    `deliveryInfo.deliveryStatus`), authenticated by `secret` from its URL against ORANGE_CALLBACK_SECRET.
    Raises ReceiptRefused or MalformedReceipt."""
    check_secret(secret, settings.ORANGE_CALLBACK_SECRET)
    notification = body.get("deliveryInfoNotification") if isinstance(body, dict) else None
    info = notification.get("deliveryInfo") if isinstance(notification, dict) else None
    if isinstance(info, list):  # OneAPI allows a list of one per address; we send to one
        info = info[0] if info else None
    reference = notification.get("callbackData") if isinstance(notification, dict) else None
    word = info.get("deliveryStatus") if isinstance(info, dict) else None
    if not isinstance(reference, str) or not reference or not isinstance(word, str) or not word:
        raise MalformedReceipt("deliveryInfoNotification.callbackData and deliveryInfo.deliveryStatus are required")
    status = ORANGE_STATUSES.get(word, "")
    return Receipt("orange", reference, status, word if status == UNDELIVERED else "")
