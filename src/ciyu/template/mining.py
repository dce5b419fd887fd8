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
   are edges between word positions. A path of edges (up to ``max_fixed`` words, all
   within ``max_distance`` words of the first and in its clause or the next, neither
   beginning nor ending with punctuation but for an opening and a closing bracket or
   quote) whose words are not all adjacent is an occurrence of a template: its words are
   the fixed words, and each run of skipped words a slot. A path that spans two clauses
   also takes the rest of its last clause as a trailing slot (``虽然 <X> ， 但 <X>``): a
   frame across clauses relates its clauses. A template is counted once per sentence
   (the compiled extension enumerates and counts the occurrences of a chunk when it is
   installed, :func:`~ciyu.template.occurrences.occurrences` being its reference).
   A template ``T`` of ``k`` fixed words seen ``n`` times saves
   ``gain = ln(n N^(k−1) / Π n_f) − Σ H_slot − (k − 1)`` nats per occurrence, where
   ``H_slot`` is the entropy of a slot's length (in the same buckets, Miller–Madow
   corrected): a slot whose length varies costs bits to code. ``T`` is a *candidate* when
   ``n · gain`` exceeds its entry cost ``Σ −ln p(f) + ½ ln N`` and every slot was seen
   with two fillers or more. On a large corpus, candidates are sought in a sample of
   ``sample_words`` words (every k-th chunk), their counts scaled.
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

import itertools
import math
from array import array
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._compiled import note_slow_templates
from .._compiled import tparse as _tparse
from .occurrences import Occurrence, occurrences, sentence_edges
from .options import MAX_PATHS, TemplateConfig, bucket_width
from .pairs import ChunkPairs, PairTable, chunk_pairs
from .sentences import BOUNDARY, CLOSER, OPENER, PUNCT, SLOT, Sentence, Words

#: A slot's filler sketch once the slot has been seen with two different fillers.
OPEN = None


@dataclass
class TemplateCounts:
    """Template counts, with slot-length histograms and a sketch of each slot's fillers
    (pass 3's partial result).

    ``stats[template] = [count, then for every internal slot, its counts by bucket]``;
    ``fillers[template]`` holds, for every slot, its one filler so far (its words' keys),
    or :data:`OPEN` once a second, different one has been seen: a slot with a single
    filler is no slot, and the template is dropped before the corpus is parsed with the
    candidates. (Once open, a slot's fillers are not looked at again: most occurrences
    cost nothing here.)
    """

    n_buckets: int
    stats: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    fillers: dict[tuple[str, ...], list[list[str] | None]] = field(default_factory=dict)
    floor: int = 0
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

    def absorb(self, other: TemplateCounts) -> None:
        """Add ``other`` (exact, unless either was pruned)."""
        for items, row in other.stats.items():
            mine = self.stats.get(items)
            if mine is None:
                self.stats[items] = row
                self.fillers[items] = other.fillers[items]
                continue
            for k, x in enumerate(row):
                mine[k] += x
            sketch, theirs = self.fillers[items], other.fillers[items]
            for s, first in enumerate(sketch):
                if first is not OPEN and first != theirs[s]:
                    sketch[s] = OPEN
        self.floor = max(self.floor, other.floor)
        self.n_words += other.n_words

    def open_slots(self, items: tuple[str, ...]) -> bool:
        """True if every slot of the template has been seen with two fillers or more."""
        return all(first is OPEN for first in self.fillers[items])

    def size(self) -> int:
        """Distinct templates."""
        return len(self.stats)

    def shrink(self, max_entries: int) -> None:
        """Drop the rarest templates until at most ``max_entries`` remain."""
        if len(self.stats) <= max_entries:
            return
        by_count = Counter(row[0] for row in self.stats.values())
        remaining = len(self.stats)
        floor = self.floor + 1
        for c in sorted(by_count):
            if remaining <= max_entries:
                break
            remaining -= by_count[c]
            floor = max(floor, c + 1)
        floor = max(floor, 2)
        self.stats = {k: r for k, r in self.stats.items() if r[0] >= floor}
        self.fillers = {k: self.fillers[k] for k in self.stats}
        self.floor = floor


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


def _runs(flat: list[Any], offsets: bytes) -> list[list[Any]]:
    """``flat`` cut at ``offsets`` (int32, from the compiled extension)."""
    off = np.frombuffer(offsets, dtype=np.int32).tolist()
    return list(map(flat.__getitem__, map(slice, off[:-1], off[1:])))


def _fixed(items: Sequence[str]) -> list[str]:
    return [x for x in items if x != SLOT]


