"""The PostgreSQL connection pool: sized from the environment, and an exhausted pool answers 503, not 500."""

from __future__ import annotations

import json
import logging
import subprocess
from typing import Any

import pytest
from django.db import OperationalError, connection
from psycopg_pool import PoolTimeout
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from tests.conftest import SECRET, settings_printed
from users.tests.factories import UserFactory


def database_settings(**env: str) -> subprocess.CompletedProcess[str]:
    """DATABASES["default"] as waterbill.settings reads exactly `env` (a fresh interpreter; nothing connects)."""
    code = "import json, waterbill.settings as s; print(json.dumps(s.DATABASES['default']))"
    defaults = {
        "DJANGO_SECRET_KEY": SECRET,
        "SMS_BACKEND": "sms.backends.locmem.SmsBackend",
        "DATABASE_URL": "postgres://waterbill@db.invalid:5432/waterbill",
    }
    return settings_printed(code, **{**defaults, **env})


def loaded(**env: str) -> dict[str, Any]:
    result = database_settings(**env)
    assert result.returncode == 0, result.stderr
    settings: dict[str, Any] = json.loads(result.stdout)
    return settings


def test_the_pool_has_a_connection_for_every_thread_by_default() -> None:
    settings = loaded()
    # 24 gunicorn threads + the 2 after-response threads of waterbill.tasks.
    assert settings["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 26, "timeout": 5.0}
    assert settings["CONN_MAX_AGE"] == 0  # Django refuses a pool beside persistent connections
    assert settings["CONN_HEALTH_CHECKS"] is True  # makes the pool check the connections it hands out
    assert settings["OPTIONS"]["connect_timeout"] == 5


def test_the_pool_follows_the_threads_and_its_own_variables() -> None:
    assert loaded(GUNICORN_THREADS="32")["OPTIONS"]["pool"]["max_size"] == 34
    pool = loaded(DATABASE_POOL_MIN_SIZE="0", DATABASE_POOL_MAX_SIZE="10", DATABASE_POOL_TIMEOUT="0.5")["OPTIONS"]
    assert pool["pool"] == {"min_size": 0, "max_size": 10, "timeout": 0.5}


def test_without_the_pool_connections_are_kept_as_before() -> None:
    settings = loaded(DATABASE_POOL="0")
    assert "pool" not in settings["OPTIONS"]
    assert settings["CONN_MAX_AGE"] == 60


def test_sqlite_has_no_pool() -> None:
    settings = loaded(DATABASE_URL="sqlite:///tmp/pool-test.sqlite3")
    assert "pool" not in settings["OPTIONS"]


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"DATABASE_POOL_MAX_SIZE": "0"}, "DATABASE_POOL_MAX_SIZE"),
        ({"DATABASE_POOL_MIN_SIZE": "-1"}, "DATABASE_POOL_MIN_SIZE"),
        ({"DATABASE_POOL_MIN_SIZE": "8", "DATABASE_POOL_MAX_SIZE": "4"}, "DATABASE_POOL_MIN_SIZE=8"),
        ({"DATABASE_POOL_TIMEOUT": "0"}, "DATABASE_POOL_TIMEOUT"),
        ({"DATABASE_POOL_TIMEOUT": "soon"}, "DATABASE_POOL_TIMEOUT"),
        ({"DATABASE_POOL": "maybe"}, "DATABASE_POOL"),
        ({"GUNICORN_THREADS": "lots"}, "GUNICORN_THREADS"),
    ],
)
def test_a_bad_pool_setting_stops_the_process(env: dict[str, str], named: str) -> None:
    result = database_settings(**env)
    assert result.returncode != 0
    assert named in result.stderr


def test_an_exhausted_pool_answers_503_with_retry_after(
    postgres: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every pooled connection held elsewhere: the request waits DATABASE_POOL_TIMEOUT, then gets a documented 503."""
    pool = connection.pool
    assert pool is not None, "the PostgreSQL settings must use the pool"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(UserFactory.create()).access_token}")
    assert client.get("/api/v1/users/me/").status_code == 200

    connection.close()  # this thread's connection back to the pool, so that the request must ask for one
    monkeypatch.setattr(pool, "timeout", 0.3)
    held = [pool.getconn() for _ in range(pool.max_size)]
    try:
        with caplog.at_level(logging.ERROR, logger="waterbill.exception_handler"):
            response = client.get("/api/v1/users/me/")
    finally:
        for conn in held:
            pool.putconn(conn)
    assert response.status_code == 503
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"] == "30"
    assert "pool exhausted" in caplog.text
    assert client.get("/api/v1/users/me/").status_code == 200  # and the pool serves again once freed


def test_a_pool_timeout_reaches_the_handler_as_an_operational_error(
    postgres: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the handler relies on: Django wraps the pool's PoolTimeout in its own OperationalError."""
    pool = connection.pool
    assert pool is not None
    connection.close()
    monkeypatch.setattr(pool, "timeout", 0.1)
    held = [pool.getconn() for _ in range(pool.max_size)]
    try:
        with pytest.raises(OperationalError) as caught:
            connection.ensure_connection()
    finally:
        for conn in held:
            pool.putconn(conn)
    assert isinstance(caught.value.__cause__, PoolTimeout)
