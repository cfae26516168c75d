"""User manager, createsuperuser, and activation codes: generation, keyed hashing, constant-time checks."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from users.models import ActivationToken, User
from users.phone import InvalidPhoneNumber
from users.tests.factories import ActivationTokenFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_create_user_normalises_the_phone_and_starts_pending() -> None:
    user = User.objects.create_user("6 70 12 34 56", "pw-Secret-123")
    assert user.phone == "+237670123456"
    assert not user.is_active
    assert user.activated_at is None
    assert user.is_pending
    assert user.check_password("pw-Secret-123")


def test_create_user_refuses_an_invalid_phone() -> None:
    with pytest.raises(InvalidPhoneNumber):
        User.objects.create_user("12345", "pw")


def test_get_by_natural_key_accepts_any_spelling() -> None:
    user = UserFactory(phone="+237670123456")
    assert User.objects.get_by_natural_key("00237670123456") == user
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("not a phone")


def test_createsuperuser_makes_an_active_staff_user(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "admin-Pass-2026")
    call_command("createsuperuser", "--noinput", "--phone", "670000001", stdout=io.StringIO())
    admin = User.objects.get(phone="+237670000001")
    assert admin.is_active
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.activated_at is not None
    assert not admin.is_pending
    assert admin.check_password("admin-Pass-2026")


def test_generated_codes_are_six_digits_and_vary() -> None:
    codes = {ActivationToken.generate_code() for _ in range(200)}
    assert all(re.fullmatch(r"\d{6}", code) for code in codes)
    assert len(codes) > 190


def test_hash_is_keyed_by_the_secret_key() -> None:
    digest = ActivationToken.hash_code("123456")
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert "123456" not in digest
    with override_settings(SECRET_KEY="another-secret-key-for-this-test-only-000000"):
        assert ActivationToken.hash_code("123456") != digest


def test_create_token_stores_only_the_hash() -> None:
    user = UserFactory(pending=True)
    token = ActivationToken.create_token(user)
    assert re.fullmatch(r"\d{6}", token.code)
    stored = ActivationToken.objects.get(pk=token.pk)
    assert stored.code_hash == ActivationToken.hash_code(token.code)
    assert stored.matches(token.code)
    assert not stored.matches("000000" if token.code != "000000" else "111111")
    assert stored.expires_at - stored.created_at == __import__("datetime").timedelta(minutes=10)


def test_seed_style_create_then_set_hash() -> None:
    """The seed's sequence: create_token(user), then set code_hash from hash_code(code), then save."""
    user = UserFactory(pending=True)
    token = ActivationToken.create_token(user)
    token.code_hash = ActivationToken.hash_code("654321")
    token.save()
    assert ActivationToken.objects.get(pk=token.pk).matches("654321")


def test_live_tokens_exclude_used_expired_and_exhausted() -> None:
    live = ActivationTokenFactory()
    ActivationTokenFactory.expired()
    ActivationTokenFactory(used_at=live.created_at)
    ActivationTokenFactory(attempts=5)
    assert list(ActivationToken.objects.live(live.created_at)) == [live]


def test_the_request_path_loads_the_same_user_as_the_orm() -> None:
    """User.objects.for_request (every authenticated request) gives what `get(pk=...)` gives, field by field,
    times included (text on SQLite, converted)."""
    user = UserFactory(first_name="Ndéyé", last_name="Mbarga")
    loaded, live = User.objects.for_request(user.pk)
    expected = User.objects.get(pk=user.pk)
    assert loaded is not None
    assert live  # no session asked: nothing to refuse
    assert {f.attname: getattr(loaded, f.attname) for f in User._meta.concrete_fields} == {
        f.attname: getattr(expected, f.attname) for f in User._meta.concrete_fields
    }
    assert loaded.date_joined.tzinfo is not None
    assert not loaded._state.adding
    assert User.objects.for_request(user.pk + 1000) == (None, False)


def test_the_request_path_tells_whether_the_tokens_session_is_live() -> None:
    from users.models import Session

    user, other = UserFactory(phone="+237670000001"), UserFactory(phone="+237670000002")
    mine, theirs = Session.objects.create(user=user, device="a"), Session.objects.create(user=other, device="b")
    assert User.objects.for_request(user.pk, mine.pk)[1] is True
    assert User.objects.for_request(user.pk, theirs.pk)[1] is False  # another account's session
    assert User.objects.for_request(user.pk, 999_999)[1] is False
    Session.objects.filter(pk=mine.pk).update(ended_at=timezone.now())
    assert User.objects.for_request(user.pk, mine.pk) == (user, False)
