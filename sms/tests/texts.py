"""A stand-in for SMS_ACTIVATION_TEXT in the sms tests, so that they never depend on the users app's words."""

from __future__ import annotations


def activation_text(code: str) -> str:
    """A text unlike the real one (and not ASCII), so a test sees that the setting was followed end to end."""
    return f"Test : le code {code} est arrivé."
