"""The rule layer: how a line of text is cut into fragments before anything is learned.

A line is split, losslessly, into tokens of five kinds:

``learn``
    A maximal run of *learnable* characters: CJK ideographs (all blocks, including the
    supplementary planes), the ideographic zero ``〇`` and its common stand-in ``○``, the
    iteration mark ``々``, and Japanese kana. Only these runs are counted and segmented by
    the learned lexicon; everything else is decided by rule.
``num``
    A number: a run of ASCII or full-width digits with optional decimal parts and an
    optional trailing percent or per-mille sign (``2000``, ``１２．５％``), not glued to a
    letter. A minus sign (``-``, ``－``, ``−``) just before the digits is the number's sign
    (``－5℃``) unless a letter or digit comes before it (``1998－2000`` is a range). A
    number is never split, but it takes part in learning as one symbol, the *number
    class* :data:`NUM`, so that the learners can discover how numbers combine with the
    characters around them (``<num>年``, ``<num>个``) instead of a fixed rule.
``atom``
    A maximal run of other letters and digits of any script (ASCII, full-width forms,
    Cyrillic, Hangul, ...), with combining marks attached and decimal parts such as
    ``3.5`` or ``１２．５`` kept inside. It is always one word.
``space``
    A maximal run of whitespace. It is a boundary and is emitted as its own token.
``other``
    Anything else (punctuation, symbols, emoji, control characters): a run of one repeated
    character (``——``, ``……``) is one token; combining marks, variation selectors and
    zero-width-joiner sequences stay attached to it.

Nothing is normalised: joining the tokens of a line gives back exactly that line.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Final, Literal

from ._compiled import lattice as _lattice

TokenKind = Literal["learn", "num", "atom", "space", "other"]

#: The number class: the one symbol every number stands for in learnable text. It is a
#: Unicode noncharacter (reserved for internal use), so it never collides with text:
#: a literal U+FDD0 in the input is an ``other`` token.
NUM: Final = "\ufdd0"
#: How :data:`NUM` is written in files meant for people (model files, word lists).
NUM_DISPLAY: Final = "<num>"

# Ranges of learnable characters (inclusive). Kept as data so that the same set drives the
# tokenizer regex and the fast counting path, which must agree exactly.
LEARNABLE_RANGES: Final[tuple[tuple[int, int], ...]] = (
    (0x3005, 0x3005),  # 々 ideographic iteration mark
    (0x3007, 0x3007),  # 〇 ideographic number zero
    (0x25CB, 0x25CB),  # ○ white circle: the usual stand-in for 〇 in Chinese dates (二○○一年)
    (0x3041, 0x3096),  # hiragana
    (0x309D, 0x309F),  # hiragana iteration marks, digraph yori
    (0x30A1, 0x30FA),  # katakana (without the middle dot ・, which is punctuation)
    (0x30FC, 0x30FF),  # prolonged sound mark ー, katakana iteration marks
    (0x31F0, 0x31FF),  # katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFF66, 0xFF9F),  # half-width katakana
    (0x20000, 0x323AF),  # CJK extensions B-H and compatibility supplement
)


# Further ranges that the regular expressions and the compiled rule layer share.
DIGIT_RANGES: Final = ((0x30, 0x39), (0xFF10, 0xFF19))  # ASCII and full-width digits
# glued to a preceding symbol besides combining marks: emoji skin-tone modifiers and tag
# characters (subdivision flags)
EXTEND_SYMBOL_RANGES: Final = ((0x1F3FB, 0x1F3FF), (0xE0020, 0xE007F))
REGIONAL_RANGES: Final = ((0x1F1E6, 0x1F1FF),)  # regional indicators: two make a flag
# a number's sign: hyphen-minus, minus sign, small and full-width hyphen-minus
MINUS_RANGES: Final = ((0x2D, 0x2D), (0x2212, 0x2212), (0xFE63, 0xFE63), (0xFF0D, 0xFF0D))


def is_learnable(ch: str) -> bool:
    """Return True if the single character ``ch`` belongs to a learnable run."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in LEARNABLE_RANGES)


