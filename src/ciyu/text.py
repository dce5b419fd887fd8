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
import hashlib
import itertools
import re
import sys
import unicodedata
from array import array
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal, cast, get_args

from . import _gen_tables
from ._compiled import lattice as _lattice
from ._compiled import note_slow_path
from ._grammar import (
    ONIGURUMA,
    PYTHON,
    AnyChar,
    First,
    NotFollowed,
    NotPreceded,
    Rule,
    Same,
    Tables,
    alt,
    character_classes,
    chars,
    compile_rules,
    opt,
    plus,
    render_pattern,
    seq,
    star,
    times,
)
from ._grammar import oniguruma_class as oniguruma_class  # for the hf export

if TYPE_CHECKING:
    from ._lattice import Rules

TokenKind = Literal["learn", "num", "atom", "space", "other"]

#: The number class: the one symbol every number stands for in learnable text. It is a
#: Unicode noncharacter (reserved for internal use), so it never collides with text:
#: a literal U+FDD0 in the input is an ``other`` token.
NUM: Final = "\ufdd0"
#: How :data:`NUM` is written in files meant for people (model files, word lists).
NUM_DISPLAY: Final = "<num>"

Ranges = tuple[tuple[int, int], ...]
#: A shipped rule automaton (see :func:`automaton_tables`).
AutomatonTables = tuple[int, bytes, bytes, bytes, bytes, bytes, bytes]

