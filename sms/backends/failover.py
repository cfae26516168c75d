"""Several backends in order (SMS_BACKEND="a.SmsBackend,b.SmsBackend"): the next is tried when one fails."""

from __future__ import annotations

import logging

from sms.backends.base import BaseSmsBackend, SendResult
from sms.exceptions import (
    SmsConfigurationError,
    SmsNotProcessed,
    SmsNumberRejected,
    SmsOutcomeUnknown,
    SmsUnavailable,
)

logger = logging.getLogger(__name__)


class SmsBackend(BaseSmsBackend):
    """Tries each backend in turn, skipping those that are not available (unconfigured, circuit open).

    The next backend is tried when one did not process the message (not processed, configuration problem)
    and also when its outcome is unknown: the same text, hence the same code, may then arrive twice, which
    is harmless. A rejected number stops the round: the number is the problem. What `get_sms_gateway()`
    builds when SMS_BACKEND names several classes.
    """

    name = "failover"

    def __init__(self, backends: list[BaseSmsBackend]) -> None:
        self.backends = backends

    def is_available(self) -> bool:
        """True when at least one backend is."""
        return any(backend.is_available() for backend in self.backends)

    def send(self, phone: str, text: str) -> SendResult:
        """Send through the first backend that accepts; its SendResult (naming that backend). Raises
        SmsNumberRejected at once, or, when every backend failed, SmsOutcomeUnknown if any may have sent it
        (naming the last one that may have), else the last failure."""
        last: SmsUnavailable | None = None
        maybe_sent = ""
        for backend in self.backends:
            if not backend.is_available():
                continue
            try:
                result = backend.send_message(phone, text)
            except (SmsNotProcessed, SmsConfigurationError, SmsOutcomeUnknown) as exc:
                if isinstance(exc, SmsOutcomeUnknown):
                    maybe_sent = backend.name
                logger.warning("SMS backend %s failed (%s, error %s): trying the next", backend.name,
                               type(exc).__name__, exc.provider_code)
                last = exc
                continue
            except SmsNumberRejected:
                raise
            except Exception as exc:  # a bug in one backend must not stop the others
                logger.exception("SMS backend %s failed unexpectedly: trying the next", backend.name)
                last = SmsNotProcessed(
                    f"{backend.name}: {type(exc).__name__}", provider_code="error", provider=backend.name
                )
                continue
            if last is not None:
                logger.info("SMS sent by %s after a failover", backend.name)
            return result
        if maybe_sent:
            raise SmsOutcomeUnknown(
                "every backend failed; one may have sent it", provider_code="timeout", provider=maybe_sent
            )
        raise last or SmsNotProcessed("no SMS backend available", provider_code="unavailable", provider=self.name)

    def send_message(self, phone: str, text: str) -> SendResult:
        """The backends feed their own circuit breakers: no breaker of its own."""
        return self.send(phone, text)


def members(gateway: BaseSmsBackend) -> list[BaseSmsBackend]:
    """The backends `gateway` sends through, in its order: a failover's, or the gateway itself."""
    return list(gateway.backends) if isinstance(gateway, SmsBackend) else [gateway]