def _ranges_to_class(ranges: list[tuple[int, int]]) -> str:
    """Render inclusive code point ranges as the body of a regex character class."""
    parts = []
    for lo, hi in ranges:
        if lo == hi:
            parts.append(re.escape(chr(lo)))
        else:
            parts.append(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}")
    return "".join(parts)


def _collect_ranges(pred: object) -> list[tuple[int, int]]:
    """Code point ranges (inclusive) of all characters for which ``pred(ch)`` is true."""
    assert callable(pred)
    ranges: list[tuple[int, int]] = []
    start = -1
    for cp in range(sys.maxunicode + 1):
        ok = not 0xD800 <= cp <= 0xDFFF and bool(pred(chr(cp)))  # skip surrogates
        if ok and start < 0:
            start = cp
        elif not ok and start >= 0:
            ranges.append((start, cp - 1))
            start = -1
    if start >= 0:
        ranges.append((start, sys.maxunicode))
    return ranges


def atom_ranges() -> list[tuple[int, int]]:
    """Letters and digits that are not learnable: the characters of ``atom`` tokens."""
    return _collect_ranges(lambda ch: ch.isalnum() and not is_learnable(ch))


def mark_ranges() -> list[tuple[int, int]]:
    """Combining marks (categories Mn, Mc, Me)."""
    return _collect_ranges(lambda ch: unicodedata.category(ch) in ("Mn", "Mc", "Me"))


def _character_tables() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """The atom and mark ranges: precomputed for this Unicode version, else computed.

    Computing them walks all 1.1 M code points (about 1.5 s), so ``_unicode_tables.py``
    keeps them for the Unicode version it was generated with; ``tests/test_text.py``
    checks that it matches, and ``python -m ciyu._gen_tables`` regenerates it.
    """
    from . import _unicode_tables as tables

    if unicodedata.unidata_version == tables.UNIDATA_VERSION:
        return list(tables.ATOM), list(tables.MARKS)
    return atom_ranges(), mark_ranges()


def _space_ranges() -> list[tuple[int, int]]:
    """Whitespace (``str.isspace``, what Python's ``\\s`` matches): all below U+3001."""
    return [(cp, cp) for cp in range(0x3001) if chr(cp).isspace()]


def oniguruma_class(ranges: list[tuple[int, int]]) -> str:
    """Inclusive code point ranges as the body of an Oniguruma character class."""
    return "".join(
        f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges
    )


def rule_pattern(syntax: Literal["python", "oniguruma"] = "python") -> str:
    """The regular expression of the rule layer, one named group per token kind.

    ``"python"`` is what :func:`tokenize` compiles (with ``re.DOTALL``); ``"oniguruma"``
    is the same expression for the Oniguruma engine of Hugging Face ``tokenizers`` (used
    by the ``hf`` export as a pre-tokenizer). Both come from the same character tables.
    """
    if syntax == "python":
        cls, name, backref, anything = _ranges_to_class, "?P<{}>", "(?P=ch)", "."
    else:
        cls, name, backref, anything = oniguruma_class, "?<{}>", "\\k<ch>", "(?m:.)"
    atom_table, mark_table = _character_tables()
    learn = cls(list(LEARNABLE_RANGES))
    atom = cls(atom_table)
    marks = cls(mark_table)
    space = cls(_space_ranges())
    digits = cls(list(DIGIT_RANGES))
    point = cls([(0x2E, 0x2E), (0xFF0E, 0xFF0E)])
    percent = cls([(0x25, 0x25), (0xFF05, 0xFF05), (0x2030, 0x2030)])
    minus = cls(list(MINUS_RANGES))
    regional = cls(list(REGIONAL_RANGES))
    zwj = cls([(0x200D, 0x200D)])
    # What stays glued to a symbol: combining marks, emoji skin-tone modifiers and tag
    # characters (subdivision flags); a zero-width joiner glues the next character too.
    extend = marks + cls(list(EXTEND_SYMBOL_RANGES))

    def group(kind: str, body: str) -> str:
        return f"({name.format(kind)}{body})"

    return "|".join(
        (
            group("learn", f"[{learn}]+"),
            group(
                "num",
                f"(?:(?<![{atom}{marks}])[{minus}])?"
                f"[{digits}]+(?:[{point}][{digits}]+)*[{percent}]?(?![{atom}{marks}])",
            ),
            group(
                "atom",
                f"[{atom}]+(?:[{marks}]+[{atom}]*)*(?:[{point}][{digits}]+)*(?:[{marks}]+)?",
            ),
            group("space", f"[{space}]+"),
            group("flag", f"[{regional}]{{2}}"),
            group("other", f"{group('ch', anything)}{backref}*(?:[{extend}]|[{zwj}]{anything})*"),
        )
    )


