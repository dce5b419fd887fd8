"""``python -m ciyu``: the same as the ``ciyu`` command."""

import sys

from .cli import main

sys.exit(main())
