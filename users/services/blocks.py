"""Sign-up SMS per number block and clock hour: SMS-pumping fraud walks number ranges, customers do not."""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings

from users.exceptions import ResendLimitReached, SmsServiceUnavailable
from users.phone import mask_phone
from users.services.limits import seconds_until
from waterbill.counters import CounterUnavailable, WindowCounter

logger = logging.getLogger(__name__)

#: A block is an E.164 number without its last BLOCK_DIGITS digits: 1,000 numbers (+237 6XX XXX ---). A
#: pumper leases or controls ranges and sends to consecutive numbers; a utility's customers are spread over
#: the whole numbering plan (about 30 million Cameroonian lines over 100 million 6XX numbers: some 300 lines
#: per block, of whom a handful are customers). Numbers are portable, so a block says nothing of the operator:
#: it is a unit of range-walking, nothing more. Smaller blocks would let a pumper spread over more of them;
#: larger ones would put more real neighbours behind one limit.
BLOCK_DIGITS = 3

_sent = WindowCounter("sms:signup-block", 3600)


def block_of(phone: str) -> str:
    """The block of the E.164 `phone`: its digits but the last BLOCK_DIGITS (`+237670123` for +237670123456)."""
    return phone[:-BLOCK_DIGITS]


def take_block_allowance(phone: str, now: datetime) -> None:
    """Count one sign-up SMS to `phone` against its block in `now`'s clock hour, or refuse it.

    At most settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR per block and window (a fixed window: up to twice that
    across an hour's edge). Give it back with `give_back_block_allowance` when the SMS did not go out.
    Raises ResendLimitReached (with retry_after, nothing counted) or SmsServiceUnavailable (the cache cannot
    count: refused, as the SMS budget is when it cannot count).
    """
    block = block_of(phone)
    try:
        count = _sent.hit(block, now)
    except CounterUnavailable as exc:
        raise _uncountable(phone, exc) from exc
    if count.value > settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR:
        _sent.undo(block, now)
        logger.warning(
            "Sign-up SMS to %s refused: %d already sent to its block of %d numbers this hour (range walking?)",
            mask_phone(phone),
            settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR,
            10**BLOCK_DIGITS,
        )
        raise ResendLimitReached(retry_after=count.retry_after(now))


def check_block_allowance(phone: str, now: datetime) -> None:
    """Refuse at once a sign-up whose block has no sign-up SMS left in `now`'s clock hour (taking nothing):
    called before the password hash, so that a range walker's refused sign-ups cost no Argon2. The count that
    holds is `take_block_allowance`'s, inside the sign-up's transaction. Raises ResendLimitReached or
    SmsServiceUnavailable, as it does."""
    try:
        sent = _sent.get(block_of(phone), now)
    except CounterUnavailable as exc:
        raise _uncountable(phone, exc) from exc
    if sent >= settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR:
        logger.warning("Sign-up of %s refused before hashing: its block's SMS are spent this hour", mask_phone(phone))
        raise ResendLimitReached(retry_after=seconds_until(_sent.window_end(now), now))


def _uncountable(phone: str, exc: CounterUnavailable) -> SmsServiceUnavailable:
    """The refusal when the block's count cannot be read or written (refused, as the SMS allowances are)."""
    logger.error("Sign-up SMS to %s refused: its block's count is unavailable (%s)", mask_phone(phone), exc)
    return SmsServiceUnavailable()


def give_back_block_allowance(phone: str, now: datetime) -> None:
    """Return the unit taken by `take_block_allowance` (same `now`) for an SMS that was not sent (best effort)."""
    _sent.undo(block_of(phone), now)
