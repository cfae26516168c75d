"""The audit trail: one event per security-relevant action, over HTTP and from the admin; never a secret in it."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import responses
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from sms.backends.locmem import SmsMessage
from tests.conftest import PHONE, Registered, code_in
from users.models import AuditEvent, User
from users.services.audit import mask_address
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
Kind = AuditEvent.Kind
NEW_PASSWORD = "Nouveau-Robinet-77"
FROM = {"REMOTE_ADDR": "197.159.12.34"}


def kinds(user: User | None = None) -> list[str]:
    """The events' kinds, oldest first (of `user`'s account, or all)."""
    events = AuditEvent.objects.all() if user is None else AuditEvent.objects.filter(user=user)
    return list(events.order_by("created_at", "id").values_list("kind", flat=True))


def login(client: APIClient, phone: str, password: str) -> int:
    return client.post("/api/v1/auth/login/", {"phone": phone, "password": password}, format="json", **FROM).status_code


def test_a_sign_up_and_its_activation_are_events_with_the_network_and_the_request_id(
    api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    response = api_client.post(
        "/api/v1/auth/register/", payload, format="json", HTTP_X_REQUEST_ID="req-signup-1", **FROM
    )
    assert response.status_code == 201
    body = {"phone": PHONE, "code": code_in(sms_outbox[-1]), "signup_token": response.json()["signup_token"]}
    assert api_client.post("/api/v1/auth/activate/", body, format="json", **FROM).status_code == 200
    user = User.objects.get(phone=PHONE)
    assert kinds(user) == [Kind.SIGNUP, Kind.ACTIVATION]
    signup = AuditEvent.objects.get(kind=Kind.SIGNUP)
    assert (signup.address, signup.request_id, signup.actor) == ("197.159.12.0/24", "req-signup-1", None)


def test_a_claim_is_its_own_event(api_client: APIClient, registered: Registered) -> None:
    body = {"phone": registered.phone, "code": registered.code, "password": NEW_PASSWORD}
    assert api_client.post("/api/v1/auth/activate/", body, format="json").status_code == 200
    assert kinds(User.objects.get(phone=registered.phone)) == [Kind.SIGNUP, Kind.CLAIM]


@responses.activate
def test_a_sign_up_whose_sms_failed_leaves_no_event(
    api_client: APIClient, payload: dict[str, str], settings: object
) -> None:
    settings.SMS_BACKEND = "sms.backends.twilio.SmsBackend"  # type: ignore[attr-defined]
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = "AC" + "0" * 32, "token"  # type: ignore[attr-defined]
    settings.TWILIO_FROM_NUMBER = "WaterBill"  # type: ignore[attr-defined]
    responses.post(
        "https://api.twilio.com/2010-04-01/Accounts/AC" + "0" * 32 + "/Messages.json", status=500, json={"code": 20500}
    )
    assert api_client.post("/api/v1/auth/register/", payload, format="json").status_code == 503
    assert not User.objects.exists()
    assert kinds() == []  # rolled back with the sign-up


def test_logins_right_and_wrong_are_events_of_the_account_and_a_stranger_number_of_none(
    api_client: APIClient,
) -> None:
    user = UserFactory(phone="+237670000001")
    assert login(api_client, user.phone, "wrong-password") == 401
    assert login(api_client, user.phone, PASSWORD) == 200
    assert login(api_client, "+237670000009", PASSWORD) == 401
    assert kinds(user) == [Kind.LOGIN_FAILED, Kind.LOGIN]
    failed = AuditEvent.objects.filter(kind=Kind.LOGIN_FAILED)
    assert list(failed.values_list("user__phone", "detail")) == [
        (None, "invalid_credentials"),
        (user.phone, "invalid_credentials"),
    ]


def test_a_locked_login_is_not_an_event(api_client: APIClient, settings: object) -> None:
    """A refusal before the password is checked adds nothing: the events of a brute force are bounded by the
    wrong-guess allowances, not by the attacker's requests."""
    settings.LOGIN_FAILURE_LIMIT_PHONE = (2, 300)  # type: ignore[attr-defined]
    user = UserFactory(phone="+237670000001")
    for _ in range(4):
        login(api_client, user.phone, "wrong-password")
    assert kinds(user) == [Kind.LOGIN_FAILED, Kind.LOGIN_FAILED]


def test_logout_and_a_used_refresh_token_presented_again_are_events(api_client: APIClient) -> None:
    user = UserFactory(phone="+237670000001")
    pair = api_client.post("/api/v1/auth/login/", {"phone": user.phone, "password": PASSWORD}, format="json").json()
    rotated = api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    assert rotated.status_code == 200
    replay = api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json", **FROM)
    assert replay.status_code == 401
    logout = api_client.post("/api/v1/auth/logout/", {"refresh": rotated.json()["refresh"]}, format="json")
    assert logout.status_code in (200, 204, 205)
    assert kinds(user) == [Kind.LOGIN, Kind.REFRESH_REUSE, Kind.LOGOUT]
    assert AuditEvent.objects.get(kind=Kind.REFRESH_REUSE).address == "197.159.12.0/24"


def test_a_forged_or_garbled_refresh_token_is_no_event(api_client: APIClient) -> None:
    for token in ("garbage", "e30.e30.e30"):
        assert api_client.post("/api/v1/auth/token/refresh/", {"refresh": token}, format="json").status_code == 401
    assert kinds() == []


def test_password_change_and_a_wrong_current_password_are_events(auth_client: APIClient, active_user: User) -> None:
    url = "/api/v1/users/me/password/"
    wrong = auth_client.post(url, {"current_password": "nope-nope-1", "new_password": NEW_PASSWORD}, format="json")
    assert wrong.status_code == 400
    right = auth_client.post(url, {"current_password": PASSWORD, "new_password": NEW_PASSWORD}, format="json")
    assert right.status_code == 200
    assert kinds(active_user)[-2:] == [Kind.LOGIN_FAILED, Kind.PASSWORD_CHANGE]
    assert AuditEvent.objects.get(kind=Kind.LOGIN_FAILED).detail == "current_password"


