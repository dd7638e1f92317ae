#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "evalsys.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A setting missing or wrong in the environment (README, "Configuration"): say which, no traceback.
        sys.stderr.write(f"evalsys: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
