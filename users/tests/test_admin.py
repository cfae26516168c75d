"""The Django admin through its rendered pages: login, user list (search, filters), user page (codes, buttons), SMS."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sms.backends.locmem import SmsMessage
from users.models import ActivationToken, User
from users.tests.factories import ActivationTokenFactory, SmsRecordFactory, UserFactory

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
    from users.models import SmsRecord
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
    failure = SmsRecord.objects.get()
    assert (failure.phone, failure.purpose, failure.status) == ("+237670123456", "activation", "sms_unavailable")
    assert (failure.provider, failure.provider_code) == ("locmem", "20500")
    assert not User.objects.filter(phone="+237670123456").exists()  # the sign-up itself left nothing
    page = admin_client.get(reverse("admin:users_smsrecord_changelist"))
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
    page = admin_client.get(reverse("admin:users_smsrecord_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "SMS envoyés pendant l'heure en cours, par enveloppe" in text  # French first
    assert re.search(r"Inscriptions : codes vers des numéros pas encore vérifiés</td><td>3 / 10 \(30 %\)", text)
    assert re.search(r"Comptes actifs : [^<]*</td><td>1 / 4 \(25 %\)", text)


def test_the_sms_page_shows_each_providers_delivery_over_the_last_24_hours(admin_client: Client) -> None:
    for status in ("delivered", "delivered", "delivered", "undelivered", "accepted", "phone_rejected"):
        SmsRecordFactory(provider="twilio", status=status)
    SmsRecordFactory(provider="orange", status="sent")
    SmsRecordFactory(provider="twilio", status="failed", created_at=timezone.now() - timedelta(hours=25))
    SmsRecordFactory(provider="", status="sms_unavailable")  # refused before any provider was tried
    page = admin_client.get(reverse("admin:users_smsrecord_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Delivery per provider, last 24 hours" in text
    cells = re.findall(r"<tr><td>(orange|twilio)</td>((?:<td>[^<]*</td>)+)</tr>", text)
    assert [(name, re.findall(r"<td>([^<]*)</td>", row)) for name, row in cells] == [
        ("orange", ["1", "0", "0", "1", "0", "-"]),  # sent, delivered, not delivered, waiting, refused, ratio
        ("twilio", ["5", "3", "1", "1", "1", "75%"]),
    ]


def test_the_sms_page_says_when_no_sms_went_out_in_24_hours(admin_client: Client) -> None:
    page = admin_client.get(reverse("admin:users_smsrecord_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert b"No SMS in the last 24 hours." in page.content


def test_the_failed_sends_page_says_when_the_allowances_cannot_be_read(admin_client: Client) -> None:
    from unittest.mock import patch

    with patch("sms.budget.usage", return_value=None):
        page = admin_client.get(reverse("admin:users_smsrecord_changelist"), HTTP_ACCEPT_LANGUAGE="en")
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


# --- Issue 13: an admin the support desk can work in ------------------------------------------------------


class _FormReader(HTMLParser):
    """The fields of one rendered <form> as a browser would submit them untouched (inputs, checked boxes,
    selected options, textareas), and the form's attributes."""

    def __init__(self, form_id: str | None, action: str | None) -> None:
        super().__init__()
        self.form_id, self.action = form_id, action
        self.inside = False
        self.attrs: dict[str, str] = {}
        self.fields: dict[str, list[str]] = {}
        self.inputs: dict[str, dict[str, str]] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form" and (self.form_id or self.action) in (found.get("id"), found.get("action")):
            self.inside, self.attrs = True, found
        if not self.inside or "name" not in found and tag != "option":
            return
        name = found.get("name", "")
        if tag == "input":
            self.inputs[name] = found
            if found.get("type") in ("checkbox", "radio") and "checked" not in found:
                return
            if found.get("type") not in ("submit", "button"):
                default = "on" if found.get("type") == "checkbox" else ""
                self.fields.setdefault(name, []).append(found.get("value", default))
        elif tag == "select":
            self._select = name
            self.fields.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in found:
            self.fields[self._select].append(found.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self.fields[name] = [""]

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.fields[self._textarea][0] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def rendered_form(page: Any, form_id: str | None = None, action: str | None = None) -> _FormReader:
    """The form of `page` with that id (or action), read from the HTML the browser gets."""
    reader = _FormReader(form_id, action)
    reader.feed(page.content.decode())
    assert reader.attrs, f"no form {form_id or action} on the page"
    return reader


def listed(page: Any) -> set[str]:
    """The phone numbers a changelist page lists (its rows' links)."""
    return set(re.findall(r'<th class="field-phone"><a href="[^"]+">(\+\d+)</a></th>', page.content.decode()))


def test_the_admin_login_form_takes_a_spaced_number() -> None:
    User.objects.create_superuser("+237690000001", "guichet-Douala-2026")
    client = Client(enforce_csrf_checks=True)
    page = client.get("/admin/login/?next=/admin/")
    form = rendered_form(page, "login-form")
    assert form.inputs["username"]["maxlength"] == "32"  # not the model's 16
    data = {name: values[0] for name, values in form.fields.items()}
    data.update(username="+237 6 90 00 00 01", password="guichet-Douala-2026")  # 18 characters, as typed
    response = client.post(form.attrs["action"], data, follow=True)
    assert response.redirect_chain == [("/admin/", 302)]
    assert response.status_code == 200
    assert response.context["user"].phone == "+237690000001"
    assert "Comptes, codes et SMS" in response.content.decode()  # the index, not the login form again


def test_the_user_forms_take_any_spelling_of_the_number(admin_client: Client) -> None:
    add = admin_client.get(reverse("admin:users_user_add"))
    assert rendered_form(add, "user_form").inputs["phone"]["maxlength"] == "32"
    user = UserFactory(phone="+237670000021")
    url = reverse("admin:users_user_change", args=[user.pk])
    form = rendered_form(admin_client.get(url), "user_form")
    assert form.inputs["phone"]["maxlength"] == "32"
    data = {**form.fields, "phone": ["+237 6 70 00 00 22"]}
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    user.refresh_from_db()
    assert user.phone == "+237670000022"


def test_a_phone_looking_search_is_one_number(admin_client: Client) -> None:
    UserFactory(phone="+237699001122", first_name="Awa")
    UserFactory(phone="+237622991100", first_name="Nadine")  # has 6, 99, 00, 11 and 22: Django's words match it
    UserFactory(phone="+237670000003", first_name="Bih")
    url = reverse("admin:users_user_changelist")
    for query in ("00237699001122", "6 99 00 11 22", "+237 699 00 11 22", "699-00-11-22", "+237699001122"):
        assert listed(admin_client.get(url, {"q": query})) == {"+237699001122"}, query
    assert listed(admin_client.get(url, {"q": "001122"})) == {"+237699001122"}  # part of a number: its digits
    assert listed(admin_client.get(url, {"q": "wa"})) == {"+237699001122"}  # names: by substring, as before
    assert listed(admin_client.get(url, {"q": "bih"})) == {"+237670000003"}


def test_the_failed_sends_search_normalises_the_number_too(admin_client: Client) -> None:
    SmsRecordFactory(phone="+237699001122")
    SmsRecordFactory(phone="+237622991100")
    page = admin_client.get(reverse("admin:users_smsrecord_changelist"), {"q": "6 99 00 11 22"}).content.decode()
    assert "+237699001122" in page
    assert "+237622991100" not in page


def test_the_admin_is_branded_french_first_and_english_on_request(admin_client: Client) -> None:
    for client in (admin_client, Client()):
        french = client.get("/admin/", follow=True).content.decode()  # the index, or the login page
        assert '<div id="site-name"><a href="/admin/">Service client WaterBill</a></div>' in french
        assert "| Administration WaterBill</title>" in french
        assert "Django" not in french
        english = client.get("/admin/", follow=True, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert '<div id="site-name"><a href="/admin/">WaterBill support desk</a></div>' in english
        assert "| WaterBill admin</title>" in english
    index = admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Accounts, codes and SMS</h1>" in index


def _spend_login_allowance(phone: str) -> None:
    """A stranger's wrong passwords from many addresses, until the number's login allowance is spent."""
    from users.exceptions import LoginLocked
    from users.services.limits import LOGIN

    now = timezone.now()
    for n in range(50):  # LOGIN_FAILURE_LIMIT_PHONE_ALL's burst, five per address
        LOGIN.count(phone, f"10.1.0.{n // 5}", now)
    with pytest.raises(LoginLocked):
        LOGIN.count(phone, "10.1.1.1", now)


def test_the_user_list_filters_by_status_locked_included_and_by_language(admin_client: Client) -> None:
    UserFactory(phone="+237670000031", language="en")
    UserFactory(phone="+237670000032", pending=True)
    UserFactory(phone="+237670000033", is_active=False)  # disabled by hand (activated before)
    UserFactory(phone="+237670000034", is_active=False, activated_at=None, disabled_at=timezone.now())  # a sign-up
    UserFactory(phone="+237670000035")
    _spend_login_allowance("+237670000035")
    url = reverse("admin:users_user_changelist")
    assert listed(admin_client.get(url, {"status": "pending"})) == {"+237670000032"}
    assert listed(admin_client.get(url, {"status": "active"})) == {"+237699000000", "+237670000031", "+237670000035"}
    assert listed(admin_client.get(url, {"status": "disabled"})) == {"+237670000033", "+237670000034"}
    assert listed(admin_client.get(url, {"status": "locked"})) == {"+237670000035"}
    assert listed(admin_client.get(url, {"language": "en"})) == {"+237670000031"}
    page = admin_client.get(url, {"status": "locked", "_facets": "1"}).content.decode()  # Django's counts too
    assert re.search(r'href="\?[^"]*status=locked[^"]*">\s*bloqué \(1\)', page)


def test_the_locked_filter_says_what_it_did_not_check(admin_client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from unittest.mock import patch

    from users import admin as users_admin

    UserFactory(phone="+237670000041")
    UserFactory(phone="+237670000042")
    _spend_login_allowance("+237670000041")  # the older of the two: past a scan of one
    url = reverse("admin:users_user_changelist")
    monkeypatch.setattr(users_admin, "LOCKED_FILTER_SCAN", 1)
    page = admin_client.get(url, {"status": "locked"})
    assert listed(page) == set()
    assert [str(m) for m in page.context["messages"]] == [
        "Bloqués : seuls les 1 comptes les plus récents ont été vérifiés ; restreignez la liste (recherche, filtres)."
    ]
    searched = admin_client.get(url, {"status": "locked", "q": "6 70 00 00 41"})  # the search narrows the scan
    assert listed(searched) == {"+237670000041"}
    assert list(searched.context["messages"]) == []
    from users.exceptions import LimitsUnavailable

    with patch("users.services.limits.Guesses.state", side_effect=LimitsUnavailable()):
        down = admin_client.get(url, {"status": "locked"})
    assert listed(down) == set()
    assert "Les blocages ne peuvent pas être listés : le cache partagé ne répond pas." in [
        str(m) for m in down.context["messages"]
    ]


def test_the_user_page_buttons_lift_the_locks_and_resend_the_code(sms_outbox: list[SmsMessage]) -> None:
    from users.services.limits import LOGIN

    User.objects.create_superuser("+237699000000", "admin-Pass-2026")
    client = Client(enforce_csrf_checks=True)  # the buttons must carry their CSRF token
    client.login(username="+237699000000", password="admin-Pass-2026")
    token = ActivationTokenFactory.expired(user__phone="+237670000051")
    user = token.user
    _spend_login_allowance(user.phone)
    url = reverse("admin:users_user_change", args=[user.pk])
    page = client.get(url)
    lift = rendered_form(page, action=reverse("admin:users_user_lift_locks", args=[user.pk]))
    resend = rendered_form(page, action=reverse("admin:users_user_resend_code", args=[user.pk]))
    assert lift.attrs["method"] == resend.attrs["method"] == "post"
    assert "csrfmiddlewaretoken" in lift.fields

    response = client.post(lift.attrs["action"], {k: v[0] for k, v in lift.fields.items()}, follow=True)
    assert response.redirect_chain == [(url, 302)]
    assert "Blocages levés pour 1 compte." in [str(m) for m in response.context["messages"]]
    assert LOGIN.lock(user.phone, timezone.now()) is None

    response = client.post(resend.attrs["action"], {k: v[0] for k, v in resend.fields.items()}, follow=True)
    assert "1 code d'activation envoyé." in [str(m) for m in response.context["messages"]]
    assert [m.phone for m in sms_outbox] == [user.phone]
    assert ActivationToken.objects.filter(user=user).count() == 2

    assert client.post(lift.attrs["action"]).status_code == 403  # no CSRF token
    assert client.get(lift.attrs["action"]).status_code == 405
    assert len(sms_outbox) == 1


def test_the_resend_button_of_an_active_account_is_not_shown_and_refuses(admin_client: Client) -> None:
    user = UserFactory(phone="+237670000052")
    page = admin_client.get(reverse("admin:users_user_change", args=[user.pk])).content.decode()
    assert reverse("admin:users_user_lift_locks", args=[user.pk]) in page
    assert reverse("admin:users_user_resend_code", args=[user.pk]) not in page
    response = admin_client.post(reverse("admin:users_user_resend_code", args=[user.pk]), follow=True)
    assert f"{user.phone}: Ce compte n'est pas en attente d'activation." in [
        str(m) for m in response.context["messages"]
    ]


def test_a_staff_member_without_the_change_permission_cannot_use_the_buttons(sms_outbox: list[SmsMessage]) -> None:
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user("+237699000009", "viewer-Pass-2026", is_active=True, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    client = Client()
    client.force_login(viewer)
    user = ActivationTokenFactory().user
    assert client.post(reverse("admin:users_user_resend_code", args=[user.pk])).status_code == 403
    assert sms_outbox == []


def test_the_user_page_leads_with_what_the_support_desk_needs(admin_client: Client) -> None:
    user = ActivationTokenFactory(user__phone="+237670000061").user
    SmsRecordFactory(phone=user.phone, status="sms_unavailable", provider_code="20500")
    url = reverse("admin:users_user_change", args=[user.pk])
    page = admin_client.get(url)
    fieldsets = list(page.context["adminform"])
    assert [field for line in fieldsets[0] for field in line.fields] == [
        "status", "phone", "first_name", "last_name", "language",
    ]
    html = page.content.decode()
    order = [html.index(marker) for marker in (
        'class="form-row field-status"', 'class="form-row field-wrong_guesses_left"', "non envoyé · twilio (20500)",
        'id="activation_tokens-group"', 'name="is_active"', 'name="is_staff"',
    )]
    assert order == sorted(order)  # status and names, guesses and SMS, codes, the account, permissions last
    assert re.search(r'<details><summary>\s*<h2 id="fieldset-0-3-heading" class="fieldset-heading">Permissions', html)
    assert "en attente" in html

    form = rendered_form(page, "user_form")
    assert form.fields["language"] == ["fr"]
    response = admin_client.post(url, {**form.fields, "language": ["en"]})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.language == "en"


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


def test_the_lists_are_narrow_enough_for_1280_px(admin_client: Client) -> None:
    """What made the last columns cut off (docs/admin/users.png shows the fit): the app sidebar and long dates."""
    from datetime import UTC, datetime

    at = datetime(2026, 12, 1, 18, 11, tzinfo=UTC)
    UserFactory(phone="+237670000071", date_joined=at, activated_at=at)
    SmsRecordFactory(phone="+237670000071", created_at=at)
    for name in ("admin:users_user_changelist", "admin:users_smsrecord_changelist"):
        html = admin_client.get(reverse(name)).content.decode()
        assert 'id="nav-sidebar"' not in html
        assert "01/12/2026 19:11" in html, name  # local time, short format
        assert "1 décembre 2026" not in html
    users = admin_client.get(reverse("admin:users_user_changelist"), {"o": "6"})  # sortable by "activated at"
    assert users.status_code == 200
    assert "ACTIVÉ LE" in users.content.decode().upper()
