"""Fixtures of the sms tests: the activation text comes from a stand-in, not from the users app."""

from __future__ import annotations

import pytest

ACTIVATION_TEXT = "sms.tests.texts.activation_text"


@pytest.fixture(autouse=True)
def _activation_text(settings: object) -> None:
    """SMS_ACTIVATION_TEXT names sms.tests.texts.activation_text: the transport is tested with no account words."""
    settings.SMS_ACTIVATION_TEXT = ACTIVATION_TEXT  # type: ignore[attr-defined]
