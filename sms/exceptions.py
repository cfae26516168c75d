"""How a send fails, one exception per outcome (accepted is the absence of one).

* SmsNumberRejected: the number will not get it;
* SmsConfigurationError: our credentials, sender or balance;
* SmsNotProcessed: the provider did not take it (safe to try again, or elsewhere); SmsRecipientRefused, one
  of them, when the provider ties the refusal to this recipient rather than to itself;
* SmsOutcomeUnknown: it may have been sent.
The last three are SmsUnavailable, which callers that need less detail catch.
"""

from __future__ import annotations


class SmsError(Exception):
    """A send that did not end in "accepted". `provider_code` is the provider's own error code, if any;
    `provider` the name of the backend that failed (set by BaseSmsBackend.send_message when left empty)."""

    #: Whether the failure says something about the provider for every send (down, slow, our account), so
    #: that it feeds the circuit breaker; a refusal tied to one recipient does not.
    provider_fault = True

    def __init__(self, message: str, *, provider_code: str | int | None = None, provider: str = "") -> None:
        super().__init__(message)
        self.provider_code = provider_code
        self.provider = provider


class SmsNumberRejected(SmsError):
    """The provider will not deliver to this number (invalid, not mobile, unsubscribed, blocked)."""

    provider_fault = False


class SmsUnavailable(SmsError):
    """Not sent, or outcome unknown: provider down, rate-limited, unreachable, too slow, bad credentials."""


class SmsConfigurationError(SmsUnavailable):
    """Our account or settings are at fault (credentials refused, sender not allowed, balance spent)."""


class SmsNotProcessed(SmsUnavailable):
    """The provider did not take the message (down, overloaded, unreachable): nothing was sent."""


class SmsRecipientRefused(SmsNotProcessed):
    """The provider refused this message for this recipient (a 4xx it ties to the request, not one of the
    rejections the backend knows as "this number will not get it"): not sent, and no sign that the provider
    is down, so it never counts toward the circuit breaker. The next backend may take it."""

    provider_fault = False


class SmsOutcomeUnknown(SmsUnavailable):
    """No answer in time after the request left: the message may have been sent (and billed)."""
