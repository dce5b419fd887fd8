"""Text that arrives as Python strings rather than bytes: the checks every entry point of
the API applies (``ciyu.count``/``discover``/``train`` through
:meth:`ciyu.Corpus.from_texts`, and :class:`ciyu.Model`'s ``cut``, ``segment`` and
``encode``).

A Python ``str`` can hold what no UTF-8 file can: a lone surrogate (U+D800–U+DFFF, e.g.
from ``os.fsdecode`` or ``bytes.decode("utf-8", "surrogateescape")``). It is not a
character, it cannot be written out as UTF-8, and ``errors`` decides what becomes of it,
as for invalid bytes in a file: ``"strict"`` stops with an error naming the string and the
position, ``"replace"`` reads it as U+FFFD.
"""

from __future__ import annotations

import re
from typing import Literal

from .errors import ConfigError, InputError

ERRORS: tuple[Literal["strict"], Literal["replace"]] = ("strict", "replace")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def check_errors(errors: object) -> None:
    """Check an ``errors`` argument.

    Raises:
        ConfigError: unless ``errors`` is ``"strict"`` or ``"replace"`` (other codec
            handlers such as ``"ignore"`` would drop text silently).
    """
    if errors not in ERRORS:
        raise ConfigError(
            f"errors must be 'strict' or 'replace', got {errors!r} (ciyu never drops text "
            "silently, so 'ignore' is not offered)"
        )


def valid_text(text: object, errors: str, name: str) -> str:
    """``text`` checked for lone surrogates, which ``errors`` rejects or replaces.

    Args:
        text: the string to check.
        errors: ``"strict"`` or ``"replace"``.
        name: what the string is called in the caller's terms (``"text"``,
            ``"texts[3]"``), for the error message.

    Returns:
        ``text`` itself when it holds no lone surrogate; with ``errors="replace"``, a copy
        with each one replaced by U+FFFD.

    Raises:
        InputError: if ``text`` is not a ``str``, or holds a lone surrogate and ``errors``
            is ``"strict"``; the message names the string, the index and the line.
        ConfigError: on an invalid ``errors``.
    """
    check_errors(errors)
    if not isinstance(text, str):
        hint = " (decode it first: data.decode('utf-8'))" if isinstance(text, bytes) else ""
        raise InputError(f"{name} is {type(text).__name__}, not str{hint}")
    found = _SURROGATE.search(text)
    if found is None:
        return text
    if errors == "replace":
        return _SURROGATE.sub(REPLACEMENT, text)
    index = found.start()
    line = text.count("\n", 0, index) + 1
    raise InputError(
        f"{name}: lone surrogate U+{ord(found.group()):04X} at index {index} (line {line}) "
        "is not Unicode text and cannot be written as UTF-8; fix the string, or pass "
        "errors='replace' to read it as U+FFFD"
    )
