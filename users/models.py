"""The phone-number User, its SMS codes (activation, reset, phone change; keyed hashes only), every SMS sent."""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import connections, models
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

from users.names import validate_name
from users.phone import InvalidPhoneNumber, clean_phone, normalize_phone

CODE_DIGITS = 6


def keyed_hash(purpose: str, value: str) -> str:
    """HMAC-SHA256 of `value` with a key derived from SECRET_KEY and `purpose`, as 64 hex digits.

    Keyed, so a copy of the database alone does not let anyone test guesses offline; the purpose keeps
    a hash made for one use from being valid for another.
    """
    key = hashlib.sha256(f"waterbill.{purpose}:".encode() + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def seal_code(code: str) -> str:
    """`code` (CODE_DIGITS digits) encrypted for the SMS resend (users.services.redelivery): a fresh random
    nonce, then the code plus a pad drawn from HMAC-SHA256 of the nonce (keyed_hash, a key derived from
    SECRET_KEY), modulo 10**CODE_DIGITS: a one-time pad, so that the stored digits say nothing of the code
    without SECRET_KEY (docs/sms-gateways.md, "Delivery-aware failover")."""
    nonce = secrets.token_hex(16)
    return f"{nonce}:{(int(code) + _pad(nonce)) % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def open_sealed_code(sealed: str) -> str | None:
    """The code `seal_code` sealed, or None when `sealed` is not one. Not authenticated by itself: the caller
    checks the result against the code's keyed hash (another SECRET_KEY gives another code, which fails it)."""
    nonce, _, digits = sealed.partition(":")
    if len(nonce) != 32 or len(digits) != CODE_DIGITS or not digits.isdigit():
        return None
    return f"{(int(digits) - _pad(nonce)) % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def _pad(nonce: str) -> int:
    # 256 bits reduced modulo 10**6: the bias is below 2**-230.
    return int(keyed_hash("sms-resend-pad", nonce), 16) % 10**CODE_DIGITS


def local_minute(moment: datetime) -> str:
    """`moment` to the minute in the current time zone (settings.TIME_ZONE unless activated otherwise), as the
    admin shows every other time: rows are labelled in the zone of the columns beside them."""
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def validate_phone(value: str) -> None:
    """Model-field validator: `value` must be an accepted phone number (any spelling normalize_phone takes)."""
    clean_phone(value)


@functools.cache
def _request_query(alias: str) -> tuple[str, list[str], list[tuple[int, list[Any]]]]:
    """UserManager.for_request's SQL on database `alias` (parameters: the session's id, the user's), the fields'
    attribute names in its column order (then the session's state, 1 when live), and the converters of the
    columns that have any (on SQLite, datetimes are text)."""
    connection = connections[alias]
    fields = User._meta.concrete_fields
    quote = connection.ops.quote_name
    table = User._meta.db_table
    columns = ", ".join(f"{quote(table)}.{quote(field.column)}" for field in fields)
    key = quote(User._meta.pk.column)
    # Identifiers from the models, quoted by the backend; the values are parameters.
    sessions = quote(Session._meta.db_table)
    ended = f"{sessions}.{quote('ended_at')}"
    live = f"CASE WHEN {sessions}.{quote('id')} IS NOT NULL AND {ended} IS NULL THEN 1 ELSE 0 END"
    sql = (
        f"SELECT {columns}, {live} FROM {quote(table)} LEFT JOIN {sessions} ON {sessions}.{quote('id')} = %s "  # noqa: S608
        f"AND {sessions}.{quote('user_id')} = {quote(table)}.{key} WHERE {quote(table)}.{key} = %s"
    )
    converters = []
    for index, field in enumerate(fields):
        found = connection.ops.get_db_converters(field.get_col(table)) + field.get_db_converters(connection)  # type: ignore[attr-defined]
        if found:
            converters.append((index, found))
    return sql, [field.attname for field in fields], converters


class UserManager(BaseUserManager["User"]):
    """Creates users from any accepted phone spelling, stored as E.164."""

    use_in_migrations = True

    def _create(self, phone: str, password: str | None, **extra: Any) -> User:
        user = self.model(phone=normalize_phone(phone), **extra)
        user.set_password(password)  # None gives an unusable password
        user.save(using=self._db)
        return user

    def create_user(self, phone: str, password: str | None = None, **extra: Any) -> User:
        """A pending user (inactive until activation unless `is_active=True` is passed)."""
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create(phone, password, **extra)

    def create_superuser(self, phone: str, password: str | None = None, **extra: Any) -> User:
        """An active staff superuser (what `manage.py createsuperuser` makes)."""
        extra.update(is_staff=True, is_superuser=True, is_active=True)
        extra.setdefault("activated_at", timezone.now())
        return self._create(phone, password, **extra)

    def for_request(self, pk: int | str, session: int | None = None) -> tuple[User | None, bool]:
        """The user whose primary key is `pk` (None if there is none), and whether its session `session` is
        live (one of this user's, not ended; True when no session is given): what every authenticated request
        loads.

        One SELECT of every column and of the session's state, its SQL and the columns' converters built once
        per database: the ORM's `get(pk=...)` compiles the same query for every request, 450 µs of CPU on the
        machine of docs/performance.md against 175 µs this way. Same row, same model instance (`Model.from_db`).
        """
        sql, names, converters = _request_query(self.db)
        connection = connections[self.db]
        with connection.cursor() as cursor:
            cursor.execute(sql, [session if session is not None else -1, pk])
            row = cursor.fetchone()
        if row is None:
            return None, False
        *values, live = row
        values = list(values)
        for index, field_converters in converters:
            for convert in field_converters:
                values[index] = convert(values[index], None, connection)
        return self.model.from_db(self.db, names, values), session is None or bool(live)

    def get_by_natural_key(self, username: str | None) -> User:
        """Look a user up by phone in any accepted spelling (login forms, createsuperuser)."""
        try:
            phone = normalize_phone(username or "")
        except InvalidPhoneNumber:
            raise self.model.DoesNotExist from None
        return self.get(phone=phone)


class User(AbstractBaseUser, PermissionsMixin):
    """An account identified by its mobile phone number (E.164), inactive until its SMS code is entered."""

    phone = models.CharField(
        _("phone number"),
        max_length=16,
        unique=True,
        validators=[validate_phone],
        help_text=_("E.164, e.g. +237670123456"),
    )
    first_name = models.CharField(_("first name"), max_length=150, blank=True, validators=[validate_name])
    last_name = models.CharField(_("last name"), max_length=150, blank=True, validators=[validate_name])
    is_active = models.BooleanField(_("active"), default=False)
    is_staff = models.BooleanField(_("staff status"), default=False)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    # Set when the support desk disables the account (the admin's action): a pending sign-up so disabled can
    # no longer be activated, replaced or purged; the number stays blocked until an administrator re-enables it.
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True, editable=False)
    # Set when the customer deletes the account (DELETE /users/me/): disabled at once, erased after
    # ACCOUNT_DELETION_GRACE_DAYS by `erase_deleted_accounts` unless the support desk restores it.
    deletion_requested_at = models.DateTimeField(_("deletion asked at"), null=True, blank=True, editable=False)
    # The privacy notice accepted at sign-up (PRIVACY_NOTICE_VERSION, when set): which, in which language, when.
    privacy_notice_version = models.CharField(_("privacy notice accepted"), max_length=32, blank=True, editable=False)
    privacy_notice_language = models.CharField(_("in"), max_length=8, blank=True, editable=False)
    privacy_notice_accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True, editable=False)
    # The language of every SMS sent to this user: the sign-up's, editable on /users/me/.
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE)
    # Hash of the secret the sign-up answered to its client: only that client may activate the account.
    signup_token_hash = models.CharField(max_length=64, blank=True, editable=False)
    # Carried in every JWT (claim `sv`): bumping it ends every session of the account at once.
    session_version = models.PositiveIntegerField(_("session version"), default=0, editable=False)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.phone

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Record `activated_at` the first time the account is saved active, however that happens (API, admin).

        A save of every field (no `update_fields`) never writes `session_version`: a row loaded before the
        sessions were ended must not bring the old version back (only users.services.sessions changes it).
        """
        if self.pk is not None and not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name != "session_version"
            ]
        if self.is_active and self.activated_at is None:
            # Without it, an account activated by an admin and later disabled would look "pending" again,
            # and a new sign-up could take it over. The sign-up's secret has served its purpose too.
            self.activated_at = timezone.now()
            self.signup_token_hash = ""
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "activated_at", "signup_token_hash"}
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        """First and last name, or the phone number when both are empty."""
        return f"{self.first_name} {self.last_name}".strip() or self.phone

    def _get_session_auth_hash(self, secret: str | None = None) -> str:
        """Django's session hash (admin cookies), over the password and the session version: ending the sessions
        (users.services.sessions) ends the admin's cookie sessions of the account too."""
        return salted_hmac(
            "users.User.get_session_auth_hash",
            f"{self.password}:{self.session_version}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def get_short_name(self) -> str:
        """The first name, or the phone number."""
        return self.first_name or self.phone

    @property
    def is_pending(self) -> bool:
        """Signed up, never activated, not disabled (an account an administrator disabled is not pending)."""
        return not self.is_active and self.activated_at is None and self.disabled_at is None

    @staticmethod
    def hash_signup_token(token: str) -> str:
        """The stored form of a sign-up token (keyed hash)."""
        return keyed_hash("signup-token", token)

    def signup_token_matches(self, token: str) -> bool:
        """Constant-time check of `token` against this pending sign-up's secret."""
        return bool(self.signup_token_hash) and hmac.compare_digest(
            self.signup_token_hash, self.hash_signup_token(token)
        )


_Code = TypeVar("_Code", bound=models.Model)


class SentCodeQuerySet(models.QuerySet[_Code]):
    """Queries on the codes sent by SMS (activation, reset, phone change)."""

    def retire(self, now: datetime) -> int:
        """Make the live ones of these codes unusable from `now` (their expiry moved to it; the rows stay, for
        the admin's history). Returns how many."""
        return self.filter(used_at__isnull=True, expires_at__gt=now).update(expires_at=now)


class ActivationTokenQuerySet(SentCodeQuerySet["ActivationToken"]):
    """Queries on activation codes."""

    def live(self, now: datetime) -> ActivationTokenQuerySet:
        """Codes that can still be entered at `now`: unused, unexpired, attempts left."""
        return self.filter(used_at__isnull=True, expires_at__gt=now, attempts__lt=settings.ACTIVATION_MAX_ATTEMPTS)


class ActivationToken(models.Model):
    """One SMS activation code, stored only as a keyed hash.

    A new code supersedes the user's earlier ones by expiring them (the rows stay, for the admin's view
    of a user's history). Only the newest live row of a user can be used.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activation_tokens", verbose_name=_("user")
    )
    code_hash = models.CharField(_("code hash"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    objects = ActivationTokenQuerySet.as_manager()
    #: The clear code, on the instance create_token returns only (never a field, never saved).
    code: str
    #: The record of the SMS that carried it, on the instance users.services.delivery.issue_activation_code returns.
    sms_record: SmsRecord

    class Meta:
        verbose_name = _("activation code")
        verbose_name_plural = _("activation codes")
        ordering = ["-created_at", "-id"]
        get_latest_by = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="activation_user_recent")]

    def __str__(self) -> str:
        return f"{self.user_id}@{local_minute(self.created_at)}"

    @staticmethod
    def generate_code() -> str:
        """A uniformly random 6-digit code from `secrets` (leading zeros kept)."""
        return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"

    @staticmethod
    def hash_code(code: str) -> str:
        """HMAC-SHA256 of `code` keyed with a secret derived from SECRET_KEY, as 64 hex digits.

        Keyed, so a copy of the database alone does not let anyone try the million codes offline.
        """
        return keyed_hash("activation-code", code)

    @classmethod
    def create_token(cls, user: User, code: str | None = None, *, now: datetime | None = None) -> ActivationToken:
        """Save a new code for `user`, valid for ACTIVATION_CODE_TTL from `now`, and return the row.

        With no `code`, one is generated. The clear code is kept only on the returned instance
        (`token.code`, never saved) so the caller can send it.
        """
        now = now or timezone.now()
        code = code if code is not None else cls.generate_code()
        token = cls.objects.create(
            user=user, code_hash=cls.hash_code(code), created_at=now, expires_at=now + settings.ACTIVATION_CODE_TTL
        )
        token.code = code
        return token

    def matches(self, code: str) -> bool:
        """Constant-time comparison of `code` with the stored hash."""
        return hmac.compare_digest(self.code_hash, self.hash_code(code))

    def is_expired(self, now: datetime) -> bool:
        """Past its expiry time at `now`."""
        return now >= self.expires_at


class VerificationCodeQuerySet(SentCodeQuerySet["VerificationCode"]):
    """Queries on password-reset and phone-change codes."""


class VerificationCode(models.Model):
    """A code sent by SMS to prove a phone for an account operation other than activation.

    Password reset: sent to the account's number. Phone change: sent to the new number (`phone`), which
    replaces the account's once the code is entered. Stored as a keyed hash, like activation codes.
    """

    class Purpose(models.TextChoices):
        PASSWORD_RESET = "password_reset", _("password reset")
        PHONE_CHANGE = "phone_change", _("phone change")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verification_codes", verbose_name=_("user")
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    phone = models.CharField(_("sent to"), max_length=16)
    code_hash = models.CharField(_("code hash"), max_length=64)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("wrong attempts"), default=0)
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    objects = VerificationCodeQuerySet.as_manager()

    class Meta:
        verbose_name = _("verification code")
        verbose_name_plural = _("verification codes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "purpose", "-created_at"], name="verification_user_recent")]

    def __str__(self) -> str:
        return f"{self.purpose} {self.user_id}@{local_minute(self.created_at)}"

    @staticmethod
    def hash_code(purpose: str, code: str) -> str:
        """Keyed hash of `code`, distinct per purpose (a reset code cannot stand for a phone-change one)."""
        return keyed_hash(f"{purpose}-code", code)

    def matches(self, code: str) -> bool:
        """Constant-time comparison of `code` with the stored hash."""
        return hmac.compare_digest(self.code_hash, self.hash_code(self.purpose, code))

    def is_expired(self, now: datetime) -> bool:
        """Past its expiry time at `now`."""
        return now >= self.expires_at


class SmsRecord(models.Model):
    """One SMS send, whatever became of it, kept for the admin and the app: what for, to whom, in which
    language, through which provider (its message id, the segments billed) and its status since.

    Never the code in clear nor the text: a code that may have to be sent once more through another provider
    (users.services.redelivery) is kept sealed (`sealed_code`, models.seal_code) only until a receipt says
    delivered, the resend is made, or the code expires, then erased. A resend points at the record it repeats
    (`retry_of`). A send inside an operation that rolled back (a failed sign-up) is written after the
    rollback, outside its transaction (users.services.delivery.record_failure). Statuses only move forward
    (`advances`); rows older than SMS_RECORD_RETENTION_DAYS are deleted by `purge_sms_records`.
    """

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("accepted")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        UNDELIVERED = "undelivered", _("undelivered")
        FAILED = "failed", _("failed")
        # The refusals of the send itself (nothing reached the provider, or it refused the number).
        PHONE_REJECTED = "phone_rejected", _("number rejected")
        SMS_UNAVAILABLE = "sms_unavailable", _("not sent")

    #: How far along each status is: a receipt moves a record only to a higher rank. Delivered outranks the
    #: failures: a carrier may still deliver after a first "undelivered", never the other way round.
    RANK: ClassVar[dict[str, int]] = {
        Status.ACCEPTED: 0,
        Status.SENT: 1,
        Status.UNDELIVERED: 2,
        Status.FAILED: 2,
        Status.DELIVERED: 3,
        Status.PHONE_REJECTED: 3,
        Status.SMS_UNAVAILABLE: 3,
    }

    phone = models.CharField(_("phone number"), max_length=16)
    purpose = models.CharField(_("purpose"), max_length=20)
    language = models.CharField(_("language"), max_length=8, blank=True)
    provider = models.CharField(_("provider"), max_length=32, blank=True)
    provider_message_id = models.CharField(_("provider message id"), max_length=64, blank=True)
    segments = models.PositiveSmallIntegerField(_("segments"), default=0)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices)
    provider_code = models.CharField(_("provider code"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("status at"), default=timezone.now)
    sealed_code = models.CharField(_("sealed code"), max_length=48, blank=True, editable=False)
    retry_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="retries", verbose_name=_("resend of")
    )

    class Meta:
        verbose_name = _("SMS")
        verbose_name_plural = _("SMS")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["provider", "provider_message_id"], name="sms_record_provider_id"),
            models.Index(fields=["phone", "-created_at"], name="sms_record_phone_recent"),
            # The few records that may still be sent again, for the timeout command's scan every minute.
            models.Index(fields=["created_at"], name="sms_record_resendable", condition=~models.Q(sealed_code="")),
            # A provider's newest final receipts, for its delivered ratio (users.services.sms_stats).
            models.Index(
                fields=["provider", "-updated_at"],
                name="sms_record_receipts",
                condition=models.Q(status__in=["delivered", "undelivered", "failed"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.purpose} {local_minute(self.created_at)}"

    def advances(self, status: str) -> bool:
        """Whether `status` moves this record forward (a later stage than its own; unknown statuses never do)."""
        return status in self.RANK and self.RANK[status] > self.RANK.get(self.status, 0)


class AuditEvent(models.Model):
    """One security-relevant action on an account: who, what, when, from which network, in which request.

    Never a code, a password or a token; the client address is masked (waterbill.throttling.mask_address) and
    the account is a reference only, so erasing an account's personal data leaves its events without them.
    Written by users.services.audit.record, in the action's own transaction: an action rolled back leaves
    no event.
    """

    class Kind(models.TextChoices):
        SIGNUP = "signup", _("sign-up")
        ACTIVATION = "activation", _("activation")
        CLAIM = "claim", _("sign-up claimed with its code")
        LOGIN = "login", _("login")
        LOGIN_FAILED = "login_failed", _("failed login")
        LOGOUT = "logout", _("logout")
        REFRESH_REUSE = "refresh_reuse", _("used refresh token presented again")
        PASSWORD_CHANGE = "password_change", _("password change")
        PASSWORD_RESET = "password_reset", _("password reset")
        PHONE_CHANGE = "phone_change", _("phone number change")
        ADMIN_ACTION = "admin_action", _("action of the support desk")
        DELETION = "deletion", _("account deletion asked")
        SESSION_END = "session_end", _("session ended by its owner")
        RESTORE = "restore", _("account restored")
        TEST_NUMBER = "test_number", _("store-review test number used")

    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    user = models.ForeignKey(
        User, verbose_name=_("account"), null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    actor = models.ForeignKey(
        User, verbose_name=_("by staff member"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address = models.CharField(_("client network"), max_length=64, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="audit_event_user_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {local_minute(self.created_at)}"


class Session(models.Model):
    """One signed-in device: what an activation, a login or a claim opens, and every refresh of its tokens keeps.

    Its id is in both tokens of each pair it issues (the `sid` claim, users.tokens): once `ended_at` is set,
    they are refused at their next use (users.authentication, users.tokens.rotate). The device is the app's
    `device_name`, else the User-Agent; the address is the client's network only (as the audit trail keeps it).
    """

    user = models.ForeignKey(User, verbose_name=_("account"), on_delete=models.CASCADE, related_name="sessions")
    device = models.CharField(_("device"), max_length=64)
    address = models.CharField(_("client network"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["-last_used_at", "-id"]
        indexes = [models.Index(fields=["user", "ended_at"], name="session_user_live")]

    def __str__(self) -> str:
        return f"{self.device} {local_minute(self.created_at)}"
