"""Login, token refresh (rotation and blacklist), logout and /users/me/ over HTTP."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.conftest import field_codes
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
    assert response.json() == {
        "detail": "Numéro de téléphone ou mot de passe incorrect.",
        "code": "invalid_credentials",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


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
    ("body", "field", "code"),
    [
        ({"phone": "670123456"}, "password", "required"),
        ({"password": "x"}, "phone", "required"),
        ({"phone": "1", "password": "x"}, "phone", "phone_invalid"),
    ],
)
def test_login_field_errors(api_client: APIClient, body: dict[str, str], field: str, code: str) -> None:
    response = api_client.post(LOGIN, body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {field: [code]}


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


@pytest.mark.parametrize(
    ("body", "code"), [({}, "required"), ({"refresh": 12}, "invalid")], ids=["missing", "not a string"]
)
def test_refresh_field_errors(api_client: APIClient, body: dict[str, object], code: str) -> None:
    response = api_client.post(REFRESH, body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {"refresh": [code]}


def test_a_malformed_refresh_token_is_401_token_not_valid(api_client: APIClient) -> None:
    response = api_client.post(REFRESH, {"refresh": "garbage"}, format="json")
    assert response.status_code == 401
    assert response.json() == {"detail": "Le jeton n'est pas valide", "code": "token_not_valid"}


def test_refresh_of_a_deactivated_user_is_refused(api_client: APIClient, user: User) -> None:
    pair = login(api_client)
    User.objects.filter(pk=user.pk).update(is_active=False)
    response = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "no_active_account"


def test_logout_blacklists_the_refresh_token(api_client: APIClient, user: User) -> None:
    pair = login(api_client)
    logged_out = api_client.post(LOGOUT, {"refresh": pair["refresh"]}, format="json")
    assert logged_out.status_code == 204
    assert logged_out.content == b""
    refused = api_client.post(REFRESH, {"refresh": pair["refresh"]}, format="json")
    assert refused.status_code == 401
    assert refused.json()["code"] == "token_not_valid"
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
    body = response.json()
    assert set(body) == {
        "id", "phone", "first_name", "last_name", "language", "is_active", "date_joined", "activated_at"
    }
    assert (body["id"], body["phone"], body["first_name"]) == (
        active_user.pk, active_user.phone, active_user.first_name
    )
    assert body["is_active"] is True


def test_me_patch_changes_names_only(auth_client: APIClient, active_user: User) -> None:
    """The name is stripped; the read-only fields stay (sent, they are refused: tests/test_refused_keys.py)."""
    phone = active_user.phone
    response = auth_client.patch(ME, {"first_name": " Bih "}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["first_name"], body["phone"], body["is_active"]) == ("Bih", phone, True)
    active_user.refresh_from_db()
    assert active_user.first_name == "Bih"
    assert active_user.phone == phone
    assert active_user.is_active


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"first_name": ""}, "blank"),
        ({"last_name": "x" * 151}, "max_length"),
        ({"first_name": "a\x07"}, "invalid_characters"),
        ({"language": "de"}, "invalid_choice"),
    ],
)
def test_me_patch_field_errors(auth_client: APIClient, active_user: User, body: dict[str, str], code: str) -> None:
    before = (active_user.first_name, active_user.last_name, active_user.language)
    response = auth_client.patch(ME, body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == {field: [code] for field in body}
    active_user.refresh_from_db()
    assert (active_user.first_name, active_user.last_name, active_user.language) == before


@pytest.mark.parametrize(
    ("header", "code"),
    [(None, "not_authenticated"), ("Bearer garbage", "token_not_valid"), ("Basic abc", "not_authenticated")],
)
def test_me_without_a_valid_token_is_401_with_a_code(api_client: APIClient, header: str | None, code: str) -> None:
    if header:
        api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get(ME)
    assert response.status_code == 401
    assert set(response.json()) == {"detail", "code"}  # simplejwt's token internals ("messages") are dropped
    assert response.json()["code"] == code
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_me_rejects_put(auth_client: APIClient) -> None:
    """PUT is refused (PATCH changes the names; DELETE deletes the account: tests/test_account_deletion.py)."""
    response = auth_client.put(ME, {}, format="json")
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
    assert response.json()["code"] == "no_active_account"


PASSWORD_URL = "/api/v1/users/me/password/"


def test_changing_the_password_ends_every_session_and_answers_a_new_pair(api_client: APIClient, user: User) -> None:
    phone_session, tablet_session = login(api_client), login(api_client)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {phone_session['access']}")
    response = client.post(
        PASSWORD_URL, {"current_password": PASSWORD, "new_password": "Nouveau-Robinet-77"}, format="json"
    )
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}
    for old in (phone_session, tablet_session):
        assert api_client.post(REFRESH, {"refresh": old["refresh"]}, format="json").status_code == 401
    assert api_client.post(REFRESH, {"refresh": response.json()["refresh"]}, format="json").status_code == 200
    with_new = api_client.post(LOGIN, {"phone": "670123456", "password": "Nouveau-Robinet-77"}, format="json")
    assert with_new.status_code == 200
    assert api_client.post(LOGIN, {"phone": "670123456", "password": PASSWORD}, format="json").status_code == 401


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"current_password": "wrong", "new_password": "Nouveau-Robinet-77"},
            {"current_password": ["password_incorrect"]},
        ),
        ({"current_password": "wrong", "new_password": "12345678"}, {"current_password": ["password_incorrect"]}),
        (
            {"current_password": PASSWORD, "new_password": "12345678"},
            {"new_password": ["password_too_common", "password_entirely_numeric"]},
        ),
        ({"current_password": PASSWORD}, {"new_password": ["required"]}),
        ({"current_password": 1, "new_password": "Nouveau-Robinet-77"}, {"current_password": ["invalid"]}),
    ],
    ids=["wrong current", "wrong current, weak new: not checked", "weak new", "missing new", "non-string current"],
)
def test_password_change_refusals(
    auth_client: APIClient, active_user: User, body: dict[str, object], errors: dict[str, list[str]]
) -> None:
    response = auth_client.post(PASSWORD_URL, body, format="json")
    assert response.status_code == 400
    assert field_codes(response.json()) == errors
    active_user.refresh_from_db()
    assert active_user.check_password(PASSWORD)


def test_password_change_needs_a_token(api_client: APIClient) -> None:
    response = api_client.post(
        PASSWORD_URL, {"current_password": PASSWORD, "new_password": "Nouveau-Robinet-77"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
