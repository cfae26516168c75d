"""Account deletion by its owner: disabled at once, personal data erased after a grace period, restorable meanwhile."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from users.models import SmsRecord, User, VerificationCode
from users.phone import mask_phone
from users.services import audit
from users.services.delivery import send_notice
from users.services.login import verify_password
from users.services.sessions import disable_account, forget_tokens, lock_current_session
from users.texts import deletion_text

logger = logging.getLogger(__name__)


def erase_after(requested_at: datetime) -> datetime:
    """When an account whose deletion was asked at `requested_at` is erased (at the first daily run after)."""
    return requested_at + timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)


def request_deletion(
    user: User, *, password: str, client_ip: str | None = None, now: datetime | None = None
) -> datetime:
    """The owner deletes `user`'s account, proving it with the password (checked like a login: a wrong one counts
    as a failed login). At once: the account is disabled (login answers `account_deleted`), every session ends,
    every live code dies; the number gets an SMS saying when the data will be erased. Returns that moment.

    Raises ValidationFailed (`password`: `password_incorrect`), LoginLocked, LimitsUnavailable, or SessionEnded
    when the account's sessions ended while this request was under way (then nothing changed).
    """
    now = now or timezone.now()
    verify_password(user, password, client_ip=client_ip, now=now, field="password")
    with transaction.atomic():
        locked = lock_current_session(user)
        disable_account(locked, now, deletion_requested_at=now)
        audit.record(audit.Kind.DELETION, user=locked, client_ip=client_ip, now=now)
    when = erase_after(now)
    logger.info("Deletion of %s asked: erased after %s", mask_phone(user.phone), when.isoformat())
    user.language = locked.language
    send_notice(user, phone=locked.phone, purpose="deletion_notice", text=lambda: deletion_text(when.date()), now=now)
    return when


def restore(user: User, *, actor: User | None, client_ip: str | None = None, now: datetime | None = None) -> bool:
    """The support desk keeps an account whose deletion is pending (its owner called): active again, with no
    session (the owner logs in anew). False, and nothing changed, when no deletion is pending."""
    now = now or timezone.now()
    with transaction.atomic():
        restored = User.objects.filter(pk=user.pk, deletion_requested_at__isnull=False).update(
            is_active=True, disabled_at=None, deletion_requested_at=None
        )
        if restored:
            audit.record(audit.Kind.RESTORE, user=user, actor=actor, client_ip=client_ip, now=now)
    if restored:
        logger.info("Deletion of %s cancelled by the support desk", mask_phone(user.phone))
    return bool(restored)


def erase_due(now: datetime | None = None) -> int:
    """Erase every account whose grace period is over; the number erased.

    What goes: the user row and, with it, its codes (keyed hashes, and the numbers phone-change codes went to);
    its refresh tokens (outstanding and blacklisted rows); the admin's change history of the account (Django's
    LogEntry names it by its number). What stays, with nothing personal: its SMS records without the number
    (the providers' delivery figures), its audit events without the account. This is where a rule to keep what
    the law requires (billing records, later) plugs in: keep those rows, or a copy without the person, before
    the user row goes.
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.ACCOUNT_DELETION_GRACE_DAYS)
    erased = 0
    for user in User.objects.filter(deletion_requested_at__isnull=False, deletion_requested_at__lte=cutoff):
        _erase(user)
        erased += 1
    return erased


def _erase(user: User) -> None:
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk, deletion_requested_at__isnull=False).first()
        if locked is None:  # restored meanwhile
            return
        numbers = {locked.phone, *VerificationCode.objects.filter(user=locked).values_list("phone", flat=True)}
        SmsRecord.objects.filter(phone__in=numbers).update(phone="")
        forget_tokens(locked)
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(User), object_id=str(locked.pk)).delete()
        masked = mask_phone(locked.phone)
        locked.delete()  # codes cascade; audit events keep no account (SET_NULL)
    logger.info("Account %s erased after its grace period", masked)