# Ranges of learnable characters (inclusive).
LEARNABLE_RANGES: Final[Ranges] = (
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
DIGIT_RANGES: Final[Ranges] = ((0x30, 0x39), (0xFF10, 0xFF19))  # ASCII and full-width digits
#: Letters that can be part of a learned word when they stand alone, glued to learnable
#: text (维A酸, B超, T细胞, X光, β受体): ASCII, full-width and Greek letters.
LETTER_RANGES: Final[Ranges] = (
    (0x41, 0x5A),
    (0x61, 0x7A),
    (0x391, 0x3A1),
    (0x3A3, 0x3A9),
    (0x3B1, 0x3C9),
    (0xFF21, 0xFF3A),
    (0xFF41, 0xFF5A),
)
POINT_RANGES: Final[Ranges] = ((0x2E, 0x2E), (0xFF0E, 0xFF0E))  # decimal points . and ．
PERCENT_RANGES: Final[Ranges] = ((0x25, 0x25), (0xFF05, 0xFF05), (0x2030, 0x2030))  # % ％ ‰
# a number's sign: hyphen-minus, minus sign, small and full-width hyphen-minus
MINUS_RANGES: Final[Ranges] = ((0x2D, 0x2D), (0x2212, 0x2212), (0xFE63, 0xFE63), (0xFF0D, 0xFF0D))
# glued to a preceding symbol besides combining marks: emoji skin-tone modifiers and tag
# characters (subdivision flags)
EXTEND_SYMBOL_RANGES: Final[Ranges] = ((0x1F3FB, 0x1F3FF), (0xE0020, 0xE007F))
REGIONAL_RANGES: Final[Ranges] = ((0x1F1E6, 0x1F1FF),)  # regional indicators: two make a flag
ZWJ_RANGES: Final[Ranges] = ((0x200D, 0x200D),)  # zero-width joiner: glues the next character


def is_learnable(ch: str) -> bool:
    """Return True if the single character ``ch`` belongs to a learnable run."""
    cp = ord(ch)
    return any(lo <= cp <= hi for lo, hi in LEARNABLE_RANGES)


@functools.cache
def unicode_tables() -> tuple[Ranges, Ranges]:
    """The letters and digits (``str.isalnum``) and the combining marks of this Python's
    Unicode version, as inclusive code point ranges.

    They are shipped in ``_unicode_tables.py`` for the Unicode versions of the supported
    Pythons (regenerate with ``python src/ciyu/_gen_tables.py``, see there); for another
    version they are computed here, which takes about half a second.
    """
    from ._unicode_tables import TABLES

    shipped = TABLES.get(unicodedata.unidata_version)
    if shipped is not None:
        return shipped
    return _gen_tables.alnum_ranges(), _gen_tables.mark_ranges()


def _subtract(ranges: Ranges, minus: Ranges) -> Ranges:
    """The code points of ``ranges`` (sorted, maximal) outside ``minus``, as maximal ranges."""
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        for mlo, mhi in sorted(minus):
            if mhi < lo or mlo > hi:
                continue
            if mlo > lo:
                out.append((lo, mlo - 1))
            lo = mhi + 1
            if lo > hi:
                break
        if lo <= hi:
            out.append((lo, hi))
    return tuple(out)


def atom_ranges() -> Ranges:
    """Letters and digits that are not learnable: the characters of ``atom`` tokens."""
    return _subtract(unicode_tables()[0], LEARNABLE_RANGES)


def mark_ranges() -> Ranges:
    """Combining marks (categories Mn, Mc, Me)."""
    return unicode_tables()[1]


def _space_ranges() -> Ranges:
    """Whitespace (``str.isspace``, what Python's ``\\s`` matches): all below U+3001."""
    return tuple((cp, cp) for cp in range(0x3001) if chr(cp).isspace())


@functools.cache
def character_sets() -> dict[str, Ranges]:
    """The named character sets the rules are written with."""
    return character_sets_of(unicode_tables())


def character_sets_of(tables: tuple[Ranges, Ranges]) -> dict[str, Ranges]:
    """The named character sets over the Unicode tables ``(letters and digits, marks)`` of
    some Unicode version (see :func:`unicode_tables`)."""
    return {
        "learn": LEARNABLE_RANGES,
        "letter": LETTER_RANGES,
        "atom": _subtract(tables[0], LEARNABLE_RANGES),
        "mark": tables[1],
        "space": _space_ranges(),
        "digit": DIGIT_RANGES,
        "point": POINT_RANGES,
        "percent": PERCENT_RANGES,
        "minus": MINUS_RANGES,
        "regional": REGIONAL_RANGES,
        "zwj": ZWJ_RANGES,
        "extend_symbol": EXTEND_SYMBOL_RANGES,
    }


# -- the rules: the one description of the rule layer ------------------------------------
# Tried in order at each position; the first that matches takes its (greedy) match. The
# regular expressions and the compiled automaton are both made from this list, so a
# change here (a rule, a token kind, a character set, what the learners see of a kind)
# reaches every engine. See ciyu._grammar for the language.
_ATOM_OR_MARK = chars("atom", "mark")
_DECIMALS = star(seq(chars("point"), plus(chars("digit"))))
RULES: Final[tuple[Rule, ...]] = (
    # a run of learnable characters, with the single letters glued into it (维A酸, B超,
    # 维生素A): a letter next to another letter, a digit or a mark belongs to an atom
    Rule(
        "learn",
        "learn",
        seq(
            opt(seq(NotPreceded(_ATOM_OR_MARK), chars("letter"))),
            plus(chars("learn")),
            star(seq(chars("letter"), plus(chars("learn")))),
            opt(seq(chars("letter"), NotFollowed(_ATOM_OR_MARK))),
        ),
        view="",
    ),
    Rule(
        "num",
        "num",
        seq(
            # a sign, unless a letter, digit or mark comes before it (1998－2000 is a range)
            opt(seq(NotPreceded(_ATOM_OR_MARK), chars("minus"))),
            plus(chars("digit")),
            _DECIMALS,
            opt(chars("percent")),
            NotFollowed(_ATOM_OR_MARK),  # not glued to a letter: ddr5 is an atom
        ),
        view=NUM,
    ),
    Rule(
        "atom",
        "atom",
        seq(
            plus(chars("atom")),
            star(seq(plus(chars("mark")), star(chars("atom")))),
            _DECIMALS,
            opt(plus(chars("mark"))),
        ),
        view=None,
    ),
    Rule("space", "space", plus(chars("space")), view=None),
    Rule("flag", "other", times(chars("regional"), 2), view=None),
    # one character repeated (—— ……), with marks, skin tones, tags and zero-width-joiner
    # sequences glued to it
    Rule(
        "other",
        "other",
        seq(
            First("ch"),
            star(Same("ch")),
            star(alt(chars("mark", "extend_symbol"), seq(chars("zwj"), AnyChar()))),
        ),
        view=None,
    ),
)


def _kinds_of(rules: Sequence[Rule]) -> tuple[TokenKind, ...]:
    """The token kind of each rule, checked: a kind of :data:`TokenKind`, and one view per
    kind (the learners must see every token of a kind alike)."""
    views: dict[str, str | None] = {}
    for r in rules:
        if r.kind not in get_args(TokenKind):
            raise ValueError(f"rule {r.name}: kind {r.kind!r} is not a TokenKind")
        if views.setdefault(r.kind, r.view) != r.view:
            raise ValueError(f"rule {r.name}: the rules of kind {r.kind!r} differ in view")
    return tuple(cast(TokenKind, r.kind) for r in rules)


_KINDS: Final = _kinds_of(RULES)  # the kind of each rule, by index

#: What the learners see of each token kind that takes part in learning: ``""`` for the
#: token's own characters, else the one symbol of its class (:data:`NUM`). Tokens of the
#: other kinds are fragment boundaries.
LEARNED_KINDS: Final[dict[str, str]] = {r.kind: r.view for r in RULES if r.view is not None}


def rule_pattern(syntax: Literal["python", "oniguruma"] = "python") -> str:
    """The regular expression of the rule layer, one named group per rule (the names of
    :data:`RULES`, with ``ch`` inside ``other``).

    ``"python"`` is what :func:`tokenize_reference` compiles (with ``re.DOTALL``);
    ``"oniguruma"`` is the same expression for the Oniguruma engine of Hugging Face
    ``tokenizers`` (used by the ``hf`` export as a pre-tokenizer). Both come from
    :data:`RULES`.
    """
    return render_pattern(RULES, character_sets(), PYTHON if syntax == "python" else ONIGURUMA)


class _Rules:
    """Compiled regular expression of the rule layer (built once per process, read-only)."""

    def __init__(self) -> None:
        self.token = re.compile(rule_pattern("python"), re.DOTALL)
        # a match's lastgroup is its rule's group: a First group inside closes earlier
        self.kind_of = {r.name: kind for r, kind in zip(RULES, _KINDS, strict=True)}
        self.view_of: dict[str, str] = {r.name: ("\0" if r.view is None else r.view) for r in RULES}


@functools.cache
def _rules() -> _Rules:
    return _Rules()


@functools.cache
def compiled_rules() -> Rules:
    """The rule layer as the compiled extension runs it: the automaton of :data:`RULES`
    over :func:`character_sets` (built once per process, read-only, thread-safe).

    The automaton is shipped, made in advance, in ``_rule_automaton.py`` for the Unicode
    versions of the supported Pythons (regenerate with ``python -m ciyu._gen_automaton``
    after changing a rule or a character set): building it takes about a tenth of the
    start-up of ``ciyu segment``. The shipped one is used only when it was made from
    exactly these rules and sets; otherwise it is built here.

    Raises:
        ImportError: if the compiled extension is not installed.
    """
    from ._rule_automaton import AUTOMATA

    sets = character_sets()
    shipped = AUTOMATA.get(automaton_key(RULES, sets))
    if shipped is None:
        return compile_rule_layer(RULES, sets)
    n_classes, run_ends, run_classes, starts, trans, eos_accept, views = shipped
    classes = bytearray(0x110000)
    start = 0
    for end, cls in zip(array("I", run_ends), run_classes, strict=True):
        if cls:
            classes[start:end] = bytes((cls,)) * (end - start)
        start = end
    return _rules_object(bytes(classes), n_classes, starts, trans, eos_accept, views)


def automaton_key(rules: Sequence[Rule], sets: Mapping[str, Ranges]) -> str:
    """What the automaton of ``rules`` over ``sets`` is made from, hashed (with this
    machine's byte order, which its tables are written in): the key of a shipped one."""
    made_from = repr((sys.byteorder, tuple(rules), sorted(sets.items())))
    return hashlib.sha256(made_from.encode("utf-8")).hexdigest()


def automaton_tables(rules: Sequence[Rule], sets: Mapping[str, Ranges]) -> AutomatonTables:
    """The tables of the automaton of ``rules`` over ``sets``, as shipped: the number of
    character classes, the class of every code point (as runs: where each run ends, an
    unsigned 32-bit integer, and its class, a byte), and the start, transition,
    end-of-text and view tables (see :class:`ciyu._grammar.Tables`).

    Raises:
        ValueError: if the rules are outside the language of :mod:`ciyu._grammar`.
    """
    classes, t = _automaton(rules, sets)
    runs = [(cls, len(list(group))) for cls, group in itertools.groupby(classes)]
    return (
        t.n_classes,
        array("I", itertools.accumulate(n for _, n in runs)).tobytes(),
        bytes(cls for cls, _ in runs),
        t.starts.tobytes(),
        t.trans.tobytes(),
        t.eos_accept.tobytes(),
        t.views.tobytes(),
    )


def _automaton(rules: Sequence[Rule], sets: Mapping[str, Ranges]) -> tuple[array[int], Tables]:
    """The class of every code point and the automaton of ``rules`` over ``sets``."""
    classes, membership = character_classes(sets, 0x110000)
    return classes, compile_rules(rules, membership)


def _rules_object(
    classes: bytes, n_classes: int, starts: bytes, trans: bytes, eos_accept: bytes, views: bytes
) -> Rules:
    if _lattice is None:
        raise ImportError("the compiled rule layer (ciyu._lattice) is not installed")
    compiled: Rules = _lattice.Rules(classes, n_classes, starts, trans, eos_accept, views)
    return compiled


def compile_rule_layer(rules: Sequence[Rule], sets: Mapping[str, Ranges]) -> Rules:
    """Any list of rules over any named character sets, for the compiled extension: the
    automaton (see :mod:`ciyu._grammar`) and the class of every code point.

    Raises:
        ImportError: if the compiled extension is not installed.
        ValueError: if the rules are outside the language of :mod:`ciyu._grammar`.
    """
    if _lattice is None:
        raise ImportError("the compiled rule layer (ciyu._lattice) is not installed")
    classes, t = _automaton(rules, sets)
    return _rules_object(
        classes.tobytes(),
        t.n_classes,
        t.starts.tobytes(),
        t.trans.tobytes(),
        t.eos_accept.tobytes(),
        t.views.tobytes(),
    )


def tokenize(line: str) -> Iterator[tuple[TokenKind, str]]:
    """Split ``line`` into rule tokens ``(kind, text)``; their texts join back to ``line``.

    Runs the compiled rule layer when it is installed, so that :meth:`ciyu.Model.cut` and
    the bulk :meth:`ciyu.Model.segment` share one engine; :func:`tokenize_reference` is
    the regular expression the tests compare it with.

    >>> list(tokenize("共 3.5 斤"))
    [('learn', '共'), ('space', ' '), ('num', '3.5'), ('space', ' '), ('learn', '斤')]
    """
    if _lattice is None:
        yield from tokenize_reference(line)
        return
    start = 0
    for rule, end in compiled_rules().scan(line):
        yield _KINDS[rule], line[start:end]
        start = end


def tokenize_reference(line: str) -> Iterator[tuple[TokenKind, str]]:
    """The pure-Python :func:`tokenize`: the regular expression of :func:`rule_pattern`."""
    rules = _rules()
    for m in rules.token.finditer(line):
        yield rules.kind_of[m.lastgroup or ""], m.group()


def learnable_view(text: str) -> str:
    """The text the learners see: learnable runs as they are, each number as :data:`NUM`,
    and every other token as ``"\\0"`` (a fragment boundary); see :data:`LEARNED_KINDS`.

    Runs the compiled rule layer when it is installed (twenty times faster: every pass of
    a learner over the corpus goes through here); :func:`learnable_view_reference` is the
    reference the tests compare it with.
    """
    if _lattice is not None:
        return compiled_rules().learnable_view(text)
    note_slow_path(len(text))
    return learnable_view_reference(text)


def learnable_view_reference(text: str) -> str:
    """The pure-Python :func:`learnable_view`, from the regular expression of
    :func:`tokenize_reference`."""
    rules = _rules()

    def view_of(m: re.Match[str]) -> str:
        return rules.view_of[m.lastgroup or ""] or m.group()

    return rules.token.sub(view_of, text)


def fragments(text: str) -> list[str]:
    """The fragments of ``text`` that n-grams are counted over (numbers shown as NUM)."""
    return [f for f in learnable_view(text).split("\0") if f]


def display(word: str) -> str:
    """A word as shown to people: the number class is written ``<num>``."""
    return word.replace(NUM, NUM_DISPLAY)


def undisplay(word: str) -> str:
    """Inverse of :func:`display`."""
    return word.replace(NUM_DISPLAY, NUM)
