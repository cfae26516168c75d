"""Twilio's Programmable Messaging over plain `requests` (POST .../Accounts/{sid}/Messages.json)."""

from __future__ import annotations

import logging

from django.conf import settings

from sms import receipts
from sms.backends import http
from sms.backends.base import BaseSmsBackend, SendResult
from sms.exceptions import SmsConfigurationError, SmsNotProcessed, SmsNumberRejected, SmsRecipientRefused

logger = logging.getLogger(__name__)

# Twilio error codes that mean "this number will not get the message": trying again cannot help.
# 21211 invalid 'To', 21614 not a mobile number, 21612 unreachable 'To', 21635 not a valid mobile
# number for this route, 21610 the recipient replied STOP.
REJECTION_CODES = frozenset({21211, 21614, 21612, 21635, 21610})
# 400 codes that are about our side of the request (the same for every send): 21212 invalid 'From', 21603
# 'From' required, 21606 'From' not SMS-capable, 21659 'From' not one of our numbers, 21660 'From' and
# account mismatch, 21602 body required, 21617 body too long. Any other 400 is taken as tied to the recipient.
OUR_REQUEST_CODES = frozenset({21212, 21603, 21606, 21659, 21660, 21602, 21617})


class SmsBackend(BaseSmsBackend):
    """Sends through Twilio. Configured by TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, TWILIO_API_URL."""

    name = "twilio"
    # The send runs inside the sign-up transaction: it must end in bounded time whatever Twilio does.
    read_timeout: float = http.READ_TIMEOUT

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        from_number: str | None = None,
        api_url: str | None = None,
    ) -> None:
        self.account_sid = account_sid if account_sid is not None else settings.TWILIO_ACCOUNT_SID
        self.auth_token = auth_token if auth_token is not None else settings.TWILIO_AUTH_TOKEN
        self.from_number = from_number if from_number is not None else settings.TWILIO_FROM_NUMBER
        self.api_url = (api_url if api_url is not None else settings.TWILIO_API_URL).rstrip("/")

    def configured(self) -> bool:
        """False (and an ERROR log) when a credential or the sender number is missing."""
        return self.require(
            TWILIO_ACCOUNT_SID=self.account_sid, TWILIO_AUTH_TOKEN=self.auth_token, TWILIO_FROM_NUMBER=self.from_number
        )

    def send(self, phone: str, text: str) -> SendResult:
        """POST the message; on a 2xx answer, the SendResult with the message SID. Raises SmsNumberRejected or
        SmsUnavailable."""
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        form = {"To": phone, "From": self.from_number, "Body": text}
        if callback := receipts.callback_url("twilio"):  # delivery receipts, signed with our auth token
            form["StatusCallback"] = callback
        response = http.post(
            "twilio",
            url,
            read_timeout=self.read_timeout,
            data=form,
            auth=(self.account_sid, self.auth_token),
        )
        if 200 <= response.status_code < 300:
            sid = http.json_body(response).get("sid", "")
            logger.info("Twilio accepted message %s", sid)
            return SendResult(self.name, str(sid))
        code = http.json_body(response).get("code")
        # Twilio's free-text message often quotes the recipient's number: keep it out of logs.
        message = f"twilio answered HTTP {response.status_code}, error {code}"
        if response.status_code == 400 and code in REJECTION_CODES:
            raise SmsNumberRejected(message, provider_code=code)
        provider_code = code if code is not None else response.status_code
        if response.status_code == 400 and code not in OUR_REQUEST_CODES:
            raise SmsRecipientRefused(message, provider_code=provider_code)
        if response.status_code in (401, 403) or response.status_code == 400:
            # Credentials refused, or a request Twilio will never accept from us (bad From, ...).
            logger.error("Twilio refused our request (HTTP %s, error %s)", response.status_code, code)
            raise SmsConfigurationError(message, provider_code=provider_code)
        raise SmsNotProcessed(message, provider_code=provider_code)
