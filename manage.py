#!/usr/bin/env python
"""Django's command-line utility for WaterBill API."""

import os
import sys
from pathlib import Path


def main() -> None:
    """Run a management command; `test` runs the pytest suite under the test settings."""
    if len(sys.argv) > 1 and sys.argv[1] == "test":
        os.environ["DJANGO_SETTINGS_MODULE"] = "waterbill.test_settings"
    else:
        from waterbill.env import load_dotenv

        load_dotenv(Path(__file__).resolve().parent / ".env")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "waterbill.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
