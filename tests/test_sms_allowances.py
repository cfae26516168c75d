"""The SMS allowances (issue 9 point 5): sign-ups cannot spend what active accounts need, nor walk a number block."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

import pytest
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from sms.exceptions import SmsNotProcessed, SmsNumberRejected, SmsOutcomeUnknown
from tests.conftest import code_in
from users.exceptions import ResendLimitReached, SmsServiceUnavailable
from users.models import ActivationToken, SmsRecord, User
from users.services.activation import resend_activation_code
from users.services.registration import register
from users.tests.factories import PASSWORD, ActivationTokenFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clear_of_window_edges")]

REGISTER = "/api/v1/auth/register/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
#: Well inside a clock hour: the service-level tests pass their own `now`, so no window edge can fall inside.
NOW = datetime(2026, 3, 2, 10, 15, tzinfo=UTC)


def sign_up(client: APIClient, national: str) -> Any:
    body = {"phone": national, "first_name": "Awa", "last_name": "Ngono", "password": PASSWORD}
    return client.post(REGISTER, {**body, "password_confirm": PASSWORD}, format="json")


def test_sign_ups_that_spend_their_allowance_leave_resets_and_notices_working(
    api_client: APIClient, settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 2
    settings.SMS_HOURLY_BUDGET_ACCOUNTS = 2
    UserFactory(phone="+237699111222")
    assert [sign_up(api_client, f"6{n}0000001").status_code for n in (7, 8)] == [201, 201]  # two blocks
    refused = sign_up(api_client, "690000001")
    assert (refused.status_code, refused.json()["code"]) == (503, "sms_unavailable")

    assert api_client.post(RESET, {"phone": "699111222"}, format="json").status_code == 202
    assert sms_outbox[-1].phone == "+237699111222"  # the reset code went out
    confirmed = api_client.post(
        CONFIRM,
        {"phone": "699111222", "code": code_in(sms_outbox[-1]), "new_password": "Nouveau-Robinet-77"},
        format="json",
    )
    assert confirmed.status_code == 200
    assert [m.phone for m in sms_outbox].count("+237699111222") == 2  # and the password notice after it
    assert SmsRecord.objects.get(purpose="password_notice").status == "accepted"


def test_a_full_block_refuses_the_next_sign_up_in_it_and_writes_nothing_but_not_in_another_block(
    api_client: APIClient, settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 2
    assert [sign_up(api_client, f"67000000{n}").status_code for n in (1, 2)] == [201, 201]

    refused = sign_up(api_client, "670000999")  # the same block of 1,000: +237 670 000 ---
    assert (refused.status_code, refused.json()["code"]) == (429, "resend_limit_reached")
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert not User.objects.filter(phone="+237670000999").exists()
    assert ActivationToken.objects.count() == 2
    assert SmsRecord.objects.filter(status="accepted").count() == 2
    assert not SmsRecord.objects.exclude(status="accepted").exists()  # a refusal, not a failed send
    assert len(sms_outbox) == 2

    assert sign_up(api_client, "670001000").status_code == 201  # the next block
    assert sms_outbox[-1].phone == "+237670001000"


def test_a_re_registration_refused_by_its_block_leaves_the_pending_account_as_it_was(
    api_client: APIClient, settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 1
    stale = ActivationTokenFactory.expired(user__phone="+237670000500", user__first_name="Bih").user
    assert sign_up(api_client, "670000001").status_code == 201
    refused = sign_up(api_client, "670000500")  # replaceable, but its block is spent
    assert refused.status_code == 429
    stale.refresh_from_db()
    assert stale.first_name == "Bih"  # the replacement was rolled back
    assert ActivationToken.objects.filter(user=stale).count() == 1
    assert [m.phone for m in sms_outbox] == ["+237670000001"]


def test_an_activation_resend_to_a_pending_number_counts_against_its_block(
    settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 2
    fields = {"first_name": "Awa", "last_name": "Ngono", "password": PASSWORD}
    register(phone="+237670000001", now=NOW, **fields)
    resend_activation_code("+237670000001", now=NOW + timedelta(minutes=2))
    with pytest.raises(ResendLimitReached):
        register(phone="+237670000002", now=NOW + timedelta(minutes=3), **fields)
    with pytest.raises(ResendLimitReached):
        resend_activation_code("+237670000001", now=NOW + timedelta(minutes=4))
    register(phone="+237671000002", now=NOW + timedelta(minutes=3), **fields)  # another block
    assert [m.phone for m in sms_outbox] == ["+237670000001", "+237670000001", "+237671000002"]
    register(phone="+237670000002", now=NOW + timedelta(hours=1), **fields)  # the next hour


@pytest.mark.parametrize("failure", [SmsNumberRejected("no", provider_code=21211), SmsNotProcessed("down"), OSError()])
def test_a_failed_sign_up_send_gives_back_its_block_and_allowance_units(
    api_client: APIClient, settings: Any, sms_outbox: list[SmsMessage], failure: Exception
) -> None:
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 1
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 1
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=failure):
        assert sign_up(api_client, "670000001").status_code in (400, 503)
    assert sign_up(api_client, "670000002").status_code == 201  # the block's unit and the allowance's were back
    assert len(sms_outbox) == 1


def test_a_send_that_may_have_gone_out_keeps_its_units(
    api_client: APIClient, settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 1
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsOutcomeUnknown("read timeout")):
        assert sign_up(api_client, "670000001").status_code == 503
    assert sign_up(api_client, "670000002").status_code == 429  # the timeout may have been billed


def test_a_spent_sign_up_allowance_gives_back_the_block(settings: Any) -> None:
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 0
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 1
    fields = {"first_name": "Awa", "last_name": "Ngono", "password": PASSWORD}
    with pytest.raises(SmsServiceUnavailable):
        register(phone="+237670000001", now=NOW, **fields)
    settings.SMS_HOURLY_BUDGET_SIGNUPS = 1
    register(phone="+237670000002", now=NOW, **fields)  # the refused send took nothing of the block


def test_a_block_that_cannot_be_counted_refuses_the_sign_up(api_client: APIClient) -> None:
    from waterbill.counters import CounterUnavailable

    with patch("users.services.blocks._sent.hit", side_effect=CounterUnavailable("down")):
        refused = sign_up(api_client, "670000001")
    assert (refused.status_code, refused.json()["code"]) == (503, "sms_unavailable")
    assert not User.objects.exists()


def test_a_carrier_nat_is_not_a_block(api_client: APIClient, settings: Any) -> None:
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 1
    # One address (the test client's), numbers of five blocks: the block limit never counts addresses.
    assert [sign_up(api_client, f"67{n}000001").status_code for n in range(5)] == [201] * 5


def test_a_sign_up_refused_by_its_block_costs_no_password_hash(api_client: APIClient, settings: Any) -> None:
    """A range walker's refused sign-ups must not each buy an Argon2 hash of the server's CPU."""
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 1
    assert sign_up(api_client, "670000001").status_code == 201
    with patch("users.services.registration.make_password") as hashing:
        refused = sign_up(api_client, "670000002")
    assert (refused.status_code, refused.json()["code"]) == (429, "resend_limit_reached")
    hashing.assert_not_called()


def test_the_operators_resend_does_not_depend_on_the_sign_ups_allowance(
    settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    """During a pumping attack that spent the sign-ups' allowance and the block, support can still send a code."""
    from users.services.activation import create_and_send_activation_code

    settings.SMS_HOURLY_BUDGET_SIGNUPS = 1
    settings.SIGNUP_SMS_PER_BLOCK_PER_HOUR = 1
    registration = register(phone="+237670000001", first_name="Awa", last_name="Ngono", password=PASSWORD, now=NOW)
    create_and_send_activation_code(registration.user, now=NOW + timedelta(minutes=2))
    assert [m.phone for m in sms_outbox] == ["+237670000001"] * 2


def test_chained_password_changes_cannot_spend_the_accounts_allowance(
    settings: Any, sms_outbox: list[SmsMessage]
) -> None:
    """A script changing its own account's password in a loop gets three notices an hour to its number, not
    one SMS per change: the active accounts' allowance stays for everyone's reset codes."""
    from users.services.login import change_password

    settings.SMS_HOURLY_BUDGET_ACCOUNTS = 5
    user = UserFactory(phone="+237670000001")
    passwords = [PASSWORD] + [f"Robinet-Neuf-{n}2026" for n in range(6)]
    for old, new in zip(passwords, passwords[1:], strict=False):
        user.refresh_from_db()
        change_password(user, current_password=old, new_password=new, now=NOW)
    assert [m.phone for m in sms_outbox] == ["+237670000001"] * 3  # NOTICES_PER_NUMBER_PER_HOUR
    UserFactory(phone="+237699111222")
    from users.services.recovery import request_reset

    request_reset("+237699111222", now=NOW)
    assert sms_outbox[-1].phone == "+237699111222"  # the allowance had room for a stranger's reset code
