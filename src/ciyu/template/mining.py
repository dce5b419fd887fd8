"""Template mining: skip-gram pairs, their distances, and the paths they make in sentences.

The method extends the minimum-entropy merge rule (design memo §6.2, §7) from adjacent
words to words at a distance. It makes four kinds of pass over the segmented corpus, each
a map over chunks of sentences, an exact merge and a finish
(:mod:`ciyu.template.passes`):

1. **Words** (:mod:`~ciyu.template.pairs`). Count the words (by key: numbers as the number
   class). Words seen ``min_count`` times or more, but for sentence-final marks and a bare
   number, may be *fixed words*.
2. **Pairs** (:mod:`~ciyu.template.pairs`). Count every pair of fixed words ``(a, b)``,
   ``b`` after ``a`` in the same sentence, in the same clause or the next one, at most
   ``max_distance`` words apart, by distance bucket ``d = 1, 2, 3–4, 5–8, 9–16, 17–32``.
   In each bucket two expectations are compared with the count ``n``:

   - *independent words*: ``E = L(a) R(b) / M``, from the pair slots with ``a`` on the
     left (``L``), ``b`` on the right (``R``) and all slots (``M``), so that the window's
     shape (sentence ends, clause limits) is accounted for. Coding ``a … b`` at that
     distance as one unit saves ``n · (PMI − 1)`` nats, ``PMI = ln(n/E)``: the merge rule,
     a merge pays when its PMI exceeds 1 nat;
   - *words that occur together, at random places*: the pair's co-occurrences in the window
     (both orders, any distance), spread like the window's slots. Topical pairs (经济 …
     发展, 价格 … 价格) co-occur far more than independent words, but at no distance in
     particular; a frame does not. The count must exceed this by more than one bit
     (a factor of 2): more than a fixed order alone would give.

   The buckets that pass both are the pair's distances. The pair is *kept* when its saving
   over them exceeds the cost of one more entry in the model: coding its two words,
   ``−ln p(a) − ln p(b)``, and its probability, ``½ ln N`` (a two-part code, MDL). The test
   weighs count and association together: a rare pair needs a high PMI, a frequent one a
   modest one; and no threshold depends on the window's width, since the expectations
   grow with it.
3. **Templates** (this module). In every sentence, kept pairs at one of their distances
   are edges between word positions. A path of edges (adjacent fixed words are one unit:
   a path goes on from any word of its last run of adjacent words, as in ``不 是 <X> 而 是``
   where the kept pair is 不 … 而, since 是 occurs everywhere; and it goes on to a word
   together with the word before it when those two are a kept adjacent pair, as in
   ``一 方面 <X> 另一 方面`` where no pair leads to 另一; up to ``max_fixed`` words, all
   within ``max_distance`` words of the first and in its clause or the next, neither
   beginning nor ending with punctuation but for an opening and a closing bracket or
   quote) whose words are not all adjacent is an occurrence of a template: its words are
   the fixed words, and each run of skipped words a slot. A path that spans two clauses
   also takes the rest of its last clause as a trailing slot (``虽然 <X> ， 但 <X>``): a
   frame across clauses relates its clauses. A template is counted once per sentence
   (the compiled extension enumerates and counts the occurrences of a chunk when it is
   installed, :func:`~ciyu.template.occurrences.occurrences` being its reference).
   A chunk's counts are a :class:`TemplateTable` of arrays (one sorted row per template,
   its words as vocabulary ids), which merge exactly by sorting; a slot's fillers are
   told apart by a 128-bit hash (:func:`filler_hash`).
   A template ``T`` of ``k`` fixed words seen ``n`` times saves
   ``gain = ln(n N^(k−1) / Π n_f) − Σ H_slot − (k − 1)`` nats per occurrence, where
   ``H_slot`` is the entropy of a slot's length (in the same buckets, Miller–Madow
   corrected): a slot whose length varies costs bits to code. ``T`` is a *candidate* when
   ``n · gain`` exceeds its entry cost ``Σ −ln p(f) + ½ ln N`` and every slot was seen
   with two fillers or more; and, where the template without its first (or last) item,
   a fixed word, is a candidate too, when ``n · (gain − its gain)`` exceeds that cost:
   an extra word at an edge must earn the entry by itself (他 在 <X> 中 beside
   在 <X> 中: 他 is a frequent neighbour, no part of the frame). On a large corpus,
   candidates are sought in a sample of ``sample_words`` words (every k-th chunk), their
   counts scaled. Most templates of a sample occur once or twice: their hashes are
   counted first (:class:`TemplateHashPass`, 16 bytes a template), and only the templates
   whose hash is seen often enough are then counted in full, which gives the same
   candidates in a fraction of the memory.
4. **Parses** (:mod:`~ciyu.template.evidence`). The corpus is parsed with the candidates
   (:mod:`~ciyu.template.parser`): where candidates overlap, the parse applies those that
   save most, so a variant or a part of a longer template is applied only where nothing
   better matches, as de-redundancy drops words (§6.3). Templates applied fewer than
   ``min_count`` times, or with a slot that one filler fills more than half of the time,
   are dropped, and the corpus is parsed again (the first parse reads the sample, the
   last all of the corpus). The last parse gives the counts, the slot fillers and an
   example sentence of each template.

Everything is sorted with ties broken by the template's text, so the output depends only
on the corpus and the options.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .._compiled import note_slow_templates
from .._compiled import tparse as _tparse
from .occurrences import Occurrence, occurrences, sentence_edges
from .options import MAX_PATHS, TemplateConfig, bucket_width
from .pairs import ChunkPairs, PairTable, _merge_sorted, _sum_by_key, chunk_pairs
from .sentences import BOUNDARY, CLOSER, OPENER, PUNCT, SLOT, Sentence, Words

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
Bools = npt.NDArray[np.bool_]
F64 = npt.NDArray[np.float64]

#: A slot's filler sketch in :class:`TemplateCounts` once the slot has been seen with two
#: different fillers.
OPEN = None

#: The item codes of a :class:`TemplateTable`: padding after a template's items, a slot,
#: and the fixed word of vocabulary id ``i`` as ``WORD + i`` (a fixed word is always a
#: vocabulary word: pass 3 makes templates of the kept pairs' words only, and a trivial
#: template of a vocabulary word). Padding sorts first, so a template sorts before the
#: longer ones it begins.
PAD, SLOT_CODE, WORD = 0, 1, 2

# UTF-8 never holds the byte 0xFF: joined by it, different sequences of (non-empty) keys
# give different bytes
_KEY_SEP = b"\xff"


def filler_hash(keys: Sequence[str]) -> tuple[int, int]:
    """The 128-bit hash of a slot's filler, by which the sketch of a
    :class:`TemplateTable` tells fillers apart: BLAKE2b with a 16-byte digest over the
    UTF-8 of the filler's word keys joined by the byte 0xFF (which UTF-8 never holds, so
    that different fillers hash different bytes). The compiled extension computes the
    same hash in C; this is its reference.

    Two different fillers get the same hash with probability about 2^-128: a slot is
    decided to be open (seen with two different fillers) by their hashes.

    Args:
        keys: the filler's word keys (:func:`~ciyu.template.sentences.word_key`), one or
            more.

    Returns:
        The digest's bytes 0–7 and 8–15, each as a little-endian unsigned 64-bit integer.
    """
    data = _KEY_SEP.join(k.encode("utf-8", "surrogatepass") for k in keys)
    digest = hashlib.blake2b(data, digest_size=16).digest()
    return int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little")


@dataclass
class TemplateCounts:
    """Template counts as dicts, one occurrence at a time: the accumulator of the
    pure-Python reference (:meth:`TemplatePass.reference_counts`), which turns them into a
    :class:`TemplateTable` (:meth:`table`).

    ``stats[template] = [count, then for every internal slot, its counts by bucket]``;
    ``fillers[template]`` holds, for every slot, its one filler so far (its words' keys),
    or :data:`OPEN` once a second, different one has been seen. (Once open, a slot's
    fillers are not looked at again: most occurrences cost nothing here.)
    """

    n_buckets: int
    stats: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    fillers: dict[tuple[str, ...], list[list[str] | None]] = field(default_factory=dict)
    n_words: int = 0

    def add(self, sent: Sentence, occ: Occurrence) -> None:
        """Count one occurrence."""
        row = self.stats.get(occ.items)
        keys = sent.keys
        if row is None:
            row = self.stats[occ.items] = [0] * (1 + len(occ.gaps) * self.n_buckets)
            self.fillers[occ.items] = [keys[start:end] for start, end in occ.slots]
        else:
            sketch = self.fillers[occ.items]
            for s, (start, end) in enumerate(occ.slots):
                first = sketch[s]
                if first is not OPEN and first != keys[start:end]:
                    sketch[s] = OPEN
        row[0] += 1
        for s, g in enumerate(occ.gaps):
            row[1 + s * self.n_buckets + g] += 1

    def table(self, index: dict[str, int]) -> TemplateTable:
        """These counts as a table, each filler as its :func:`filler_hash`.

        Args:
            index: the vocabulary (key → id) the fixed words are coded by.

        Raises:
            RuntimeError: if a fixed word is not in ``index`` (a bug: fixed words are
                vocabulary words).
        """
        templates = list(self.stats)
        codes = []
        for x in itertools.chain.from_iterable(templates):
            if x == SLOT:
                codes.append(SLOT_CODE)
            elif x in index:
                codes.append(WORD + index[x])
            else:
                raise _not_a_word()
        rows = list(self.stats.values())
        sketches = [self.fillers[t] for t in templates]
        slots = list(itertools.chain.from_iterable(sketches))
        hashes = [(0, 0) if f is OPEN else filler_hash(f) for f in slots]
        return TemplateTable.from_runs(
            self.n_buckets,
            np.array(codes, dtype=np.uint32),
            _sizes(templates),
            np.array(list(itertools.chain.from_iterable(rows)), dtype=np.int64),
            _sizes(rows),
            np.array([f is OPEN for f in slots], dtype=np.bool_),
            np.array(hashes, dtype=np.uint64).reshape(len(slots), 2),
            _sizes(sketches),
            n_words=self.n_words,
        )


def _sizes(runs: Sequence[Sequence[Any]]) -> I64:
    return np.fromiter(map(len, runs), dtype=np.int64, count=len(runs))


def _not_a_word() -> RuntimeError:
    return RuntimeError(
        "a template's fixed word is not a vocabulary word (a bug in ciyu.template: please "
        "report it)"
    )


def _padded(flat: npt.NDArray[Any], sizes: I64, fill: Any, width: int) -> npt.NDArray[Any]:
    """``flat`` cut into runs of ``sizes``, one row each, padded with ``fill`` to ``width``
    (the runs' trailing axes kept)."""
    rows = len(sizes)
    out = np.full((rows, width, *flat.shape[1:]), fill, dtype=flat.dtype)
    starts = np.cumsum(sizes) - sizes
    row = np.repeat(np.arange(rows), sizes)
    out[row, np.arange(len(flat)) - starts[row]] = flat
    return out


def _layout(items: U32, n_buckets: int) -> tuple[I64, I64, I64]:
    """Per template (row of item codes): its items, its slots, and its stats row's length
    (the count, then ``n_buckets`` per internal slot: a slot between two fixed words)."""
    lengths = np.count_nonzero(items != PAD, axis=1).astype(np.int64)
    is_slot = items == SLOT_CODE
    n_slots = np.count_nonzero(is_slot, axis=1).astype(np.int64)
    if len(items) == 0:
        return lengths, n_slots, lengths + 1
    rows = np.arange(len(items))
    # a template begins and ends with a fixed word or a slot, and holds a fixed word
    outer = is_slot[:, 0].astype(np.int64) + is_slot[rows, np.maximum(lengths - 1, 0)]
    return lengths, n_slots, 1 + (n_slots - outer) * n_buckets


def _sort_key(items: U32) -> npt.NDArray[np.void]:
    """One sortable value per row: its codes as big-endian bytes, which compare as the
    rows compare (lexicographically, code by code)."""
    rows, width = items.shape
    wide = np.ascontiguousarray(items, dtype=">u4")
    return wide.view(np.dtype((np.void, 4 * width))).reshape(rows)


def template_hashes(items: U32) -> U64:
    """A stable 64-bit hash of each row's items (the same in every process, and for any
    padding width): FNV-1a over the codes (word by word, padding skipped), then a 64-bit
    finalizer. It shards tables, and names templates in :class:`TemplateHashes`."""
    h = np.full(len(items), 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    for column in items.T:
        code = column.astype(np.uint64)
        h = np.where(column != PAD, (h ^ code) * prime, h)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return h


@dataclass(eq=False)
class TemplateTable:
    """Template counts, with slot-length histograms and a sketch of each slot's fillers
    (pass 3's partial result), as arrays: one row per distinct template.

    The rows are sorted by ``items`` (code by code) and hold no template twice, and every
    array is as wide as its widest row needs: one table has one form, so that merges are
    exact and do not depend on how the corpus was cut or in which order the parts merge.

    Attributes:
        n_buckets: distance buckets of the slot-length histograms.
        items: ``(rows, width)`` uint32: each template's item codes (:data:`WORD` + the
            vocabulary id of a fixed word, :data:`SLOT_CODE`), then :data:`PAD`.
        stats: ``(rows, 1 + n_buckets · internal slots)`` int64: the template's count,
            then for every internal slot (between two fixed words) its counts by length
            bucket; zeros beyond the template's own.
        hashes: ``(rows, slots, 2)`` uint64: for every slot, the :func:`filler_hash` of
            its one filler so far; 0 once the slot is open, and beyond the template's
            slots.
        opened: ``(rows, slots)`` bool: the slot has been seen with two different fillers
            (their hashes differ); true beyond the template's slots. A slot with a single
            filler is no slot, and the template is dropped before the corpus is parsed
            with the candidates.
        floor: templates seen fewer times than this were pruned (lossy, for the budget).
        n_words: the words of the chunks counted.
    """

    n_buckets: int
    items: U32
    stats: I64
    hashes: U64
    opened: Bools
    floor: int = 0
    n_words: int = 0

    @classmethod
    def empty(cls, n_buckets: int) -> TemplateTable:
        """No templates."""
        return cls(
            n_buckets,
            np.zeros((0, 0), dtype=np.uint32),
            np.zeros((0, 1), dtype=np.int64),
            np.zeros((0, 0, 2), dtype=np.uint64),
            np.zeros((0, 0), dtype=np.bool_),
        )

    @classmethod
    def from_runs(
        cls,
        n_buckets: int,
        items: U32,
        item_sizes: I64,
        stats: I64,
        stat_sizes: I64,
        opened: Bools,
        hashes: U64,
        slot_sizes: I64,
        *,
        n_words: int = 0,
    ) -> TemplateTable:
        """The table of templates given one after the other (in any order; a template
        given twice is counted as the merge of its two rows).

        Args:
            n_buckets: distance buckets of the histograms.
            items: every template's item codes, template after template; ``item_sizes``
                how many each has.
            stats: every template's stats row (count, histograms of its internal
                slots); ``stat_sizes`` their lengths.
            opened: every slot's open flag; ``hashes`` (``(slots, 2)``) the hash of its
                one filler (0 when open); ``slot_sizes`` the slots of each template.
            n_words: the words of the chunks counted.
        """
        table = cls.empty(n_buckets)
        table.n_words = n_words
        rows = len(item_sizes)
        if rows == 0:
            return table
        padded = _padded(items, item_sizes, PAD, int(item_sizes.max()))
        # the stats as wide as the templates need (an empty table's rows hold the count)
        stat_width = int(_layout(padded, n_buckets)[2].max())
        slots = int(slot_sizes.max())
        table._set(
            *_canonical(
                padded,
                _padded(stats, stat_sizes, 0, stat_width),
                _padded(hashes, slot_sizes, 0, slots),
                _padded(opened, slot_sizes, True, slots),
            )
        )
        return table

    def _set(self, items: U32, stats: I64, hashes: U64, opened: Bools) -> None:
        self.items, self.stats, self.hashes, self.opened = items, stats, hashes, opened

    def size(self) -> int:
        """Distinct templates."""
        return len(self.items)

    def open_rows(self) -> Bools:
        """For every template: true if each of its slots has been seen with two fillers or
        more."""
        return np.asarray(self.opened.all(axis=1), dtype=np.bool_)

    def absorb(self, other: TemplateTable) -> None:
        """Add ``other`` (exact, unless either was pruned): the rows of both, sorted (two
        sorted runs), and the rows of one template summed; a slot is open if it is open
        in either, or its fillers' hashes differ."""
        if other.n_buckets != self.n_buckets:
            raise ValueError("template tables of different distance buckets")
        self.floor = max(self.floor, other.floor)
        self.n_words += other.n_words
        if other.size() == 0:
            return
        if self.size() == 0:
            self._set(other.items, other.stats, other.hashes, other.opened)
            return
        width = max(self.items.shape[1], other.items.shape[1])
        stat_width = max(self.stats.shape[1], other.stats.shape[1])
        slots = max(self.opened.shape[1], other.opened.shape[1])
        mine, theirs = (t._widened(width, stat_width, slots) for t in (self, other))
        self._set(*_canonical(*(np.concatenate([a, b]) for a, b in zip(mine, theirs, strict=True))))

    def _widened(self, width: int, stat_width: int, slots: int) -> tuple[U32, I64, U64, Bools]:
        """The arrays, padded to these widths."""
        rows = len(self.items)

        def pad(a: npt.NDArray[Any], to: int, fill: Any) -> npt.NDArray[Any]:
            if a.shape[1] == to:
                return a
            out = np.full((rows, to, *a.shape[2:]), fill, dtype=a.dtype)
            out[:, : a.shape[1]] = a
            return out

        return (
            pad(self.items, width, PAD),
            pad(self.stats, stat_width, 0),
            pad(self.hashes, slots, 0),
            pad(self.opened, slots, True),
        )

    def _keep(self, rows: Bools) -> TemplateTable:
        """A table of these rows (the same floor), trimmed to the widths they need."""
        items = self.items[rows]
        lengths, n_slots, stat_lengths = _layout(items, self.n_buckets)
        width = int(lengths.max()) if len(items) else 0
        slots = int(n_slots.max()) if len(items) else 0
        stat_width = int(stat_lengths.max()) if len(items) else 1
        out = TemplateTable(
            self.n_buckets,
            np.ascontiguousarray(items[:, :width]),
            np.ascontiguousarray(self.stats[rows, :stat_width]),
            np.ascontiguousarray(self.hashes[rows, :slots]),
            np.ascontiguousarray(self.opened[rows, :slots]),
            self.floor,
        )
        return out

    def shrink(self, max_entries: int) -> None:
        """Drop the rarest templates until at most ``max_entries`` remain: every template
        seen fewer times than a floor, the lowest that leaves at most ``max_entries``,
        and at least 2 and above the floor of an earlier shrink."""
        if self.size() <= max_entries:
            return
        counts = self.stats[:, 0]
        floor = _pruning_floor(counts, max_entries, self.floor)
        kept = self._keep(counts >= floor)
        self._set(kept.items, kept.stats, kept.hashes, kept.opened)
        self.floor = floor

    def select(self, rows: Bools) -> TemplateTable:
        """The table of the rows where ``rows`` is true (the same floor and word count)."""
        out = self._keep(rows)
        out.n_words = self.n_words
        return out

    def split(self, n: int) -> list[TemplateTable]:
        """The table in ``n`` shards with no template in common, by a stable hash of each
        template's items; the word count goes to the first."""
        shard = template_hashes(self.items) % np.uint64(n)
        out = [self._keep(shard == i) for i in range(n)]
        out[0].n_words = self.n_words
        return out

    def check(self, n_vocab: int) -> None:
        """Check that the arrays make a table (as a message may not).

        Args:
            n_vocab: the vocabulary's size (fixed words' ids are below it).

        Raises:
            ValueError: if they do not.
        """
        items, stats, hashes, opened = self.items, self.stats, self.hashes, self.opened
        rows = len(items)
        if (
            items.dtype != np.uint32
            or stats.dtype != np.int64
            or hashes.dtype != np.uint64
            or opened.dtype != np.bool_
            or items.ndim != 2
            or stats.ndim != 2
            or opened.ndim != 2
            or hashes.shape != (*opened.shape, 2)
            or len(stats) != rows
            or len(opened) != rows
        ):
            raise ValueError("template table arrays of the wrong types or shapes")
        if self.n_buckets < 1 or self.floor < 0 or self.n_words < 0:
            raise ValueError("bad template table totals")
        if rows == 0:
            if items.shape[1] or stats.shape[1] != 1 or opened.shape[1]:
                raise ValueError("an empty template table of the wrong widths")
            return
        if items.shape[1] == 0 or int(items.max()) >= WORD + n_vocab:
            raise ValueError("a template without items, or an item beyond the vocabulary")
        fixed = items >= WORD
        if ((items[:, 1:] != PAD) & (items[:, :-1] == PAD)).any() or not fixed.any(axis=1).all():
            raise ValueError("a template with padding inside, or without a fixed word")
        if ((items[:, 1:] == SLOT_CODE) & (items[:, :-1] == SLOT_CODE)).any():
            raise ValueError("a template with two slots in a row")
        lengths, n_slots, stat_lengths = _layout(items, self.n_buckets)
        widths = (int(lengths.max()), int(stat_lengths.max()), int(n_slots.max()))
        if widths != (items.shape[1], stats.shape[1], opened.shape[1]) or not n_slots.all():
            raise ValueError(
                "template table arrays wider than their rows, or a template without a slot"
            )
        key = _sort_key(items)
        if not (np.argsort(key, kind="stable") == np.arange(rows)).all() or (
            rows > 1 and not (items[1:] != items[:-1]).any(axis=1).all()
        ):
            raise ValueError("template table rows not sorted, or a template twice")
        beyond_stats = np.arange(stats.shape[1]) >= stat_lengths[:, None]
        counts = stats[:, 0]
        if (counts < 1).any() or (stats < 0).any() or stats[beyond_stats].any():
            raise ValueError("bad template counts")
        hist = stats[:, 1:].reshape(rows, -1, self.n_buckets).sum(axis=2)
        internal = (stat_lengths - 1) // self.n_buckets
        inside = np.arange(hist.shape[1]) < internal[:, None]
        if (hist != np.where(inside, counts[:, None], 0)).any():
            raise ValueError("slot-length histograms that do not add up to the counts")
        beyond_slots = np.arange(opened.shape[1]) >= n_slots[:, None]
        if not opened[beyond_slots].all() or hashes[opened].any():
            raise ValueError("bad slot sketches")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TemplateTable):
            return NotImplemented
        totals = (self.n_buckets, self.floor, self.n_words)
        if totals != (other.n_buckets, other.floor, other.n_words):
            return False
        pairs = (
            (self.items, other.items),
            (self.stats, other.stats),
            (self.hashes, other.hashes),
            (self.opened, other.opened),
        )
        return all(a.shape == b.shape and bool((a == b).all()) for a, b in pairs)

    __hash__ = None  # type: ignore[assignment]


def _canonical(items: U32, stats: I64, hashes: U64, opened: Bools) -> tuple[U32, I64, U64, Bools]:
    """Rows sorted by their items, the rows of one template merged: counts and histograms
    summed, a slot open if it is open in any row or its hashes differ from the first
    row's. The sort is stable and runs on one value per row (:func:`_sort_key`), so two
    sorted tables, concatenated, merge in about linear time; the rows of a template after
    its first (few: a template is in both tables) are added in one by one."""
    order = np.argsort(_sort_key(items), kind="stable")
    items = items[order]
    new = np.ones(len(items), dtype=np.bool_)
    new[1:] = (items[1:] != items[:-1]).any(axis=1)
    if new.all():
        return items, stats[order], hashes[order], opened[order]
    starts = np.flatnonzero(new)
    first = order[starts]
    merged_stats, merged_hashes, merged_opened = stats[first], hashes[first], opened[first]
    later = np.flatnonzero(~new)
    rows, into = order[later], (np.cumsum(new) - 1)[later]
    np.add.at(merged_stats, into, stats[rows])
    differs = (hashes[rows] != merged_hashes[into]).any(axis=2)
    np.logical_or.at(merged_opened, into, opened[rows] | differs)
    merged_hashes[merged_opened] = 0
    return items[starts], merged_stats, merged_hashes, merged_opened


@dataclass(frozen=True)
class Scored:
    """A candidate template before its evidence is gathered: its occurrences, the nats
    saved per occurrence, the PMI of its weakest pair, and the cost of its entry."""

    items: tuple[str, ...]
    count: int
    gain: float
    weakest_pmi: float
    cost: float

    @property
    def score(self) -> float:
        """Nats saved over the corpus: ``count · gain``."""
        return self.count * self.gain


def _slot_entropy(hist: Sequence[int]) -> float:
    """Entropy (nats) of a slot's length, from its counts by distance bucket: the bucket,
    plus a uniform choice inside it, Miller–Madow corrected for small samples."""
    total = sum(hist)
    if total == 0:
        return 0.0
    h = 0.0
    seen = 0
    for b, c in enumerate(hist):
        if c:
            q = c / total
            h += -q * math.log(q) + q * math.log(bucket_width(b))
            seen += 1
    return h + (seen - 1) / (2 * total)


class TemplatePass:
    """Pass 3: count the templates of every sentence; keep the ones that pay.

    Args:
        config: the options.
        pairs: the kept pairs (pass 2).
        compiled: count with the compiled extension (``ciyu._tparse``) when it is
            installed; False counts with the pure-Python reference (the same counts).
    """

    stage = "templates"

    def __init__(
        self,
        config: TemplateConfig,
        pairs: PairTable,
        compiled: bool = True,
        frequent: U64 | None = None,
    ) -> None:
        self.config = config
        self.pairs = pairs
        self.index = pairs.vocab.index()
        self.compiled = compiled
        #: The hashes (:func:`template_hashes`, sorted) of the templates that may be
        #: candidates (:meth:`TemplateHashPass.finish`): a chunk's table keeps only
        #: these. None: every template.
        self.frequent = frequent
        #: Set by :meth:`finish`: true if the budget pruned template counts.
        self.approximate = False

    def empty(self) -> TemplateTable:
        """No templates."""
        return TemplateTable.empty(self.pairs.n_buckets)

    def chunk_occurrences(self, cp: ChunkPairs) -> Iterator[tuple[Sentence, Occurrence]]:
        """Every template occurrence of a chunk (its pair slots), with its sentence."""
        vocab = self.pairs.vocab
        per_sentence = sentence_edges(cp, self.pairs.edges, len(vocab.words), self.pairs.n_buckets)
        ids = cp.ids.tolist()
        trivial = self.config.trivial
        for s, succ in enumerate(per_sentence):
            if not succ and not trivial:
                continue
            sent = cp.sentence(s)
            start = int(cp.starts[s])
            fixed_ok = [x >= 0 for x in ids[start : start + len(sent.keys)]] if trivial else []
            for occ in occurrences(
                sent,
                succ,
                self.config.max_fixed,
                self.config.max_gaps,
                self.config.max_distance,
                fixed_ok,
                trivial,
            ):
                yield sent, occ

    def map(self, words_of: Words, lines: list[str]) -> TemplateTable:
        """Count the templates of a chunk, only the :attr:`frequent` ones if they are
        known (compiled when it can be: the same table)."""
        cp = self.chunk(words_of, lines)
        if self.compiled and _tparse is not None:
            return self.compiled_counts(cp)
        table = self.reference_counts(cp)
        if self.frequent is None:
            return table
        return table.select(_member(template_hashes(table.items), self.frequent))

    def chunk(self, words_of: Words, lines: list[str]) -> ChunkPairs:
        """A chunk's words and pair slots (and a note when the compiled extension that
        should count them is missing)."""
        cp = chunk_pairs(lines, words_of, self.index, self.config.max_distance)
        if self.compiled and _tparse is None:
            note_slow_templates(sum(map(len, cp.chunk.words)))
        return cp

    def reference_counts(self, cp: ChunkPairs) -> TemplateTable:
        """The template counts of a chunk (its pair slots), one occurrence at a time in
        dicts (:class:`TemplateCounts`), then as a table: the pure-Python reference of
        :meth:`compiled_counts`."""
        part = TemplateCounts(self.pairs.n_buckets, n_words=len(cp.ids))
        for sent, occ in self.chunk_occurrences(cp):
            part.add(sent, occ)
        return part.table(self.index)

    def _compiled_args(self, cp: ChunkPairs) -> tuple[array[int], tuple[Any, ...], list[str]]:
        """The arguments of ``_tparse.template_counts`` for a chunk, but ``frequent`` and
        ``hashes_only``; and the key ids and distinct keys they use."""
        vocab = self.pairs.vocab
        keys = cp.chunk.keys
        # keys as small ints: equal ids, equal keys (items and fillers are compared as
        # ids); the C hashes a filler from its keys' UTF-8
        table = list(dict.fromkeys(keys))
        key_id = {k: i for i, k in enumerate(table)}
        ids = array("i", map(key_id.__getitem__, keys))
        encoded = [k.encode("utf-8", "surrogatepass") for k in table]
        key_off = np.zeros(len(table) + 1, dtype=np.int32)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=key_off[1:])
        n = len(keys)
        args = (
            ids,
            cp.ids.astype(np.int32),
            cp.chunk.classes,
            cp.clauses.astype(np.int32),
            np.append(cp.starts, n).astype(np.int32),
            np.ascontiguousarray(self.pairs.edges, dtype=np.int64),
            b"".join(encoded),
            key_off,
            len(vocab.words),
            self.config.max_fixed,
            self.config.max_gaps,
            self.config.max_distance,
            MAX_PATHS,
            self.config.trivial,
            self.pairs.n_buckets,
            PUNCT,
            OPENER,
            CLOSER,
            BOUNDARY,
        )
        return ids, args, table

    def compiled_hashes(self, cp: ChunkPairs) -> U64:
        """The code hash (:func:`template_hashes`) of every template occurrence of a
        chunk, each template once per sentence (by its hash), by the compiled extension:
        nothing is counted or kept but the hashes.

        Raises:
            ImportError: if the compiled extension is not installed.
        """
        if _tparse is None:
            raise ImportError("the compiled template parser (ciyu._tparse) is not installed")
        _, args, _ = self._compiled_args(cp)
        return np.frombuffer(_tparse.template_counts(*args, None, True), dtype=np.uint64)

    def compiled_counts(self, cp: ChunkPairs) -> TemplateTable:
        """The template counts of a chunk (its pair slots), by the compiled extension: the
        occurrences are enumerated and counted per template in C (without the GIL), only
        the :attr:`frequent` templates if they are known, and the distinct templates come
        back as arrays, their fillers hashed (:func:`filler_hash`, in C).

        Raises:
            ImportError: if the compiled extension is not installed.
        """
        if _tparse is None:
            raise ImportError("the compiled template parser (ciyu._tparse) is not installed")
        ids, args, key_table = self._compiled_args(cp)
        frequent = None if self.frequent is None else np.ascontiguousarray(self.frequent)
        item_off, items, stat_off, stats, slot_off, opened, hashes = _tparse.template_counts(
            *args, frequent, False
        )
        n = len(cp.chunk.keys)
        # the items' key ids as codes: a key's vocabulary id (-1: none) is the id of any
        # position that holds it
        word_of_key = np.full(len(key_table), -1, dtype=np.int64)
        word_of_key[np.frombuffer(ids, dtype=np.int32)] = cp.ids
        raw = np.frombuffer(items, dtype=np.int32)
        fixed = raw >= 0
        words = word_of_key[raw[fixed]]
        if len(words) and int(words.min()) < 0:
            raise _not_a_word()
        codes = np.full(len(raw), SLOT_CODE, dtype=np.uint32)
        codes[fixed] = words + WORD
        return TemplateTable.from_runs(
            self.pairs.n_buckets,
            codes,
            np.diff(np.frombuffer(item_off, dtype=np.int32)).astype(np.int64),
            np.frombuffer(stats, dtype=np.int64),
            np.diff(np.frombuffer(stat_off, dtype=np.int32)).astype(np.int64),
            np.frombuffer(opened, dtype=np.uint8).astype(np.bool_),
            np.frombuffer(hashes, dtype=np.uint64).reshape(-1, 2),
            np.diff(np.frombuffer(slot_off, dtype=np.int32)).astype(np.int64),
            n_words=n,
        )

    def finish(self, merged: TemplateTable) -> list[Scored]:
        """Score the templates; the candidates are those that pay for themselves (module
        documentation), best first. When the pass saw a sample of the corpus, a count is
        scaled to the whole corpus (probabilities are the sample's).

        Scored column by column with numpy, as one would score one template at a time
        (the tests do): the very same floats, since each operation is the same IEEE
        operation in the same order, and every logarithm is :func:`math.log`'s."""
        self.approximate = merged.floor > 0
        vocab = self.pairs.vocab
        n_words = max(vocab.n_words, 1)
        log_n = math.log(n_words)
        seen = max(merged.n_words, 1)
        scale = n_words / seen if merged.n_words else 1.0
        words = vocab.words
        v, nb = len(vocab.words), self.pairs.n_buckets
        counts = merged.stats[:, 0]
        rows = np.flatnonzero(
            (counts.astype(np.float64) * scale >= vocab.min_count) & merged.open_rows()
        )
        picked = merged.items[rows].astype(np.int64)
        stats = merged.stats[rows]
        lengths, _, _ = _layout(merged.items[rows], nb)
        count = stats[:, 0]
        n = count.astype(np.float64) * scale
        fixed = (picked != SLOT_CODE) & (picked != PAD)
        k = np.count_nonzero(fixed, axis=1)
        # Σ ln p(f), word after word (adding 0.0 at a slot changes nothing)
        log_p = _logs(vocab.counts.astype(np.float64) / n_words)
        sum_logp = np.zeros(len(rows))
        for column in range(picked.shape[1]):
            words_here = np.where(fixed[:, column], picked[:, column] - WORD, 0)
            sum_logp = sum_logp + np.where(fixed[:, column], log_p[words_here], 0.0)
        cost = -sum_logp + 0.5 * log_n
        # the slots' entropies, slot after slot (a template's internal slots come first in
        # its stats row; the others are zero and add nothing)
        slot_h = np.zeros(len(rows))
        for slot in range((stats.shape[1] - 1) // nb):
            slot_h = slot_h + _slot_entropies(stats[:, 1 + slot * nb : 1 + (slot + 1) * nb])
        pmi = _logs(count.astype(np.float64) / seen) - sum_logp - slot_h
        gain = pmi - (k - 1).astype(np.float64)
        trivial = k == 1
        good = trivial | (n * gain > cost)
        picked_rows = picked.tolist()
        good &= _pays_beyond_its_edges(picked_rows, lengths, n, gain, cost, good & ~trivial)
        # the PMI of the weakest pair of adjacent fixed words (0 if it is no kept pair)
        weakest = np.full(len(rows), np.inf)
        previous = np.full(len(rows), -1, dtype=np.int64)
        pmi_keys = np.array(sorted(self.pairs.pmi), dtype=np.int64)
        pmi_values = np.array([self.pairs.pmi[key] for key in pmi_keys.tolist()])
        for column in range(picked.shape[1]):
            here = fixed[:, column]
            word = picked[:, column] - WORD
            linked = here & (previous >= 0)
            key = previous * v + word
            at = np.minimum(np.searchsorted(pmi_keys, key), max(len(pmi_keys) - 1, 0))
            found = (pmi_keys[at] == key) if len(pmi_keys) else np.zeros(len(key), bool)
            value = np.where(found, pmi_values[at] if len(pmi_keys) else 0.0, 0.0)
            weakest = np.where(linked, np.minimum(weakest, value), weakest)
            previous = np.where(here, word, previous)

        def named(codes: list[int]) -> tuple[str, ...]:
            return tuple(SLOT if c == SLOT_CODE else words[c - WORD] for c in codes)

        candidates = [
            Scored(named(codes[:length]), round(n_), 0.0, 0.0, 0.0)
            if is_trivial
            else Scored(named(codes[:length]), round(n_), gain_, weakest_, cost_)
            for codes, length, n_, gain_, weakest_, cost_, is_trivial in zip(
                itertools.compress(picked_rows, good.tolist()),
                lengths[good].tolist(),
                n[good].tolist(),
                gain[good].tolist(),
                weakest[good].tolist(),
                cost[good].tolist(),
                trivial[good].tolist(),
                strict=True,
            )
        ]
        candidates.sort(key=lambda c: (-c.score, -c.count, c.items))
        return candidates


def _pays_beyond_its_edges(
    rows: list[list[int]], lengths: I64, n: F64, gain: F64, cost: F64, scored: Bools
) -> Bools:
    """False for a scored template whose first or last item is a fixed word that does not
    pay for itself: the template without it is scored too (the parse would apply that one
    instead), and ``n · (gain − its gain) ≤ cost``, the entry's cost not earned back by
    what the extra word adds (他 在 <X> 中 beside 在 <X> 中: 他 is a frequent neighbour,
    no part of the frame). True elsewhere."""
    gain_of = {
        tuple(rows[i][: lengths[i]]): float(gain[i]) for i in np.flatnonzero(scored).tolist()
    }
    out = np.ones(len(rows), dtype=np.bool_)
    for i in np.flatnonzero(scored).tolist():
        codes = tuple(rows[i][: lengths[i]])
        subs = [
            gain_of.get(sub)
            for sub, edge in ((codes[1:], codes[0]), (codes[:-1], codes[-1]))
            if edge != SLOT_CODE
        ]
        best = max((g for g in subs if g is not None), default=None)
        if best is not None and not float(n[i]) * (float(gain[i]) - best) > float(cost[i]):
            out[i] = False
    return out


def _logs(x: F64) -> F64:
    """``math.log`` of every value (not numpy's, whose SIMD variants may differ in the
    last bit between machines); 0 where a value is 0 (it is then never used)."""
    out = np.zeros(len(x))
    positive = x > 0
    out[positive] = np.fromiter(map(math.log, x[positive].tolist()), np.float64)
    return out


def _slot_entropies(hist: I64) -> F64:
    """:func:`_slot_entropy` of every row of ``hist``, column by column (the same floats)."""
    total = hist.sum(axis=1)
    has = total > 0
    safe_total = np.where(has, total, 1).astype(np.float64)
    h = np.zeros(len(hist))
    seen = np.zeros(len(hist), dtype=np.int64)
    for b in range(hist.shape[1]):
        c = hist[:, b]
        q = c.astype(np.float64) / safe_total
        term = -q * _logs(q) + q * math.log(bucket_width(b))
        h = h + np.where(c > 0, term, 0.0)
        seen += c > 0
    correction = (seen - 1).astype(np.float64) / (2 * total).astype(np.float64).clip(1)
    out: F64 = np.where(has, h + correction, 0.0)
    return out


def _pruning_floor(counts: I64, max_entries: int, floor: int) -> int:
    """The lowest count to keep so that at most ``max_entries`` of ``counts`` (more than
    that) remain: at least 2, and above the ``floor`` of an earlier pruning."""
    values, how_many = np.unique(counts, return_counts=True)
    # the entries left once the counts below each value are dropped
    left = len(counts) - (np.cumsum(how_many) - how_many)
    dropped = values[left > max_entries]  # the smallest counts (the first always)
    return max(floor + 1, int(dropped[-1]) + 1, 2)


def _member(values: U64, sorted_set: U64) -> Bools:
    """For each value, true if it is in ``sorted_set`` (sorted, as numpy sorts)."""
    if len(sorted_set) == 0:
        return np.zeros(len(values), dtype=np.bool_)
    at = np.minimum(np.searchsorted(sorted_set, values), len(sorted_set) - 1)
    found: Bools = sorted_set[at] == values
    return found


@dataclass(eq=False)
class TemplateHashes:
    """How often each template occurs, the template known by its 64-bit hash
    (:func:`template_hashes`) only: the partial of :class:`TemplateHashPass`, 16 bytes a
    template where a :class:`TemplateTable` row takes about 180.

    Attributes:
        keys: the hashes, as int64 bits, sorted, each once (two templates with one hash
            count as one: their count is the sum, never less than either's).
        counts: the occurrences of each.
        floor: hashes seen fewer times than this were pruned (lossy, for the budget).
        n_words: the words of the chunks counted.
    """

    keys: I64
    counts: I64
    floor: int = 0
    n_words: int = 0

    @classmethod
    def of(cls, table: TemplateTable) -> TemplateHashes:
        """The hashes of a table's templates, with their counts."""
        keys, counts = _sum_by_key(template_hashes(table.items).view(np.int64), table.stats[:, 0])
        return cls(keys, counts, table.floor, table.n_words)

    def absorb(self, other: TemplateHashes) -> None:
        """Add ``other``."""
        self.keys, self.counts = _merge_sorted((self.keys, self.counts), (other.keys, other.counts))
        self.floor = max(self.floor, other.floor)
        self.n_words += other.n_words

    def size(self) -> int:
        """Distinct hashes."""
        return len(self.keys)

    def shrink(self, max_entries: int) -> None:
        """Drop the rarest hashes until at most ``max_entries`` remain (as
        :meth:`TemplateTable.shrink` drops templates)."""
        if self.size() <= max_entries:
            return
        floor = _pruning_floor(self.counts, max_entries, self.floor)
        keep = self.counts >= floor
        self.keys, self.counts, self.floor = self.keys[keep], self.counts[keep], floor

    def split(self, n: int) -> list[TemplateHashes]:
        """In ``n`` shards with no hash in common; the word count goes to the first."""
        shard = self.keys.view(np.uint64) % np.uint64(n)
        out = [
            TemplateHashes(self.keys[shard == i], self.counts[shard == i], self.floor)
            for i in range(n)
        ]
        out[0].n_words = self.n_words
        return out

    def check(self) -> None:
        """Check that the arrays make a partial (as a message may not).

        Raises:
            ValueError: if they do not.
        """
        keys, counts = self.keys, self.counts
        if (
            keys.dtype != np.int64
            or counts.dtype != np.int64
            or keys.ndim != 1
            or keys.shape != counts.shape
            or (len(keys) > 1 and not bool((keys[1:] > keys[:-1]).all()))
            or (len(counts) and int(counts.min()) < 1)
            or self.floor < 0
            or self.n_words < 0
        ):
            raise ValueError("bad template hash arrays")


class TemplateHashPass:
    """Pass 3, first part: how often each template occurs, by hash only, to tell which
    may be candidates before any is counted in full.

    Most templates a sample holds occur once or twice: counting them in full (a
    :class:`TemplateTable` row each, slot histograms and filler sketches) takes most of
    the memory and time of pass 3. This pass counts their hashes (16 bytes each); pass 3
    then counts in full only the templates whose hash is seen often enough
    (:attr:`TemplatePass.frequent`). A template's hash is seen at least as often as the
    template (another template with the same hash only adds to it), so none that may be a
    candidate is left out, and the candidates are exactly those of counting every
    template in full.

    Args:
        inner: the pass 3 whose templates are counted (its :attr:`TemplatePass.frequent`
            is not used).
    """

    stage = "templates"

    def __init__(self, inner: TemplatePass) -> None:
        self.inner = inner
        #: Set by :meth:`finish`: true if the budget pruned the counts.
        self.approximate = False

    def empty(self) -> TemplateHashes:
        """No templates."""
        return TemplateHashes(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))

    def map(self, words_of: Words, lines: list[str]) -> TemplateHashes:
        """The template hashes of a chunk, with their counts (compiled when it can be:
        only the hashes are made, in C; else from the reference's table)."""
        inner = self.inner
        cp = inner.chunk(words_of, lines)
        if inner.compiled and _tparse is not None:
            keys, counts = _sum_by_key(inner.compiled_hashes(cp).view(np.int64))
            return TemplateHashes(keys, counts, 0, len(cp.ids))
        return TemplateHashes.of(inner.reference_counts(cp))

    def finish(self, merged: TemplateHashes) -> U64:
        """The hashes of the templates that may be candidates, sorted: seen ``min_count``
        times once scaled to the corpus, as :meth:`TemplatePass.finish` tests them."""
        self.approximate = merged.floor > 0
        vocab = self.inner.pairs.vocab
        scale = max(vocab.n_words, 1) / max(merged.n_words, 1) if merged.n_words else 1.0
        keep = merged.counts.astype(np.float64) * scale >= vocab.min_count
        return np.sort(merged.keys[keep].view(np.uint64))
