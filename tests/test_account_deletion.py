"""In-app account deletion: disabled at once, restorable by the support desk, erased after the grace period with
no personal data left in any table."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from sms.backends.locmem import SmsMessage
from users.models import AuditEvent, SmsRecord, User, VerificationCode
from users.services import AccountDeletionService, PhoneChangeService
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
ME = "/api/v1/users/me/"
PHONE = "+237670554433"
OTHER = "+237699112244"


@pytest.fixture
def owner() -> User:
    return UserFactory(phone=PHONE, first_name="Ngozika", last_name="Tchoumbou")


def logged_in(user: User) -> tuple[APIClient, str]:
    """A client with a fresh pair of `user`'s, and the refresh token."""
    refresh = RefreshToken.for_user(user)
    refresh["sv"] = user.session_version
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")
    return client, str(refresh)


def test_the_owner_deletes_the_account_and_it_stops_working_at_once(owner: User, sms_outbox: list[SmsMessage]) -> None:
    client, refresh = logged_in(owner)
    before = timezone.now()
    response = client.delete(ME, {"password": PASSWORD}, format="json")
    assert response.status_code == 202
    erase_after = timezone.datetime.fromisoformat(response.json()["erase_after"])
    assert timedelta(days=7) <= erase_after - before < timedelta(days=7, minutes=1)
    owner.refresh_from_db()
    assert (owner.is_active, owner.deletion_requested_at is not None) == (False, True)
    assert client.get(ME).json()["code"] == "user_inactive"  # 401, as for any disabled account
    assert APIClient().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json").status_code == 401
    login = APIClient().post("/api/v1/auth/login/", {"phone": PHONE, "password": PASSWORD}, format="json")
    assert (login.status_code, login.json()["code"]) == (403, "account_deleted")
    assert sms_outbox[-1].phone == PHONE
    assert erase_after.date().isoformat() in sms_outbox[-1].text
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.DELETION, user=owner).count() == 1


def test_a_wrong_password_deletes_nothing_and_counts_as_a_failed_login(owner: User, settings: object) -> None:
    settings.LOGIN_FAILURE_LIMIT_PHONE = (2, 300)  # type: ignore[attr-defined]
    client, _refresh = logged_in(owner)
    for _ in range(2):
        wrong = client.delete(ME, {"password": "Pas-le-bon-2026"}, format="json")
        assert (wrong.status_code, wrong.json()["password"][0]["code"]) == (400, "password_incorrect")
    locked = client.delete(ME, {"password": PASSWORD}, format="json")
    assert (locked.status_code, locked.json()["code"]) == (429, "login_locked")
    owner.refresh_from_db()
    assert owner.is_active
    assert owner.deletion_requested_at is None


def test_deleting_needs_the_password_and_a_token(owner: User) -> None:
    client, _refresh = logged_in(owner)
    missing = client.delete(ME, {}, format="json")
    assert (missing.status_code, missing.json()["password"][0]["code"]) == (400, "required")
    assert APIClient().delete(ME, {"password": PASSWORD}, format="json").status_code == 401


def test_the_number_is_taken_during_the_grace_period_and_free_after_it(
    owner: User, api_client: APIClient, payload: dict[str, str], sms_outbox: list[SmsMessage]
) -> None:
    AccountDeletionService.request_deletion(owner, password=PASSWORD)
    body = {**payload, "phone": PHONE}
    taken = api_client.post("/api/v1/auth/register/", body, format="json")
    assert taken.status_code == 400
    assert AccountDeletionService.erase_due(timezone.now() + timedelta(days=7, seconds=1)) == 1
    assert api_client.post("/api/v1/auth/register/", body, format="json").status_code == 201


def test_only_accounts_past_their_grace_period_are_erased(sms_outbox: list[SmsMessage]) -> None:
    due, recent, alive = UserFactory(phone=PHONE), UserFactory(phone=OTHER), UserFactory(phone="+237670000009")
    now = timezone.now()
    AccountDeletionService.request_deletion(due, password=PASSWORD, now=now - timedelta(days=8))
    AccountDeletionService.request_deletion(recent, password=PASSWORD, now=now - timedelta(days=6))
    out = io.StringIO()
    call_command("erase_deleted_accounts", stdout=out)
    assert "Erased 1 account(s)" in out.getvalue()
    assert "deleted 0 audit event(s) older than 365 day(s)" in out.getvalue()
    assert set(User.objects.values_list("pk", flat=True)) == {recent.pk, alive.pk}


