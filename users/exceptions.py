"""What the account services refuse, each with its HTTP status and stable code (see waterbill.errors)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from waterbill.errors import DomainError, ValidationFailed


class PhoneTaken(DomainError):
    """The number belongs to an account that cannot be replaced (active, or pending with a live code)."""

    default_code = "phone_taken"
    default_detail = _("An account already uses this number. Log in, or reset your password.")
    field: str | None = "phone"

    @classmethod
    def pending(cls) -> PhoneTaken:
        """The same code, for a sign-up still waiting for its SMS code: the number's owner can claim it."""
        return cls(
            _(
                "A sign-up for this number is waiting for its SMS code. Enter the code you received with a "
                "new password, or try again in a few minutes."
            )
        )

    @classmethod
    def for_phone_change(cls) -> PhoneTaken:
        """The same code for a logged-in user asking to move to a number another account uses (on `new_phone`):
        logging in or resetting a password is not the way out, another number is."""
        return cls(_("This number already has an account. Choose another number."), field="new_phone")

    @classmethod
    def without_field(cls) -> PhoneTaken:
        """A phone change's confirmation, the number taken since the code was sent: a refusal of the request
        (it names no number), `{detail, code}`."""
        error = cls(_("This number was taken by another account since the code was sent. Choose another number."))
        error.field = None  # rendered as `{detail, code}` (waterbill.exception_handler)
        return error


class PhoneRejected(DomainError):
    """The SMS provider refused the number (not a reachable mobile, opted out, blocked...)."""

    default_code = "phone_rejected"
    default_detail = _("This number cannot receive our SMS. Check it, or use another mobile number.")
    field = "phone"


class SmsServiceUnavailable(DomainError):
    """The SMS could not be sent (provider down, unreachable, slow or misconfigured): nothing was kept."""

    status_code = 503
    default_code = "sms_unavailable"
    default_detail = _("The SMS service is temporarily unavailable. Please try again in a minute.")

    def __init__(self) -> None:
        super().__init__(retry_after=60)
        #: The provider may have sent it anyway (a read timeout): it still counts against the SMS budget.
        self.maybe_sent = False


class SmsBusy(DomainError):
    """Every SMS slot of this worker is taken by sends in flight (a slow provider): shed at once, nothing kept."""

    status_code = 503
    default_code = "sms_busy"
    default_detail = _("Many codes are being sent right now. Please try again in a few seconds.")

    def __init__(self) -> None:
        super().__init__(retry_after=5)


class ResendTooSoon(DomainError):
    """A code was sent to this number less than the cooldown ago."""

    status_code = 429
    default_code = "resend_too_soon"
    default_detail = _("A code was sent a moment ago. Please wait before asking for a new one.")


class ResendLimitReached(DomainError):
    """The hourly number of codes for this number is used up."""

    status_code = 429
    default_code = "resend_limit_reached"
    default_detail = _("Too many codes were sent to this number. Please try again later.")


class AccountNotPending(DomainError):
    """An activation code was asked for an account that is not waiting for activation."""

    default_code = "account_not_pending"
    default_detail = _("This account is not waiting for activation.")


class CodeInvalid(DomainError):
    """Wrong code (or no code was ever sent to this number)."""

    default_code = "code_invalid"
    default_detail = _("This code is not valid.")

    @classmethod
    def with_remaining(cls, remaining: int) -> CodeInvalid:
        """The error for a wrong guess, telling how many attempts the code has left."""
        message = ngettext_lazy(
            "This code is not valid. %(remaining)d attempt left.",
            "This code is not valid. %(remaining)d attempts left.",
            "remaining",
        ) % {"remaining": remaining}
        return cls(message)

    @classmethod
    def not_usable(cls) -> CodeInvalid:
        """The one refusal of a code anyone may try for any number (the password reset): wrong, expired, used,
        out of attempts, or never sent, all read alike, so that none tells the number has an account."""
        return cls(_("This code is not valid, or no longer: check it, or ask for a new one."))


class SignupInvalid(DomainError):
    """The sign-up token does not match the pending account: it was replaced by a newer sign-up, or never issued."""

    default_code = "signup_invalid"
    default_detail = _("This sign-up is no longer valid. Enter the SMS code with a new password, or sign up again.")


class CodeExpired(DomainError):
    """The code is past its lifetime."""

    default_code = "code_expired"
    default_detail = _("This code has expired. Ask for a new one.")


