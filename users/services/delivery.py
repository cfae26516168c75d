"""Sending a code: the gateway's availability, the SMS allowances, the gateway's outcome, an SmsRecord per send.

Every flow that sends a code goes through here, inside its own short transaction, the SMS last: the code
row counts only if the SMS went out. Every send leaves an SmsRecord: an accepted one with the code (or just
after), a failed one after the rollback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import translation

from sms import budget, receipts
from sms.backends.base import BaseSmsBackend, SendResult
from sms.backends.failover import SmsBackend as Failover
from sms.backends.failover import members
from sms.exceptions import SmsError, SmsNumberRejected, SmsOutcomeUnknown, SmsRecipientRefused
from users.exceptions import PhoneRejected, SmsBusy, SmsServiceUnavailable
from users.models import ActivationToken, SmsRecord, User, VerificationCode, seal_code
from users.phone import mask_phone
from users.services import audit, sms_stats
from users.services.blocks import give_back_block_allowance, take_block_allowance
from users.services.limits import check_send_limits
from users.services.sessions import lock_current_session
from waterbill.bulkhead import Bulkhead, Full, shared
from waterbill.counters import CounterUnavailable, WindowCounter
from waterbill.errors import DomainError

logger = logging.getLogger(__name__)

#: The purposes whose code may be sent once more through another provider, each with its SMS allowance.
RESENDABLE = {"activation": budget.SIGNUPS, "password_reset": budget.ACCOUNTS, "phone_change": budget.ACCOUNTS}


def get_gateway() -> BaseSmsBackend:
    """The configured gateway, looked up as `users.services.get_sms_gateway` at call time; a failover's
    backends whose recent delivered ratio is below SMS_MIN_DELIVERED_RATIO moved last (users.services.sms_stats:
    one cache round trip, only with several backends), the others in their configured order.

    Through that name, and not an import of it, so that a test patching `users.services.get_sms_gateway`
    (the seed's tests do) reaches every place a code is sent.
    """
    from users import services

    gateway = services.get_sms_gateway()
    if isinstance(gateway, Failover) and len(gateway.backends) > 1:
        poor = sms_stats.poor([backend.name for backend in gateway.backends])
        if poor:
            gateway.backends = sorted(gateway.backends, key=lambda backend: backend.name in poor)  # stable
    return gateway


def others(gateway: BaseSmsBackend, provider: str) -> list[BaseSmsBackend]:
    """The backends of `gateway` other than `provider`, in its order: where a code can be sent once more."""
    return [backend for backend in members(gateway) if backend.name != provider]


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


#: The provider name on the records of the SMS a test number did not get (SMS_TEST_NUMBERS).
TEST_NUMBER = "test-number"


def code_for(phone: str) -> str:
    """A new code for `phone`: uniformly random, or the fixed code of a store-review test number
    (settings.SMS_TEST_NUMBERS)."""
    return settings.SMS_TEST_NUMBERS.get(phone) or ActivationToken.generate_code()


def deliver(
    phone: str, now: datetime, send: Callable[[], object], *, allowance: str, per_block: bool | None = None
) -> SendResult:
    """Run `send` (a gateway call) within `allowance`, one of the hourly SMS allowances of sms.budget; the
    gateway's SendResult (a plain true value, from an old-style gateway or a mock, names no provider).

    A send of budget.SIGNUPS (a code to a number nobody proved yet) also counts against the number's block
    (users.services.blocks), first, unless `per_block` is False (a resend of a code the block counted): a
    refused block spends nothing of the allowance. Both count only an SMS
    that went out, or may have (a timeout).
    At most settings.SMS_SENDS_IN_FLIGHT sends run at once per process (a bulkhead): past them the send is
    shed at once, so that a slow provider holds a bounded share of a worker's threads.
    Raises SmsBusy (shed), ResendLimitReached (the block's hour is spent), PhoneRejected (the provider refuses
    the number) or SmsServiceUnavailable (the allowance spent, the allowance or the block uncountable, not
    sent, or its outcome unknown); the raised error's `sms_language` is the language the SMS was in.
    """
    if phone in settings.SMS_TEST_NUMBERS:
        # A store reviewer's number: no SMS, nothing spent (its code is the fixed one, code_for); audited.
        audit.record(audit.Kind.TEST_NUMBER, user=None, detail="SMS not sent", now=now)
        logger.warning("SMS to test number %s not sent (SMS_TEST_NUMBERS)", mask_phone(phone))
        return SendResult(provider=TEST_NUMBER)
    per_block = allowance == budget.SIGNUPS if per_block is None else per_block
    try:
        with sends_in_flight().enter():
            return _deliver(phone, now, send, allowance=allowance, per_block=per_block)
    except Full:
        logger.warning("SMS to %s shed: every send slot of this worker is taken (slow provider?)", mask_phone(phone))
        raise SmsBusy() from None
    except DomainError as exc:
        # record_failure runs after the rollback, outside the user's translation.override.
        exc.sms_language = translation.get_language() or ""  # type: ignore[attr-defined]
        raise


def sends_in_flight() -> Bulkhead:
    """This process's bulkhead of code sends: settings.SMS_SENDS_IN_FLIGHT slots (read at each use: tests
    change it; a new size starts a new bulkhead)."""
    return shared("sms-sends", settings.SMS_SENDS_IN_FLIGHT)


def _deliver(
    phone: str, now: datetime, send: Callable[[], object], *, allowance: str, per_block: bool
) -> SendResult:
    """`deliver` within its slot."""
    if per_block:
        take_block_allowance(phone, now)
    if not budget.take(now, allowance):
        if per_block:
            give_back_block_allowance(phone, now)
        raise SmsServiceUnavailable()
    try:
        return _call_gateway(phone, send)
    except (SmsServiceUnavailable, PhoneRejected) as exc:
        # A timeout may have been sent (and billed): it keeps counting. A refused number was not sent.
        if isinstance(exc, PhoneRejected) or not exc.maybe_sent:
            budget.give_back(now, allowance)
            if per_block:
                give_back_block_allowance(phone, now)
        raise


def _call_gateway(phone: str, send: Callable[[], object]) -> SendResult:
    """Send, turning every failure into a domain error; the SendResult. Raises PhoneRejected or
    SmsServiceUnavailable.

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
    return sent if isinstance(sent, SendResult) else SendResult("")