def test_the_daily_run_also_deletes_the_audit_events_past_their_retention() -> None:
    old = AuditEvent.objects.create(kind=AuditEvent.Kind.LOGIN, created_at=timezone.now() - timedelta(days=366))
    kept = AuditEvent.objects.create(kind=AuditEvent.Kind.LOGIN, created_at=timezone.now() - timedelta(days=300))
    call_command("erase_deleted_accounts", stdout=io.StringIO())
    assert list(AuditEvent.objects.all()) == [kept]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()


def test_erasure_leaves_no_number_and_no_name_in_any_table(owner: User, sms_outbox: list[SmsMessage]) -> None:
    """Every trace an account leaves: codes (a phone change to another number, a reset), SMS records to both
    numbers, audit events, refresh tokens, the admin's change history. Then every text column of every table
    is searched for the numbers and the names."""
    client, _refresh = logged_in(owner)
    client.post("/api/v1/auth/login/", {"phone": PHONE, "password": "wrong-Pass-99"}, format="json")
    APIClient().post("/api/v1/auth/login/", {"phone": PHONE, "password": PASSWORD}, format="json")
    PhoneChangeService.request_change(owner, new_phone=OTHER, current_password=PASSWORD)
    APIClient().post("/api/v1/auth/password/reset/", {"phone": PHONE}, format="json")
    LogEntry.objects.log_actions(
        user_id=UserFactory(phone="+237699000000", is_staff=True).pk,
        queryset=[owner],
        action_flag=CHANGE,
        change_message="[]",
    )
    assert SmsRecord.objects.filter(phone__in=[PHONE, OTHER]).count() >= 2
    assert VerificationCode.objects.filter(user=owner).exists()
    AccountDeletionService.request_deletion(owner, password=PASSWORD)
    events = AuditEvent.objects.filter(user=owner).count()
    assert AccountDeletionService.erase_due(timezone.now() + timedelta(days=8)) == 1
    needles = [PHONE, PHONE.removeprefix("+237"), OTHER, OTHER.removeprefix("+237"), "Ngozika", "Tchoumbou"]
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField):
                for needle in needles:
                    if model._default_manager.filter(**{f"{field.attname}__contains": needle}).exists():
                        found.append(f"{model._meta.label}.{field.attname} holds {needle}")
    assert found == []
    assert AuditEvent.objects.filter(user__isnull=True).count() >= events  # the events stay, without the account
    assert SmsRecord.objects.filter(phone="").count() >= 2  # and the SMS records, without the number


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("+237699000000", "admin-Pass-2026"))
    return client


def test_the_support_desk_restores_a_deleted_account_within_the_grace_period(
    owner: User, staff: Client, sms_outbox: list[SmsMessage]
) -> None:
    AccountDeletionService.request_deletion(owner, password=PASSWORD)
    changelist = reverse("admin:users_user_changelist")
    page = staff.get(reverse("admin:users_user_change", args=[owner.pk]))
    assert "supprimé par son titulaire" in page.content.decode()
    staff.post(changelist, {"action": "restore_deleted_accounts", "_selected_action": [owner.pk]})
    owner.refresh_from_db()
    assert (owner.is_active, owner.deletion_requested_at, owner.disabled_at) == (True, None, None)
    login = APIClient().post("/api/v1/auth/login/", {"phone": PHONE, "password": PASSWORD}, format="json")
    assert login.status_code == 200
    restore = AuditEvent.objects.get(kind=AuditEvent.Kind.RESTORE)
    assert restore.actor is not None
    assert restore.actor.is_staff
    assert AccountDeletionService.erase_due(timezone.now() + timedelta(days=30)) == 0


def test_restoring_an_account_not_being_deleted_changes_nothing(owner: User) -> None:
    owner.is_active = False
    owner.save(update_fields=["is_active"])  # disabled by the support desk, not deleted: stays disabled
    assert AccountDeletionService.restore(owner, actor=None) is False
    owner.refresh_from_db()
    assert not owner.is_active
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.RESTORE).exists()
    assert ContentType.objects.get_for_model(User)  # the admin history lookup of the erasure has its type
