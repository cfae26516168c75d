"""Django admin for accounts: users with their codes (never the hashes), a resend action, failed sends and SMS use."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from sms import budget
from users.models import ActivationToken, SmsFailure, User, VerificationCode
from users.phone import clean_phone
from users.services import ActivationService
from users.services.delivery import send_notice
from users.services.limits import CODE_PATHS, LOGIN, PHONE_CHANGE, Guesses
from users.services.recovery import end_old_number
from users.services.sessions import end_sessions
from users.texts import phone_changed_text
from waterbill.errors import DomainError


class PhoneCleaningMixin:
    """Admin forms take any accepted phone spelling and store E.164."""

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data["phone"])  # type: ignore[attr-defined]


class UserCreationAdminForm(PhoneCleaningMixin, AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("phone", "first_name", "last_name")


class PhoneAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form: the API's failed-login limits apply (users.backends.PhoneBackend), and what they
    refuse is shown on the form instead of crashing it."""

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except DomainError as exc:  # LoginLocked, LimitsUnavailable, AccountInactive, AccountDisabled
            raise ValidationError(str(exc), code=exc.code) from None


admin.site.login_form = PhoneAdminAuthenticationForm


class PasswordSetAdminForm(AdminPasswordChangeForm):
    """The admin's "set password" form: a password set by the support desk ends every session, as a reset does."""

    def save(self, commit: bool = True) -> Any:
        if not commit:
            return super().save(commit=False)
        # One transaction, on the user's row as it is now, locked (the lock a refresh takes): no window in which
        # the new password is set and the old sessions still work, and nothing stale written back.
        with transaction.atomic():
            self.user = User.objects.select_for_update().get(pk=self.user.pk)
            user = super().save(commit=False)  # sets (or unsets) the password on that row
            user.save(update_fields=["password"])
            end_sessions(user)
        return user


