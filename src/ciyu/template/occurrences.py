"""Where templates occur in a sentence: paths of kept pairs between word positions."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..text import display
from .options import MAX_PATHS, bucket
from .pairs import ChunkPairs, Ints
from .sentences import CLOSER, OPENER, PUNCT, SLOT, Sentence


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a template in a sentence.

    Attributes:
        items: the template: fixed word keys, and :data:`SLOT` for each slot.
        fixed: positions of the fixed words in the sentence.
        slots: ``(start, end)`` of each slot.
        gaps: distance bucket of each internal slot (for the slot-length entropy).
    """

    items: tuple[str, ...]
    fixed: tuple[int, ...]
    slots: tuple[tuple[int, int], ...]
    gaps: tuple[int, ...]


def occurrence(sent: Sentence, path: Sequence[int]) -> Occurrence | None:
    """The template occurrence a path of fixed-word positions makes, or None if it makes
    none: a template neither begins nor ends with punctuation (but for an opening or a
    closing bracket or quote), and holds a slot."""
    classes, keys = sent.classes, sent.keys
    first, last = classes[path[0]], classes[path[-1]]
    if (first & PUNCT and not first & OPENER) or (last & PUNCT and not last & CLOSER):
        return None
    items = [keys[path[0]]]
    slots = []
    gaps = []
    for p, q in itertools.pairwise(path):
        if q - p > 1:
            items.append(SLOT)
            slots.append((p + 1, q))
            gaps.append(bucket(q - p))
        items.append(keys[q])
    end = path[-1]
    if sent.clauses[end] > sent.clauses[path[0]] and sent.clause_end[end] > end + 1:
        items.append(SLOT)
        slots.append((end + 1, sent.clause_end[end]))
    if not slots:
        return None
    return Occurrence(tuple(items), tuple(path), tuple(slots), tuple(gaps))


#: A path being extended: fixed positions, items, slots and gap buckets so far.
_Partial = tuple[tuple[int, ...], tuple[str, ...], tuple[tuple[int, int], ...], tuple[int, ...]]


def trivial_occurrence(sent: Sentence, pos: int) -> Occurrence | None:
    """The trivial template ``<X> w <X>`` at ``pos``: a word that is not punctuation, with
    material on both sides in its clause (the slots run to the clause's ends)."""
    if sent.classes[pos] & PUNCT:
        return None
    clause = sent.clauses[pos]
    start = pos
    while start > 0 and sent.clauses[start - 1] == clause:
        start -= 1
    end = sent.clause_end[pos]
    if not start < pos < end - 1:
        return None
    return Occurrence((SLOT, sent.keys[pos], SLOT), (pos,), ((start, pos), (pos + 1, end)), ())


def trivial_occurrences(sent: Sentence, fixed_ok: Sequence[bool]) -> Iterator[Occurrence]:
    """Every trivial template occurrence of a sentence (see :func:`trivial_occurrence`)."""
    for pos in range(len(sent.words)):
        if fixed_ok[pos]:
            occ = trivial_occurrence(sent, pos)
            if occ is not None:
                yield occ


def run_successors(succ: dict[int, list[int]], path: Sequence[int]) -> list[int]:
    """The positions a path may go on to: the edges of every word of its last run of
    adjacent positions, after its end, ascending, each once.

    Adjacent fixed words act as one unit, whichever of them holds the association with
    the next: in ``不 是 <X> 而 是`` the kept pair is 不 … 而 (是 occurs everywhere, so
    是 … 而 is not).

    >>> run_successors({0: [1, 4], 1: [3, 4, 6]}, (0, 1))
    [3, 4, 6]
    >>> run_successors({0: [2, 4], 2: [5]}, (0, 2))
    [5]
    """
    end = path[-1]
    r = len(path) - 1
    while r > 0 and path[r - 1] == path[r] - 1:
        r -= 1
    if r == len(path) - 1:
        return succ.get(end, [])
    return sorted({q for p in path[r:] for q in succ.get(p, ()) if q > end})


def attaches(succ: dict[int, list[int]], after: Sequence[int], at: int, end: int) -> bool:
    """Whether a path ending at ``end`` that goes on to ``after[at]`` (one of its
    successors, ascending) also goes on to the word just before it and that word together:
    when the two are a kept adjacent pair, a slot still lies between ``end`` and them, and
    the word before is no successor itself (the path reaches it anyway).

    Adjacent fixed words are one unit in both directions (see :func:`run_successors` for
    the other): in ``一 方面 <X> 另一 方面`` the kept pairs are 一 … 方面 and 另一 方面, and
    no pair links 一 or 方面 to 另一.

    >>> attaches({0: [4], 3: [4]}, [4], 0, 0)
    True
    >>> attaches({0: [3, 4], 3: [4]}, [3, 4], 1, 0)
    False
    """
    nxt = after[at]
    before = succ.get(nxt - 1)
    return (
        nxt - end > 2
        and before is not None
        and before[0] == nxt
        and not (at > 0 and after[at - 1] == nxt - 1)
    )


def _grown(
    path: tuple[int, ...],
    items: tuple[str, ...],
    slots: tuple[tuple[int, int], ...],
    gaps: tuple[int, ...],
    step: tuple[int, ...],
    keys: Sequence[str],
) -> _Partial:
    """A path and its occurrence so far, gone on to the positions ``step`` (one word, or
    two adjacent ones)."""
    end, first = path[-1], step[0]
    if first - end > 1:
        items = (*items, SLOT)
        slots = (*slots, (end + 1, first))
        gaps = (*gaps, (first - end - 1).bit_length())
    return (*path, *step), (*items, *(keys[q] for q in step)), slots, gaps


