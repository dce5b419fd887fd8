"""A small regular-expression language for the rule layer, and its three back ends.

The rule layer (:mod:`ciyu.text`) is written once, as a list of :class:`Rule` objects
built from the nodes below over *named character sets*. From that one description come:

- the Python regular expression of :func:`ciyu.text.tokenize_reference`;
- the same expression in Oniguruma syntax, for the Hugging Face export;
- the tables of a deterministic automaton (:func:`compile_rules`) that the compiled rule
  layer (``src/ciyu/_lattice.c``) runs: C knows no character and no rule of its own, so
  a rule or a character set changed in Python reaches the compiled path by itself.

Matching semantics are those of a backtracking engine (Python's ``re``, Oniguruma): at
each position the first rule that matches wins, with the match that backtracking finds
first (greedy loops try one more time first, alternatives left to right). This is not
always the longest match (``(.)\\1*(?:\\u200d.)*`` takes three of ``"\\u200d\\u200d\\u200d "``,
not four), so the automaton is built as RE2 builds its leftmost-first automata: its
states are NFA threads in priority order, and a match drops the threads of lower
priority; it then finds the tokens the regex engines find (the tests compare them on
random rule lists and on long hostile text). Scanning stops when no thread is left; the
token is the last match seen.

The language: character sets, any character, sequences, alternatives, greedy repeats;
a negative lookbehind of one character only where it opens a rule (it sees the character
before the token, or nothing at the start of the text), a negative lookahead of one
character anywhere (it sees the next character, or nothing at the end); ``First``/``Same``
for a run of one repeated character (a backreference), ``First`` opening its rule. No rule
may match the empty string, and some rule must take any single character, so that
scanning always moves on: :func:`compile_rules` checks both.
"""

from __future__ import annotations

import itertools
import re
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

# The tables are plain ``array`` objects, not numpy's: the rule layer is built when the
# first line is segmented, and ``ciyu segment`` should not pay for importing numpy.
if array("i").itemsize != 4:  # pragma: no cover - every platform CPython supports
    raise ImportError("ciyu needs a C int of 32 bits")

Ranges = Sequence[tuple[int, int]]


# -- the nodes --------------------------------------------------------------------------


@dataclass(frozen=True)
class Chars:
    """One character of any of the named sets."""

    sets: tuple[str, ...]


@dataclass(frozen=True)
class AnyChar:
    """Any one character (line breaks included)."""


@dataclass(frozen=True)
class First:
    """Any one character, remembered under ``name`` for :class:`Same` (opens its rule)."""

    name: str


@dataclass(frozen=True)
class Same:
    """The character remembered by :class:`First` ``name``, once more."""

    name: str


@dataclass(frozen=True)
class Seq:
    """The items one after the other."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    """The first of the items that matches."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Repeat:
    """``item`` from ``low`` to ``high`` times (``high`` None: no limit), greedily."""

    item: Node
    low: int
    high: int | None


@dataclass(frozen=True)
class NotPreceded:
    """Zero-width: the character before is not one of ``chars`` (or there is none)."""

    chars: Chars


@dataclass(frozen=True)
class NotFollowed:
    """Zero-width: the next character is not one of ``chars`` (or there is none)."""

    chars: Chars


Node = Chars | AnyChar | First | Same | Seq | Alt | Repeat | NotPreceded | NotFollowed


def chars(*sets: str) -> Chars:
    """One character of any of the named sets."""
    return Chars(sets)


def seq(*items: Node) -> Seq:
    """The items one after the other."""
    return Seq(items)


def alt(*items: Node) -> Alt:
    """The first of the items that matches."""
    return Alt(items)


def star(item: Node) -> Repeat:
    """``item*``"""
    return Repeat(item, 0, None)


def plus(item: Node) -> Repeat:
    """``item+``"""
    return Repeat(item, 1, None)


def opt(item: Node) -> Repeat:
    """``item?``"""
    return Repeat(item, 0, 1)


def times(item: Node, n: int) -> Repeat:
    """``item{n}``"""
    return Repeat(item, n, n)


@dataclass(frozen=True)
class Rule:
    """One alternative of the rule layer.

    Attributes:
        name: the name of its group in the regular expression (unique).
        kind: the token kind it produces (several rules may share one).
        pattern: what it matches (never the empty string).
        view: how the learners see its tokens (:func:`ciyu.text.learnable_view`): None
            for a fragment boundary, ``""`` for the token's own characters, or the one
            character of a symbol class (the number class ``NUM``).
    """

    name: str
    kind: str
    pattern: Node
    view: str | None


# -- regular expressions -----------------------------------------------------------------


