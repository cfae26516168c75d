"""Sending a code: the gateway's availability, the SMS allowances, the gateway's outcome as a domain error.

Every flow that sends a code goes through here, inside its own short transaction, the SMS last: the code
row counts only if the SMS went out. A failed send is recorded for the admin after the rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import translation

from sms import budget
from sms.backends.base import BaseSmsBackend
from sms.exceptions import SmsError, SmsNumberRejected, SmsOutcomeUnknown, SmsRecipientRefused
from users.exceptions import PhoneRejected, SmsBusy, SmsServiceUnavailable
from users.models import ActivationToken, SmsFailure, User, VerificationCode
from users.phone import mask_phone
from users.services.blocks import give_back_block_allowance, take_block_allowance
from users.services.limits import check_send_limits
from users.services.sessions import lock_current_session
from waterbill.bulkhead import Bulkhead, Full, shared
from waterbill.counters import CounterUnavailable, WindowCounter
from waterbill.errors import DomainError

logger = logging.getLogger(__name__)


def get_gateway() -> BaseSmsBackend:
    """The configured gateway, looked up as `users.services.get_sms_gateway` at call time.

    Through that name, and not an import of it, so that a test patching `users.services.get_sms_gateway`
    (the seed's tests do) reaches every place a code is sent.
    """
    from users import services

    return services.get_sms_gateway()


def ensure_available(gateway: BaseSmsBackend) -> None:
    """Refuse before any write when the gateway already knows it cannot send. Raises SmsServiceUnavailable."""
    try:
        available = gateway.is_available()
    except Exception:
        logger.exception("SMS gateway %s failed its availability check", type(gateway).__module__)
        available = False
    if not available:
        logger.error("SMS gateway %s unavailable: request refused before any write", type(gateway).__module__)
        raise SmsServiceUnavailable()


def deliver(phone: str, now: datetime, send: Callable[[], bool], *, allowance: str) -> None:
    """Run `send` (a gateway call) within `allowance`, one of the hourly SMS allowances of sms.budget.

    A send of budget.SIGNUPS (a code to a number nobody proved yet) also counts against the number's block
    (users.services.blocks), first: a refused block spends nothing of the allowance. Both count only an SMS
    that went out, or may have (a timeout).
    At most settings.SMS_SENDS_IN_FLIGHT sends run at once per process (a bulkhead): past them the send is
    shed at once, so that a slow provider holds a bounded share of a worker's threads.
    Raises SmsBusy (shed), ResendLimitReached (the block's hour is spent), PhoneRejected (the provider refuses
    the number) or SmsServiceUnavailable (the allowance spent, the allowance or the block uncountable, not
    sent, or its outcome unknown).
    """
    per_block = allowance == budget.SIGNUPS
    try:
        with sends_in_flight().enter():
            _deliver(phone, now, send, allowance=allowance, per_block=per_block)
    except Full:
        logger.warning("SMS to %s shed: every send slot of this worker is taken (slow provider?)", mask_phone(phone))
        raise SmsBusy() from None


def sends_in_flight() -> Bulkhead:
    """This process's bulkhead of code sends: settings.SMS_SENDS_IN_FLIGHT slots (read at each use: tests
    change it; a new size starts a new bulkhead)."""
    return shared("sms-sends", settings.SMS_SENDS_IN_FLIGHT)


def _deliver(phone: str, now: datetime, send: Callable[[], bool], *, allowance: str, per_block: bool) -> None:
    """`deliver` within its slot."""
    if per_block:
        take_block_allowance(phone, now)
    if not budget.take(now, allowance):
        if per_block:
            give_back_block_allowance(phone, now)
        raise SmsServiceUnavailable()
    try:
        _call_gateway(phone, send)
    except (SmsServiceUnavailable, PhoneRejected) as exc:
        # A timeout may have been sent (and billed): it keeps counting. A refused number was not sent.
        if isinstance(exc, PhoneRejected) or not exc.maybe_sent:
            budget.give_back(now, allowance)
            if per_block:
                give_back_block_allowance(phone, now)
        raise


def _call_gateway(phone: str, send: Callable[[], bool]) -> None:
    """Send, turning every failure into a domain error. Raises PhoneRejected or SmsServiceUnavailable.

    The gateway is the outside world: any exception it raises means "not sent" and must roll back.
    """
    try:
        sent = send()
    except (SmsNumberRejected, SmsRecipientRefused) as exc:
        # The provider (the last one tried, after a failover) ties the refusal to this number.
        logger.warning("SMS to %s rejected by the provider (error %s)", mask_phone(phone), exc.provider_code)
        raise PhoneRejected() from exc
    except SmsError as exc:
        logger.error("SMS to %s failed (error %s): %s", mask_phone(phone), exc.provider_code, exc)
        error = SmsServiceUnavailable()
        error.maybe_sent = isinstance(exc, SmsOutcomeUnknown)
        raise error from exc
    except Exception as exc:
        # Not one of the outcomes a backend is meant to report: keep the traceback for whoever fixes it.
        logger.exception("SMS to %s failed unexpectedly: %s", mask_phone(phone), type(exc).__name__)
        raise SmsServiceUnavailable() from exc
    if not sent:
        logger.error("SMS to %s failed: the gateway reported it was not sent", mask_phone(phone))
        raise SmsServiceUnavailable()


def issue_activation_code(
    user: User, code: str, gateway: BaseSmsBackend, now: datetime, *, supersede: bool, by_operator: bool = False
) -> ActivationToken:
    """Inside the caller's transaction: retire the user's live codes (if `supersede`), save the new one,
    and send it last with the seed's `send_activation_code`, in the user's language. Raises as `deliver`.

    A code anyone asked for (sign-up, resend) draws on the sign-ups' allowance and its number's block; one an
    operator sends (`by_operator`: the support desk, in the admin) on the active accounts' allowance, so that
    a pumping attack spending the sign-ups' allowance does not stop the support desk too."""
    if supersede:
        ActivationToken.objects.filter(user=user).retire(now)
    token = ActivationToken.create_token(user, code, now=now)
    with translation.override(user.language):  # the user's language, whatever the request's
        allowance = budget.ACCOUNTS if by_operator else budget.SIGNUPS
        deliver(user.phone, now, lambda: gateway.send_activation_code(user.phone, code), allowance=allowance)
    return token