class _Rules:
    """Compiled regular expressions of the rule layer (built once per process, read-only)."""

    def __init__(self) -> None:
        self.token = re.compile(rule_pattern("python"), re.DOTALL)


def _view_of(m: re.Match[str]) -> str:
    kind = m.lastgroup
    if kind == "learn":
        return m.group()
    return NUM if kind == "num" else "\0"


@functools.cache
def _rules() -> _Rules:
    return _Rules()


def tokenize(line: str) -> Iterator[tuple[TokenKind, str]]:
    """Split ``line`` into rule tokens ``(kind, text)``; their texts join back to ``line``.

    >>> list(tokenize("共 3.5 斤"))
    [('learn', '共'), ('space', ' '), ('num', '3.5'), ('space', ' '), ('learn', '斤')]
    """
    for m in _rules().token.finditer(line):
        kind = m.lastgroup
        if kind in ("ch", "flag"):  # sub-kinds of "other"
            kind = "other"
        yield kind, m.group()  # type: ignore[misc]


def learnable_view(text: str) -> str:
    """The text the learners see: learnable runs as they are, each number as :data:`NUM`,
    and every other token as ``"\\0"`` (a fragment boundary).

    Runs the compiled rule layer when it is installed (twenty times faster: every pass of
    a learner over the corpus goes through here); :func:`learnable_view_reference` is the
    reference the tests compare it with.
    """
    if _lattice is not None:
        view: str = _lattice.learnable_view(text, class_table())
        return view
    return learnable_view_reference(text)


def learnable_view_reference(text: str) -> str:
    """The pure-Python :func:`learnable_view`, from the regular expressions of :func:`tokenize`."""
    return _rules().token.sub(_view_of, text)


def fragments(text: str) -> list[str]:
    """The fragments of ``text`` that n-grams are counted over (numbers shown as NUM)."""
    return [f for f in learnable_view(text).split("\0") if f]


def display(word: str) -> str:
    """A word as shown to people: the number class is written ``<num>``."""
    return word.replace(NUM, NUM_DISPLAY)


def undisplay(word: str) -> str:
    """Inverse of :func:`display`."""
    return word.replace(NUM_DISPLAY, NUM)


# Bits of the class table the compiled rule layer reads (see src/ciyu/_lattice.c).
CLASS_LEARN, CLASS_ATOM, CLASS_DIGIT, CLASS_MARK = 1, 2, 4, 8
CLASS_SPACE, CLASS_EXTEND, CLASS_REGIONAL = 16, 32, 64


@functools.cache
def class_table() -> bytes:
    """One byte of class bits per code point, for the compiled rule layer.

    Built from the same ranges as the regular expressions of :func:`tokenize`, so the two
    agree; the tests check it on hostile text.
    """
    table = bytearray(sys.maxunicode + 1)

    def mark(ranges: Iterable[tuple[int, int]], bit: int) -> None:
        for lo, hi in ranges:
            for cp in range(lo, hi + 1):
                table[cp] |= bit

    atoms, marks = _character_tables()
    mark(LEARNABLE_RANGES, CLASS_LEARN)
    mark(atoms, CLASS_ATOM)
    mark(DIGIT_RANGES, CLASS_DIGIT)
    mark(marks, CLASS_MARK)
    mark(marks, CLASS_EXTEND)
    mark(EXTEND_SYMBOL_RANGES, CLASS_EXTEND)
    mark(REGIONAL_RANGES, CLASS_REGIONAL)
    mark(_space_ranges(), CLASS_SPACE)
    return bytes(table)
