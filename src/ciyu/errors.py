"""Exceptions raised by ciyu.

Every error carries a message meant for a person: it names the file (and line, where
there is one) and says how to fix the problem. The command line prints the message and
exits with status 2 instead of showing a traceback.
"""

from __future__ import annotations


class CiyuError(Exception):
    """Base class of all errors ciyu raises on purpose."""


class InputError(CiyuError):
    """Input text cannot be read: missing file, invalid UTF-8, unreadable directory."""


class ModelFormatError(CiyuError):
    """A model, lexicon or counts file is malformed, truncated or of an unknown version."""


class EvaluationError(CiyuError):
    """Gold and predicted segmentations cannot be compared (their characters differ)."""


class ConfigError(CiyuError, ValueError):
    """A configuration value or an argument is invalid: unknown, out of range, of the wrong
    kind, or inconsistent with the data or with another argument.

    It is also a :class:`ValueError`, which is what Python code expects of a bad argument.
    """


class OutputError(CiyuError):
    """An output cannot be written: missing or read-only directory, a directory, a full disk."""
