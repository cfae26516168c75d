"""App configuration for users."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class UsersConfig(AppConfig):
    """The users app."""

    name = "users"
    verbose_name = _("Users")

    def ready(self) -> None:
        from users import checks  # noqa: F401 - registers the system checks
