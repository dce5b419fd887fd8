"""Passes 1 and 2 of template mining: word counts, and skip-gram pair counts by distance.

See :mod:`ciyu.template.mining` for the method.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .._compiled import tparse as _tparse
from ..text import NUM
from .options import TemplateConfig, bucket
from .sentences import (
    CLAUSE,
    SLOT,
    ChunkSentences,
    Sentence,
    Words,
    flat_words,
    is_sentence_end,
    word_info,
)

Ints = npt.NDArray[np.int64]


@dataclass
class WordCounts:
    """Word counts by key (pass 1's partial result)."""

    counts: Counter[str] = field(default_factory=Counter)
    n_words: int = 0
    n_chars: int = 0

    def absorb(self, other: WordCounts) -> None:
        """Add ``other`` into these counts."""
        self.counts.update(other.counts)
        self.n_words += other.n_words
        self.n_chars += other.n_chars

    def size(self) -> int:
        """Distinct words."""
        return len(self.counts)

    def shrink(self, max_entries: int) -> None:
        """Word tables are small (the vocabulary): never pruned."""


@dataclass(frozen=True)
class Vocabulary:
    """The fixed-word candidates, with ids in sorted order, and the corpus totals."""

    words: list[str]
    counts: Ints
    n_words: int
    n_chars: int
    min_count: int

    def index(self) -> dict[str, int]:
        """Word → id."""
        return {w: i for i, w in enumerate(self.words)}


class WordPass:
    """Pass 1: count words."""

    stage = "count"

    def __init__(self, config: TemplateConfig) -> None:
        self.config = config

    def map(self, words_of: Words, lines: list[str]) -> WordCounts:
        """Count the words of a chunk (by key: the words are counted first, and each
        distinct word keyed once)."""
        part = WordCounts()
        part.n_chars = sum(map(len, lines))
        words = Counter(flat_words(words_of, lines)[0])
        for word, n in words.items():
            part.counts[word_info(word)[0]] += n
        part.n_words = sum(words.values())
        return part

    def finish(self, merged: WordCounts) -> Vocabulary:
        """Keep the words seen ``min_count`` times, but for sentence-final marks, a bare
        number (it stands for any number: a filler, not a fixed word) and ``<X>``."""
        min_count = self.config.resolved_min_count(merged.n_words)
        words = sorted(
            w
            for w, c in merged.counts.items()
            if c >= min_count and not is_sentence_end(w) and w not in (SLOT, NUM)
        )
        counts = np.array([merged.counts[w] for w in words], dtype=np.int64)
        return Vocabulary(words, counts, merged.n_words, merged.n_chars, min_count)


# --- the pair slots of a chunk ----------------------------------------------------------


@dataclass
class ChunkPairs:
    """Every pair slot ``(i, j)`` of a chunk's sentences inside the window, flat.

    Attributes:
        chunk: the chunk's sentences.
        ids: vocabulary id of every word of the chunk (−1 if not a fixed-word candidate).
        starts: offset of each sentence in ``ids``.
        left, right: positions (in ``ids``) of the two words of every slot.
        buckets: distance bucket of every slot.
        clauses: the clause of every word: within a sentence, the clause marks before it
            (as :attr:`Sentence.clauses`, plus a number of the sentence's own); the
            sentences' numbers two or more apart.
    """

    chunk: ChunkSentences
    ids: Ints
    starts: Ints
    left: Ints
    right: Ints
    buckets: Ints
    clauses: Ints

    def sentence(self, k: int) -> Sentence:
        """Sentence ``k`` with its layout."""
        return self.chunk.sentence(k)


def chunk_words(
    lines: list[str], words_of: Words, index: dict[str, int]
) -> tuple[ChunkSentences, Ints, Ints, Ints]:
    """Segment a chunk: its sentences, the vocabulary id of every word, where each sentence
    starts, and the clause of every word (see :class:`ChunkPairs`)."""
    chunk = ChunkSentences.of(lines, words_of)
    n = len(chunk.keys)
    classes = np.frombuffer(chunk.classes, dtype=np.int32)
    ids = np.fromiter(map(index.get, chunk.keys, itertools.repeat(-1)), dtype=np.int64, count=n)
    offsets = np.array(chunk.offsets, dtype=np.int64)
    lengths = np.diff(offsets)
    starts = offsets[:-1]
    # clause numbers run on through the chunk, two apart between sentences, so that
    # "same or next clause" is a difference of at most 1: a word's clause is the clause
    # marks before it in the chunk, plus two for each sentence before its own
    marks = (classes & CLAUSE) != 0
    clause_arr = (np.cumsum(marks) - marks) + 2 * np.repeat(
        np.arange(len(lengths), dtype=np.int64), lengths
    )
    return chunk, ids, starts, clause_arr


def chunk_pairs(
    lines: list[str], words_of: Words, index: dict[str, int], max_distance: int
) -> ChunkPairs:
    """Segment a chunk and list its pair slots: same sentence, same or next clause, at most
    ``max_distance`` words apart."""
    chunk, ids, starts, clause_arr = chunk_words(lines, words_of, index)
    n = len(ids)
    lefts: list[Ints] = []
    rights: list[Ints] = []
    buckets: list[Ints] = []
    for d in range(1, min(max_distance, max(n - 1, 0)) + 1):
        ok = np.flatnonzero(clause_arr[d:] - clause_arr[:-d] <= 1)
        if len(ok) == 0:
            break  # no slot at this distance: none at a larger one either
        lefts.append(ok)
        rights.append(ok + d)
        buckets.append(np.full(len(ok), bucket(d), dtype=np.int64))
    empty = np.empty(0, dtype=np.int64)
    return ChunkPairs(
        chunk,
        ids,
        starts,
        np.concatenate(lefts) if lefts else empty,
        np.concatenate(rights) if rights else empty,
        np.concatenate(buckets) if buckets else empty,
        clause_arr,
    )


# --- pass 2: pairs ---------------------------------------------------------------------


def _sum_by_key(keys: Ints, counts: Ints | None = None) -> tuple[Ints, Ints]:
    """Distinct keys (sorted) and the total count of each (1 per key by default)."""
    if counts is None:
        unique, n = np.unique(keys, return_counts=True)
        return unique, n.astype(np.int64)
    unique, inverse = np.unique(keys, return_inverse=True)
    return unique, np.bincount(inverse, weights=counts, minlength=len(unique)).astype(np.int64)


def _merge_sorted(a: tuple[Ints, Ints], b: tuple[Ints, Ints]) -> tuple[Ints, Ints]:
    """Add two sorted (key, count) tables: one linear merge by the compiled extension when
    it is installed (the main process merges every worker's pairs: with NumPy this was
    most of the pass on a large corpus), else :func:`_merge_sorted_reference`."""
    if _tparse is None:
        return _merge_sorted_reference(a, b)
    if len(b[0]) == 0 or len(a[0]) == 0:
        return a if len(b[0]) == 0 else b
    n = len(a[0]) + len(b[0])
    keys, counts = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
    a_keys, a_counts, b_keys, b_counts = (np.ascontiguousarray(x, dtype=np.int64) for x in (*a, *b))
    used = _tparse.merge_counts(a_keys, a_counts, b_keys, b_counts, keys, counts)
    return keys[:used], counts[:used]


def _merge_sorted_reference(a: tuple[Ints, Ints], b: tuple[Ints, Ints]) -> tuple[Ints, Ints]:
    """Add two sorted (key, count) tables: the smaller merged into the larger by search."""
    if len(a[0]) < len(b[0]):
        a, b = b, a
    if len(b[0]) == 0:
        return a
    idx = np.searchsorted(a[0], b[0])
    found = a[0][np.minimum(idx, len(a[0]) - 1)] == b[0]
    counts = a[1].copy()
    counts[idx[found]] += b[1][found]
    new = ~found
    return np.insert(a[0], idx[new], b[0][new]), np.insert(counts, idx[new], b[1][new])


def _group_starts(sorted_ids: Ints) -> Ints:
    """Where each run of equal values of a sorted array starts."""
    if len(sorted_ids) == 0:
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.concatenate([[True], sorted_ids[1:] != sorted_ids[:-1]]))


