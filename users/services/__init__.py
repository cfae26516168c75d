"""The account flows, one module per flow: they decide and write, and never import DRF.

* `registration`: sign-up, all or nothing (AuthService.register, register_user);
* `activation`: a new activation code, and the code that activates (ActivationService);
* `login`: login and password change (AuthService.login, change_password);
* `recovery`: password reset and phone change (PasswordResetService, PhoneChangeService);
* `deletion`: the owner deletes the account, erased after a grace period (AccountDeletionService);
* `audit`: the audit trail, one event per security-relevant action;
* `delivery`: sending a code (availability, SMS budget, the gateway's outcome, failures recorded);
* `receipts`, `redelivery`, `sms_stats`: delivery receipts, a code sent once more when it did not arrive, and
  each provider's delivery (the operator's figures, the failover order);
* `limits`: codes sent per number, and wrong guesses (passwords and codes), one mechanism.

The classes below are the names the views, the admin and the seed's tests use. Every flow looks the
gateway up as `users.services.get_sms_gateway` at call time, so patching that name reaches every send.
"""

from __future__ import annotations

from sms import get_sms_gateway
from users.services import activation, deletion, recovery, registration
from users.services import login as login_flow
from users.services.login import change_password
from users.services.registration import Registration

__all__ = [
    "AccountDeletionService",
    "ActivationService",
    "AuthService",
    "PasswordResetService",
    "PhoneChangeService",
    "Registration",
    "change_password",
    "get_sms_gateway",
]


class AuthService:
    """Sign-up and login (users.services.registration, users.services.login)."""

    register = staticmethod(registration.register)
    register_user = staticmethod(registration.register_user)
    login = staticmethod(login_flow.login)


class ActivationService:
    """Activation codes: send, resend, check (users.services.activation)."""

    create_and_send_activation_code = staticmethod(activation.create_and_send_activation_code)
    resend_activation_code = staticmethod(activation.resend_activation_code)
    activate = staticmethod(activation.activate)


class AccountDeletionService:
    """The owner deletes the account; the support desk restores it during the grace period; erasure after."""

    request_deletion = staticmethod(deletion.request_deletion)
    restore = staticmethod(deletion.restore)
    erase_due = staticmethod(deletion.erase_due)


class PasswordResetService:
    """Forgotten password: a code by SMS to the account's number, then the code and a new password."""

    request_reset = staticmethod(recovery.request_reset)
    confirm_reset = staticmethod(recovery.confirm_reset)


class PhoneChangeService:
    """A new number: a code by SMS to it, then the code; the number changes only then."""

    request_change = staticmethod(recovery.request_change)
    confirm_change = staticmethod(recovery.confirm_change)
