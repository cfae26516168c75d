"""Django admin for the support desk: users (status, codes but never hashes, locks, resend), every SMS, SMS use."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import SEARCH_VAR
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.text import capfirst
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from sms import budget
from users.backends import client_address
from users.models import ActivationToken, AuditEvent, Session, SmsRecord, User, VerificationCode, local_minute
from users.phone import MAX_INPUT_LENGTH, clean_phone
from users.services import AccountDeletionService, ActivationService, audit, sms_stats, support
from users.services.deletion import erase_after
from users.services.delivery import send_notice
from users.services.recovery import end_old_number
from users.services.sessions import disable_account, end_sessions
from users.texts import phone_changed_text
from waterbill.errors import DomainError


def staff_action(request: HttpRequest, user: User, action: str) -> None:
    """The audit event of a support-desk action on `user`, by the staff member logged in."""
    actor = request.user if isinstance(request.user, User) else None
    audit.record(audit.Kind.ADMIN_ACTION, user=user, actor=actor, client_ip=client_address(request), detail=action)


def each_locked(request: HttpRequest, queryset: QuerySet[User], change: Callable[[User], None], action: str) -> int:
    """Apply `change` to each selected account in a transaction of its own, its row locked (the lock a refresh
    takes), with the staff member's audit event; how many."""
    count = 0
    for pk in queryset.values_list("pk", flat=True):
        with transaction.atomic():
            user = User.objects.select_for_update().get(pk=pk)
            change(user)
            staff_action(request, user, action)
        count += 1
    return count


class PhoneFormField(forms.CharField):
    """A phone number in any spelling the API accepts (`+237 6 70 12 34 56`, `00237670123456`, `670123456`),
    cleaned to E.164 by users.phone.clean_phone. As long as users.phone accepts: the model field's 16 would
    cut a spaced number off as it is typed."""

    def __init__(self, **kwargs: Any) -> None:
        phone = User._meta.get_field("phone")
        kwargs.setdefault("label", capfirst(phone.verbose_name))
        kwargs.setdefault("help_text", _("Any spelling, e.g. 6 70 12 34 56 or +237 6 70 12 34 56."))
        super().__init__(max_length=MAX_INPUT_LENGTH, **kwargs)

    def clean(self, value: Any) -> str:
        return clean_phone(super().clean(value))


class UserCreationAdminForm(AdminUserCreationForm):
    phone = PhoneFormField()

    class Meta:
        model = User
        fields = ("phone", "first_name", "last_name")


class PhoneAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form: any phone spelling the API accepts (users.backends.PhoneBackend normalises it),
    the API's failed-login limits, and what they refuse shown on the form instead of crashing it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        username = cast(forms.CharField, self.fields["username"])  # Django's UsernameField
        username.max_length = MAX_INPUT_LENGTH  # Django sets the model field's 16 (no validator to match)
        username.widget.attrs["maxlength"] = str(MAX_INPUT_LENGTH)

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


class UserChangeAdminForm(UserChangeForm):
    phone = PhoneFormField()

    class Meta:
        model = User
        fields = "__all__"


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on the user's page that nobody adds, edits or deletes there: history, not forms."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ActivationTokenInline(ReadOnlyInline):
    """A user's codes, read-only; the hash is not shown."""

    model = ActivationToken
    fields = ("created_at", "expires_at", "attempts", "used_at")
    readonly_fields = fields
    ordering = ("-created_at",)


class SessionInline(ReadOnlyInline):
    """A user's signed-in devices, read-only, live ones only (the action "End every session" ends them)."""

    model = Session
    fields = ("device", "created_at", "last_used_at", "address")
    readonly_fields = fields
    verbose_name_plural = _("signed-in devices")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Session]:
        return super().get_queryset(request).filter(ended_at__isnull=True)


class VerificationCodeInline(ReadOnlyInline):
    """A user's password-reset and phone-change codes, read-only; the hash is not shown."""

    model = VerificationCode
    fields = ("purpose", "phone", "created_at", "expires_at", "attempts", "used_at")
    readonly_fields = fields


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


def delivery_rows(now: datetime) -> list[dict[str, str]]:
    """Each provider's SMS of the 24 hours before `now` as the admin shows them (users.services.sms_stats):
    sent, delivered, not delivered, waiting for a receipt, refused, and the delivered ratio ("-" without any
    receipt)."""
    return [
        {
            "provider": row.provider,
            "sent": str(row.sent),
            "delivered": str(row.delivered),
            "not_delivered": str(row.not_delivered),
            "waiting": str(row.waiting),
            "refused": str(row.refused),
            "ratio": "-" if row.ratio is None else _("%(percent)d%%") % {"percent": round(row.ratio * 100)},
        }
        for row in sms_stats.last_day(now).values()
    ]


