"""Wrong guesses, one mechanism for passwords and codes (users.services.limits.Guesses): each property issue 9
asks of it, point 4, with the default settings."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import code_in
from users.models import ActivationToken, User
from users.services import limits
from users.services.limits import CODE_PATHS, LOGIN, Guesses
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NUMBER = "+237670123456"
ALL_PATHS = (LOGIN, *CODE_PATHS)
ACTIVATE = "/api/v1/auth/activate/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"


def wrong_guesses(path: Guesses, now: datetime, *, addresses: int, each: int) -> list[bool]:
    """`each` wrong guesses on NUMBER from each of `addresses` addresses at `now`: True for each one counted,
    False for each one refused by a lock."""
    answers = []
    for n in range(addresses):
        for _ in range(each):
            try:
                path.count(NUMBER, f"10.9.{n // 250}.{n % 250}", now)
            except path.error:
                answers.append(False)
            else:
                answers.append(True)
    return answers


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: p.path)
def test_every_lock_ends_by_itself_within_an_hour(path: Guesses) -> None:
    now = timezone.now()
    for addresses, each in ((1, 100), (200, 5)):  # one address's lock, then the number's
        wrong_guesses(path, now, addresses=addresses, each=each)
        with pytest.raises(path.error) as locked:
            path.count(NUMBER, "10.9.0.0", now)
        retry_after = locked.value.retry_after
        assert retry_after is not None
        assert 0 < retry_after <= 3600
        path.count(NUMBER, "10.9.0.0", now + timedelta(seconds=retry_after))  # open again, nothing lifted by hand
        now += timedelta(hours=2)


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: p.path)
def test_every_count_decays_to_nothing(path: Guesses) -> None:
    now = timezone.now()
    wrong_guesses(path, now, addresses=100, each=3)
    assert path.left(NUMBER, now) == 0
    full = path.allowance("phone").burst
    # Eight hours of silence refill the default allowances (CODE_FAILURE_LIMIT_PHONE_ALL: 12 per 8 hours).
    assert path.left(NUMBER, now + timedelta(hours=8)) == full
    assert wrong_guesses(path, now + timedelta(hours=8), addresses=1, each=1) == [True]


@pytest.mark.parametrize("spent", ALL_PATHS, ids=lambda p: p.path)
def test_one_paths_failures_do_not_lock_another(spent: Guesses) -> None:
    now = timezone.now()
    wrong_guesses(spent, now, addresses=100, each=3)
    with pytest.raises(spent.error):
        spent.count(NUMBER, "10.8.0.1", now)
    for other in ALL_PATHS:
        if other is not spent:
            other.count(NUMBER, "10.8.0.1", now)  # counted, not refused


@pytest.mark.parametrize("path", ALL_PATHS, ids=lambda p: p.path)
def test_a_strangers_failures_do_not_lock_the_owners_address(path: Guesses) -> None:
    now = timezone.now()
    assert wrong_guesses(path, now, addresses=1, each=20).count(True) < path.allowance("phone").burst
    path.count(NUMBER, "10.7.0.1", now).forgive()  # the owner, elsewhere, is let through


def test_at_most_200_codes_are_tested_per_number_per_day_across_every_path() -> None:
    """A stranger with an address per guess tries every code path once a minute for 24 hours: the paths'
    allowances together let 192 wrong codes through (12 at once and one every 40 minutes, on four paths)."""
    start = timezone.now()
    counted = 0
    for minute in range(24 * 60):
        now = start + timedelta(minutes=minute)
        for path in CODE_PATHS:
            try:
                path.count(NUMBER, f"10.{minute // 250}.{minute % 250}.1", now)
            except path.error:
                continue
            counted += 1
    # 12 at once, then one every 40 minutes: 35 more within the day's last 1,428 minutes (the 36th would come at
    # 24 hours), 47 per path. The bound of docs/security.md, 12 + 36 = 48 per path, 192 in all, is met.
    assert counted == len(CODE_PATHS) * (12 + 35) <= len(CODE_PATHS) * (12 + 36) <= 200


def test_the_defaults_bound_every_lock_to_an_hour_and_the_codes_to_200_a_day() -> None:
    """The arithmetic above, on the settings themselves: someone changing a default sees this fail."""
    per_day = 0
    for path in ALL_PATHS:
        kinds = ["phone-address", "phone"] + (["address"] if path.per_address else [])
        for kind in kinds:
            assert path.allowance(kind).interval <= 3600, (path.path, kind)
        if path in CODE_PATHS:
            number = path.allowance("phone")
            per_day += number.burst + int(86400 / number.interval)
            assert path.allowance("phone-address").burst > settings.ACTIVATION_MAX_ATTEMPTS  # a code dies first
            assert path.allowance("phone-address").interval > number.interval  # one address cannot hold the number
    assert per_day <= 200


def test_a_reset_lock_reads_alike_for_every_kind_of_number(api_client: APIClient) -> None:
    """Counted before the number is looked up: an unknown number locks exactly as an account does."""
    UserFactory(phone="+237670000001")
    UserFactory(phone="+237670000002", pending=True)
    seen = []
    for phone in ("670000001", "670000002", "670000003"):
        body = {"phone": phone, "code": "123456", "new_password": "Nouveau-Robinet-77"}
        answers = [api_client.post(CONFIRM, body, format="json", REMOTE_ADDR="10.6.0.1") for _ in range(7)]
        seen.append([(r.status_code, r.json()["code"], r.has_header("Retry-After")) for r in answers])
    assert seen[0] == seen[1] == seen[2] == [(400, "code_invalid", False)] * 6 + [(429, "code_locked", True)]


def test_the_owner_reclaims_a_squatted_number_within_the_hour(
    api_client: APIClient, sms_outbox: list[SmsMessage]
) -> None:
    """A stranger signs up the owner's number, spends its hourly codes, and keeps guessing claims and
    activations from its address, past its locks. The owner, who got every SMS, claims the sign-up with the
    newest code and a password of their own, from their own address, at once."""
    squatter, owner = "10.5.0.66", "10.5.0.1"
    body = {
        "phone": "670123456",
        "first_name": "Awa",
        "last_name": "Ngono",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    signup_token = api_client.post("/api/v1/auth/register/", body, format="json", REMOTE_ADDR=squatter).json()[
        "signup_token"
    ]
    now = timezone.now()
    for minute in range(1, 5):  # the hour's five codes spent (one a minute)
        User.objects.update(date_joined=now - timedelta(minutes=10))
        ActivationToken.objects.update(created_at=now - timedelta(minutes=minute + 1))
        api_client.post("/api/v1/auth/activate/resend/", {"phone": "670123456"}, format="json", REMOTE_ADDR=squatter)
    assert len(sms_outbox) == 5
    newest = code_in(sms_outbox[-1])
    wrong = "000000" if newest != "000000" else "111111"
    answers = set()
    for _ in range(20):
        claim = {"phone": "670123456", "code": wrong, "password": "Squatter-Pass-2026"}
        answers.add(api_client.post(ACTIVATE, claim, format="json", REMOTE_ADDR=squatter).json()["code"])
        activation = {"phone": "670123456", "code": wrong, "signup_token": signup_token}
        answers.add(api_client.post(ACTIVATE, activation, format="json", REMOTE_ADDR=squatter).json()["code"])
    assert "activation_locked" in answers  # the squatter is locked out of both paths
    reclaimed = api_client.post(
        ACTIVATE,
        {"phone": "670123456", "code": newest, "password": "Owner-Robinet-77"},
        format="json",
        REMOTE_ADDR=owner,
    )
    assert reclaimed.status_code == 200
    assert User.objects.get().check_password("Owner-Robinet-77")


def test_a_right_code_forgives_the_owners_own_mistakes(api_client: APIClient, sms_outbox: list[SmsMessage]) -> None:
    """Five typos then the right code: the owner's address starts afresh, the number keeps the typos counted
    (a success must not refill a stranger's guesses)."""
    UserFactory(phone=NUMBER)
    api_client.post(RESET, {"phone": "670123456"}, format="json", REMOTE_ADDR="10.4.0.1")
    right = code_in(sms_outbox[-1])
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(4):
        api_client.post(
            CONFIRM,
            {"phone": "670123456", "code": wrong, "new_password": "Nouveau-Robinet-77"},
            format="json",
            REMOTE_ADDR="10.4.0.1",
        )
    done = api_client.post(
        CONFIRM,
        {"phone": "670123456", "code": right, "new_password": "Nouveau-Robinet-77"},
        format="json",
        REMOTE_ADDR="10.4.0.1",
    )
    assert done.status_code == 200
    now = timezone.now()
    assert limits.RESET.allowance("phone-address").peek(f"{NUMBER}|10.4.0.1", now).left == 6
    assert limits.RESET.left(NUMBER, now) == 12 - 4


def test_an_ipv6_client_counts_as_its_64(api_client: APIClient) -> None:
    """A /64 is one subscriber's: its 2**64 addresses share one allowance, not one each."""
    UserFactory(phone=NUMBER)
    body = {"phone": "670123456", "code": "123456", "new_password": "Nouveau-Robinet-77"}
    answers = [
        api_client.post(CONFIRM, body, format="json", REMOTE_ADDR=f"2001:db8:0:1::{n:x}").status_code
        for n in range(1, 9)
    ]
    assert answers == [400] * 6 + [429] * 2  # CODE_FAILURE_LIMIT_PHONE: 6 from one address, here one /64
    elsewhere = api_client.post(CONFIRM, body, format="json", REMOTE_ADDR="2001:db8:0:2::1")
    assert elsewhere.status_code == 400  # another /64 is another address


@pytest.mark.usefixtures("clear_of_window_edges")
def test_the_throttles_count_an_ipv6_client_as_its_64(api_client: APIClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from rest_framework.throttling import ScopedRateThrottle

    monkeypatch.setitem(ScopedRateThrottle.THROTTLE_RATES, "resend", "2/hour")
    answers = [
        api_client.post(RESET, {"phone": "670123456"}, format="json", REMOTE_ADDR=f"2001:db8:0:1::{n}").status_code
        for n in range(1, 4)
    ]
    assert answers == [202, 202, 429]


def test_network_of_keeps_ipv4_and_groups_ipv6() -> None:
    from waterbill.throttling import network_of

    assert network_of("10.0.0.1") == "10.0.0.1"
    assert network_of("2001:db8:0:1:aaaa:bbbb:cccc:dddd") == "2001:db8:0:1::/64"
    assert network_of("::ffff:10.0.0.1") == "10.0.0.1"
    assert network_of("not an address") == "not an address"
