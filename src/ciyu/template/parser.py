"""Parsing with templates: every template that matches a sentence, and the best nesting.

A template matches a sentence where its fixed words appear in order, no further from the
first than mining allows (``max_distance`` words, in the same clause or the next), every
slot covering one word or more and adjacent fixed words adjacent; a
template with a trailing slot matches when it spans two clauses, its slot covering the
rest of the last clause, exactly as mining saw it (:func:`~ciyu.template.occurrences.
occurrence` decides both). Templates are kept in a trie over their fixed words, so that
the matches of all templates starting at a position are found in one walk.

The parse of a sentence is the set of template applications that saves the most
(the sum of their ``gain``: the minimum-entropy view, where a parse is the shortest code of
the sentence), applications nesting inside each other's slots but never crossing. Plain
words save nothing. Ties go to the parse with more fixed words, then to the first found.
It is computed by dynamic programming over spans: ``best(i, j)`` is the best sequence of
words and applications covering words ``i..j-1``, and an application's value is its gain
plus the best of each of its slots.

A parse is a tree: a node is a word (a string) or a list of nodes. A template application
is a list of its fixed words and, for each slot, the subtree of the words it covers; a span
of several words that no template covers as a whole is a list of its parts. Every word of
the input appears exactly once, in order.

With ``fill="right"`` the parser returns a full binary tree instead: every node with more
than two children (the words and applications of a span no template covers, an
application's fixed words and slots, a line's sentences) becomes a right-branching binary
tree of them (:func:`fill_right`). The templates' brackets are kept, so they decide the
brackets where they apply, and right-branching (a strong baseline for Chinese) decides
the rest. The trees may then be as deep as a sentence is long: every function here walks
them without recursion.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple, TypeAlias

from .._compiled import tparse as _tparse
from ..errors import ConfigError
from .occurrences import trivial_occurrence
from .sentences import (
    CLOSER,
    OPENER,
    PUNCT,
    SLOT,
    ChunkSentences,
    Sentence,
    model_words,
    sentences,
)

if TYPE_CHECKING:
    from .._tparse import Parser as _CompiledParser
    from ..model import Model
    from .evidence import Template

#: A parse tree: a word, or a list of subtrees.
Tree: TypeAlias = "str | list[Tree]"
#: The ways :class:`Parser` can fill in what the templates leave flat.
FILLS = ("right",)


class Match(NamedTuple):
    """One template application in a sentence (a named tuple: the parse passes make
    hundreds of thousands of them).

    Attributes:
        template: index of the template.
        start, end: the words covered, ``start .. end-1``.
        fixed: positions of the fixed words.
        slots: ``(start, end)`` of each slot.
        gain: nats saved by applying it.
    """

    template: int
    start: int
    end: int
    fixed: tuple[int, ...]
    slots: tuple[tuple[int, int], ...]
    gain: float


@dataclass
class _Node:
    """A trie node: the fixed words so far (``items``: with a slot wherever two are not
    adjacent, no trailing slot) and the templates made of them, without a trailing slot
    (``plain``) and with one (``trailing``); ``gapped`` if ``items`` holds a slot."""

    items: tuple[str, ...] = ()
    gapped: bool = False
    children: dict[tuple[bool, str], _Node] = field(default_factory=dict)
    plain: list[int] = field(default_factory=list)
    trailing: list[int] = field(default_factory=list)
    # ``children`` split by step kind, keyed by the word alone (in insertion order), so
    # that the walk looks a word up without building a tuple: filled by the trie
    next_adjacent: dict[str, _Node] = field(default_factory=dict)
    next_gapped: dict[str, _Node] = field(default_factory=dict)


class TemplateTrie:
    """Templates by their fixed words: each step is a word and whether it follows the
    previous fixed word directly (no slot between them).

    Args:
        templates: each template's items (fixed word keys and :data:`SLOT`).
        max_distance: farthest apart two consecutive fixed words may be.
    """

    def __init__(self, templates: Sequence[Sequence[str]], max_distance: int) -> None:
        self.items = [tuple(t) for t in templates]
        self.max_distance = max_distance
        self.root = _Node()
        #: trivial templates (``<X> w <X>``) by their word: matched apart
        self.trivial: dict[str, list[int]] = {}
        for index, items in enumerate(self.items):
            if len(items) == 3 and items[0] == items[2] == SLOT and items[1] != SLOT:
                self.trivial.setdefault(items[1], []).append(index)
                continue
            node = self.root
            adjacent = False
            for x in items:
                if x == SLOT:
                    adjacent = False
                    continue
                step = (adjacent and node is not self.root, x)
                child = node.children.get(step)
                if child is None:
                    if node is self.root:
                        child = _Node((x,))
                    elif step[0]:
                        child = _Node((*node.items, x), node.gapped)
                    else:
                        child = _Node((*node.items, SLOT, x), True)
                    node.children[step] = child
                    (node.next_adjacent if step[0] else node.next_gapped)[x] = child
                node = child
                adjacent = True
            # a match's items begin with a fixed word (:func:`occurrence`): a template
            # with a leading slot (but for the trivial ones) matches nowhere
            if items == node.items:
                node.plain.append(index)
            elif items == (*node.items, SLOT):
                node.trailing.append(index)

    def matches(self, sent: Sentence, gains: Sequence[float]) -> list[Match]:
        """Every application of every template in a sentence."""
        keys = sent.keys
        roots = self.root.next_gapped
        trivial = self.trivial
        out: list[Match] = []
        # most words begin no template: find the starts first, and the rest only if any
        starts = [i for i, k in enumerate(keys) if k in roots or k in trivial]
        if not starts:
            return out
        where: dict[str, list[int]] = {}
        for i, k in enumerate(keys):
            where.setdefault(k, []).append(i)
        n = len(keys)
        clauses = sent.clauses
        # window[first]: the end of the words a template starting at ``first`` may hold
        # (within max_distance of it, in its clause or the next); clauses never decrease
        window = [0] * n
        end = 0
        for first in range(n):
            last_clause = clauses[first] + 1
            end = max(end, first)
            while end < n and end - first <= self.max_distance and clauses[end] <= last_clause:
                end += 1
            window[first] = end
        walk = _Walk(sent, where, gains, window, self.max_distance, out)
        for start in starts:
            key = keys[start]
            node = roots.get(key)
            if node is not None:
                walk.walk(node, (start,), ())
            for index in trivial.get(key, ()):
                occ = trivial_occurrence(sent, start)
                if occ is not None:
                    s, e = occ.slots[0][0], occ.slots[1][1]
                    out.append(Match(index, s, e, occ.fixed, occ.slots, gains[index]))
        return out

    def flatten(self) -> FlatTrie:
        """The trie as arrays, for the compiled parser (:class:`CompiledApplications`):
        nodes numbered parent before child, words as ids, every list in its order here
        (the order of the matches depends on it)."""
        words: dict[str, int] = {}
        nodes = [self.root]
        for node in nodes:  # breadth first: a child after its parent
            nodes.extend(node.next_adjacent.values())
            nodes.extend(node.next_gapped.values())
        number = {id(node): k for k, node in enumerate(nodes)}
        rows: dict[str, tuple[array[int], array[int]]] = {
            name: (array("i", [0]), array("i"))
            for name in ("adjacent", "gapped", "plain", "trailing")
        }
        children = rows["adjacent"][1], rows["gapped"][1]
        child_words = array("i"), array("i")
        for node in nodes:
            for kind, steps in enumerate((node.next_adjacent, node.next_gapped)):
                for word, child in steps.items():
                    child_words[kind].append(words.setdefault(word, len(words)))
                    children[kind].append(number[id(child)])
            rows["plain"][1].extend(node.plain)
            rows["trailing"][1].extend(node.trailing)
            for offsets, values in rows.values():
                offsets.append(len(values))
        for word in self.trivial:
            words.setdefault(word, len(words))
        trivial_off, trivial_templates = array("i", [0]), array("i")
        for word in words:
            trivial_templates.extend(self.trivial.get(word, ()))
            trivial_off.append(len(trivial_templates))
        return FlatTrie(
            words,
            rows["adjacent"][0],
            child_words[0],
            children[0],
            rows["gapped"][0],
            child_words[1],
            children[1],
            *rows["plain"],
            *rows["trailing"],
            bytes(node.gapped for node in nodes),
            trivial_off,
            trivial_templates,
            self.max_distance,
        )


class FlatTrie(NamedTuple):
    """A :class:`TemplateTrie` as arrays (:meth:`TemplateTrie.flatten`): node 0 is the
    root, a node's children come after it; ``*_off`` (one more than the nodes, or than
    the words for ``trivial_off``) say where each node's (word's) entries begin in the
    arrays after them, which keep the trie's orders.

    Attributes:
        words: the id of every fixed word (a word no template holds has none).
        adjacent_off, adjacent_word, adjacent_child: each node's children by an adjacent
            step (:attr:`_Node.next_adjacent`).
        gapped_off, gapped_word, gapped_child: its children by a step over a slot.
        plain_off, plain: its templates without a trailing slot.
        trailing_off, trailing: its templates with one.
        gapped: one byte per node, 1 if its items hold a slot.
        trivial_off, trivial: the trivial templates of each word id.
        max_distance: as the trie's.
    """

    words: dict[str, int]
    adjacent_off: array[int]
    adjacent_word: array[int]
    adjacent_child: array[int]
    gapped_off: array[int]
    gapped_word: array[int]
    gapped_child: array[int]
    plain_off: array[int]
    plain: array[int]
    trailing_off: array[int]
    trailing: array[int]
    gapped: bytes
    trivial_off: array[int]
    trivial: array[int]
    max_distance: int


#: One template application of a chunk's parse: the sentence (its index in the chunk),
#: the template (its index), and the slots.
Application: TypeAlias = tuple[int, int, tuple[tuple[int, int], ...]]


class CompiledApplications:
    """The compiled twin (``ciyu._tparse``) of ``best_cover(n, trie.matches(sent, gains),
    tree=False)``: the applications of the best parse of each sentence of a chunk, the
    same, in the same order (:meth:`TemplateTrie.matches` and :func:`best_cover` are the
    reference). Made by :meth:`make`.

    Args:
        trie: the templates.
        gains: each template's gain (finite).
        module: the compiled extension.
    """

    def __init__(self, trie: TemplateTrie, gains: Sequence[float], module: ModuleType) -> None:
        flat = trie.flatten()
        self._words = flat.words
        self._parser: _CompiledParser = module.Parser(
            len(flat.words),
            *flat[1:14],
            array("d", gains),
            flat.max_distance,
            PUNCT,
            OPENER,
            CLOSER,
        )

    @classmethod
    def make(cls, trie: TemplateTrie, gains: Sequence[float]) -> CompiledApplications | None:
        """The compiled twin of the trie, or None when the extension is not installed (or
        a gain is not finite, or a template has more fixed words than
        ``ciyu._tparse.MAX_DEPTH``: the compiled parser refuses them)."""
        if _tparse is None or not all(math.isfinite(g) for g in gains):
            return None
        if max((sum(x != SLOT for x in t) for t in trie.items), default=0) > _tparse.MAX_DEPTH:
            return None
        return cls(trie, gains, _tparse)

    def applications(self, sents: Sequence[Sentence]) -> list[Application]:
        """The applications of the best parse of each sentence: ``(sentence, template,
        slots)``, sentence after sentence, each sentence's in the order of
        :func:`best_cover` (``sentence`` is the index in ``sents``)."""
        # the chunk's words, sentence after sentence (one list each, not one per sentence)
        get, chain = self._words.get, itertools.chain.from_iterable
        ids = array("i", [get(k, -1) for k in chain(sent.keys for sent in sents)])
        classes = array("i", chain(sent.classes for sent in sents))
        clauses = array("i", chain(sent.clauses for sent in sents))
        ends = array("i", chain(sent.clause_end for sent in sents))
        offsets = array("i", itertools.accumulate((len(sent.keys) for sent in sents), initial=0))
        return self._parser.applications(ids, classes, clauses, ends, offsets)

    def chunk_applications(self, chunk: ChunkSentences) -> list[Application]:
        """:meth:`applications` of the sentences of a chunk laid out flat (no object per
        sentence)."""
        get = self._words.get
        ids = array("i", [get(k, -1) for k in chunk.keys])
        offsets = array("i", chunk.offsets)
        return self._parser.applications(
            ids, chunk.classes, chunk.clauses, chunk.clause_end, offsets
        )


class _Walk:
    """The walk of :meth:`TemplateTrie.matches` over one sentence: the paths of trie
    nodes from each start, and the matches they make (their order decides ties in
    :func:`best_cover`, so it is part of the result)."""

    def __init__(
        self,
        sent: Sentence,
        where: dict[str, list[int]],
        gains: Sequence[float],
        window: list[int],
        max_distance: int,
        out: list[Match],
    ) -> None:
        self.keys = sent.keys
        self.classes = sent.classes
        self.clauses = sent.clauses
        self.clause_end = sent.clause_end
        self.n = len(sent.keys)
        self.where = where
        self.gains = gains
        self.window = window
        self.max_distance = max_distance
        self.out = out

    def walk(self, node: _Node, path: tuple[int, ...], slots: tuple[tuple[int, int], ...]) -> None:
        """The matches of ``node`` and its descendants along ``path`` (fixed positions;
        ``slots``: the slots between them)."""
        last = path[-1]
        first = path[0]
        if node.plain or node.trailing:
            # the match :func:`occurrence` makes of the path, if it is one of the node's
            # templates (the node knows its items but for the trailing slot)
            classes = self.classes
            begin, finish = classes[first], classes[last]
            if not (begin & PUNCT and not begin & OPENER) and not (
                finish & PUNCT and not finish & CLOSER
            ):
                clause_end = self.clause_end[last]
                clauses = self.clauses
                trailing = clauses[last] > clauses[first] and clause_end > last + 1
                if trailing:
                    spans = (*slots, (last + 1, clause_end))
                    gains, append = self.gains, self.out.append
                    for index in node.trailing:
                        append(Match(index, first, clause_end, path, spans, gains[index]))
                elif node.gapped and node.plain:
                    gains, append = self.gains, self.out.append
                    for index in node.plain:
                        append(Match(index, first, last + 1, path, slots, gains[index]))
        adjacent, gapped = node.next_adjacent, node.next_gapped
        if not adjacent and not gapped:
            return
        keys = self.keys
        window = self.window[first]
        if adjacent and last + 1 < window:
            child = adjacent.get(keys[last + 1])
            if child is not None:
                self.walk(child, (*path, last + 1), slots)
        if not gapped:
            return
        # the same choice as the reference (by every child, the window without clauses)
        if len(node.children) <= min(self.n, first + self.max_distance + 1) - last:
            # few children: look each one's word up in the sentence
            where = self.where
            for word, child in gapped.items():
                for nxt in where.get(word, ()):
                    if nxt <= last + 1:
                        continue
                    if nxt >= window:
                        break
                    self.walk(child, (*path, nxt), (*slots, (last + 1, nxt)))
            return
        # many children: look each word of the window up among them
        for nxt in range(last + 2, window):
            child = gapped.get(keys[nxt])
            if child is not None:
                self.walk(child, (*path, nxt), (*slots, (last + 1, nxt)))


def best_cover(n: int, matches: Sequence[Match], tree: bool = True) -> tuple[list[Match], Tree]:
    """The best parse of a sentence of ``n`` words from its template matches.

    Args:
        n: words in the sentence.
        matches: the template matches (:meth:`TemplateTrie.matches`); their order breaks
            ties.
        tree: False when only the applications are wanted (the parse passes): the tree
            returned is then empty.

    Returns:
        The applications used (in the same order either way), and the parse tree over
        word positions: its leaves are the positions as decimal strings
        (:func:`parse_words` puts the words in).
    """
    # rows[i][j - i] is the best (score, fixed words) of a sequence covering i..j-1; a row
    # is needed from 0 to n and from each slot start to the end of its longest slot
    need: dict[int, int] = {0: n}
    for m in matches:
        for s, e in m.slots:
            if need.get(s, -1) < e:
                need[s] = e
    ends: dict[int, list[int]] = {}
    for k, m in enumerate(matches):
        ends.setdefault(m.end, []).append(k)
    # values[k]: match k's gain plus the best of each of its slots, and its fixed words
    # (computed once, when a row first reaches its end)
    values: list[tuple[float, int] | None] = [None] * len(matches)
    rows: dict[int, list[tuple[float, int]]] = {}
    backs: dict[int, list[int]] = {}

    # a slot's row is ready before its match's: slots start after their match's start
    # (the leading slot of a trivial template starts with it: its row is the one being
    # filled, complete up to the slot's end)
    # a position where no match ends repeats the best so far: only the ends are visited
    end_list = sorted(ends)
    for i in sorted(need, reverse=True):
        best: list[tuple[float, int]] = [(0.0, 0)]
        back: list[int] = [-1]
        rows[i], backs[i] = best, back
        limit = need[i]
        for e in range(bisect.bisect_right(end_list, i), len(end_list)):
            j = end_list[e]
            if j > limit:
                break
            top = best[-1]
            missing = j - i - len(best)
            if missing:
                best.extend([top] * missing)
                back.extend([-1] * missing)
            choice = -1
            for k in ends[j]:
                m = matches[k]
                start = m.start
                if start < i:
                    continue
                v = values[k]
                if v is None:
                    score, fixed = m.gain, len(m.fixed)
                    for s, e in m.slots:
                        sub = rows[s][e - s]
                        score += sub[0]
                        fixed += sub[1]
                    v = values[k] = (score, fixed)
                before = best[start - i]
                cand = (before[0] + v[0], before[1] + v[1])
                if cand > top:
                    top, choice = cand, k
            best.append(top)
            back.append(choice)
        missing = limit - i + 1 - len(best)
        if missing:
            best.extend([best[-1]] * missing)
            back.extend([-1] * missing)

    used: list[Match] = []

    def sequence(i: int, j: int) -> list[Tree]:
        nodes: list[Tree] = []
        back = backs[i]
        while j > i:
            k = back[j - i]
            if k < 0:
                nodes.append(str(j - 1))
                j -= 1
            else:
                nodes.append(application(matches[k]))
                j = matches[k].start
        nodes.reverse()
        return nodes

    def application(m: Match) -> Tree:
        used.append(m)
        node: list[Tree] = []
        slot_at = dict(m.slots)
        pos = m.start
        while pos < m.end:
            if pos in slot_at:
                e = slot_at[pos]
                sub = sequence(pos, e)
                node.append(sub[0] if len(sub) == 1 else sub)
                pos = e
            else:
                node.append(str(pos))
                pos += 1
        return node

    if not tree:
        # the same walk as :func:`sequence` and :func:`application`, recording only the
        # applications, in the same order: a sequence's applications from its end back
        # to its start, each one followed by everything in its slots (left to right)
        # before the next; a task is a sequence (i, j) or an application (its index)
        tasks: list[tuple[int, int] | int] = [(0, n)]
        while tasks:
            task = tasks.pop()
            if isinstance(task, int):
                m = matches[task]
                used.append(m)
                tasks.extend(reversed(m.slots))
                continue
            i, j = task
            back = backs[i]
            found: list[int] = []
            while j > i:
                k = back[j - i]
                if k < 0:
                    j -= 1
                else:
                    found.append(k)
                    j = matches[k].start
            tasks.extend(reversed(found))
        return used, []
    nodes = sequence(0, n)
    whole: Tree = nodes[0] if len(nodes) == 1 else nodes
    return used, whole


def _rebuild(tree: Tree, leaf: Callable[[str], Tree], node: Callable[[list[Tree]], Tree]) -> Tree:
    """A tree rebuilt bottom-up, without recursion: each word through ``leaf``, each list
    node through ``node`` (given its rebuilt children)."""
    if isinstance(tree, str):
        return leaf(tree)
    # each frame: the children still to visit, and the rebuilt ones so far
    stack: list[tuple[Iterator[Tree], list[Tree]]] = [(iter(tree), [])]
    while True:
        children, done = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            built = node(done)
            if not stack:
                return built
            stack[-1][1].append(built)
        elif isinstance(child, str):
            done.append(leaf(child))
        else:
            stack.append((iter(child), []))


def _relabel(tree: Tree, words: Sequence[str]) -> Tree:
    return _rebuild(tree, lambda pos: words[int(pos)], lambda nodes: nodes)


def _right_branching(nodes: list[Tree]) -> Tree:
    """``[a, b, c, d]`` → ``[a, [b, [c, d]]]``; a list of one or two nodes is left as is."""
    if len(nodes) <= 2:
        return nodes
    tree: Tree = nodes[-1]
    for n in reversed(nodes[:-1]):
        tree = [n, tree]
    return tree


def fill_right(tree: Tree) -> Tree:
    """A full binary tree from a parse: every node with more than two children becomes a
    right-branching binary tree of them. The node's own bracket stays, and so does every
    bracket inside its children: only brackets are added, none crosses another, and the
    words are unchanged.

    >>> fill_right(["他", ["在", ["大", "会议"], "中"], "发言", "。"])
    ['他', [['在', [['大', '会议'], '中']], ['发言', '。']]]
    """
    return _rebuild(tree, lambda word: word, _right_branching)


def leaves(tree: Tree) -> Iterator[str]:
    """The words of a tree, in order."""
    if isinstance(tree, str):
        yield tree
        return
    stack: list[Iterator[Tree]] = [iter(tree)]
    while stack:
        child = next(stack[-1], None)
        if child is None:
            stack.pop()
        elif isinstance(child, str):
            yield child
        else:
            stack.append(iter(child))


def brackets(tree: Tree) -> list[tuple[int, int]]:
    """The spans ``(start, end)`` of every list node of a tree, over word positions
    (a node's span after its children's)."""
    spans: list[tuple[int, int]] = []
    if isinstance(tree, str):
        return spans
    pos = 0
    stack: list[tuple[Iterator[Tree], int]] = [(iter(tree), 0)]
    while stack:
        children, start = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            spans.append((start, pos))
        elif isinstance(child, str):
            pos += 1
        else:
            stack.append((iter(child), pos))
    return spans


def _render(tree: Tree, word: Callable[[str], str], sep: str, outer: bool) -> str:
    """A tree as text, without recursion: words through ``word``, children separated by
    ``sep``, list nodes in square brackets (the outermost only if ``outer``)."""
    if isinstance(tree, str):
        return word(tree)
    out: list[str] = ["["] if outer else []
    # each frame: the children still to write, and whether one has been written
    stack: list[tuple[Iterator[Tree], list[bool]]] = [(iter(tree), [False])]
    while stack:
        children, started = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if stack or outer:
                out.append("]")
            continue
        if started[0]:
            out.append(sep)
        started[0] = True
        if isinstance(child, str):
            out.append(word(child))
        else:
            out.append("[")
            stack.append((iter(child), [False]))
    return "".join(out)


def to_text(tree: Tree) -> str:
    """A tree as readable text: words separated by spaces, each list node but the
    outermost in square brackets."""
    return _render(tree, lambda w: w, " ", outer=False)


def _json_word(word: str) -> str:
    return json.dumps(word, ensure_ascii=False)


def to_json(tree: Tree) -> str:
    """A tree as one line of JSON (non-ASCII kept as is), as :func:`json.dumps` writes
    it (without its recursion limit: a filled tree is as deep as its sentence is long)."""
    return _render(tree, _json_word, ", ", outer=True)


def parse_words(words: Sequence[str], trie: TemplateTrie, gains: Sequence[float]) -> Tree:
    """Parse the words of one line: each sentence on its own, the line's tree holding one
    subtree per sentence when it has several."""
    trees: list[Tree] = []
    for sent_words in sentences(words):
        sent = Sentence.of(sent_words)
        _, tree = best_cover(len(sent_words), trie.matches(sent, gains))
        trees.append(_relabel(tree, sent_words))
    if len(trees) == 1:
        return trees[0]
    return trees


class Parser:
    """Parses text with templates (``ciyu.Parser(ciyu.load_templates("t.tsv"), model)``).

    Args:
        templates: the templates (records from :func:`ciyu.templates` or a templates file).
        model: the model that segments text given as a string; without one, text must be
            given as a list of words.
        max_distance: farthest apart two consecutive fixed words may be (as mined).
        fill: None (default) for the templates-only parse; ``"right"`` for a full binary
            tree, the templates' brackets filled in with right-branching trees
            (:func:`fill_right`).

    Raises:
        ConfigError: if ``fill`` is not None or one of :data:`FILLS`.

    >>> from ciyu.template import Template
    >>> t = Template("在 <X> 中", 10, 5.0, 0.5, 2.0, 8, (), "")
    >>> Parser([t]).parse("他 在 会议 中 发言 。".split())
    ['他', ['在', '会议', '中'], '发言', '。']
    >>> Parser([t], fill="right").parse("他 在 会议 中 发言 。".split())
    ['他', [['在', ['会议', '中']], ['发言', '。']]]
    """

    def __init__(
        self,
        templates: Sequence[Template],
        model: Model | None = None,
        max_distance: int = 32,
        fill: str | None = None,
    ) -> None:
        if fill is not None and fill not in FILLS:
            raise ConfigError(
                f"unknown fill {fill!r}; use None (templates only) or one of: {', '.join(FILLS)}"
            )
        self.templates = list(templates)
        self.gains = [t.gain for t in self.templates]
        self.trie = TemplateTrie([t.items for t in self.templates], max_distance)
        self.fill = fill
        self._words = model_words(model) if model is not None else None

    def words(self, text: str) -> list[str]:
        """The words of ``text`` as the model segments it (whitespace dropped).

        Raises:
            ConfigError: if the parser has no model.
        """
        if self._words is None:
            raise ConfigError(
                "this parser has no model to segment text with; give the text as a list of "
                "words, or make the parser with a model"
            )
        return self._words(text)

    def parse(self, text_or_words: str | Sequence[str]) -> Tree:
        """Parse one line: a string (segmented by the model) or its words.

        Returns:
            The tree (module documentation); its leaves are the words, in order.
        """
        words = self.words(text_or_words) if isinstance(text_or_words, str) else text_or_words
        tree = parse_words(list(words), self.trie, self.gains)
        return fill_right(tree) if self.fill == "right" else tree

    def join(self, parts: Sequence[Tree]) -> Tree:
        """The tree of a line parsed in several parts (a line too long to read at once),
        from the trees :meth:`parse` gave its parts."""
        if len(parts) == 1:
            return parts[0]
        return fill_right(list(parts)) if self.fill == "right" else list(parts)

    def applications(self, words: Sequence[str]) -> list[tuple[Template, Match]]:
        """The template applications in the best parse of one sentence's words."""
        sent = Sentence.of(list(words))
        used, _ = best_cover(len(sent.words), self.trie.matches(sent, self.gains))
        return [(self.templates[m.template], m) for m in sorted(used, key=lambda m: m.start)]
