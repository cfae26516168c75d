"""`manage.py check_invariants` passes on a healthy database and names every kind of broken row."""

from __future__ import annotations

import io
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from users.models import ActivationToken, User
from users.tests.factories import ActivationTokenFactory, UserFactory

pytestmark = pytest.mark.django_db


def run() -> str:
    out = io.StringIO()
    call_command("check_invariants", stdout=out)
    return out.getvalue()


def test_a_healthy_database_passes() -> None:
    UserFactory()
    ActivationTokenFactory()
    ActivationTokenFactory.expired()
    assert "All sign-up invariants hold." in run()


@pytest.mark.parametrize(
    ("breakage", "name"),
    [
        (lambda: UserFactory(pending=True), "pending users without any code"),
        (lambda: ActivationTokenFactory(user__signup_token_hash=""), "pending users without a sign-up token"),
        (lambda: [ActivationTokenFactory(user=ActivationTokenFactory().user)], "users with more than one live code"),
        (lambda: ActivationTokenFactory(user=UserFactory()), "activated users with an unused live code"),
        (
            lambda: User.objects.filter(pk=UserFactory().pk).update(activated_at=None),
            "active users without activated_at",
        ),
        (lambda: ActivationTokenFactory(used_at=timezone.now()), "used codes of never-activated users"),
    ],
)
def test_each_broken_invariant_fails_the_command(breakage: object, name: str) -> None:
    breakage()  # type: ignore[operator]
    with pytest.raises(CommandError) as caught:
        run()
    assert caught.value.returncode == 1


def test_the_report_names_the_broken_invariant() -> None:
    UserFactory(pending=True)
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("check_invariants", stdout=out)
    assert "     1  pending users without any code" in out.getvalue()


def test_admin_activation_retires_live_codes(rf: object) -> None:
    """Activating a pending account by hand keeps the invariants: its live code stops working."""
    from django.contrib import admin

    from users.admin import UserAdmin

    token = ActivationTokenFactory()
    user = token.user
    user.is_active = True
    UserAdmin(User, admin.site).save_model(rf.post("/"), user, form=None, change=True)  # type: ignore[attr-defined]
    token.refresh_from_db()
    assert token.expires_at <= timezone.now()
    assert user.activated_at is not None
    assert "All sign-up invariants hold." in run()
    assert ActivationToken.objects.count() == 1
