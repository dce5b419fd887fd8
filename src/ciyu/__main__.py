"""``python -m ciyu``: the same as the ``ciyu`` command."""

from .cli import console

console()