class CodeUsed(DomainError):
    """The code was already used. The default is activation's: the account is active."""

    default_code = "code_used"
    default_detail = _("This code has already been used. Your account is active: log in.")

    @classmethod
    def at_reset(cls) -> CodeUsed:
        """A password-reset code used meanwhile (another confirmation of the same code)."""
        return cls(_("This code has already been used to reset the password. Ask for a new code if needed."))

    @classmethod
    def at_phone_change(cls) -> CodeUsed:
        """A phone-change code used already: the account has moved to the number the code was sent to."""
        return cls(_("This code has already been used: your number has been changed."))


class CodeAttemptsExceeded(DomainError):
    """Too many wrong guesses: this code is dead."""

    default_code = "code_attempts_exceeded"
    default_detail = _("Too many wrong codes. Ask for a new code.")


class InvalidCredentials(DomainError):
    """Unknown phone or wrong password (deliberately indistinguishable)."""

    status_code = 401
    default_code = "invalid_credentials"
    default_detail = _("Wrong phone number or password.")


class AccountInactive(DomainError):
    """Right password, but the account was never activated: the app shows the activation screen."""

    status_code = 403
    default_code = "account_inactive"
    default_detail = _("This account is not activated yet. Enter the code we sent you by SMS.")


class AccountDisabled(DomainError):
    """Right password, but an administrator disabled the account."""

    status_code = 403
    default_code = "account_disabled"
    default_detail = _("This account has been disabled.")


class SessionNotFound(DomainError):
    """No live session of the caller's account has this id (ended already, another account's, or none)."""

    status_code = 404
    default_code = "session_not_found"
    default_detail = _("No session of yours has this id: it may have ended already.")


class AccountDeletionPending(AccountDisabled):
    """Right password, but the customer deleted the account: it is erased at the end of its grace period unless
    the support desk restores it (an AccountDisabled, so every caller that refuses a disabled account refuses
    this one)."""

    default_code = "account_deleted"
    default_detail = _(
        "This account is being deleted, as its owner asked. To keep it, call our customer service before it is erased."
    )


class ActivationLocked(DomainError):
    """Too many wrong codes for this account, across resends: activation is paused for a while."""

    status_code = 429
    default_code = "activation_locked"
    default_detail = _("Too many wrong codes for this account. Please try again later.")


class LoginLocked(DomainError):
    """Too many failed logins for this number or from this address: login is paused for a while."""

    status_code = 429
    default_code = "login_locked"
    default_detail = _("Too many failed login attempts. Please try again in a few minutes.")


class ServiceUnavailable(DomainError):
    """A store the service depends on failed (the database, the shared cache): nothing was kept; try again."""

    status_code = 503
    default_code = "service_unavailable"
    default_detail = _("The service is temporarily unavailable. Please try again in a moment.")

    def __init__(self) -> None:
        super().__init__(retry_after=30)


class LimitsUnavailable(ServiceUnavailable):
    """The shared cache holding the abuse limits is unreachable: refuse rather than run unlimited."""


class SessionEnded(DomainError):
    """The account's sessions were ended (password or number changed, account disabled) since this request's
    token was issued: the change it asks for is refused, as the token will be at its next use."""

    status_code = 401
    default_code = "session_ended"
    default_detail = _("This session has ended. Log in again.")


class CodeLocked(DomainError):
    """Too many wrong password-reset or phone-change codes for this account, across codes."""

    status_code = 429
    default_code = "code_locked"
    default_detail = _("Too many wrong codes for this account. Please try again later.")


class ReceiptRefused(DomainError):
    """A delivery receipt that does not prove it comes from the provider (signature or secret wrong or missing)."""

    status_code = 403
    default_code = "receipt_refused"
    default_detail = _("This delivery receipt is not signed by the provider.")


class ReceiptMalformed(DomainError):
    """A delivery receipt without the fields every receipt of its provider carries."""

    default_code = "receipt_malformed"
    default_detail = _("This is not a delivery receipt.")


def password_incorrect(field: str = "current_password") -> ValidationFailed:
    """The current password of a password or phone change (or of a deletion) is wrong: a field error on `field`."""
    return ValidationFailed({field: [(_("Your current password is not correct."), "password_incorrect")]})


def phone_unchanged() -> ValidationFailed:
    """A phone change to the account's own number: a field error on `new_phone`."""
    return ValidationFailed({"new_phone": [(_("This is already your number."), "phone_unchanged")]})
