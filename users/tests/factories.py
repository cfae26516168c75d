"""factory-boy factories for users and activation codes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

import factory
from django.conf import settings
from django.utils import timezone

from users.models import ActivationToken, SmsRecord, User
from users.validation import clean_registration

PASSWORD = "Tr0ub4dor&3-eau"
SIGNUP_TOKEN = "signup-token-of-the-factories"
# MTN Cameroon numbers 6 70 00 00 00 - 6 70 99 99 99, all valid mobiles.
_phones = factory.Sequence(lambda n: f"+23767{n % 10_000_000:07d}")


class UserFactory(factory.django.DjangoModelFactory[User]):
    """An active, activated user with password PASSWORD.

    `pending=True` gives a never-activated one, signed up with the token SIGNUP_TOKEN.
    """

    class Meta:
        model = User
        skip_postgeneration_save = True

    class Params:
        pending = factory.Trait(
            is_active=False,
            activated_at=None,
            signup_token_hash=factory.LazyFunction(lambda: User.hash_signup_token(SIGNUP_TOKEN)),
        )

    phone = _phones
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    is_active = True
    activated_at = factory.LazyFunction(timezone.now)
    password = factory.django.Password(PASSWORD)


class ActivationTokenFactory(factory.django.DjangoModelFactory[ActivationToken]):
    """A live code for a pending user (signed up with SIGNUP_TOKEN), created two minutes ago.

    The clear code is `code` (default 123456); only its hash is saved.
    """

    class Meta:
        model = ActivationToken
        exclude = ("code",)

    user = factory.SubFactory(UserFactory, pending=True)
    code = "123456"
    code_hash = factory.LazyAttribute(lambda o: ActivationToken.hash_code(o.code))
    created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=2))
    expires_at = factory.LazyAttribute(lambda o: o.created_at + settings.ACTIVATION_CODE_TTL)

    @classmethod
    def expired(cls, **kwargs: Any) -> ActivationToken:
        """A code created two hours ago: long expired, and outside the hourly send limit."""
        created = timezone.now() - timedelta(hours=2)
        return cls.create(created_at=created, **kwargs)


class SmsRecordFactory(factory.django.DjangoModelFactory[SmsRecord]):
    """An activation SMS that Twilio accepted a minute ago (message id `SM` and 32 hex digits)."""

    class Meta:
        model = SmsRecord

    phone = "+237670123456"
    purpose = "activation"
    language = "fr"
    provider = "twilio"
    provider_message_id = factory.Sequence(lambda n: f"SM{n:032x}")
    segments = 1
    status = SmsRecord.Status.ACCEPTED
    created_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1))
    updated_at = factory.LazyAttribute(lambda o: o.created_at)


def signup(data: dict[str, Any]) -> dict[str, str]:
    """A raw sign-up dict (any phone spelling, password_confirm) as the keyword arguments of
    `AuthService.register`, through the API's own rules."""
    return asdict(clean_registration(data))
