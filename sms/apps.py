"""App configuration for sms."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SmsConfig(AppConfig):
    """The sms app (no models: gateways only)."""

    name = "sms"
    verbose_name = _("SMS")

    def ready(self) -> None:
        from sms import checks  # noqa: F401 - registers the system checks