@dataclass(frozen=True)
class Syntax:
    """How a regex engine writes the constructs the rules use."""

    char_class: Callable[[Ranges], str]  # the body of a character class
    group: str  # a named group, with {} for the name: "?P<{}>"
    backref: str  # a backreference, with {} for the name
    anything: str  # any character, line breaks included


def oniguruma_class(ranges: Ranges) -> str:
    """Inclusive code point ranges as the body of an Oniguruma character class."""
    return "".join(
        f"\\x{{{lo:x}}}" if lo == hi else f"\\x{{{lo:x}}}-\\x{{{hi:x}}}" for lo, hi in ranges
    )


def python_class(ranges: Ranges) -> str:
    """Inclusive code point ranges as the body of a Python regex character class."""
    return "".join(
        re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"
        for lo, hi in ranges
    )


#: Python's ``re`` (compile with ``re.DOTALL``).
PYTHON = Syntax(python_class, "?P<{}>", "(?P={})", ".")
#: Oniguruma, the engine of Hugging Face ``tokenizers``.
ONIGURUMA = Syntax(oniguruma_class, "?<{}>", "\\k<{}>", "(?m:.)")


def render_pattern(rules: Sequence[Rule], sets: Mapping[str, Ranges], syntax: Syntax) -> str:
    """The alternation of ``rules`` as one regular expression, a named group per rule."""

    def cls(node: Chars) -> str:
        return "[" + "".join(syntax.char_class(sets[name]) for name in node.sets) + "]"

    def atom(node: Node) -> str:  # a node that a quantifier can follow as it is
        if isinstance(node, Seq) and len(node.items) == 1:
            return atom(node.items[0])
        text = render(node)
        return f"(?:{text})" if isinstance(node, Seq | Alt | Repeat) else text

    def render(node: Node) -> str:
        if isinstance(node, Chars):
            return cls(node)
        if isinstance(node, AnyChar):
            return syntax.anything
        if isinstance(node, First):
            return f"({syntax.group.format(node.name)}{syntax.anything})"
        if isinstance(node, Same):
            return syntax.backref.format(node.name)
        if isinstance(node, Seq):
            return "".join(atom(i) if isinstance(i, Alt) else render(i) for i in node.items)
        if isinstance(node, Alt):
            return "|".join(render(i) for i in node.items)
        if isinstance(node, Repeat):
            q = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((node.low, node.high))
            if q is None:
                high = "" if node.high is None else str(node.high)
                q = f"{{{node.low}}}" if node.low == node.high else f"{{{node.low},{high}}}"
            return atom(node.item) + q
        if isinstance(node, NotPreceded):
            return f"(?<!{cls(node.chars)})"
        return f"(?!{cls(node.chars)})"

    return "|".join(f"({syntax.group.format(r.name)}{render(r.pattern)})" for r in rules)


# -- the automaton -------------------------------------------------------------------------


def character_classes(
    sets: Mapping[str, Ranges], size: int
) -> tuple[array[int], list[frozenset[str]]]:
    """Split the code points ``0..size-1`` into classes of equal set membership.

    Returns:
        The class id of every code point (a byte each; ids follow the order of the sets'
        bit masks, so class 0 holds the code points in no set when there are any), and
        the names of the sets each class belongs to.

    Raises:
        ValueError: if there are more than 255 classes.
    """
    names = sorted(sets)
    if len(names) > 24:
        raise ValueError("too many character sets for the rule automaton")
    # a sweep over the ranges' ends: between two consecutive ends membership is constant
    # (ranges may overlap, within a set too: each set's ranges open at a point are counted)
    delta: dict[int, list[tuple[int, int]]] = {}
    for bit, name in enumerate(names):
        for lo, hi in sets[name]:
            lo, hi = max(lo, 0), min(hi + 1, size)
            if lo < hi:
                delta.setdefault(lo, []).append((bit, 1))
                delta.setdefault(hi, []).append((bit, -1))
    open_ranges = [0] * len(names)
    segments: list[tuple[int, int, int]] = []  # (start, end, mask)
    points = sorted({0, size, *delta})
    for a, b in itertools.pairwise(points):
        for bit, step in delta.get(a, ()):
            open_ranges[bit] += step
        mask = sum(1 << bit for bit, n in enumerate(open_ranges) if n > 0)
        segments.append((a, b, mask))
    masks = sorted({mask for _, _, mask in segments})
    if len(masks) > 255:
        raise ValueError("too many character classes for the rule automaton")
    id_of = {mask: i for i, mask in enumerate(masks)}
    ids = bytearray(size)
    for a, b, mask in segments:
        if id_of[mask]:
            ids[a:b] = bytes((id_of[mask],)) * (b - a)
    membership = [frozenset(n for b, n in enumerate(names) if m >> b & 1) for m in masks]
    return array("B", ids), membership


