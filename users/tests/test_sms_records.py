"""Every SMS leaves one SmsRecord: accepted or refused, rolled back or not, never the code; and its retention."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connections
from django.utils import timezone

from sms.backends.locmem import SmsMessage
from sms.exceptions import SmsNotProcessed, SmsNumberRejected
from users.exceptions import PhoneRejected, ServiceUnavailable, SmsServiceUnavailable
from users.models import ActivationToken, SmsRecord, User
from users.services import ActivationService, AuthService, PasswordResetService
from users.tests.factories import ActivationTokenFactory, SmsRecordFactory, UserFactory, signup

pytestmark = pytest.mark.django_db

DATA = {
    "phone": "670123456",
    "first_name": "Awa",
    "last_name": "Mbarga",
    "password": "Tr0ub4dor&3-eau",
    "password_confirm": "Tr0ub4dor&3-eau",
}


def fields(record: SmsRecord) -> tuple[Any, ...]:
    return (
        record.phone,
        record.purpose,
        record.language,
        record.provider,
        record.provider_message_id,
        record.segments,
        record.status,
        record.provider_code,
    )


def test_an_accepted_sign_up_sms_is_recorded_with_its_provider_id_and_segments(sms_outbox: list[SmsMessage]) -> None:
    AuthService.register(**signup(DATA))
    record = SmsRecord.objects.get()
    assert fields(record) == ("+237670123456", "activation", "fr", "locmem", "locmem-0", 1, "accepted", "")


def test_a_failed_sign_up_leaves_its_record_after_the_rollback() -> None:
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsNotProcessed("down", provider_code=20500)):
        with pytest.raises(SmsServiceUnavailable):
            AuthService.register(**signup(DATA))
    assert not User.objects.exists()
    record = SmsRecord.objects.get()
    assert fields(record) == ("+237670123456", "activation", "fr", "locmem", "", 0, "sms_unavailable", "20500")


def test_a_rejected_number_is_recorded_with_the_providers_code() -> None:
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsNumberRejected("21614", provider_code=21614)):
        with pytest.raises(PhoneRejected):
            AuthService.register(**signup(DATA))
    assert fields(SmsRecord.objects.get())[5:] == (0, "phone_rejected", "21614")


@pytest.mark.django_db(transaction=True)  # real commits, so that the COMMIT itself can fail
def test_a_commit_that_fails_after_the_send_still_leaves_the_accepted_record(sms_outbox: list[SmsMessage]) -> None:
    with patch.object(connections["default"], "commit", side_effect=DatabaseError("commit lost")):
        with pytest.raises(ServiceUnavailable):
            AuthService.register(**signup(DATA))
    assert len(sms_outbox) == 1
    assert not User.objects.exists()
    assert SmsRecord.objects.get().status == "accepted"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("by", ["resend", "operator"])
def test_a_resend_whose_commit_fails_after_the_send_still_leaves_the_accepted_record(
    by: str, sms_outbox: list[SmsMessage]
) -> None:
    token = ActivationTokenFactory(user__phone="+237670123456", code="111111")
    resend = {
        "resend": lambda: ActivationService.resend_activation_code(token.user.phone),
        "operator": lambda: ActivationService.create_and_send_activation_code(token.user),
    }[by]
    with patch.object(connections["default"], "commit", side_effect=DatabaseError("commit lost")):
        with pytest.raises(ServiceUnavailable):
            resend()
    assert len(sms_outbox) == 1
    assert list(ActivationToken.objects.all()) == [token]  # the new code rolled back, the old one still works
    assert fields(SmsRecord.objects.get())[:7] == ("+237670123456", "activation", "fr", "locmem", "locmem-0", 1,
                                                   "accepted")


def test_a_record_whose_own_insert_fails_is_kept_after_the_rollback(sms_outbox: list[SmsMessage]) -> None:
    token = ActivationTokenFactory(user__phone="+237670123456", code="111111")
    real_save = SmsRecord.save
    calls = []

    def failing_first(record: SmsRecord, *args: Any, **kwargs: Any) -> None:
        calls.append(record.status)
        if len(calls) == 1:
            raise DatabaseError("disk full")
        real_save(record, *args, **kwargs)

    with patch.object(SmsRecord, "save", failing_first), pytest.raises(ServiceUnavailable):
        ActivationService.resend_activation_code(token.user.phone)
    assert len(sms_outbox) == 1
    assert SmsRecord.objects.get().status == "accepted"


def test_the_record_of_the_failover_names_the_backend_that_accepted(
    settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    settings.SMS_BACKEND = "sms.backends.twilio.SmsBackend,sms.backends.locmem.SmsBackend"
    settings.TWILIO_ACCOUNT_SID = ""  # Twilio unconfigured: skipped
    AuthService.register(**signup(DATA))
    assert SmsRecord.objects.get().provider == "locmem"


def test_a_reset_code_and_its_notice_are_recorded_in_the_users_language(sms_outbox: list[SmsMessage]) -> None:
    user = UserFactory(phone="+237699111222", language="en")
    PasswordResetService.request_reset(user.phone)
    record = SmsRecord.objects.get()
    assert (record.purpose, record.language, record.status, record.provider) == (
        "password_reset",
        "en",
        "accepted",
        "locmem",
    )


def test_no_record_holds_the_code_or_the_text(sms_outbox: list[SmsMessage]) -> None:
    AuthService.register(**signup(DATA))
    code = sms_outbox[0].text.split("est ")[1][:6]
    values = " ".join(str(value) for value in SmsRecord.objects.values().get().values())
    assert code not in values
    assert "WaterBill" not in values


def test_a_status_moves_only_forward() -> None:
    record = SmsRecordFactory.build(status="sent")
    assert [
        status
        for status in ("accepted", "sent", "delivered", "undelivered", "failed", "bogus")
        if record.advances(status)
    ] == ["delivered", "undelivered", "failed"]
    record.status = "undelivered"  # a carrier may still deliver it; a second failure changes nothing
    assert [status for status in ("sent", "failed", "delivered") if record.advances(status)] == ["delivered"]
    record.status = "delivered"
    assert not any(record.advances(status) for status in ("sent", "undelivered", "failed"))


def test_purge_sms_records_deletes_what_is_older_than_the_retention(settings: Any) -> None:
    settings.SMS_RECORD_RETENTION_DAYS = 30
    old = SmsRecordFactory(created_at=timezone.now() - timedelta(days=31))
    kept = SmsRecordFactory(created_at=timezone.now() - timedelta(days=29))
    out = io.StringIO()
    call_command("purge_sms_records", "--dry-run", stdout=out)
    assert out.getvalue() == "1 SMS record(s) older than 30 day(s) would be deleted.\n"
    assert SmsRecord.objects.count() == 2
    call_command("purge_sms_records", stdout=out)
    assert list(SmsRecord.objects.all()) == [kept]
    assert not SmsRecord.objects.filter(pk=old.pk).exists()
    call_command("purge_sms_records", "--days", "1", stdout=out)
    assert not SmsRecord.objects.exists()


def test_the_retention_defaults_to_90_days() -> None:
    from django.conf import settings

    assert settings.SMS_RECORD_RETENTION_DAYS == 90
