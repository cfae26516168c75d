"""The Django admin: user list, search and filter, code history without hashes, the resend action."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sms.backends.locmem import SmsMessage
from users.models import ActivationToken, User
from users.tests.factories import ActivationTokenFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:  # overrides pytest-django's, whose admin has a username
    admin = User.objects.create_superuser("+237699000000", "admin-Pass-2026")
    client = Client()
    client.force_login(admin)
    return client


def test_changelist_lists_searches_and_filters(admin_client: Client) -> None:
    UserFactory(phone="+237670000001", first_name="Awa")
    UserFactory(phone="+237670000002", first_name="Bih", pending=True)
    url = reverse("admin:users_user_changelist")

    page = admin_client.get(url)
    assert page.status_code == 200
    assert b"+237670000001" in page.content
    assert b"+237670000002" in page.content

    found = admin_client.get(url, {"q": "Bih"})
    assert b"+237670000002" in found.content
    assert b"+237670000001" not in found.content

    pending = admin_client.get(url, {"is_active__exact": "0"})
    assert b"+237670000002" in pending.content
    assert b"+237670000001" not in pending.content


def test_change_page_shows_codes_without_their_hash(admin_client: Client) -> None:
    token = ActivationTokenFactory()
    older = ActivationTokenFactory.expired(user=token.user)
    page = admin_client.get(reverse("admin:users_user_change", args=[token.user.pk]))
    assert page.status_code == 200
    [codes] = [f for f in page.context["inline_admin_formsets"] if f.formset.prefix == "activation_tokens"]
    assert [form.instance for form in codes.formset.forms] == [token, older]  # the history, newest first
    assert b'id="activation_tokens-1"' in page.content  # both rows rendered
    for shown in (token, older):
        assert shown.code_hash.encode() not in page.content


def test_resend_action_sends_through_the_service(admin_client: Client, sms_outbox: list[SmsMessage]) -> None:
    pending = ActivationTokenFactory().user
    active = UserFactory()
    response = admin_client.post(
        reverse("admin:users_user_changelist"),
        {"action": "resend_activation_code", "_selected_action": [pending.pk, active.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert [m.phone for m in sms_outbox] == [pending.phone]
    assert ActivationToken.objects.filter(user=pending).count() == 2
    messages = [str(m) for m in response.context["messages"]]
    assert f"{active.phone}: Ce compte n'est pas en attente d'activation." in messages
    assert "1 code d'activation envoyé." in messages


def test_admin_created_user_is_active_at_once(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:users_user_add"),
        {
            "phone": "6 70 55 55 55",
            "first_name": "Caissier",
            "last_name": "Agence",
            "usable_password": "true",
            "password1": "Guichet-Douala-2026",
            "password2": "Guichet-Douala-2026",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user = User.objects.get(phone="+237670555555")
    assert user.is_active
    assert user.activated_at is not None
    assert user.check_password("Guichet-Douala-2026")


def test_admin_form_refuses_an_invalid_phone(admin_client: Client) -> None:
    response = admin_client.post(
        reverse("admin:users_user_add"),
        {
            "phone": "12",
            "usable_password": "true",
            "password1": "Guichet-Douala-2026",
            "password2": "Guichet-Douala-2026",
        },
    )
    assert response.status_code == 200
    assert [e.code for e in response.context["adminform"].form.errors.as_data()["phone"]] == ["phone_invalid"]
    assert not User.objects.filter(is_staff=False).exists()


def test_activating_by_hand_records_activated_at_so_a_later_ban_holds(admin_client: Client) -> None:
    """Ticking "active" on a pending account, then disabling it, must not make it pending (replaceable) again."""
    from users.exceptions import PhoneTaken
    from users.services import AuthService
    from users.tests.factories import PASSWORD

    user = UserFactory(pending=True, phone="+237670000009")
    user.is_active = True
    user.save(update_fields=["is_active"])
    user.refresh_from_db()
    assert user.activated_at is not None
    User.objects.filter(pk=user.pk).update(is_active=False)  # banned
    data = {
        "phone": user.phone,
        "first_name": "X",
        "last_name": "Y",
        "password": PASSWORD,
        "password_confirm": PASSWORD,
    }
    with pytest.raises(PhoneTaken):
        AuthService.register_user(data)


def test_failed_sends_are_listed_for_the_admin(admin_client: Client) -> None:
    from unittest.mock import patch

    from sms.exceptions import SmsNotProcessed
    from users.exceptions import SmsServiceUnavailable
    from users.models import SmsFailure
    from users.services import AuthService

    data = {
        "phone": "670123456",
        "first_name": "A",
        "last_name": "B",
        "password": "Tr0ub4dor&3-eau",
        "password_confirm": "Tr0ub4dor&3-eau",
    }
    with patch("sms.backends.locmem.SmsBackend.send", side_effect=SmsNotProcessed("down", provider_code=20500)):
        with pytest.raises(SmsServiceUnavailable) as caught:
            AuthService.register_user(data)
    assert caught.value.code == "sms_unavailable"
    failure = SmsFailure.objects.get()
    assert (failure.phone, failure.purpose, failure.outcome) == ("+237670123456", "activation", "sms_unavailable")
    assert failure.provider_code == "SmsNotProcessed 20500"
    assert not User.objects.filter(phone="+237670123456").exists()  # the sign-up itself left nothing
    page = admin_client.get(reverse("admin:users_smsfailure_changelist"))
    assert page.status_code == 200
    assert b"+237670123456" in page.content
    assert b"20500" in page.content


def test_the_user_list_shows_pending_active_and_disabled(admin_client: Client) -> None:
    UserFactory(phone="+237670000001")
    UserFactory(phone="+237670000002", pending=True)
    UserFactory(phone="+237670000003", is_active=False)
    page = admin_client.get(reverse("admin:users_user_changelist")).content.decode()
    for phone, status in (("+237670000001", "actif"), ("+237670000002", "en attente"), ("+237670000003", "désactivé")):
        assert re.search(rf'>{re.escape(phone)}</a></th>.*?<td class="field-status">{status}</td>', page), phone


def test_the_admin_refuses_a_name_that_spoofs(admin_client: Client) -> None:
    user = UserFactory(phone="+237670000011", first_name="Awa")
    url = reverse("admin:users_user_change", args=[user.pk])
    form = {
        "phone": user.phone, "first_name": "Awa\u202eagnoN", "last_name": user.last_name, "language": user.language,
        "is_active": "on", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00",
        "activation_tokens-TOTAL_FORMS": "0", "activation_tokens-INITIAL_FORMS": "0",
        "verification_codes-TOTAL_FORMS": "0", "verification_codes-INITIAL_FORMS": "0",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200  # the form again, with its error
    errors = response.context["adminform"].form.errors.as_data()["first_name"]
    assert [error.code for error in errors] == ["invalid_characters"]
    user.refresh_from_db()
    assert user.first_name == "Awa"


def test_disabling_a_pending_sign_up_blocks_it(admin_client: Client, sms_outbox: list[SmsMessage]) -> None:
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from users.tests.factories import PASSWORD, SIGNUP_TOKEN

    token = ActivationTokenFactory(user__phone="+237670000012", code="123456")
    response = admin_client.post(
        reverse("admin:users_user_changelist"), {"action": "disable_accounts", "_selected_action": [token.user.pk]}
    )
    assert response.status_code == 302
    user = User.objects.get(pk=token.user.pk)
    assert not user.is_pending
    assert user.disabled_at is not None
    api = APIClient()
    activation = {"phone": "670000012", "code": "123456", "signup_token": SIGNUP_TOKEN}
    assert api.post("/api/v1/auth/activate/", activation, format="json").json()["code"] == "code_invalid"
    api.post("/api/v1/auth/activate/resend/", {"phone": "670000012"}, format="json")
    assert sms_outbox == []  # no code for a disabled sign-up
    sign_up = {"phone": "670000012", "first_name": "X", "last_name": "Y",
               "password": PASSWORD, "password_confirm": PASSWORD}
    assert api.post("/api/v1/auth/register/", sign_up, format="json").json()["phone"][0]["code"] == "phone_taken"
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=30))
    call_command("purge_pending_accounts", "--days", "7", stdout=io.StringIO())
    assert User.objects.filter(pk=user.pk).exists()  # kept: the number stays blocked
    page = admin_client.get(reverse("admin:users_user_changelist")).content.decode()
    assert "désactivé" in page


def test_the_user_page_shows_the_wrong_guesses_left_and_the_action_lifts_the_locks(admin_client: Client) -> None:
    from users.services.limits import LOGIN, RESET

    user = UserFactory(phone="+237670000001")
    now = timezone.now()
    for n in range(12):  # twelve addresses: the number's reset allowance is spent
        RESET.count(user.phone, f"10.0.0.{n}", now)
    LOGIN.count(user.phone, "10.0.1.1", now)
    page = admin_client.get(reverse("admin:users_user_change", args=[user.pk])).content.decode()
    assert re.search(r"réinitialisation du mot de passe : bloqué pour \d+ s", page)
    assert "connexion : 49 restants" in page
    assert "revendications : 12 restants" in page
    response = admin_client.post(
        reverse("admin:users_user_changelist"),
        {"action": "lift_locks", "_selected_action": [user.pk]},
        follow=True,
    )
    assert "Blocages levés pour 1 compte." in [str(m) for m in response.context["messages"]]
    assert RESET.lock(user.phone, timezone.now()) is None
    assert RESET.left(user.phone, timezone.now()) == 12
    assert LOGIN.left(user.phone, timezone.now()) == 50


def test_the_failed_sends_page_shows_each_sms_allowance_used_this_hour(admin_client: Client, settings: Any) -> None:
    from sms import budget

    settings.SMS_HOURLY_BUDGET_SIGNUPS = 10
    settings.SMS_HOURLY_BUDGET_ACCOUNTS = 4
    now = timezone.now()
    for _ in range(3):
        budget.take(now, budget.SIGNUPS)
    budget.take(now, budget.ACCOUNTS)
    page = admin_client.get(reverse("admin:users_smsfailure_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "SMS envoyés pendant l'heure en cours, par enveloppe" in text  # French first
    assert re.search(r"Inscriptions : codes vers des numéros pas encore vérifiés</td><td>3 / 10 \(30 %\)", text)
    assert re.search(r"Comptes actifs : [^<]*</td><td>1 / 4 \(25 %\)", text)


def test_the_failed_sends_page_says_when_the_allowances_cannot_be_read(admin_client: Client) -> None:
    from unittest.mock import patch

    with patch("sms.budget.usage", return_value=None):
        page = admin_client.get(reverse("admin:users_smsfailure_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert b"Unknown: the shared cache cannot be read, so every send is refused." in page.content


def test_the_phone_change_guesses_shown_and_lifted_are_those_of_the_new_number(admin_client: Client) -> None:
    from users.models import VerificationCode
    from users.services.limits import PHONE_CHANGE

    user = UserFactory(phone="+237670000001")
    VerificationCode.objects.create(
        user=user, purpose=VerificationCode.Purpose.PHONE_CHANGE, phone="+237690000002", code_hash="x",
        expires_at=timezone.now() + timedelta(minutes=10),
    )
    now = timezone.now()
    for n in range(12):
        PHONE_CHANGE.count("+237690000002", f"10.0.0.{n}", now)
    page = admin_client.get(reverse("admin:users_user_change", args=[user.pk])).content.decode()
    assert re.search(r"changement de numéro : bloqué pour \d+ s", page)
    admin_client.post(reverse("admin:users_user_changelist"), {"action": "lift_locks", "_selected_action": [user.pk]})
    assert PHONE_CHANGE.lock("+237690000002", timezone.now()) is None


def test_code_rows_are_labelled_in_the_local_time_of_their_columns(admin_client: Client) -> None:
    from datetime import UTC, datetime

    from users.models import VerificationCode

    at = datetime(2026, 12, 1, 18, 11, tzinfo=UTC)  # 19:11 in Douala
    token = ActivationTokenFactory(created_at=at, expires_at=at + timedelta(minutes=10))
    VerificationCode.objects.create(
        user=token.user, purpose=VerificationCode.Purpose.PASSWORD_RESET, phone=token.user.phone, code_hash="x",
        created_at=at, expires_at=at + timedelta(minutes=10),
    )
    html = admin_client.get(reverse("admin:users_user_change", args=[token.user.pk])).content.decode()
    assert f"{token.user.pk}@2026-12-01 19:11" in html
    assert f"password_reset {token.user.pk}@2026-12-01 19:11" in html
    assert "1 décembre 2026 19:11" in html  # the created-at column beside it
    assert "18:11" not in html
