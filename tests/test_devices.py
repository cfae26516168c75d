"""Sessions and devices: each activation, login or claim opens one; the owner lists them and ends one, or all but
the current one, and their tokens stop working at once; the support desk sees and ends them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import Registered
from users.models import AuditEvent, Session, User
from users.services.sessions import device_label
from users.tests.factories import PASSWORD, UserFactory
from users.tokens import SESSION_CLAIM

pytestmark = pytest.mark.django_db
SESSIONS = "/api/v1/users/me/sessions/"
ME = "/api/v1/users/me/"
REFRESH = "/api/v1/auth/token/refresh/"
PHONE = "+237670000001"


def signed_in(phone: str = PHONE, **body: str) -> tuple[APIClient, dict[str, str]]:
    """A client logged in to `phone` (with `body`'s extra fields), carrying its access token, and the pair."""
    client = APIClient()
    pair = client.post(
        "/api/v1/auth/login/",
        {"phone": phone, "password": PASSWORD, **body},
        format="json",
        HTTP_USER_AGENT="okhttp/4.12.0",
        REMOTE_ADDR="197.159.12.34",
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    return client, pair


def code_of(response: object) -> tuple[int, str | None]:
    return response.status_code, response.json().get("code")  # type: ignore[attr-defined]


@pytest.fixture
def owner() -> User:
    return UserFactory(phone=PHONE)


def test_each_login_opens_a_session_listed_with_its_device_and_the_current_one_marked(owner: User) -> None:
    phone_app, _ = signed_in(device_name="Pixel 7 d'Awa")
    tablet, _ = signed_in()
    listed = phone_app.get(SESSIONS).json()
    assert [(s["device"], s["current"], s["address"]) for s in listed] == [
        ("okhttp/4.12.0", False, "197.159.12.0/24"),  # the newest first; no device_name: its User-Agent
        ("Pixel 7 d'Awa", True, "197.159.12.0/24"),
    ]
    assert [s["current"] for s in tablet.get(SESSIONS).json()] == [True, False]


def test_activation_opens_a_session_named_by_the_app(api_client: APIClient, registered: Registered) -> None:
    pair = api_client.post("/api/v1/auth/activate/", registered.activation(device_name="Tecno Spark"), format="json")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.json()['access']}")
    assert [s["device"] for s in client.get(SESSIONS).json()] == ["Tecno Spark"]


def test_ending_a_session_stops_its_access_and_refresh_tokens_at_once(owner: User) -> None:
    mine, _ = signed_in()
    lost, lost_pair = signed_in(device_name="lost phone")
    lost_id = next(s["id"] for s in mine.get(SESSIONS).json() if s["device"] == "lost phone")
    assert mine.delete(f"{SESSIONS}{lost_id}/").status_code == 204
    assert code_of(lost.get(ME)) == (401, "session_ended")
    assert code_of(APIClient().post(REFRESH, {"refresh": lost_pair["refresh"]}, format="json")) == (
        401,
        "session_ended",
    )
    assert mine.get(ME).status_code == 200
    assert [s["device"] for s in mine.get(SESSIONS).json()] == ["okhttp/4.12.0"]
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.SESSION_END, user=owner).count() == 1


def test_someone_elses_session_or_an_unknown_id_is_not_found_and_nothing_ends(owner: User) -> None:
    UserFactory(phone="+237670000002")
    mine, _ = signed_in()
    theirs, _ = signed_in("+237670000002")
    their_id = theirs.get(SESSIONS).json()[0]["id"]
    for session_id in (their_id, 999_999):
        assert code_of(mine.delete(f"{SESSIONS}{session_id}/")) == (404, "session_not_found")
    assert theirs.get(ME).status_code == 200
    assert not Session.objects.filter(ended_at__isnull=False).exists()


def test_revoke_others_ends_every_session_but_the_current_one(owner: User) -> None:
    current, _ = signed_in()
    others = [signed_in()[0] for _ in range(2)]
    answer = current.post(f"{SESSIONS}revoke-others/")
    assert answer.json() == {"ended": 2}
    assert [code_of(client.get(ME)) for client in others] == [(401, "session_ended")] * 2
    assert current.get(ME).status_code == 200
    assert current.post(f"{SESSIONS}revoke-others/").json() == {"ended": 0}


def test_a_refresh_keeps_the_session_and_logout_ends_it(owner: User) -> None:
    client, pair = signed_in()
    refreshed = APIClient().post(REFRESH, {"refresh": pair["refresh"]}, format="json").json()
    assert Session.objects.filter(user=owner).count() == 1
    assert APIClient().post("/api/v1/auth/logout/", {"refresh": refreshed["refresh"]}, format="json").status_code < 300
    assert code_of(client.get(ME)) == (401, "session_ended")  # the access token of the session, too
    assert Session.objects.get(user=owner).ended_at is not None


def test_a_password_change_ends_every_session_and_this_device_goes_on_under_its_name(owner: User) -> None:
    client, _ = signed_in(device_name="Pixel 7 d'Awa")
    other, _ = signed_in()
    body = {"current_password": PASSWORD, "new_password": "Nouveau-Robinet-77"}
    pair = client.post("/api/v1/users/me/password/", body, format="json").json()
    assert code_of(other.get(ME)) == (401, "session_ended")
    fresh = APIClient()
    fresh.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
    assert [(s["device"], s["current"]) for s in fresh.get(SESSIONS).json()] == [("Pixel 7 d'Awa", True)]


def test_a_token_from_before_sessions_still_works_and_its_refresh_opens_one(owner: User) -> None:
    refresh = RefreshToken.for_user(owner)  # no session claim: issued before sessions existed
    refresh[SESSION_CLAIM] = owner.session_version
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {refresh.access_token}")
    assert client.get(ME).status_code == 200
    assert client.get(SESSIONS).json() == []
    answer = APIClient().post(REFRESH, {"refresh": str(refresh)}, format="json", HTTP_USER_AGENT="WaterBill/1.0")
    assert answer.status_code == 200
    assert list(Session.objects.filter(user=owner).values_list("device", flat=True)) == ["WaterBill/1.0"]


@pytest.mark.parametrize(
    ("name", "agent", "label"),
    [
        ("Pixel 7", "okhttp/4.12.0", "Pixel 7"),
        ("", "okhttp/4.12.0", "okhttp/4.12.0"),
        ("  ", "Mozilla/5.0 \x00\x1b[31m (Linux)", "Mozilla/5.0 [31m (Linux)"),
        (None, "", "unknown device"),
        ("x" * 100, "", "x" * 64),
    ],
)
def test_the_device_is_the_apps_name_else_its_user_agent(name: str | None, agent: str, label: str) -> None:
    assert device_label(name, agent) == label


def test_the_support_desk_sees_the_devices_and_ends_them(owner: User) -> None:
    client, _ = signed_in(device_name="Pixel 7 d'Awa")
    staff = Client()
    staff.force_login(User.objects.create_superuser("+237699000000", "admin-Pass-2026"))
    page = staff.get(reverse("admin:users_user_change", args=[owner.pk])).content.decode()
    assert "Pixel 7 d&#x27;Awa" in page
    staff.post(reverse("admin:users_user_changelist"), {"action": "end_all_sessions", "_selected_action": [owner.pk]})
    assert code_of(client.get(ME)) == (401, "session_ended")
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.ADMIN_ACTION, detail="end_sessions").count() == 1
