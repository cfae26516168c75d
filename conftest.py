"""Fixtures shared by every test: a clean SMS outbox and cache, API clients, factories' users."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation
from rest_framework.test import APIClient

from sms.backends import locmem
from sms.backends.locmem import SmsMessage
from users.models import User


@pytest.fixture(autouse=True)
def sms_outbox() -> Iterator[list[SmsMessage]]:
    """The locmem backend's outbox, emptied in place before and after each test."""
    locmem.outbox.clear()
    yield locmem.outbox
    locmem.outbox.clear()


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    """Cooldowns and counters live in the cache: every test starts without any."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """A request with Accept-Language leaves its language active in the thread: start each test in French."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def api_client() -> APIClient:
    """An anonymous JSON client."""
    return APIClient()


@pytest.fixture
def active_user(db: None) -> User:
    """An activated user whose password is `users.tests.factories.PASSWORD`."""
    from users.tests.factories import UserFactory

    return UserFactory.create()


@pytest.fixture
def auth_client(active_user: User) -> APIClient:
    """A client carrying a valid access token of `active_user`."""
    from rest_framework_simplejwt.tokens import RefreshToken

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(active_user).access_token}")
    return client
