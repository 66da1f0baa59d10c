#!/usr/bin/env python
"""Django's command-line utility for Egress Console."""

import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
    if sys.argv[1:2] == ["egress"]:  # NB: starts without setting Django up; see policies/cli/main.py
        from policies.cli.main import main as egress

        code = egress(sys.argv[2:])
        # NB: the process ends here. Its last full garbage collection would walk every object the verb imported
        # and made: a tenth of a second of an apply (measured). Frozen, they are freed by the exit itself.
        gc.freeze()
        sys.exit(code)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