class TemplatePass:
    """Pass 3: count the templates of every sentence; keep the ones that pay.

    Args:
        config: the options.
        pairs: the kept pairs (pass 2).
        compiled: count with the compiled extension (``ciyu._tparse``) when it is
            installed; False counts with the pure-Python reference (the same counts).
    """

    stage = "templates"

    def __init__(self, config: TemplateConfig, pairs: PairTable, compiled: bool = True) -> None:
        self.config = config
        self.pairs = pairs
        self.index = pairs.vocab.index()
        self.compiled = compiled
        #: Set by :meth:`finish`: true if the budget pruned template counts.
        self.approximate = False

    def empty(self) -> TemplateCounts:
        """No templates."""
        return TemplateCounts(self.pairs.n_buckets)

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
                sent, succ, self.config.max_fixed, self.config.max_distance, fixed_ok, trivial
            ):
                yield sent, occ

    def map(self, words_of: Words, lines: list[str]) -> TemplateCounts:
        """Count the templates of a chunk (compiled when it can be: the same counts)."""
        cp = chunk_pairs(lines, words_of, self.index, self.config.max_distance)
        if self.compiled and _tparse is not None:
            return self.compiled_counts(cp)
        if self.compiled:
            note_slow_templates(sum(len(w) for sent in cp.words for w in sent))
        return self.reference_counts(cp)

    def reference_counts(self, cp: ChunkPairs) -> TemplateCounts:
        """The template counts of a chunk (its pair slots), one occurrence at a time: the
        pure-Python reference of :meth:`compiled_counts`."""
        part = self.empty()
        part.n_words = len(cp.ids)
        for sent, occ in self.chunk_occurrences(cp):
            part.add(sent, occ)
        return part

    def compiled_counts(self, cp: ChunkPairs) -> TemplateCounts:
        """The template counts of a chunk (its pair slots), by the compiled extension: the
        occurrences are enumerated and counted per template in C (without the GIL), and
        only the distinct templates come back, as arrays.

        Raises:
            ImportError: if the compiled extension is not installed.
        """
        if _tparse is None:
            raise ImportError("the compiled template parser (ciyu._tparse) is not installed")
        vocab = self.pairs.vocab
        keys = cp.keys
        # keys as small ints: equal ids, equal keys (items and fillers are compared as ids)
        table = list(dict.fromkeys(keys))
        key_id = {k: i for i, k in enumerate(table)}
        n = len(keys)
        item_off, items, stat_off, stats, slot_off, sketch = _tparse.template_counts(
            array("i", map(key_id.__getitem__, keys)),
            cp.ids.astype(np.int32),
            cp.classes.astype(np.int32),
            cp.clauses.astype(np.int32),
            np.append(cp.starts, n).astype(np.int32),
            np.ascontiguousarray(self.pairs.edges, dtype=np.int64),
            len(vocab.words),
            self.config.max_fixed,
            self.config.max_distance,
            MAX_PATHS,
            self.config.trivial,
            self.pairs.n_buckets,
            PUNCT,
            OPENER,
            CLOSER,
            BOUNDARY,
        )
        # the key of each id, and SLOT for -1 (the last)
        names = np.array([*table, SLOT], dtype=object)
        spans = np.frombuffer(sketch, dtype=np.int32).reshape(-1, 2)
        fillers: list[list[str] | None] = list(
            map(keys.__getitem__, map(slice, spans[:, 0].tolist(), spans[:, 1].tolist()))
        )
        for s in np.flatnonzero(spans[:, 0] < 0).tolist():
            fillers[s] = OPEN
        part = self.empty()
        part.n_words = n
        templates = list(
            map(tuple, _runs(names[np.frombuffer(items, np.int32)].tolist(), item_off))
        )
        part.stats = dict(
            zip(templates, _runs(np.frombuffer(stats, np.int64).tolist(), stat_off), strict=True)
        )
        part.fillers = dict(zip(templates, _runs(fillers, slot_off), strict=True))
        return part

    def finish(self, merged: TemplateCounts) -> list[Scored]:
        """Score the templates; the candidates are those that pay for themselves (module
        documentation), best first. When the pass saw a sample of the corpus, a count is
        scaled to the whole corpus (probabilities are the sample's)."""
        self.approximate = merged.floor > 0
        vocab = self.pairs.vocab
        n_words = max(vocab.n_words, 1)
        log_n = math.log(n_words)
        seen = max(merged.n_words, 1)
        scale = n_words / seen if merged.n_words else 1.0
        count_of = dict(zip(vocab.words, vocab.counts.tolist(), strict=True))
        v, nb = len(vocab.words), self.pairs.n_buckets
        candidates: list[Scored] = []
        for items, row in merged.stats.items():
            n = row[0] * scale
            if n < vocab.min_count or not merged.open_slots(items):
                continue
            fixed = _fixed(items)
            k = len(fixed)
            logp = [math.log(count_of[f] / n_words) for f in fixed]
            cost = -sum(logp) + 0.5 * log_n
            if k == 1:  # trivial: listed, saves nothing
                candidates.append(Scored(items, round(n), 0.0, 0.0, 0.0))
                continue
            slot_h = sum(
                _slot_entropy(row[1 + s * nb : 1 + (s + 1) * nb])
                for s in range((len(row) - 1) // nb)
            )
            # ln(n N^(k-1) / Π n_f) − Σ H_slot, with ln p(f) = ln(n_f / N)
            pmi = math.log(row[0] / seen) - sum(logp) - slot_h
            gain = pmi - (k - 1)
            if n * gain <= cost:
                continue
            weakest = min(
                self.pairs.pmi.get(self.index[x] * v + self.index[y], 0.0)
                for x, y in itertools.pairwise(fixed)
            )
            candidates.append(Scored(items, round(n), gain, weakest, cost))
        candidates.sort(key=lambda c: (-c.score, -c.count, c.items))
        return candidates