def test_a_password_reset_and_a_phone_change_are_events(
    api_client: APIClient, auth_client: APIClient, active_user: User, sms_outbox: list[SmsMessage]
) -> None:
    moved = auth_client.post(
        "/api/v1/users/me/phone/", {"new_phone": "+237699887766", "current_password": PASSWORD}, format="json"
    )
    assert moved.status_code == 202
    confirm = auth_client.post("/api/v1/users/me/phone/confirm/", {"code": code_in(sms_outbox[-1])}, format="json")
    assert confirm.status_code == 200
    assert api_client.post("/api/v1/auth/password/reset/", {"phone": "+237699887766"}, format="json").status_code == 202
    body = {"phone": "+237699887766", "code": code_in(sms_outbox[-1]), "new_password": NEW_PASSWORD}
    assert api_client.post("/api/v1/auth/password/reset/confirm/", body, format="json").status_code == 200
    assert kinds(active_user)[-2:] == [Kind.PHONE_CHANGE, Kind.PASSWORD_RESET]


def test_no_event_holds_a_code_a_password_a_token_or_the_number(
    api_client: APIClient, registered: Registered, sms_outbox: list[SmsMessage]
) -> None:
    pair = api_client.post("/api/v1/auth/activate/", registered.activation(), format="json").json()
    login(api_client, registered.phone, "wrong-Password-1")
    api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json")
    secrets = [registered.code, registered.signup_token, PASSWORD, "wrong-Password-1", pair["refresh"], pair["access"]]
    secrets += [registered.phone, registered.phone.removeprefix("+237")]
    assert len(AuditEvent.objects.all()) >= 4
    for event in AuditEvent.objects.all():
        text = " ".join(str(getattr(event, field.attname)) for field in AuditEvent._meta.concrete_fields)
        assert not any(secret in text for secret in secrets), text


@pytest.fixture
def staff() -> tuple[Client, User]:
    agent = User.objects.create_superuser("+237699000000", "admin-Pass-2026")
    client = Client(REMOTE_ADDR="10.1.2.3")
    client.force_login(agent)
    return client, agent


def test_the_support_desks_actions_are_events_naming_the_staff_member(
    staff: tuple[Client, User], sms_outbox: list[SmsMessage]
) -> None:
    client, agent = staff
    pending = UserFactory(phone="+237670000002", pending=True)
    customer = UserFactory(phone="+237670000003", first_name="Awa")
    changelist = reverse("admin:users_user_changelist")
    for action, target in (
        ("resend_activation_code", pending),
        ("lift_locks", customer),
        ("disable_accounts", customer),
    ):
        client.post(changelist, {"action": action, "_selected_action": [target.pk]})
    events = AuditEvent.objects.filter(kind=Kind.ADMIN_ACTION).order_by("id")
    assert [(e.user_id, e.detail) for e in events] == [
        (pending.pk, "resend_code"),
        (customer.pk, "lift_locks"),
        (customer.pk, "disable"),
    ]
    assert {e.actor_id for e in events} == {agent.pk}
    assert events[0].address == "10.1.2.0/24"


def test_a_password_set_by_the_support_desk_is_an_event(staff: tuple[Client, User]) -> None:
    client, agent = staff
    customer = UserFactory(phone="+237670000003")
    url = reverse("admin:auth_user_password_change", args=[customer.pk]).replace("auth/user", "users/user")
    answer = client.post(url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"})
    assert answer.status_code == 302, answer.content[:500]
    event = AuditEvent.objects.get(kind=Kind.ADMIN_ACTION, user=customer)
    assert (event.actor, event.detail) == (agent, "change: password")


def test_the_audit_list_is_read_only_and_searched_by_any_spelling_of_the_number(staff: tuple[Client, User]) -> None:
    client, _agent = staff
    first, second = UserFactory(phone="+237670000001"), UserFactory(phone="+237670000002")
    for user in (first, second):
        AuditEvent.objects.create(kind=Kind.LOGIN, user=user)
    url = reverse("admin:users_auditevent_changelist")
    page = client.get(url, {"q": "6 70 00 00 01"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 1
    assert client.get(reverse("admin:users_auditevent_add")).status_code == 403
    event = AuditEvent.objects.filter(user=first).get()
    assert client.post(reverse("admin:users_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403


def test_events_past_their_retention_are_purged(settings: object) -> None:
    settings.AUDIT_RETENTION_DAYS = 365  # type: ignore[attr-defined]
    now = timezone.now()
    old = AuditEvent.objects.create(kind=Kind.LOGIN, created_at=now - timedelta(days=366))
    kept = AuditEvent.objects.create(kind=Kind.LOGIN, created_at=now - timedelta(days=364))
    out = io.StringIO()
    call_command("purge_audit_events", "--dry-run", stdout=out)
    assert "1 audit event(s) older than 365 day(s) would be deleted" in out.getvalue()
    assert AuditEvent.objects.count() == 2
    call_command("purge_audit_events", stdout=io.StringIO())
    assert list(AuditEvent.objects.all()) == [kept]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("197.159.12.34", "197.159.12.0/24"),
        ("2001:db8:1:2::7", "2001:db8:1::/48"),
        ("::ffff:197.159.12.34", "197.159.12.0/24"),
        ("not an address", ""),
        (None, ""),
    ],
)
def test_an_event_keeps_the_network_not_the_address(address: str | None, masked: str) -> None:
    assert mask_address(address) == masked