@dataclass(frozen=True)
class Tables:
    """The deterministic automaton of a list of rules, as the compiled rule layer reads it.

    Input symbols: a character of class ``c`` is symbol ``2c + same``, where ``same`` is
    1 if it equals the first character of the token. Scanning a token starts in
    ``starts[prev]``, where ``prev`` is the class of the character before the token
    (``n_classes`` at the start of the text), and goes on while there is a next state;
    the token is the last match seen, and its rule is the one that matched.

    Attributes:
        n_classes: the number of character classes.
        starts: int32 ``(n_classes + 1,)``: the start state after each class.
        trans: int32 ``(n_states, 2 n_classes)``, row by row: ``(next + 1) << 8 |
            (rule + 1)``, where
            ``next`` is the state after the symbol (-1: none), and ``rule`` the rule
            whose match ends before the symbol (-1: none).
        eos_accept: uint8 ``(n_states,)``: ``rule + 1`` for a match that ends at the end
            of the text, or 0.
        views: int32 ``(n_rules,)``: -1 the token's own characters join the learners'
            view, 0 it is a boundary, else the code point of its symbol class.
    """

    n_classes: int
    starts: array[int]
    trans: array[int]
    eos_accept: array[int]
    views: array[int]


_Cond = tuple[Literal["prev", "next"], frozenset[int]] | None
# a move out of an NFA state: an empty move (target, condition) or a character move
# (symbols, target); the moves of a state are kept in priority order
_Move = tuple[Literal["eps"], int, _Cond] | tuple[Literal["char"], frozenset[int], int]


class _Nfa:
    """A Thompson automaton whose moves are ordered by priority, as a backtracking engine
    tries them (greedy loops first, alternatives left to right): simulating it with
    ordered thread lists (a Pike VM) gives the backtracking engine's match."""

    def __init__(self, membership: Sequence[frozenset[str]]) -> None:
        self.n_classes = len(membership)
        self.membership = membership
        self.moves: list[list[_Move]] = []
        self.match: dict[int, int] = {}  # final state -> rule index

    def state(self) -> int:
        self.moves.append([])
        return len(self.moves) - 1

    def eps(self, a: int, b: int, cond: _Cond = None) -> None:
        self.moves[a].append(("eps", b, cond))

    def classes_of(self, node: Chars) -> set[int]:
        return {c for c, m in enumerate(self.membership) if m & set(node.sets)}

    def symbols(self, classes: Iterable[int], same: Iterable[int] = (0, 1)) -> frozenset[int]:
        return frozenset(2 * c + s for c in classes for s in same)

    def build(self, node: Node, a: int, b: int) -> None:
        """Moves from ``a`` to ``b`` that match ``node``."""
        every = range(self.n_classes)
        if isinstance(node, Chars):
            self.moves[a].append(("char", self.symbols(self.classes_of(node)), b))
        elif isinstance(node, AnyChar | First):
            self.moves[a].append(("char", self.symbols(every), b))
        elif isinstance(node, Same):
            self.moves[a].append(("char", self.symbols(every, (1,)), b))
        elif isinstance(node, Seq):
            if not node.items:
                self.eps(a, b)
            for i, item in enumerate(node.items):
                mid = b if i == len(node.items) - 1 else self.state()
                self.build(item, a, mid)
                a = mid
        elif isinstance(node, Alt):
            for item in node.items:
                start = self.state()
                self.eps(a, start)
                self.build(item, start, b)
        elif isinstance(node, Repeat):
            for _ in range(node.low):
                mid = self.state()
                self.build(node.item, a, mid)
                a = mid
            if node.high is None:  # greedy: once more first, then leave
                loop, body = self.state(), self.state()
                self.eps(a, loop)
                self.eps(loop, body)
                self.build(node.item, body, loop)
                self.eps(loop, b)
            else:
                for _ in range(node.high - node.low):
                    body, mid = self.state(), self.state()
                    self.eps(a, body)
                    self.build(node.item, body, mid)
                    self.eps(a, b)
                    a = mid
                self.eps(a, b)
        elif isinstance(node, NotPreceded):
            before = set(every) - self.classes_of(node.chars) | {self.n_classes}
            self.eps(a, b, ("prev", frozenset(before)))
        else:
            excluded = self.symbols(self.classes_of(node.chars))
            self.eps(a, b, ("next", frozenset(range(2 * self.n_classes + 1)) - excluded))

    def closure(
        self, states: Iterable[int], prev: int | None, nxt: int
    ) -> tuple[list[tuple[int, int]], int]:
        """The threads reachable by empty moves, in priority order, before the next
        symbol ``nxt`` is read: character moves ``(state, move index)``, cut after the
        first match (a lower-priority thread can no longer win), and that match's rule
        (-1: none). ``prev`` is the class before the token while nothing is read yet."""
        seen: set[int] = set()
        threads: list[tuple[int, int]] = []

        def visit(s: int) -> int:
            if s in seen:
                return -1
            seen.add(s)
            if s in self.match:
                return self.match[s]
            for i, move in enumerate(self.moves[s]):
                if move[0] == "char":
                    threads.append((s, i))
                    continue
                _, target, cond = move
                if cond is not None:
                    side, allowed = cond
                    if side == "prev" and prev is None:
                        raise ValueError("a lookbehind may only open a rule")
                    if (prev if side == "prev" else nxt) not in allowed:
                        continue
                rule = visit(target)
                if rule >= 0:
                    return rule
            return -1

        for s in states:
            rule = visit(s)
            if rule >= 0:
                return threads, rule
        return threads, -1


