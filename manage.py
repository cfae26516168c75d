#!/usr/bin/env python
"""Django's command-line utility for WaterBill API."""

import os
import sys
from pathlib import Path


def main() -> None:
    """Run a management command; `test` runs the pytest suite under the test settings."""
    if len(sys.argv) > 1 and sys.argv[1] == "test":
        os.environ["DJANGO_SETTINGS_MODULE"] = "waterbill.test_settings"
        # Django's -v/--verbosity needs a number, so `manage.py test LABEL -v` (pytest's spelling of
        # "verbose") dies in argparse. Its option can't be made optional instead (nargs="?"): argparse
        # would then take the label in `test -v LABEL` for the verbosity. So a bare flag becomes
        # verbosity 2 (pytest -v in our runner) before Django parses the line; nothing else changes.
        from waterbill.test_runner import expand_bare_verbosity

        sys.argv[2:] = expand_bare_verbosity(sys.argv[2:])
    else:
        from waterbill.env import load_dotenv

        load_dotenv(Path(__file__).resolve().parent / ".env")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waterbill.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