def short_datetime(moment: datetime | None) -> str:
    """`moment` in the current time zone and the language's short format (`02/12/2026 19:11` in French): the
    lists' date columns, so that the lists fit 1280 px (the long format, `2 décembre 2026 19:11`, cut them)."""
    if moment is None:
        return "-"
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def date_column(model: type[Any], name: str) -> Callable[[Any, Any], str]:
    """A list column showing the date field `name` of `model` by `short_datetime`, sortable, under its name."""

    @admin.display(description=model._meta.get_field(name).verbose_name, ordering=name)
    def column(model_admin: Any, obj: Any) -> str:
        return short_datetime(getattr(obj, name))

    return column


#: What a support agent types for a number: digits, maybe a leading +, and the separators people write.
PHONE_QUERY = re.compile(r"\+?[\d\s().-]*\d[\d\s().-]*")


class PhoneSearchMixin:
    """Search where a phone-looking query is one number, not words: normalised (users.phone.clean_phone) and
    matched exactly on `phone`, so `00237699001122`, `6 99 00 11 22` and `+237 699 00 11 22` find the same
    account and nothing else. A phone-looking query that is no whole number (`001122`) matches the numbers
    that contain its digits, in that order. Any other query goes to Django's search (names, by substring).
    `phone_field` names the number's field (a lookup path for a related account's)."""

    phone_field = "phone"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        term = search_term.strip()
        if PHONE_QUERY.fullmatch(term):
            try:
                return queryset.filter(**{self.phone_field: clean_phone(term)}), False
            except ValidationError:
                return queryset.filter(**{f"{self.phone_field}__contains": re.sub(r"\D", "", term)}), False
        return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]