@dataclass
class PairCounts:
    """Skip-gram pair counts by distance bucket (pass 2's partial result).

    Attributes:
        keys: ``(a · V + b) · B + bucket``, sorted; ``counts``: their counts.
        left, right: ``V × B`` slots with the word on the left / right, per bucket.
        slots: all pair slots, per bucket.
        floor: pairs seen fewer times than this were pruned (lossy, for the budget).
    """

    keys: Ints
    counts: Ints
    left: Ints
    right: Ints
    slots: Ints
    floor: int = 0

    def absorb(self, other: PairCounts) -> None:
        """Add ``other`` (exact, unless either was pruned)."""
        self.keys, self.counts = _merge_sorted((self.keys, self.counts), (other.keys, other.counts))
        self.left = self.left + other.left
        self.right = self.right + other.right
        self.slots = self.slots + other.slots
        self.floor = max(self.floor, other.floor)

    def size(self) -> int:
        """Distinct pairs (by bucket)."""
        return len(self.keys)

    def shrink(self, max_entries: int) -> None:
        """Drop the rarest pairs until at most ``max_entries`` remain (floor never drops)."""
        if len(self.keys) <= max_entries:
            return
        hist = np.bincount(np.minimum(self.counts, 1 << 16))
        remaining = np.cumsum(hist[::-1])[::-1]  # remaining[t] = entries with count >= t
        fits = np.flatnonzero(remaining <= max_entries)
        floor = max(int(fits[0]) if len(fits) else 1 << 16, self.floor + 1, 2)
        keep = self.counts >= floor
        self.keys, self.counts, self.floor = self.keys[keep], self.counts[keep], floor


