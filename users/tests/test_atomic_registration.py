"""All-or-nothing sign-up: the seed's two tests (docs/atomic-registration.md) and one test per row of its failure table.

Kept as a django.test.TestCase so the seed's commands work as written:
`python manage.py test users.tests.test_atomic_registration -v 2` and
`pytest users/tests/test_atomic_registration.py --cov=users.services`.
"""

from __future__ import annotations

from unittest.mock import MagicMock, patch

import requests
from django.db import DatabaseError
from django.test import TestCase

from sms.exceptions import SmsNumberRejected
from users.exceptions import PhoneRejected, ServiceUnavailable, SmsServiceUnavailable
from users.models import ActivationToken, User
from users.services import AuthService
from users.tests.factories import PASSWORD
from waterbill.errors import ValidationFailed


def gateway(*, available: bool = True, sent: bool = True, error: Exception | None = None) -> MagicMock:
    """A stand-in SMS gateway: available or not, and a send that succeeds, fails or raises."""
    mock = MagicMock()
    mock.is_available.return_value = available
    mock.send_activation_code.return_value = sent
    if error is not None:
        mock.send_activation_code.side_effect = error
    return mock


class AtomicRegistrationTestCase(TestCase):
    """A user row exists only if its activation SMS went out; an SMS goes out only for a saved user."""

    def setUp(self) -> None:
        self.user_data = {
            "phone": "670123456",
            "first_name": "John",
            "last_name": "Doe",
            "password": PASSWORD,
            "password_confirm": PASSWORD,
        }

    def assert_nothing_saved(self) -> None:
        self.assertEqual(User.objects.count(), 0)
        self.assertEqual(ActivationToken.objects.count(), 0)

    def test_sms_failure_rolls_back_user_creation(self) -> None:
        with patch("users.services.get_sms_gateway") as mock_get_gateway:
            mock_gateway = gateway(sent=False)
            mock_get_gateway.return_value = mock_gateway

            with self.assertRaises(ValueError):
                AuthService.register_user(self.user_data)

        mock_gateway.send_activation_code.assert_called_once()
        self.assert_nothing_saved()

    def test_successful_registration_is_atomic(self) -> None:
        with patch("users.services.get_sms_gateway") as mock_get_gateway:
            mock_gateway = gateway(sent=True)
            mock_get_gateway.return_value = mock_gateway

            user = AuthService.register_user(self.user_data)

        self.assertIsNotNone(user)
        self.assertEqual(user.phone, "+237670123456")
        self.assertFalse(user.is_active)
        token = ActivationToken.objects.get(user=user)
        phone, code = mock_gateway.send_activation_code.call_args.args
        self.assertEqual(phone, "+237670123456")
        self.assertTrue(token.matches(code))
        self.assertNotIn(code, token.code_hash)

    # --- The seed's failure table, row by row ---------------------------------------------------------

    def test_validation_failure_creates_nothing_and_sends_nothing(self) -> None:
        """Row 1: user creation, validation fails."""
        self.user_data["password_confirm"] = "something else"
        with patch("users.services.get_sms_gateway") as mock_get_gateway:
            with self.assertRaises(ValidationFailed) as caught:
                AuthService.register_user(self.user_data)

        self.assertEqual(caught.exception.errors["password_confirm"][0][1], "password_mismatch")
        mock_get_gateway.assert_not_called()
        self.assert_nothing_saved()

    def test_unavailable_sms_service_creates_nothing(self) -> None:
        """Row 2: SMS service unavailable; refused before any write, nothing sent."""
        with patch("users.services.get_sms_gateway") as mock_get_gateway:
            mock_get_gateway.return_value = mock_gateway = gateway(available=False)
            with self.assertRaises(SmsServiceUnavailable):
                AuthService.register_user(self.user_data)

        mock_gateway.send_activation_code.assert_not_called()
        self.assert_nothing_saved()

    def test_failed_send_creates_nothing(self) -> None:
        """Row 3: the send fails (the provider refused the number)."""
        with patch("users.services.get_sms_gateway") as mock_get_gateway:
            mock_get_gateway.return_value = gateway(error=SmsNumberRejected("21211", provider_code=21211))
            with self.assertRaises(PhoneRejected):
                AuthService.register_user(self.user_data)

        self.assert_nothing_saved()

    def test_network_exception_creates_nothing(self) -> None:
        """Row 4: the send raises a network exception."""
        with patch("users.services.get_sms_gateway") as mock_get_gateway:
            mock_get_gateway.return_value = gateway(error=requests.ConnectionError("connection reset by peer"))
            with self.assertRaises(SmsServiceUnavailable):
                AuthService.register_user(self.user_data)

        self.assert_nothing_saved()

    def test_token_database_error_creates_nothing_and_sends_nothing(self) -> None:
        """Row 5: the token insert fails; the user is rolled back and, the SMS being last, none was sent."""
        with (
            patch("users.services.get_sms_gateway") as mock_get_gateway,
            patch.object(ActivationToken.objects, "create", side_effect=DatabaseError("disk full")),
        ):
            mock_get_gateway.return_value = mock_gateway = gateway()
            with self.assertRaises(ServiceUnavailable) as caught:
                AuthService.register_user(self.user_data)

        self.assertIsInstance(caught.exception, ValueError)  # the seed's `except ValueError` catches it
        self.assertEqual(caught.exception.code, "service_unavailable")
        self.assertIsInstance(caught.exception.__cause__, DatabaseError)
        mock_gateway.send_activation_code.assert_not_called()
        self.assert_nothing_saved()

    def test_same_phone_registers_once_the_provider_is_back(self) -> None:
        """After any of the failures above, a retry with the same phone succeeds."""
        with patch("users.services.get_sms_gateway") as mock_get_gateway:
            mock_get_gateway.return_value = gateway(error=requests.Timeout("read timed out"))
            with self.assertRaises(SmsServiceUnavailable):
                AuthService.register_user(self.user_data)
            mock_get_gateway.return_value = gateway()
            user = AuthService.register_user(self.user_data)

        self.assertEqual(User.objects.get().pk, user.pk)
        self.assertEqual(ActivationToken.objects.filter(user=user).count(), 1)
