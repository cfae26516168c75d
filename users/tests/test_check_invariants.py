"""`manage.py check_invariants` passes on a healthy database and names every kind of broken row."""

from __future__ import annotations

import io
from collections.abc import Callable
from types import SimpleNamespace

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from users.models import ActivationToken, User
from users.tests.factories import ActivationTokenFactory, UserFactory

pytestmark = pytest.mark.django_db

INVARIANTS = (
    "pending users without any code",
    "pending users without a sign-up token",
    "codes without a user",
    "users with more than one live code",
    "activated users with an unused live code",
    "active users without activated_at",
    "used codes of never-activated users",
)


def run() -> str:
    out = io.StringIO()
    call_command("check_invariants", stdout=out, no_color=True)
    return out.getvalue()


def counts(report: str) -> dict[str, int]:
    """The report's `<count>  <invariant>` lines, as {invariant: count}."""
    found: dict[str, int] = {}
    for line in report.splitlines():
        count, _, name = line.strip().partition("  ")
        if count.isdigit():
            found[name] = int(count)
    return found


def test_a_healthy_database_passes() -> None:
    UserFactory()
    ActivationTokenFactory()
    ActivationTokenFactory.expired()
    report = run()  # no CommandError
    assert counts(report) == dict.fromkeys(INVARIANTS, 0)
    assert report.endswith("All sign-up invariants hold.\n")


def orphan_code() -> Callable[[], None]:
    """A code whose user row is gone. The foreign key is checked at COMMIT (deferred), so the row can exist
    inside the test's transaction; the returned clean-up deletes it before the test's constraint check."""
    token = ActivationTokenFactory()
    ActivationToken.objects.filter(pk=token.pk).update(user_id=token.user_id + 10_000)
    User.objects.filter(pk=token.user_id).delete()  # else it would be a pending user without any code
    return lambda: ActivationToken.objects.filter(pk=token.pk).delete()


BREAKAGES = {
    "pending users without any code": lambda: UserFactory(pending=True),
    "pending users without a sign-up token": lambda: ActivationTokenFactory(user__signup_token_hash=""),
    "codes without a user": orphan_code,
    "users with more than one live code": lambda: ActivationTokenFactory(user=ActivationTokenFactory().user),
    "activated users with an unused live code": lambda: ActivationTokenFactory(user=UserFactory()),
    "active users without activated_at": lambda: User.objects.filter(pk=UserFactory().pk).update(activated_at=None),
    "used codes of never-activated users": lambda: ActivationTokenFactory(used_at=timezone.now()),
}


@pytest.mark.parametrize(("name", "breakage"), [pytest.param(n, b, id=n) for n, b in BREAKAGES.items()])
def test_each_broken_invariant_fails_the_command_and_is_named(name: str, breakage: Callable[[], object]) -> None:
    UserFactory()  # a healthy row next to the broken one: only the broken one is counted
    clean_up = breakage()
    out = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("check_invariants", stdout=out, no_color=True)
    if callable(clean_up):
        clean_up()
    assert caught.value.returncode == 1
    assert str(caught.value) == "1 row(s) break the sign-up invariants"
    assert counts(out.getvalue()) == {**dict.fromkeys(INVARIANTS, 0), name: 1}
    assert "All sign-up invariants hold." not in out.getvalue()


def test_admin_activation_retires_live_codes(rf: object) -> None:
    """Activating a pending account by hand keeps the invariants: its live code stops working."""
    from django.contrib import admin

    from users.admin import UserAdmin

    token = ActivationTokenFactory()
    user = token.user
    user.is_active = True
    form = SimpleNamespace(changed_data=["is_active"])  # what the admin's change form reports
    UserAdmin(User, admin.site).save_model(rf.post("/"), user, form=form, change=True)  # type: ignore[attr-defined]
    token.refresh_from_db()
    assert token.expires_at <= timezone.now()
    assert user.activated_at is not None
    assert "All sign-up invariants hold." in run()
    assert ActivationToken.objects.count() == 1