def issue_activation_code(
    user: User, code: str, gateway: BaseSmsBackend, now: datetime, *, supersede: bool, by_operator: bool = False
) -> ActivationToken:
    """Inside the caller's transaction: retire the user's live codes (if `supersede`), save the new one,
    and send it last with the seed's `send_activation_code`, in the user's language. The accepted send's
    SmsRecord is written in the same transaction (on the returned token as `sms_record`, so that a caller
    whose commit fails can write it again after the rollback: `keep_after_rollback`). Raises as `deliver`.

    A code anyone asked for (sign-up, resend) draws on the sign-ups' allowance and its number's block; one an
    operator sends (`by_operator`: the support desk, in the admin) on the active accounts' allowance, so that
    a pumping attack spending the sign-ups' allowance does not stop the support desk too."""
    if supersede:
        ActivationToken.objects.filter(user=user).retire(now)
    token = ActivationToken.create_token(user, code, now=now)
    with translation.override(user.language):  # the user's language, whatever the request's
        allowance = budget.ACCOUNTS if by_operator else budget.SIGNUPS
        result = deliver(user.phone, now, lambda: gateway.send_activation_code(user.phone, code), allowance=allowance)
    token.sms_record = accepted_record(user.phone, "activation", result, language=user.language, now=now)
    seal_for_resend(token.sms_record, code, gateway)
    try:
        token.sms_record.save()
    except DatabaseError as exc:  # the SMS went out all the same: the caller keeps its record after the rollback
        exc.sms_record = token.sms_record  # type: ignore[attr-defined]
        raise
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
    of them the earlier codes still work. Its SmsRecord is written after the transaction, whatever ended it.
    """
    code = code_for(phone)
    result: SendResult | None = None
    committed = False
    language = user.language
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
            language = locked.language
            with translation.override(language):
                # Only active accounts get these codes: a reset for an active one, a phone change with a token.
                result = deliver(phone, now, lambda: gateway.send_message(phone, text(code)), allowance=budget.ACCOUNTS)
        committed = True
    except DomainError as exc:
        record_failure(phone, purpose, exc)
        raise
    finally:
        if result is not None:  # accepted, even if the commit then failed: the SMS went out
            record = accepted_record(phone, purpose, result, language=language, now=now)
            if committed:  # the code exists: it may be sent once more
                seal_for_resend(record, code, gateway)
            insert(record)
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
            result = deliver(phone, now, lambda: gateway.send_message(phone, message), allowance=budget.ACCOUNTS)
    except DomainError as exc:
        logger.log(log_level(exc), "%s notice to %s not sent: %s", purpose, mask_phone(phone), exc.code)
        record_failure(phone, purpose, exc, language=user.language)
        return
    keep_after_rollback(accepted_record(phone, purpose, result, language=user.language, now=now))
    logger.info("%s notice sent to %s", purpose, mask_phone(phone))


def accepted_record(phone: str, purpose: str, result: SendResult, *, language: str, now: datetime) -> SmsRecord:
    """The (unsaved) SmsRecord of a send the provider accepted: never the code nor the text."""
    return SmsRecord(
        phone=phone,
        purpose=purpose,
        language=language,
        provider=result.provider[:32],
        provider_message_id=result.message_id[:64],
        segments=result.segments,
        status=SmsRecord.Status.ACCEPTED,
        created_at=now,
        updated_at=now,
    )


def record_failure(
    phone: str, purpose: str, exc: DomainError, *, language: str | None = None, retry_of: SmsRecord | None = None
) -> None:
    """Keep a failed send (after the rollback, so the row survives it) as an SmsRecord; best effort.

    Only SMS outcomes are recorded (PhoneRejected, SmsServiceUnavailable), with their code as the status, the
    provider that failed and its error code (empty when refused before sending: the SMS budget spent, a
    gateway that returned False); other refusals are not sends. `language` defaults to the one the SMS was in;
    `retry_of` is the record a failed resend repeated.
    """
    if not isinstance(exc, (PhoneRejected, SmsServiceUnavailable)):
        return
    cause = exc.__cause__
    if isinstance(cause, SmsError):
        provider, code = cause.provider, "" if cause.provider_code is None else str(cause.provider_code)
    else:  # a bug in the backend (its exception's name), or refused before sending
        provider, code = "", type(cause).__name__ if cause is not None else ""
    keep_after_rollback(
        SmsRecord(
            phone=phone,
            purpose=purpose,
            language=language or getattr(exc, "sms_language", "") or translation.get_language() or "",
            provider=provider[:32],
            status=exc.code,
            provider_code=code[:64],
            retry_of=retry_of,
        )
    )


def keep_sent_after_failed_commit(token: ActivationToken | None, exc: DatabaseError) -> None:
    """After `exc` rolled back a transaction of `issue_activation_code`: keep the record of its SMS if the
    provider had accepted it (`token` issued, or its record's insert the statement that failed)."""
    record = token.sms_record if token is not None else getattr(exc, "sms_record", None)
    if record is not None:
        keep_after_rollback(record)


def seal_for_resend(record: SmsRecord, code: str, gateway: BaseSmsBackend) -> None:
    """Before `record` is saved: keep `code` sealed on it (models.seal_code) when it may have to be sent once
    more (users.services.redelivery): a code of a purpose that can be resent, through a provider whose receipts
    we accept (sms.receipts.expected: otherwise no "delivered" ever comes) and with another backend to send it
    through. A resend is never sealed: a code goes out twice at most."""
    if (
        record.purpose in RESENDABLE
        and record.retry_of_id is None
        and receipts.expected(record.provider)
        and others(gateway, record.provider)
    ):
        record.sealed_code = seal_code(code)


def keep_after_rollback(record: SmsRecord) -> None:
    """Insert `record` outside any rolled-back transaction (again, as a new row, if it was saved in one),
    without its sealed code (the code rolled back with the transaction: nothing to send again); best effort:
    a database error is logged, never raised."""
    record.sealed_code = ""
    insert(record)


def insert(record: SmsRecord) -> None:
    """Insert `record` as a new row, outside the caller's transaction if that one is over; best effort: a
    database error is logged, never raised."""
    record.pk = None
    record._state.adding = True
    try:
        record.save(force_insert=True)
    except DatabaseError:
        logger.exception("Could not record the SMS")


def log_level(exc: DomainError) -> int:
    """ERROR for what operators must act on (a 5xx: the SMS service, the database), WARNING for refusals."""
    return logging.ERROR if exc.status_code >= 500 else logging.WARNING
