"""`users.services.get_sms_gateway`, the seed's patch target, reaches every place a code is sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from unittest.mock import MagicMock, patch

import pytest

from sms.backends.locmem import SmsMessage
from users.exceptions import SmsServiceUnavailable
from users.models import User
from users.services import ActivationService, AuthService, PasswordResetService, PhoneChangeService
from users.tests.factories import PASSWORD, ActivationTokenFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateway() -> Iterator[MagicMock]:
    """The seed's way: a MagicMock gateway behind `users.services.get_sms_gateway`, sending successfully."""
    with patch("users.services.get_sms_gateway") as get_gateway:
        gateway = get_gateway.return_value = MagicMock()
        gateway.is_available.return_value = True
        gateway.send_activation_code.return_value = True
        gateway.send_message.return_value = True
        yield gateway


def sign_up() -> None:
    AuthService.register_user(
        {
            "phone": "670123456",
            "first_name": "Awa",
            "last_name": "Ngono",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }
    )


def resend() -> None:
    ActivationTokenFactory.expired(user__phone="+237670123456")
    ActivationService.resend_activation_code("+237670123456")


def operator_resend() -> None:
    ActivationService.create_and_send_activation_code(ActivationTokenFactory(user__phone="+237670123456").user)


def reset() -> None:
    UserFactory(phone="+237670123456")
    PasswordResetService.request_reset("+237670123456")


def phone_change() -> None:
    PhoneChangeService.request_change(
        UserFactory(phone="+237670123456"), new_phone="+237699001122", current_password=PASSWORD
    )


FLOWS: dict[str, tuple[Callable[[], None], str]] = {
    "sign-up": (sign_up, "send_activation_code"),
    "resend": (resend, "send_activation_code"),
    "operator resend": (operator_resend, "send_activation_code"),
    "password reset": (reset, "send_message"),
    "phone change": (phone_change, "send_message"),
}


@pytest.mark.parametrize("flow", list(FLOWS))
def test_every_flow_sends_through_the_patched_name(
    flow: str, gateway: MagicMock, sms_outbox: list[SmsMessage]
) -> None:
    run, method = FLOWS[flow]
    run()
    gateway.is_available.assert_called()
    getattr(gateway, method).assert_called_once()
    sent_to = getattr(gateway, method).call_args.args[0]
    assert sent_to == ("+237699001122" if flow == "phone change" else "+237670123456")
    assert sms_outbox == []  # the configured (locmem) backend was never reached


def test_a_gateway_that_says_not_sent_rolls_back_the_sign_up(gateway: MagicMock) -> None:
    gateway.send_activation_code.return_value = False
    with pytest.raises(SmsServiceUnavailable):
        sign_up()
    assert not User.objects.exists()