@admin.register(SmsRecord)
class SmsRecordAdmin(PhoneSearchMixin, admin.ModelAdmin):
    """Every SMS, newest first: which number, what for, through which provider, and what became of it; above
    them, this hour's use of each SMS allowance and each provider's delivery over the last 24 hours
    (admin/users/smsrecord/change_list.html)."""

    list_display = ("created", "phone", "purpose", "status", "provider", "provider_code", "segments")
    list_filter = ("status", "provider", "purpose")
    search_fields = ("phone",)
    date_hierarchy = "created_at"
    created = date_column(SmsRecord, "created_at")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The list, with `sms_allowances` (allowance_rows) and `sms_delivery` (delivery_rows) for the template."""
        now = timezone.now()
        context = {
            **(extra_context or {}),
            "sms_allowances": allowance_rows(now),
            "sms_delivery": delivery_rows(now),
        }
        return super().changelist_view(request, extra_context=context)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(PhoneSearchMixin, admin.ModelAdmin):
    """The audit trail, read-only: what was done to which account, by whom (a staff member, for the support
    desk's actions), from which network, in which request (the id in the logs). Search by the account's number."""

    list_display = ("created", "kind", "user", "actor", "detail", "address", "request_id")
    list_filter = ("kind",)
    list_select_related = ("user", "actor")
    search_fields = ("user__phone",)
    phone_field = "user__phone"
    date_hierarchy = "created_at"
    created = date_column(AuditEvent, "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retention is purge_audit_events' job, not a click's


#: Every path of wrong guesses (users.services.support.GUESS_PATHS), as the support desk reads them.
GUESS_PATH_LABELS = {
    "login": _("login"),
    "activation": _("activation"),
    "claim": _("claims"),
    "reset": _("password reset"),
    "phone-change": _("phone change"),
}


#: SMS shown on a user's page (the newest; a link leads to the rest).
SMS_SHOWN = 5

#: Accounts the "locked" filter looks at, at most (newest first): each costs a look per path in the cache.
LOCKED_FILTER_SCAN = 500


class StatusFilter(admin.SimpleListFilter):
    """Pending, active, disabled (from the row), or locked (from the shared cache).

    "Locked" (any path's allowance from every address spent, users.services.support.is_locked) cannot be a
    query: the locks are cache keys, which cannot be listed. It is evaluated over the accounts the list would
    show without it (the filters before it and the search), the LOCKED_FILTER_SCAN newest of them; past that
    many the page says so. Locks per address alone are not shown (they end within their refill interval)."""

    title = _("status")
    parameter_name = "status"

    def __init__(self, request: HttpRequest, params: dict[str, Any], model: Any, model_admin: Any) -> None:
        super().__init__(request, params, model, model_admin)
        self.model_admin = model_admin  # its search narrows the accounts "locked" looks at

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("pending", _("pending")),
            ("active", _("active")),
            ("disabled", _("disabled")),
            ("locked", _("locked")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any] | None:
        value = self.value()
        if value == "pending":
            return queryset.filter(support.PENDING)
        if value == "active":
            return queryset.filter(is_active=True)
        if value == "disabled":
            return queryset.filter(is_active=False).exclude(support.PENDING)
        if value == "locked":
            return self._locked(request, queryset)
        return queryset

    def _locked(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        shown = request.GET.get(self.parameter_name) == "locked"  # not when Django counts each choice's rows
        searched, _duplicates = self.model_admin.get_search_results(request, queryset, request.GET.get(SEARCH_VAR, ""))
        candidates = list(searched.order_by("-date_joined")[: LOCKED_FILTER_SCAN + 1])
        if len(candidates) > LOCKED_FILTER_SCAN and shown:
            messages.warning(
                request,
                gettext("Locked: only the %(count)d newest accounts were checked; narrow the list (search, filters).")
                % {"count": LOCKED_FILTER_SCAN},
            )
        try:
            return queryset.filter(pk__in=support.locked_among(candidates[:LOCKED_FILTER_SCAN], timezone.now()))
        except DomainError:
            if shown:
                messages.error(request, gettext("Locks cannot be listed: the shared cache does not answer."))
            return queryset.none()


@admin.register(User)
class UserAdmin(PhoneSearchMixin, DjangoUserAdmin):
    """Accounts by phone number. The change page (admin/users/user/change_form.html) leads with what the support
    desk needs: the account, then its wrong guesses and failed SMS, then its codes (the inlines), and has a
    button for each one-account action (lift the locks, resend the code); permissions come last, folded."""

    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_password_form = PasswordSetAdminForm
    list_display = ("phone", "first_name", "last_name", "status", "language", "joined", "activated")
    # Status last: its "locked" choice looks at the accounts the others leave (StatusFilter).
    list_filter = ("language", "is_staff", StatusFilter)
    search_fields = ("phone", "first_name", "last_name")
    ordering = ("-date_joined",)
    joined = date_column(User, "date_joined")
    activated = date_column(User, "activated_at")
    readonly_fields = (
        "status",
        "date_joined",
        "activated_at",
        "disabled_at",
        "last_login",
        "wrong_guesses_left",
        "sms_history",
    )
    inlines = [ActivationTokenInline, VerificationCodeInline, SessionInline]
    actions = [
        "resend_activation_code",
        "lift_locks",
        "end_all_sessions",
        "disable_accounts",
        "restore_deleted_accounts",
    ]
    #: The change page shows the codes (the inlines) after the first CODES_AFTER fieldsets.
    CODES_AFTER = 2
    fieldsets = (
        (None, {"fields": ("status", "phone", "first_name", "last_name", "language")}),
        (_("Wrong guesses and SMS"), {"fields": ("wrong_guesses_left", "sms_history")}),
        (
            _("Account"),
            {"fields": ("is_active", "password", "date_joined", "activated_at", "disabled_at", "last_login")},
        ),
        (
            _("Permissions"),
            {"classes": ("collapse",), "fields": ("is_staff", "is_superuser", "groups", "user_permissions")},
        ),
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

    def get_urls(self) -> list[URLPattern]:
        """The change page's buttons: POST-only, CSRF-checked views that run the list's action on one account."""
        one = [
            path(f"<path:object_id>/{slug}/", self.admin_site.admin_view(self._one_account(action)), name=name)
            for slug, action, name in (
                ("lift-locks", UserAdmin.lift_locks, "users_user_lift_locks"),
                ("resend-code", UserAdmin.resend_activation_code, "users_user_resend_code"),
            )
        ]
        return one + super().get_urls()  # before Django's catch-all "<path:object_id>/"

    def _one_account(
        self, action: Callable[[UserAdmin, HttpRequest, QuerySet[User]], None]
    ) -> Callable[..., HttpResponse]:
        """A view running `action` (a list action) on the account of the URL, then back to its page."""

        def view(request: HttpRequest, object_id: str) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            user = self.get_object(request, unquote(object_id))
            if user is None:
                raise Http404
            if not self.has_change_permission(request, user):
                raise PermissionDenied
            action(self, request, User.objects.filter(pk=user.pk))
            return HttpResponseRedirect(reverse("admin:users_user_change", args=[user.pk]))

        return view

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        """The page, with `codes_after` (CODES_AFTER) for the template."""
        context = {**(extra_context or {}), "codes_after": self.CODES_AFTER}
        return super().change_view(request, object_id, form_url, extra_context=context)

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

    def log_addition(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """Django's admin log, and the account's audit trail: created by the support desk."""
        staff_action(request, obj, "create")
        return super().log_addition(request, obj, message)

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        """Django's admin log, and the account's audit trail: the names of the fields the support desk changed
        (never their values), or "password" when it set one."""
        entries = message if isinstance(message, list) else []
        changed = [name for entry in entries if "changed" in entry for name in entry["changed"].get("fields", [])]
        staff_action(request, obj, "change: " + (", ".join(changed) if changed else "password"))
        return super().log_change(request, obj, message)

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
        if obj.deletion_requested_at is not None:
            return gettext("deleted by its owner: erased after %(date)s") % {
                "date": local_minute(erase_after(obj.deletion_requested_at))
            }
        return str(_("active")) if obj.is_active else str(_("disabled"))

    @admin.display(description=_("Wrong guesses left"))
    def wrong_guesses_left(self, obj: User) -> str:
        """What each path has left for this number from every address, and when a spent one refills."""
        try:
            states = support.guess_states(obj, timezone.now())
        except DomainError:
            return gettext("unknown (the shared cache does not answer)")
        parts = []
        for state in states:
            label = GUESS_PATH_LABELS[state.guesses.path]
            if state.lock is None:
                parts.append(gettext("%(path)s: %(left)d left") % {"path": label, "left": state.left})
            else:
                parts.append(
                    gettext("%(path)s: locked for %(seconds)d s") % {"path": label, "seconds": state.lock.retry_after}
                )
        return "; ".join(parts)

    @admin.display(description=_("SMS history"))
    def sms_history(self, obj: User) -> str:
        """The newest SMS to this account's number with their statuses, and a link to all of them."""
        newest = list(SmsRecord.objects.filter(phone=obj.phone)[:SMS_SHOWN])
        if not newest:
            return gettext("none to this number")
        lines = format_html_join(
            "",
            "<div>{} · {} · {} · {} ({})</div>",
            (
                (local_minute(r.created_at), r.purpose, r.get_status_display(), r.provider or "-", r.provider_code)
                for r in newest
            ),
        )
        link = reverse("admin:users_smsrecord_changelist") + "?" + urlencode({SEARCH_VAR: obj.phone})
        everything = gettext("All SMS to this number")
        return format_html('{}<a href="{}">{}</a>', lines, link, everything)

    @admin.action(description=_("Lift the wrong-guess locks"))
    def lift_locks(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Give each selected number its full allowance of wrong guesses again, on every path (a support call
        from an owner who proved who they are). Locks per address end by themselves within their interval."""
        count = 0
        for user in queryset:
            support.lift_locks(user)
            staff_action(request, user, "lift_locks")
            count += 1
        self.message_user(
            request,
            ngettext("Locks lifted for %(count)d account.", "Locks lifted for %(count)d accounts.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("End every session of the selected accounts"))
    def end_all_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Sign every device of each selected account out at once (a phone reported stolen): every access and
        refresh token is refused from the commit on; the customer logs in again."""
        count = each_locked(request, queryset, end_sessions, "end_sessions")
        self.message_user(
            request,
            ngettext("Sessions ended for %(count)d account.", "Sessions ended for %(count)d accounts.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Disable the selected accounts"))
    def disable_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Disable each selected account, pending sign-ups included (they can then no longer be activated):
        every session ends and every live code dies. Re-enable one by ticking "active" on its page."""
        now = timezone.now()
        count = each_locked(request, queryset, lambda user: disable_account(user, now), "disable")
        self.message_user(
            request,
            ngettext("%(count)d account disabled.", "%(count)d accounts disabled.", count) % {"count": count},
            messages.SUCCESS,
        )

    @admin.action(description=_("Restore the accounts their owners deleted"))
    def restore_deleted_accounts(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        """Keep each selected account whose deletion is pending (its owner called within the grace period): active
        again, without its sessions. Other accounts are left as they are."""
        actor = request.user if isinstance(request.user, User) else None
        restored = sum(
            AccountDeletionService.restore(user, actor=actor, client_ip=client_address(request)) for user in queryset
        )
        self.message_user(
            request,
            ngettext("%(count)d account restored.", "%(count)d accounts restored.", restored) % {"count": restored},
            messages.SUCCESS if restored else messages.WARNING,
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
                staff_action(request, user, "resend_code")
                sent += 1
        if sent:
            self.message_user(
                request,
                ngettext("%(count)d activation code sent.", "%(count)d activation codes sent.", sent) % {"count": sent},
                messages.SUCCESS,
            )
