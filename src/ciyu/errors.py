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


#: How to fix invalid UTF-8 in a corpus.
CORPUS_UTF8_FIX = (
    "convert the file to UTF-8 (e.g. `iconv -f GB18030 -t UTF-8`) or pass --errors replace"
)


class InvalidUtf8Error(InputError):
    """An input file holds a byte sequence that is not UTF-8: where it is, and the fix
    (a caller that reads another kind of file, where the corpus's fix does not apply,
    gives its own with :meth:`with_fix`).

    Attributes:
        name: the file.
        line: the line of the bad byte (from 1).
        byte: its value.
        offset: its byte offset in the file.
        fix: what the message tells the user to do.
    """

    def __init__(
        self, name: str, line: int, byte: int, offset: int, fix: str = CORPUS_UTF8_FIX
    ) -> None:
        self.name, self.line, self.byte, self.offset, self.fix = name, line, byte, offset, fix
        super().__init__(
            f"{name}:{line}: invalid UTF-8 byte 0x{byte:02x} at byte offset {offset} of the "
            f"file; {fix}"
        )

    def with_fix(self, fix: str) -> InvalidUtf8Error:
        """The same error with another fix."""
        return InvalidUtf8Error(self.name, self.line, self.byte, self.offset, fix)

    def __reduce__(self) -> tuple[type[InvalidUtf8Error], tuple[str, int, int, int, str]]:
        # rebuilt from its fields in another process (a worker's or a Ray task's error)
        return (type(self), (self.name, self.line, self.byte, self.offset, self.fix))


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