@dataclass(frozen=True)
class PairTable:
    """The kept pairs: which ``(a, b, bucket)`` make edges, and each pair's PMI.

    Attributes:
        vocab: the vocabulary the ids refer to.
        n_buckets: distance buckets.
        edges: sorted keys ``(a · V + b) · B + bucket`` of the kept pairs' buckets.
        pmi: ``a · V + b`` → PMI of the pair over its kept buckets (nats).
        approximate: true if the pair table was pruned to fit the budget.
    """

    vocab: Vocabulary
    n_buckets: int
    edges: Ints
    pmi: dict[int, float]
    approximate: bool


class PairPass:
    """Pass 2: count skip-gram pairs by distance bucket; keep the pairs that pay."""

    stage = "pairs"

    def __init__(self, config: TemplateConfig, vocab: Vocabulary, *, compiled: bool = True) -> None:
        self.config = config
        self.vocab = vocab
        self.index = vocab.index()
        self.n_buckets = bucket(config.max_distance) + 1
        #: Count the slots with the compiled extension (when it is installed), else with
        #: the NumPy reference (the same counts).
        self.compiled = compiled and _tparse is not None

    def empty(self) -> PairCounts:
        """No pairs."""
        v, b = len(self.vocab.words), self.n_buckets
        z = np.empty(0, dtype=np.int64)
        return PairCounts(
            z, z, np.zeros(v * b, np.int64), np.zeros(v * b, np.int64), np.zeros(b, np.int64)
        )

    def map(self, words_of: Words, lines: list[str]) -> PairCounts:
        """Count the pairs of a chunk."""
        if self.compiled:
            return self._map_compiled(words_of, lines)
        cp = chunk_pairs(lines, words_of, self.index, self.config.max_distance)
        v, nb = len(self.vocab.words), self.n_buckets
        a, b = cp.ids[cp.left], cp.ids[cp.right]
        slots = np.bincount(cp.buckets, minlength=nb).astype(np.int64)
        la = a >= 0
        rb = b >= 0
        left = np.bincount(a[la] * nb + cp.buckets[la], minlength=v * nb).astype(np.int64)
        right = np.bincount(b[rb] * nb + cp.buckets[rb], minlength=v * nb).astype(np.int64)
        both = la & rb
        keys, counts = _sum_by_key((a[both] * v + b[both]) * nb + cp.buckets[both])
        return PairCounts(keys, counts, left, right, slots)

    def _map_compiled(self, words_of: Words, lines: list[str]) -> PairCounts:
        # the slots are walked in C and never listed: with NumPy, three arrays of them
        # (tens of slots per word) were most of the pass
        assert _tparse is not None
        _, ids, _, clauses = chunk_words(lines, words_of, self.index)
        v, nb = len(self.vocab.words), self.n_buckets
        left, right = np.zeros(v * nb, np.int64), np.zeros(v * nb, np.int64)
        slots = np.zeros(nb, np.int64)
        found = _tparse.pair_counts(
            ids, clauses, self.config.max_distance, nb, v, left, right, slots
        )
        keys, counts = _sum_by_key(np.frombuffer(found, dtype=np.int64))
        return PairCounts(keys, counts, left, right, slots)

    def finish(self, merged: PairCounts) -> PairTable:
        """Keep the pairs whose saving exceeds their entry cost (module documentation)."""
        v, nb = len(self.vocab.words), self.n_buckets
        n_words = max(self.vocab.n_words, 1)
        # totals per pair (keys are sorted, so a pair's buckets are contiguous), over every
        # pair: the window null below needs the reverse pair's total, however rare
        pair = merged.keys // nb
        first_all = _group_starts(pair)
        totals = np.add.reduceat(merged.counts, first_all) if len(first_all) else pair[:0]
        pair_ids = pair[first_all]
        # a pair seen fewer than min_count times cannot be kept: leave it out now, which
        # leaves the few frequent pairs for the arrays below (the peak memory of the pass)
        frequent = np.repeat(
            totals >= self.vocab.min_count, np.diff(np.append(first_all, len(pair)))
        )
        own_total = np.repeat(totals, np.diff(np.append(first_all, len(pair))))[frequent]
        keys, pair = merged.keys[frequent], pair[frequent]
        n = merged.counts[frequent].astype(np.float64)
        del frequent
        bk = keys % nb
        a, b = pair // v, pair % v
        expected = (
            merged.left[a * nb + bk] * merged.right[b * nb + bk] / np.maximum(merged.slots[bk], 1)
        )
        # the window null: the pair's co-occurrences in the window (either order, any
        # distance), placed like a random slot of the window
        reverse = b * v + a
        at = np.minimum(np.searchsorted(pair_ids, reverse), max(len(pair_ids) - 1, 0))
        rev_total = np.where(pair_ids[at] == reverse, totals[at], 0) if len(pair_ids) else n
        self_pair = a == b
        together = np.where(self_pair, own_total, own_total + rev_total).astype(np.float64)
        share = merged.slots / max(int(merged.slots.sum()), 1)
        placed = together * share[bk] / np.where(self_pair, 1.0, 2.0)
        with np.errstate(divide="ignore"):
            pmi = np.log(n) - np.log(expected)
            positional = np.log(n) - np.log(placed)
        # the buckets where coding the pair as a unit saves (PMI > 1 nat), and where the
        # distance says more than one bit beyond "these words occur together nearby"
        good = (pmi > 1.0) & (positional > math.log(2.0))
        keys, pair, a, b, n, expected, pmi = (x[good] for x in (keys, pair, a, b, n, expected, pmi))
        # per pair (keys are sorted, so a pair's buckets are contiguous)
        first = _group_starts(pair)
        n_s = np.add.reduceat(n, first) if len(first) else np.empty(0)
        e_s = np.add.reduceat(expected, first) if len(first) else np.empty(0)
        saving = np.add.reduceat(n * (pmi - 1.0), first) if len(first) else np.empty(0)
        logp = np.log(self.vocab.counts / n_words)
        pa, pb = a[first], b[first]
        cost = -logp[pa] - logp[pb] + 0.5 * math.log(n_words)
        keep_pair = (saving > cost) & (n_s >= self.vocab.min_count)
        keep = np.repeat(keep_pair, np.diff(np.concatenate([first, [len(pair)]])))
        pmis = {
            int(p): float(x)
            for p, x in zip(pair[first][keep_pair], np.log(n_s / e_s)[keep_pair], strict=True)
        }
        return PairTable(self.vocab, nb, keys[keep], pmis, merged.floor > 0)
