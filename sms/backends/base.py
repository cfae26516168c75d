"""The interface every SMS backend implements; the texts are the sending app's (see SMS_ACTIVATION_TEXT)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from django.conf import settings
from django.utils.module_loading import import_string

from sms import breaker, gsm
from sms.exceptions import SmsError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    """An accepted send: the `provider` that took it (the backend's `name`; after a failover, the one that
    accepted), its `message_id` there ("" when the provider gives none), and the `segments` billed.

    Always true as a boolean, so callers written for the old `True` keep working."""

    provider: str
    message_id: str = ""
    segments: int = 0


class BaseSmsBackend:
    """Base class for SMS backends: subclasses implement `send` and may override `configured`.

    `is_available()` and `send_message()` add the circuit breaker (sms.breaker) around them, so every
    backend fails fast while its provider is known to be down.
    """

    #: A short name for logs and the circuit breaker ("twilio", "console"...).
    name = "base"

    def configured(self) -> bool:
        """Whether the settings this backend needs are there (log what is missing). Must not raise."""
        return True

    def require(self, **settings_values: str) -> bool:
        """For `configured()`: True when every named setting has a value; else an ERROR naming the missing ones."""
        missing = [name for name, value in settings_values.items() if not value]
        if missing:
            logger.error("%s backend is not configured: %s missing", self.name, ", ".join(missing))
        return not missing

    def is_available(self) -> bool:
        """Whether a send can be attempted now: configured, and its circuit not open. Must not raise."""
        if breaker.is_open(self.name):
            return False
        return self.configured()

    def send(self, phone: str, text: str) -> SendResult | None:
        """Send `text` to `phone` (E.164) and return once the provider accepted it: a SendResult naming this
        backend and the provider's message id (None is taken as "accepted, no id").

        Raises sms.exceptions.SmsNumberRejected when the provider refuses the number, and
        sms.exceptions.SmsUnavailable (one of its outcome subclasses) when the message was not sent or its
        fate is unknown.
        """
        raise NotImplementedError("subclasses of BaseSmsBackend must implement send()")

    def send_message(self, phone: str, text: str) -> SendResult:
        """`send`, feeding the circuit breaker: the SendResult once accepted, its `segments` counted from
        `text` (sms.gsm) when the backend left them out. Raises as `send` does, the exception's `provider`
        set to this backend's name when the backend left it empty."""
        try:
            result = self.send(phone, text) or SendResult(self.name)
        except SmsError as exc:
            exc.provider = exc.provider or self.name
            # Only what says the provider fails every send (down, slow, our credentials or balance): a refusal
            # tied to one recipient must never open the circuit for everyone (a pumper could provoke it).
            if exc.provider_fault:
                breaker.record_failure(self.name)
            raise
        breaker.record_success(self.name)
        return result if result.segments else replace(result, segments=gsm.segments(text))

    def send_activation_code(self, phone: str, code: str) -> SendResult:
        """Send `settings.SMS_ACTIVATION_TEXT(code)` (in the active language); the SendResult once accepted.

        The text comes from the callable the setting names, imported at each call like SMS_BACKEND, so that
        the transport never imports the app whose words it carries. Raises ImportError when the setting
        cannot be imported (system check sms.E002 reports it beforehand), else as `send` does.
        """
        text = import_string(settings.SMS_ACTIVATION_TEXT)(code)
        return self.send_message(phone, text)
