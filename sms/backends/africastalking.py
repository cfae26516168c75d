"""Africa's Talking SMS: POST {api}/version1/messaging with the `apiKey` header; outcome per recipient."""

from __future__ import annotations

import logging

from django.conf import settings

from sms.backends import http
from sms.backends.base import BaseSmsBackend, SendResult
from sms.exceptions import SmsConfigurationError, SmsNotProcessed, SmsNumberRejected, SmsRecipientRefused

logger = logging.getLogger(__name__)

# Per-recipient statusCode values (Africa's Talking documentation).
ACCEPTED = frozenset({100, 101, 102})  # processed, sent, queued
NUMBER_REJECTED = frozenset({403, 404, 406, 409})  # invalid number, unsupported type, blacklisted, do-not-disturb
ACCOUNT_PROBLEM = frozenset({401, 402, 405})  # risk hold, invalid sender id, insufficient balance


class SmsBackend(BaseSmsBackend):
    """Sends through Africa's Talking. Configured by AFRICASTALKING_USERNAME, AFRICASTALKING_API_KEY,
    AFRICASTALKING_SENDER_ID (optional) and AFRICASTALKING_API_URL."""

    name = "africastalking"
    read_timeout: float = http.READ_TIMEOUT

    def __init__(self) -> None:
        self.username = settings.AFRICASTALKING_USERNAME
        self.api_key = settings.AFRICASTALKING_API_KEY
        self.sender_id = settings.AFRICASTALKING_SENDER_ID
        self.api_url = settings.AFRICASTALKING_API_URL.rstrip("/")

    def configured(self) -> bool:
        """False (and an ERROR log) when the username or the API key is missing."""
        return self.require(AFRICASTALKING_USERNAME=self.username, AFRICASTALKING_API_KEY=self.api_key)

    def send(self, phone: str, text: str) -> SendResult:
        """POST the message; the recipient's statusCode inside a 2xx body decides: on acceptance, the
        SendResult with the recipient's `messageId`. Raises as the base says."""
        form = {"username": self.username, "to": phone, "message": text}
        if self.sender_id:
            form["from"] = self.sender_id
        response = http.post(
            "africastalking", f"{self.api_url}/version1/messaging", read_timeout=self.read_timeout, data=form,
            headers={"apiKey": self.api_key, "Accept": "application/json"},
        )
        if response.status_code in (401, 403):
            logger.error("Africa's Talking refused our API key (HTTP %s)", response.status_code)
            raise SmsConfigurationError(
                f"africastalking answered HTTP {response.status_code}", provider_code=response.status_code
            )
        if not 200 <= response.status_code < 300:
            raise SmsNotProcessed(
                f"africastalking answered HTTP {response.status_code}", provider_code=response.status_code
            )
        recipients = (http.json_body(response).get("SMSMessageData") or {}).get("Recipients") or []
        status = recipients[0].get("statusCode") if recipients and isinstance(recipients[0], dict) else None
        description = f"africastalking recipient status {status}"
        if status in ACCEPTED:
            logger.info("Africa's Talking accepted the message (status %s)", status)
            return SendResult(self.name, str(recipients[0].get("messageId") or ""))
        if status in NUMBER_REJECTED:
            raise SmsNumberRejected(description, provider_code=status)
        if status in ACCOUNT_PROBLEM:
            logger.error("Africa's Talking refused the message for an account problem (status %s)", status)
            raise SmsConfigurationError(description, provider_code=status)
        if isinstance(status, int) and 400 <= status < 500:  # another status tied to this recipient (407: no route)
            raise SmsRecipientRefused(description, provider_code=status)
        raise SmsNotProcessed(description, provider_code=status)  # gateway failure, or no recipient