class UserChangeAdminForm(PhoneCleaningMixin, UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class ActivationTokenInline(admin.TabularInline):
    """A user's codes, read-only; the hash is not shown."""

    model = ActivationToken
    fields = ("created_at", "expires_at", "attempts", "used_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VerificationCodeInline(admin.TabularInline):
    """A user's password-reset and phone-change codes, read-only; the hash is not shown."""

    model = VerificationCode
    fields = ("purpose", "phone", "created_at", "expires_at", "attempts", "used_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


#: What each SMS allowance pays for, as the support desk reads it.
ALLOWANCE_LABELS = {
    budget.SIGNUPS: _("Sign-ups: codes to numbers not yet verified"),
    budget.ACCOUNTS: _("Active accounts: password reset and number change codes, notices"),
}


def allowance_rows(now: datetime) -> list[dict[str, str]] | None:
    """Each hourly SMS allowance's use at `now` as the admin shows it (label, "used / limit (percent)"), or
    None when the shared cache cannot tell."""
    spent = budget.usage(now)
    if spent is None:
        return None
    return [
        {
            "label": str(ALLOWANCE_LABELS[usage.allowance]),
            "value": _("%(used)d / %(limit)d (%(percent)d%%)")
            % {"used": usage.used, "limit": usage.limit, "percent": int(usage.share * 100)},
        }
        for usage in spent
    ]


@admin.register(SmsFailure)
class SmsFailureAdmin(admin.ModelAdmin):
    """Failed sends, newest first: which number, what for, and what the provider answered; above them, this
    hour's use of each SMS allowance (admin/users/smsfailure/change_list.html)."""

    list_display = ("created_at", "phone", "purpose", "outcome", "provider_code")
    list_filter = ("outcome", "purpose")
    search_fields = ("phone",)
    date_hierarchy = "created_at"

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The list, with `sms_allowances` (allowance_rows) for the template."""
        context = {**(extra_context or {}), "sms_allowances": allowance_rows(timezone.now())}
        return super().changelist_view(request, extra_context=context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


#: Every path of wrong guesses, as the support desk reads them.
GUESS_PATHS = (LOGIN, *CODE_PATHS)
GUESS_PATH_LABELS = {
    "login": _("login"),
    "activation": _("activation"),
    "claim": _("claims"),
    "reset": _("password reset"),
    "phone-change": _("phone change"),
}


def _guessed_number(user: User, guesses: Guesses) -> str:
    """The number `user`'s guesses on `guesses` are counted on: the account's, but for a phone change the
    number its newest phone-change code was sent to."""
    if guesses is PHONE_CHANGE:
        newest = (
            VerificationCode.objects.filter(user=user, purpose=VerificationCode.Purpose.PHONE_CHANGE)
            .order_by("-created_at", "-id")
            .values_list("phone", flat=True)
            .first()
        )
        return newest or user.phone
    return user.phone


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts by phone number."""

    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_password_form = PasswordSetAdminForm
    list_display = ("phone", "first_name", "last_name", "status", "date_joined", "activated_at")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("phone", "first_name", "last_name")
    ordering = ("-date_joined",)
    readonly_fields = (
        "date_joined",
        "activated_at",
        "disabled_at",
        "last_login",
        "wrong_guesses_left",
    )
    inlines = [ActivationTokenInline, VerificationCodeInline]
    actions = ["resend_activation_code", "lift_locks", "disable_accounts"]
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Important dates"), {"fields": ("date_joined", "activated_at", "disabled_at", "last_login")}),
        (_("Wrong guesses"), {"fields": ("wrong_guesses_left",)}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("phone", "first_name", "last_name", "usable_password", "password1", "password2"),
            },
        ),
    )

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[type[admin.options.InlineModelAdmin]]:
        """No code history on the add page: a new account has none."""
        return self.inlines if obj is not None else []

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """An account an administrator creates or activates is vouched for: no SMS code needed.

        Activating a pending account by hand retires its live codes, as activation by code does. Disabling an
        account ends its sessions at once (within the admin's transaction): re-enabling it later does not
        revive them.
        """
        if not change:
            obj.is_active = True
            super().save_model(request, obj, form, change)
        else:
            # Only what the form changed: the row may have moved on since the page was loaded (a reset, a
            # session ended), and a full save would write the page's stale password and fields back.
            before = User.objects.select_for_update().get(pk=obj.pk)
            concrete = {field.name for field in User._meta.concrete_fields}
            fields = [name for name in form.changed_data if name in concrete]
            if obj.is_active and before.disabled_at is not None:
                obj.disabled_at = None  # re-enabled by hand
                fields.append("disabled_at")
            if fields:
                obj.save(update_fields=fields)
            if before.is_active and not obj.is_active:
                end_sessions(obj)
            if "phone" in fields and before.phone != obj.phone:
                self._moved(obj, old_phone=before.phone)
        if obj.is_active:
            ActivationToken.objects.filter(user=obj).retire(timezone.now())

    @staticmethod
    def _moved(user: User, *, old_phone: str) -> None:
        """The support desk moved the account to another number: as a number change by code does, every session
        ends, the codes sent to the old number die, and the old number hears of it once the change commits."""
        now = timezone.now()
        end_old_number(user, now=now)
        transaction.on_commit(
            lambda: send_notice(user, phone=old_phone, purpose="phone_notice", text=phone_changed_text, now=now)
        )

    @admin.display(description=_("status"), ordering="is_active")
    def status(self, obj: User) -> str:
        """Pending (never activated), active, or disabled: at a glance."""
        if obj.is_pending:
            return str(_("pending"))
        return str(_("active")) if obj.is_active else str(_("disabled"))

    @admin.display(description=_("Wrong guesses left"))
    def wrong_guesses_left(self, obj: User) -> str:
        """What each path has left for this number from every address, and when a spent one refills."""
        now = timezone.now()
        parts = []
        for guesses in GUESS_PATHS:
            number = _guessed_number(obj, guesses)
            try:
                left, lock = guesses.state(number, now)
            except DomainError:
                return gettext("unknown (the shared cache does not answer)")
            label = GUESS_PATH_LABELS[guesses.path]
            if lock is None:
                parts.append(gettext("%(path)s: %(left)d left") % {"path": label, "left": left})
            else:
                parts.append(
                    gettext("%(path)s: locked for %(seconds)d s") % {"path": label, "seconds": lock.retry_after}
                )
        return "; ".join(parts)

    @admin.action(description=_("Lift the wrong-guess locks"))
    def lift_locks(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Give each selected number its full allowance of wrong guesses again, on every path (a support call
        from an owner who proved who they are). Locks per address end by themselves within their interval."""
        count = 0
        for user in queryset:
            for guesses in GUESS_PATHS:
                guesses.lift(_guessed_number(user, guesses))
            count += 1
        self.message_user(
            request,
            ngettext("Locks lifted for %(count)d account.", "Locks lifted for %(count)d accounts.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Disable the selected accounts"))
    def disable_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Disable each selected account, pending sign-ups included (they can then no longer be activated):
        every session ends and every live code dies. Re-enable one by ticking "active" on its page."""
        now = timezone.now()
        count = 0
        for pk in queryset.values_list("pk", flat=True):
            with transaction.atomic():
                user = User.objects.select_for_update().get(pk=pk)
                User.objects.filter(pk=pk).update(is_active=False, disabled_at=now)
                ActivationToken.objects.filter(user=user).retire(now)
                VerificationCode.objects.filter(user=user).retire(now)
                end_sessions(user)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d account disabled.", "%(count)d accounts disabled.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Resend activation code"))
    def resend_activation_code(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Send a new code to each selected pending account, through the same service as the API."""
        sent = 0
        for user in queryset:
            try:
                ActivationService.create_and_send_activation_code(user)
            except DomainError as exc:
                self.message_user(request, f"{user.phone}: {exc}", messages.ERROR)
            else:
                sent += 1
        if sent:
            self.message_user(
                request,
                ngettext("%(count)d activation code sent.", "%(count)d activation codes sent.", sent) % {"count": sent},
                messages.SUCCESS,
            )