def _check_first(rule: Rule) -> None:
    """``First`` may only open its rule, and ``Same`` needs its ``First``."""
    p = rule.pattern
    head = p.items[0] if isinstance(p, Seq) and p.items else p
    opening = {head.name} if isinstance(head, First) else set()

    def walk(node: Node) -> None:
        if isinstance(node, First) and node is not head:
            raise ValueError(f"rule {rule.name}: First may only open the rule")
        if isinstance(node, Same) and node.name not in opening:
            raise ValueError(f"rule {rule.name}: Same({node.name!r}) without its First")
        if isinstance(node, Seq | Alt):
            for item in node.items:
                walk(item)
        elif isinstance(node, Repeat):
            walk(node.item)

    walk(p)


def compile_rules(rules: Sequence[Rule], membership: Sequence[frozenset[str]]) -> Tables:
    """The deterministic automaton of the alternation of ``rules`` over the given
    character classes, with the semantics of a backtracking regex engine.

    Raises:
        ValueError: if a rule can match the empty string, if the last rule does not take
            every single character, or if a rule uses a construct outside the language.
    """
    if not 0 < len(rules) < 255:
        raise ValueError("the rule automaton takes 1 to 254 rules")
    n_classes = len(membership)
    n_sym = 2 * n_classes
    nfa = _Nfa(membership)
    start = nfa.state()
    for r, rule in enumerate(rules):
        _check_first(rule)
        a, b = nfa.state(), nfa.state()
        nfa.eps(start, a)
        nfa.build(rule.pattern, a, b)
        nfa.match[b] = r

    # a DFA state: the NFA states entered, in priority order, and the class before the
    # token while nothing is read yet (None afterwards)
    Key = tuple[tuple[int, ...], int | None]
    index: dict[Key, int] = {}
    pending: list[Key] = []

    def state_id(key: Key) -> int:
        if key not in index:
            index[key] = len(index)
            pending.append(key)
        return index[key]

    starts = array("i", [state_id(((start,), p)) for p in range(n_classes + 1)])
    rows: list[list[int]] = []
    eos_accept: list[int] = []
    done = 0
    while done < len(pending):
        states, prev = pending[done]
        done += 1
        row = []
        for x in range(n_sym + 1):
            threads, matched = nfa.closure(states, prev, x)
            if matched >= 0 and prev is not None:
                raise ValueError(f"rule {rules[matched].name} matches the empty string")
            if x == n_sym:
                eos_accept.append(matched + 1)
                break
            entered: dict[int, None] = {}  # ordered, first occurrence kept
            for s, i in threads:
                move = nfa.moves[s][i]
                assert move[0] == "char"
                if x in move[1]:
                    entered.setdefault(move[2])
            nxt = state_id((tuple(entered), None)) if entered else -1
            row.append((nxt + 1) << 8 | (matched + 1))
        rows.append(row)
    if len(rows) >= 1 << 22:
        raise ValueError("the rule automaton is too large")
    tables = Tables(
        n_classes,
        starts,
        array("i", [x for row in rows for x in row]),
        array("B", eos_accept),
        array("i", [-1 if r.view == "" else ord(r.view or "\0") for r in rules]),
    )
    _check_total(tables)
    return tables


def _check_total(t: Tables) -> None:
    """Every single character must make a token, whatever comes before and after it, so
    that scanning always moves on (the last rule of ciyu.text takes any character)."""
    n_sym = 2 * t.n_classes
    for prev in range(t.n_classes + 1):
        for c in range(t.n_classes):
            state = (t.trans[t.starts[prev] * n_sym + 2 * c + 1] >> 8) - 1
            row = t.trans[state * n_sym : (state + 1) * n_sym]
            if state < 0 or not (t.eos_accept[state] and all(x & 0xFF for x in row)):
                raise ValueError("the rule layer must make a token of any one character")
