"""Messages of simplejwt that our code raises or that its French catalog lacks, translated in locale/.

Catalogs in LOCALE_PATHS take precedence over the apps' own, so listing the msgids here lets
`makemessages` keep them in our catalog. Nothing imports this module at run time.
"""

from django.utils.translation import gettext_noop

THIRD_PARTY_MESSAGES = [
    gettext_noop("Token is invalid"),
    gettext_noop("Token is expired"),
    gettext_noop("Token is blacklisted"),
    gettext_noop("No active account found for the given token."),
    gettext_noop("The user's password has been changed."),
    gettext_noop("Blacklisted Token"),
    gettext_noop("Blacklisted Tokens"),
    gettext_noop("Outstanding Token"),
    gettext_noop("Outstanding Tokens"),
]
