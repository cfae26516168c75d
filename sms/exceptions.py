"""How a send fails: the provider refused the number, or the message was not (or may not have been) sent."""

from __future__ import annotations


class SmsError(Exception):
    """A send that did not end in "accepted". `provider_code` is the provider's own error code, if any."""

    def __init__(self, message: str, *, provider_code: str | int | None = None) -> None:
        super().__init__(message)
        self.provider_code = provider_code


class SmsNumberRejected(SmsError):
    """The provider will not deliver to this number (invalid, not mobile, unsubscribed, blocked)."""


class SmsUnavailable(SmsError):
    """Not sent, or outcome unknown: provider down, rate-limited, unreachable, too slow, bad credentials."""
