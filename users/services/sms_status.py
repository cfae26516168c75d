"""What became of a sign-up's activation SMS, for the app that holds its sign-up token."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from users.exceptions import SignupInvalid
from users.models import ActivationToken, SmsRecord, User


@dataclass(frozen=True)
class SignupSmsStatus:
    """The newest activation SMS's status (an SmsRecord.Status value) and when a resend may be asked for."""

    sms_status: str
    resend_available_at: datetime


def signup_sms_status(phone: str, *, signup_token: str) -> SignupSmsStatus:
    """The status of the newest activation SMS to the pending sign-up of `phone` (E.164) that `signup_token`
    proves. Raises SignupInvalid alike for an unknown number, an account no longer pending and a wrong
    token, so that nobody without the token learns anything of the number.
    """
    user = User.objects.filter(phone=phone).first()
    if user is None or not user.is_pending or not user.signup_token_matches(signup_token):
        raise SignupInvalid()
    record = SmsRecord.objects.filter(phone=phone, purpose="activation").first()  # newest first
    code = ActivationToken.objects.filter(user=user).first()
    sent_at = code.created_at if code is not None else user.date_joined
    return SignupSmsStatus(
        sms_status=record.status if record is not None else SmsRecord.Status.ACCEPTED,
        resend_available_at=sent_at + settings.ACTIVATION_RESEND_COOLDOWN,
    )
