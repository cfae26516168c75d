"""Login, token refresh (rotation and blacklist), logout and /users/me/ over HTTP."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
LOGIN = "/api/v1/auth/login/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/users/me/"


@pytest.fixture
def user() -> User:
    return UserFactory(phone="+237670123456", first_name="Awa", last_name="Ngono")


@pytest.mark.parametrize("spelling", ["670123456", "+237 6 70 12 34 56", "00237670123456"])
def test_login_with_any_phone_spelling_answers_a_pair(api_client: APIClient, user: User, spelling: str) -> None:
    response = api_client.post(LOGIN, {"phone": spelling, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.parametrize("phone", ["670123456", "699999999"])
def test_wrong_credentials_are_401_alike(api_client: APIClient, user: User, phone: str) -> None:
    response = api_client.post(LOGIN, {"phone": phone, "password": "not-the-password"}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_pending_account_with_the_right_password_is_403_account_inactive(api_client: APIClient) -> None:
    UserFactory(phone="+237670123456", pending=True)
    response = api_client.post(LOGIN, {"phone": "670123456", "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "account_inactive"


def test_disabled_account_is_403_account_disabled(api_client: APIClient) -> None:
    UserFactory(phone="+237670123456", is_active=False)
    response = api_client.post(LOGIN, {"phone": "670123456", "password": PASSWORD}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "account_disabled"


@pytest.mark.parametrize(
    ("body", "field"), [({"phone": "670123456"}, "password"), ({"password": "x"}, "phone"), ({"phone": "1", "password": "x"}, "phone")]
)
def test_login_field_errors(api_client: APIClient, body: dict[str, str], field: str) -> None:
    response = api_client.post(LOGIN, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def login(client: APIClient) -> dict[str, str]:
    return client.post(LOGIN, {"phone": "670123456", "password": PASSWORD}, format="json").json()


def test_refresh_rotates_and_blacklists_the_old_token(api_client: APIClient, user: User) -> None:
    pair = login(api_client)
    rotated = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != pair["refresh"]
    reused = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert reused.status_code == 401
    assert reused.json()["code"] == "token_not_valid"


@pytest.mark.parametrize("body", [{}, {"refresh": "garbage"}, {"refresh": 12}])
def test_refresh_refusals_carry_a_code(api_client: APIClient, body: dict[str, object]) -> None:
    response = api_client.post(REFRESH, body, format="json")
    assert response.status_code in (400, 401)
    data = response.json()
    assert data.get("code") == "token_not_valid" or data["refresh"][0]["code"] in ("required", "invalid")


def test_refresh_of_a_deactivated_user_is_refused(api_client: APIClient, user: User) -> None:
    pair = login(api_client)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401


def test_logout_blacklists_the_refresh_token(api_client: APIClient, user: User) -> None:
    pair = login(api_client)
    assert api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json").status_code == 204
    assert api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json").status_code == 401
    again = api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")
    assert again.status_code == 401
    assert again.json()["code"] == "token_not_valid"


def test_logout_with_an_access_token_or_garbage_is_401(api_client: APIClient, user: User) -> None:
    pair = login(api_client)
    for token in (pair["access"], "garbage"):
        response = api_client.post(LOGOUT, {"refresh": token}, format="json")
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"


def test_logout_without_token_is_a_field_error(api_client: APIClient) -> None:
    response = api_client.post(LOGOUT, {}, format="json")
    assert response.status_code == 400
    assert response.json()["refresh"][0]["code"] == "required"


def test_me_reads_the_account(auth_client: APIClient, active_user: User) -> None:
    response = auth_client.get(ME)
    assert response.status_code == 200
    assert response.json()["phone"] == active_user.phone
    assert response.json()["is_active"] is True


def test_me_patch_changes_names_only(auth_client: APIClient, active_user: User) -> None:
    response = auth_client.patch(ME, {"first_name": " Bih ", "phone": "+237699999999", "is_active": False}, format="json")
    assert response.status_code == 200
    active_user.refresh_from_db()
    assert active_user.first_name == "Bih"
    assert active_user.phone != "+237699999999" and active_user.is_active


@pytest.mark.parametrize(
    ("body", "code"), [({"first_name": ""}, "blank"), ({"last_name": "x" * 151}, "max_length"), ({"first_name": "a\x07"}, "invalid_characters")]
)
def test_me_patch_field_errors(auth_client: APIClient, body: dict[str, str], code: str) -> None:
    response = auth_client.patch(ME, body, format="json")
    assert response.status_code == 400
    assert code in {e["code"] for e in next(iter(response.json().values()))}


@pytest.mark.parametrize("header", [None, "Bearer garbage", "Basic abc"])
def test_me_without_a_valid_token_is_401_with_a_code(api_client: APIClient, header: str | None) -> None:
    if header:
        api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get(ME)
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}  # simplejwt's token internals ("messages") are dropped
    assert response.json()["code"] in ("not_authenticated", "token_not_valid")


def test_me_rejects_put_and_delete(auth_client: APIClient) -> None:
    for method in (auth_client.put, auth_client.delete):
        response = method(ME, {}, format="json")
        assert response.status_code == 405
        assert response.json()["code"] == "method_not_allowed"


def test_token_errors_are_french_by_default(api_client: APIClient) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer garbage")
    response = api_client.get(ME)
    assert response.json()["detail"] == "Le type de jeton fourni n'est pas valide"
    refreshed = APIClient().post(REFRESH, {"refresh": "garbage"}, format="json")
    assert refreshed.json()["detail"] == "Le jeton n'est pas valide"


def test_refresh_of_a_deleted_user_is_401_not_500(api_client: APIClient, user: User) -> None:
    pair = login(api_client)
    User.objects.filter(pk=user.pk).delete()
    response = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] in ("no_active_account", "token_not_valid")


PASSWORD_URL = "/api/v1/users/me/password/"


def test_changing_the_password_ends_every_session_and_answers_a_new_pair(api_client: APIClient, user: User) -> None:
    phone_session, tablet_session = login(api_client), login(api_client)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {phone_session['access']}")
    response = client.post(PASSWORD_URL, {"current_password": PASSWORD, "new_password": "Nouveau-Robinet-77"}, format="json")
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    for old in (phone_session, tablet_session):
        assert api_client.post(REFRESH, {"refresh": old["refresh"]}, format="json").status_code == 401
    assert api_client.post(REFRESH, {"refresh": response.json()["refresh"]}, format="json").status_code == 200
    assert api_client.post(LOGIN, {"phone": "670123456", "password": "Nouveau-Robinet-77"}, format="json").status_code == 200
    assert api_client.post(LOGIN, {"phone": "670123456", "password": PASSWORD}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"current_password": "wrong", "new_password": "Nouveau-Robinet-77"}, "current_password", "password_incorrect"),
        ({"current_password": PASSWORD, "new_password": "12345678"}, "new_password", "password_entirely_numeric"),
        ({"current_password": PASSWORD}, "new_password", "required"),
        ({"current_password": 1, "new_password": "Nouveau-Robinet-77"}, "current_password", "invalid"),
    ],
)
def test_password_change_refusals(auth_client: APIClient, active_user: User, body: dict[str, object], field: str, code: str) -> None:
    response = auth_client.post(PASSWORD_URL, body, format="json")
    assert response.status_code == 400
    assert code in {e["code"] for e in response.json()[field]}
    active_user.refresh_from_db()
    assert active_user.check_password(PASSWORD)


def test_password_change_needs_a_token(api_client: APIClient) -> None:
    assert api_client.post(PASSWORD_URL, {}, format="json").status_code == 401