def occurrences(
    sent: Sentence,
    succ: dict[int, list[int]],
    max_fixed: int,
    max_gaps: int,
    max_distance: int,
    fixed_ok: Sequence[bool],
    trivial: bool,
) -> Iterator[Occurrence]:
    """The template occurrences of a sentence, one per template: paths of edges (``succ``:
    position → following positions it has an edge to, ascending; a path goes on from any
    word of its last run of adjacent words, :func:`run_successors`, and to a word with the
    one after it when that one is a successor and the two are a kept adjacent pair,
    :func:`attaches`) are explored from each start, shortest first, and the first path
    that makes a template is its occurrence (counting a template once per sentence keeps a
    long list, whose items pair with each other, from counting its templates many times
    over). A template's fixed words lie within ``max_distance`` words of its first one, in
    the same clause or the next: a template relates at most two clauses."""
    seen: set[tuple[str, ...]] = set()
    classes, keys, clauses, clause_end = sent.classes, sent.keys, sent.clauses, sent.clause_end
    for start in sorted(succ):
        first = classes[start]
        if first & PUNCT and not first & OPENER:
            continue  # no template begins here
        limit = start + max_distance
        start_clause = clauses[start]
        last_clause = start_clause + 1
        # breadth first, shortest paths first, at most MAX_PATHS from each start: a long
        # sentence whose words are all associated with each other (boilerplate) has more
        # paths than are worth counting, and the two- and three-word ones matter most.
        # Each path carries its occurrence so far (items, slots, gap buckets: what
        # :func:`occurrence` makes of it, built one step at a time), so that a template
        # already seen in the sentence costs nothing more.
        level: list[_Partial] = [((start,), (keys[start],), (), ())]
        budget = MAX_PATHS
        while level and budget > 0:
            longer: list[_Partial] = []
            for path, items, slots, gaps in level:
                end = path[-1]
                after = run_successors(succ, path)
                for at, nxt in enumerate(after):
                    if nxt > limit or clauses[nxt] > last_clause or budget <= 0:
                        break
                    if nxt - end > 1 and len(gaps) >= max_gaps:
                        continue  # a slot more than a template may hold
                    last = classes[nxt]
                    ends_well = not (last & PUNCT and not last & CLOSER)
                    # a path into the next clause takes the rest of it as a trailing slot
                    rest = clauses[nxt] > start_clause and clause_end[nxt] > nxt + 1
                    steps: list[tuple[int, ...]] = [(nxt,)]
                    if len(path) + 2 <= max_fixed and attaches(succ, after, at, end):
                        steps.append((nxt - 1, nxt))  # each step is one path of the budget
                    for step in steps:
                        if budget <= 0:
                            break
                        budget -= 1
                        grown = _grown(path, items, slots, gaps, step, keys)
                        if ends_well:
                            whole, spans = grown[1], grown[2]
                            if rest:
                                whole = (*whole, SLOT)
                                spans = (*spans, (nxt + 1, clause_end[nxt]))
                            if spans and whole not in seen:
                                seen.add(whole)
                                yield Occurrence(whole, grown[0], spans, grown[3])
                        if len(grown[0]) < max_fixed:
                            longer.append(grown)
            level = longer
    if trivial:
        for occ in trivial_occurrences(sent, fixed_ok):
            if occ.items not in seen:
                seen.add(occ.items)
                yield occ


def chunk_edges(cp: ChunkPairs, edges: Ints, n_vocab: int, n_buckets: int) -> tuple[Ints, Ints]:
    """The edges of a chunk: the pair slots ``(i, j)`` (positions in ``cp.ids``) whose
    pair is kept at their distance (``edges``: :attr:`PairTable.edges`), sorted by ``i``,
    then ``j``."""
    if len(edges) == 0 or len(cp.left) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    a, b = cp.ids[cp.left], cp.ids[cp.right]
    ok = (a >= 0) & (b >= 0)
    keys = (a * n_vocab + b) * n_buckets + cp.buckets
    idx = np.searchsorted(edges, keys)
    hit = ok & (edges[np.minimum(idx, len(edges) - 1)] == keys)
    i, j = cp.left[hit], cp.right[hit]
    order = np.lexsort((j, i))
    return i[order], j[order]


def sentence_edges(
    cp: ChunkPairs, edges: Ints, n_vocab: int, n_buckets: int
) -> list[dict[int, list[int]]]:
    """For each sentence of a chunk, its edges: position → positions after it."""
    out: list[dict[int, list[int]]] = [{} for _ in range(len(cp.chunk))]
    i, j = chunk_edges(cp, edges, n_vocab, n_buckets)
    if len(i) == 0:
        return out
    sent = np.searchsorted(cp.starts, i, side="right") - 1
    base = cp.starts[sent]
    for s, p, q in zip(sent.tolist(), (i - base).tolist(), (j - base).tolist(), strict=True):
        out[s].setdefault(p, []).append(q)
    return out


def template_text(items: Sequence[str]) -> str:
    """A template as written: items separated by single spaces, numbers as ``<num>``."""
    return " ".join(display(x) for x in items)
