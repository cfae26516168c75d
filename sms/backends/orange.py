"""Orange's SMS API (Africa and Middle East): OAuth2 client credentials, then POST .../outbound/{sender}/requests."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.cache import cache

from sms import receipts
from sms.backends import http
from sms.backends.base import BaseSmsBackend, SendResult
from sms.exceptions import (
    SmsConfigurationError,
    SmsNotProcessed,
    SmsNumberRejected,
    SmsOutcomeUnknown,
    SmsRecipientRefused,
)

logger = logging.getLogger(__name__)
TOKEN_CACHE_KEY = "sms:orange:token"  # noqa: S105 -- the cache key's name, not a token


class SmsBackend(BaseSmsBackend):
    """Sends through Orange. Configured by ORANGE_CLIENT_ID, ORANGE_CLIENT_SECRET, ORANGE_SENDER_ADDRESS
    (`tel:+237...`, the account's number), ORANGE_SENDER_NAME (optional, approved by Orange), ORANGE_API_URL.

    The OAuth token is cached (shared cache) until shortly before it expires, and fetched again once when
    Orange answers 401 (revoked or expired early).
    """

    name = "orange"
    read_timeout: float = http.READ_TIMEOUT

    def __init__(self) -> None:
        self.client_id = settings.ORANGE_CLIENT_ID
        self.client_secret = settings.ORANGE_CLIENT_SECRET
        self.sender_address = settings.ORANGE_SENDER_ADDRESS
        self.sender_name = settings.ORANGE_SENDER_NAME
        self.api_url = settings.ORANGE_API_URL.rstrip("/")

    def configured(self) -> bool:
        """False (and an ERROR log) when a credential or the sender address is missing."""
        return self.require(
            ORANGE_CLIENT_ID=self.client_id, ORANGE_CLIENT_SECRET=self.client_secret,
            ORANGE_SENDER_ADDRESS=self.sender_address,
        )

    def _token(self, *, renew: bool = False) -> str:
        token = None if renew else cache.get(TOKEN_CACHE_KEY)
        if token:
            return token
        try:
            response = http.post(
                "orange", f"{self.api_url}/oauth/v3/token", read_timeout=self.read_timeout,
                data={"grant_type": "client_credentials"}, auth=(self.client_id, self.client_secret),
                headers={"Accept": "application/json"},
            )
        except SmsOutcomeUnknown as exc:  # the token request timed out: no message was sent
            raise SmsNotProcessed(str(exc), provider_code="token-timeout") from exc
        body = http.json_body(response)
        if response.status_code in (400, 401, 403):
            logger.error("Orange refused our client credentials (HTTP %s)", response.status_code)
            raise SmsConfigurationError(
                f"orange token refused: HTTP {response.status_code}", provider_code=response.status_code
            )
        if response.status_code != 200 or not body.get("access_token"):
            raise SmsNotProcessed(
                f"orange token endpoint answered HTTP {response.status_code}", provider_code=response.status_code
            )
        try:
            lifetime = int(body.get("expires_in") or 3600)
        except (TypeError, ValueError):
            lifetime = 3600
        cache.set(TOKEN_CACHE_KEY, body["access_token"], timeout=max(lifetime - 60, 30))
        return body["access_token"]

    def send(self, phone: str, text: str) -> SendResult:
        """POST the message (asking for a receipt when PUBLIC_BASE_URL is set); on 201, the SendResult with our
        receipt reference (its `callbackData`), else the request's id (the end of its `resourceURL`).
        Raises SmsNumberRejected (SVC0004) or an SmsUnavailable outcome."""
        url = f"{self.api_url}/smsmessaging/v1/outbound/{quote(self.sender_address, safe='')}/requests"
        message: dict[str, object] = {
            "address": f"tel:{phone}",
            "senderAddress": self.sender_address,
            "outboundSMSTextMessage": {"message": text},
        }
        if self.sender_name:
            message["senderName"] = self.sender_name
        reference = ""
        if callback := receipts.callback_url("orange"):
            # Orange's receipt names the message only by this callbackData: our reference is its message id.
            reference = secrets.token_hex(16)
            notify = f"{callback}?{urlencode({'secret': settings.ORANGE_CALLBACK_SECRET})}"
            message["receiptRequest"] = {"notifyURL": notify, "callbackData": reference}
        for renew in (False, True):
            response = http.post(
                "orange", url, read_timeout=self.read_timeout, json={"outboundSMSMessageRequest": message},
                headers={"Authorization": f"Bearer {self._token(renew=renew)}", "Accept": "application/json"},
            )
            if response.status_code != 401:
                break
            cache.delete(TOKEN_CACHE_KEY)  # expired or revoked: one new token, one more try
        if response.status_code == 201:
            logger.info("Orange accepted the message")
            accepted = http.json_body(response).get("outboundSMSMessageRequest") or {}
            resource = accepted.get("resourceURL") if isinstance(accepted, dict) else None
            request_id = resource.rstrip("/").rsplit("/", 1)[-1] if isinstance(resource, str) else ""
            return SendResult(self.name, reference or request_id)
        error = (http.json_body(response).get("requestError") or {})
        exception = error.get("serviceException") or error.get("policyException") or {}
        code = exception.get("messageId") or response.status_code
        description = f"orange answered HTTP {response.status_code}, error {code}"
        if code == "SVC0004":  # no valid address: the number itself
            raise SmsNumberRejected(description, provider_code=code)
        if response.status_code == 400:  # a service exception about this message: not Orange being down
            raise SmsRecipientRefused(description, provider_code=code)
        if response.status_code in (401, 403):  # credentials, policy (balance, sender): every send alike
            logger.error("Orange refused our request (HTTP %s, error %s)", response.status_code, code)
            raise SmsConfigurationError(description, provider_code=code)
        raise SmsNotProcessed(description, provider_code=code)
