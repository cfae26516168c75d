"""One failed-login mechanism behind Django's authenticate(): the admin's login is limited like the API's, and
Django's auth signals fire."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.test import Client
from rest_framework.test import APIClient

from users.models import User
from users.tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clear_of_window_edges")]
ADMIN_LOGIN = "/admin/login/"
API_LOGIN = "/api/v1/auth/login/"


@pytest.fixture
def staff() -> User:
    return User.objects.create_superuser("+237699000000", PASSWORD)


def admin_login(password: str, address: str = "127.0.0.2") -> str:
    response = Client(REMOTE_ADDR=address).post(
        ADMIN_LOGIN, {"username": "699000000", "password": password, "next": "/admin/"}
    )
    return "logged in" if response.status_code == 302 else response.content.decode()


def test_the_admin_login_locks_after_the_numbers_failures(staff: User) -> None:
    for _ in range(5):  # LOGIN_FAILURE_LIMIT_PHONE: 5 per 5 minutes
        assert "logged in" != admin_login("wrong-password")
    page = admin_login(PASSWORD)  # the right password, refused like the API's login_locked
    assert "Trop de tentatives de connexion" in page


def test_failures_on_the_admin_count_for_the_api_and_the_other_way(staff: User) -> None:
    for _ in range(3):  # from the address the API client uses below
        admin_login("wrong-password", address="127.0.0.1")
    for _ in range(2):
        APIClient().post(API_LOGIN, {"phone": "699000000", "password": "wrong-password"}, format="json")
    response = APIClient().post(API_LOGIN, {"phone": "699000000", "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "login_locked"


def test_the_admin_login_works_with_the_right_password(staff: User) -> None:
    assert admin_login(PASSWORD) == "logged in"


@pytest.fixture
def signals() -> Iterator[list[str]]:
    received: list[str] = []

    def failed(**kwargs: object) -> None:
        received.append("failed")

    def logged_in(**kwargs: object) -> None:
        received.append("logged_in")

    user_login_failed.connect(failed)
    user_logged_in.connect(logged_in)
    yield received
    user_login_failed.disconnect(failed)
    user_logged_in.disconnect(logged_in)


def test_api_logins_fire_djangos_signals(staff: User, signals: list[str]) -> None:
    APIClient().post(API_LOGIN, {"phone": "699000000", "password": "wrong-password"}, format="json")
    APIClient().post(API_LOGIN, {"phone": "699000000", "password": PASSWORD}, format="json")
    assert signals == ["failed", "logged_in"]
    staff.refresh_from_db()
    assert staff.last_login is not None