def send_verification_code(
    user: User,
    *,
    purpose: str,
    phone: str,
    text: Callable[[str], str],
    gateway: BaseSmsBackend,
    now: datetime,
    same_session: bool = False,
) -> VerificationCode:
    """Send a new code of `purpose` to `phone` for `user`: all in one durable transaction.

    Locks the user, checks its send limits for `purpose`, retires its live codes of that purpose, saves the
    new one and sends `text(code)` last, in the user's language. With `same_session`, `user` is the user of
    this request's token and its sessions must not have ended since (users.services.sessions).
    Raises ResendTooSoon, ResendLimitReached, PhoneRejected, SmsServiceUnavailable or SessionEnded; after any
    of them the earlier codes still work.
    """
    code = ActivationToken.generate_code()
    try:
        with transaction.atomic(durable=True):
            locked = lock_current_session(user) if same_session else User.objects.select_for_update().get(pk=user.pk)
            codes = VerificationCode.objects.filter(user=locked, purpose=purpose)
            check_send_limits(codes, now)
            codes.retire(now)
            row = VerificationCode.objects.create(
                user=locked,
                purpose=purpose,
                phone=phone,
                code_hash=VerificationCode.hash_code(purpose, code),
                created_at=now,
                expires_at=now + settings.ACTIVATION_CODE_TTL,
            )
            with translation.override(locked.language):
                # Only active accounts get these codes: a reset for an active one, a phone change with a token.
                deliver(phone, now, lambda: gateway.send_message(phone, text(code)), allowance=budget.ACCOUNTS)
    except DomainError as exc:
        record_failure(phone, purpose, exc)
        raise
    logger.info("%s code sent to %s", purpose, mask_phone(phone))
    return row


#: Notices per purpose and number, per clock hour.
_NOTICES = WindowCounter("sms:notices", 3600)


def send_notice(user: User, *, phone: str, purpose: str, text: Callable[[], str], now: datetime) -> None:
    """Tell `phone` about a change to `user`'s account that has committed, in the user's language.

    Never raises and never undoes the change: a notice that cannot be sent (gateway down, budget spent,
    provider refusal) is logged and recorded like any failed send. At most settings.NOTICES_PER_NUMBER_PER_HOUR
    notices of one purpose reach one number in a clock hour: a script chaining password changes on an account
    of its own must not spend the active accounts' SMS allowance that everyone's reset codes draw on. The
    owner of a number that got that many already knows; the next ones are logged, not sent.
    """
    try:
        if _NOTICES.hit(f"{purpose}|{phone}", now).value > settings.NOTICES_PER_NUMBER_PER_HOUR:
            logger.warning("%s notice to %s not sent: the number got its notices this hour", purpose, mask_phone(phone))
            return
    except CounterUnavailable:
        logger.error("%s notice to %s not sent: the notice count is unavailable", purpose, mask_phone(phone))
        return
    try:
        gateway = get_gateway()
        ensure_available(gateway)
        with translation.override(user.language):
            message = text()
            deliver(phone, now, lambda: gateway.send_message(phone, message), allowance=budget.ACCOUNTS)
    except DomainError as exc:
        logger.log(log_level(exc), "%s notice to %s not sent: %s", purpose, mask_phone(phone), exc.code)
        record_failure(phone, purpose, exc)
        return
    logger.info("%s notice sent to %s", purpose, mask_phone(phone))


def record_failure(phone: str, purpose: str, exc: DomainError) -> None:
    """Keep a failed send for the admin (after the rollback, so the row survives it); best effort.

    Only SMS outcomes are recorded (PhoneRejected, SmsServiceUnavailable); other refusals are not sends.
    """
    if not isinstance(exc, (PhoneRejected, SmsServiceUnavailable)):
        return
    cause = exc.__cause__
    provider_code = getattr(cause, "provider_code", None)
    detail = f"{type(cause).__name__} {provider_code}" if cause is not None else "refused before sending"
    try:
        SmsFailure.objects.create(phone=phone, purpose=purpose, outcome=exc.code, provider_code=detail[:64])
    except DatabaseError:
        logger.exception("Could not record the SMS failure")


def log_level(exc: DomainError) -> int:
    """ERROR for what operators must act on (a 5xx: the SMS service, the database), WARNING for refusals."""
    return logging.ERROR if exc.status_code >= 500 else logging.WARNING
