"""The learners' passes over the corpus, as map / merge / finish (see :mod:`ciyu.passes`).

- :class:`WordCountPass`: segment every fragment and count the words
  (:func:`~ciyu.learners.base.count_segmentation`: the ``nvbe`` and ``lm`` learners, the
  ensemble's final recount, the unigram trainer's EM rounds);
- :class:`OrphanPairsPass`: segment every fragment and count its tokens and the adjacent
  pairs of tokens with a single character among them (one per merge round of the
  ensemble, :func:`~ciyu.learners.ensemble.orphan_pairs`);
- :class:`CoveringCutPass`: cut every fragment where no solid n-gram spans the gap, and
  count the pieces (the cohesion learner, and with pairs for n-grams the minimum-entropy
  learner).

Each maps a batch of fragments with their counts (a slice of the table of distinct
fragments, or text read again), so a fragment that occurs a thousand times is segmented
once. Partials are string tables (:class:`~ciyu.tables.StringCounts`): a pair of tokens
``a b`` is the string ``a + PAIR_SEP + b``, a neighbour of a long piece the string
``piece + PAIR_SEP + side + neighbour``.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..counts import Keys
from ..lexicon import MAX_WORD_LEN
from ..passes import Batch, Message, Pass, batch_fragments
from ..tables import StringCounts
from . import segmenters

#: Joins the two tokens of a pair, and a piece to its neighbour, in a string table key: a
#: control character, never part of a fragment.
PAIR_SEP = "\x01"

Segmenter = Callable[[list[str]], list[list[int]]]


def words_of(frag: str, ends: list[int]) -> list[str]:
    """The words of a fragment cut at ``ends``, none longer than
    :data:`~ciyu.lexicon.MAX_WORD_LEN` characters."""
    words = [frag[start:end] for start, end in zip([0, *ends], ends, strict=False)]
    if len(frag) > MAX_WORD_LEN and max(map(len, words)) > MAX_WORD_LEN:
        # a model holds no longer word (it keeps the decoder linear): cut the strings a
        # segmenter leaves whole into pieces of that length
        words = [w[i : i + MAX_WORD_LEN] for w in words for i in range(0, len(w), MAX_WORD_LEN)]
    return words


def _weighted_chars(frags: list[str], weights: npt.NDArray[np.int64]) -> int:
    lengths = np.fromiter(map(len, frags), dtype=np.int64, count=len(frags))
    return int(lengths @ weights) if len(frags) else 0


@dataclass
class Tally:
    """A partial of a pass: string tables and the learnable characters they cover."""

    tables: tuple[StringCounts, ...]
    chars: int = 0


class _TallyPass(Pass[Tally, Any]):
    """What the passes whose partials are :class:`Tally` objects share: merging, sharding
    and the messages. ``n_tables`` string tables per partial."""

    n_tables = 1

    def merge(self, a: Tally, b: Tally) -> Tally:
        for mine, theirs in zip(a.tables, b.tables, strict=True):
            mine.absorb(theirs)
        a.chars += b.chars
        return a

    def empty(self) -> Tally:
        return Tally(tuple(StringCounts() for _ in range(self.n_tables)))

    def chars(self, partial: Tally) -> int:
        return partial.chars

    def size(self, partial: Tally) -> int:
        return sum(t.nbytes for t in partial.tables)

    def shard(self, partial: Tally, n: int) -> list[Tally]:
        columns = [t.shard(n) for t in partial.tables]
        shards = [Tally(tuple(c[i] for c in columns)) for i in range(n)]
        shards[0].chars = partial.chars
        return shards

    def to_message(self, partial: Tally) -> Message:
        arrays: dict[str, Any] = {}
        for i, table in enumerate(partial.tables):
            arrays.update(table.to_arrays(f"t{i}."))
        return {"chars": partial.chars}, arrays

    def from_message(self, meta: dict[str, Any], arrays: dict[str, Any]) -> Tally:
        tables = tuple(StringCounts.from_arrays(arrays, f"t{i}.") for i in range(self.n_tables))
        return Tally(tables, int(meta["chars"]))


class _SegmentingPass(_TallyPass):
    """A pass that segments every fragment with a segmenter (rebuilt in workers from its
    spec, see :mod:`~ciyu.learners.segmenters`)."""

    def __init__(self, segment: Segmenter) -> None:
        self.segment = segment

    def tokens(self, batch: Batch) -> tuple[list[list[str]], npt.NDArray[np.int64], int]:
        """The words of every fragment of the batch, the fragments' counts, and the
        learnable characters the batch covers."""
        frags, weights = batch_fragments(batch)
        words = [words_of(f, e) for f, e in zip(frags, self.segment(frags), strict=True)]
        return words, weights, _weighted_chars(frags, weights)

    def state(self) -> Message | None:
        spec = segmenters.spec_of(self.segment)
        if spec is None:
            return None
        meta, arrays = segmenters.nest([spec])
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, Any]) -> _SegmentingPass:
        [(sub, sub_arrays)] = segmenters.unnest(meta, arrays)
        return cls(segmenters.rebuild(sub, sub_arrays))


class WordCountPass(_SegmentingPass):
    """Segment every fragment and count the words (the result: word → count)."""

    kind = "words"

    def map(self, batch: Batch) -> Tally:
        words, weights, chars = self.tokens(batch)
        index: dict[str, int] = {}
        ids = [index.setdefault(w, len(index)) for ws in words for w in ws]
        per_token = np.repeat(weights, [len(ws) for ws in words])
        counts = np.bincount(ids, weights=per_token, minlength=len(index)).astype(np.int64)
        return Tally((StringCounts.from_items(list(index), counts),), chars)

    def finish(self, merged: Tally) -> Counter[str]:
        return Counter(merged.tables[0].to_dict())


@dataclass
class PairCounts:
    """What :class:`OrphanPairsPass` gives: the tokens (``names``; id 0 is unused), their
    counts, and one entry per distinct pair of ids with its count."""

    names: list[str]
    counts: npt.NDArray[np.int64]
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]


class OrphanPairsPass(_SegmentingPass):
    """Segment every fragment; count its tokens and the adjacent pairs of tokens of which
    at least one is a single character (an orphan)."""

    kind = "pairs"
    n_tables = 2

    def map(self, batch: Batch) -> Tally:
        words, weights, chars = self.tokens(batch)
        index: dict[str, int] = {"": 0}  # "" separates fragments
        ids = np.array(
            [index.setdefault(w, len(index)) for ws in words for w in itertools.chain(ws, ("",))],
            dtype=np.int64,
        )
        per_token = np.repeat(weights, [len(ws) + 1 for ws in words])
        counts = np.bincount(ids, weights=per_token, minlength=len(index)).astype(np.int64)
        names = list(index)
        short = np.array([len(t) == 1 for t in names])
        left, right = ids[:-1], ids[1:]
        keep = (left > 0) & (right > 0) & (short[left] | short[right])
        keys = (left[keep] << 32) | right[keep]
        order = np.argsort(keys, kind="stable")
        keys, pair_weights = keys[order], per_token[:-1][keep][order]
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        starts = np.flatnonzero(first)
        n = np.add.reduceat(pair_weights, starts) if len(keys) else pair_weights
        distinct = keys[starts]
        lefts, rights = (distinct >> 32).tolist(), (distinct & 0xFFFFFFFF).tolist()
        pairs = [names[a] + PAIR_SEP + names[b] for a, b in zip(lefts, rights, strict=True)]
        tokens = StringCounts.from_items(names[1:], counts[1:])
        return Tally((tokens, StringCounts.from_items(pairs, n)), chars)

    def finish(self, merged: Tally) -> PairCounts:
        tokens, pairs = merged.tables
        names, counts = tokens.strings()
        # a token's id: 1 + its place in the table (by length, then code point)
        base: dict[int, int] = {}
        place = 1
        for k in sorted(tokens.tables):
            base[k] = place
            place += len(tokens.tables[k][0])
        lefts, rights, ns = [], [], []
        for width, (keys, n) in pairs.tables.items():
            codes = np.ascontiguousarray(keys).view(np.uint32).reshape(len(keys), width)
            split = np.argmax(codes == ord(PAIR_SEP), axis=1)
            for at in np.unique(split).tolist():
                rows = np.flatnonzero(split == at)
                part = codes[rows]
                lefts.append(_ids_of(tokens, base, part[:, :at]))
                rights.append(_ids_of(tokens, base, part[:, at + 1 :]))
                ns.append(n[rows])
        left = np.concatenate(lefts) if lefts else np.empty(0, dtype=np.int64)
        right = np.concatenate(rights) if rights else np.empty(0, dtype=np.int64)
        n_all = np.concatenate(ns) if ns else np.empty(0, dtype=np.int64)
        order = np.lexsort((right, left))
        return PairCounts(
            ["", *names],
            np.concatenate([[0], counts]).astype(np.int64),
            left[order],
            right[order],
            n_all[order],
        )


def _ids_of(
    tokens: StringCounts, base: Mapping[int, int], codes: npt.NDArray[np.uint32]
) -> npt.NDArray[np.int64]:
    """The ids (see :meth:`OrphanPairsPass.finish`) of the tokens whose code points are
    the rows of ``codes`` (all of one length, all in the table)."""
    k = codes.shape[1]
    keys: Keys = np.ascontiguousarray(codes).view(f"<U{k}").ravel()
    table = tokens.tables[k][0]
    idx = np.searchsorted(table, keys)
    if len(idx) and not bool(np.all(table[np.minimum(idx, len(table) - 1)] == keys)):
        raise ValueError("a pair holds a token that is not counted")
    return (idx + base[k]).astype(np.int64)


class CoveringCutPass(_TallyPass):
    """The covering cut of every fragment (see :mod:`~ciyu.learners.cohesion`): a gap is
    kept when a solid n-gram spans it. The result: the pieces with their counts, and for
    pieces of at least ``long_len`` characters the counts of their left and right
    neighbour characters (``""``: the edge of the fragment).

    Args:
        solid: sorted arrays of the solid n-grams of each length.
        long_len: the shortest piece whose neighbours are counted.
    """

    kind = "cut"
    n_tables = 2

    def __init__(self, solid: Mapping[int, Keys], long_len: int) -> None:
        self.solid = dict(solid)
        self.long_len = long_len

    def map(self, batch: Batch) -> Tally:
        from .cohesion import cut_fragments

        frags, weights = batch_fragments(batch)
        pieces, sides = cut_fragments(frags, weights, self.solid, self.long_len)
        return Tally((pieces, sides), _weighted_chars(frags, weights))

    def finish(
        self, merged: Tally
    ) -> tuple[Counter[str], dict[str, tuple[Counter[str], Counter[str]]]]:
        from .cohesion import neighbour_counts

        pieces, sides = merged.tables
        return Counter(pieces.to_dict()), neighbour_counts(sides)

    def state(self) -> Message:
        arrays = {f"solid_{k}": keys for k, keys in self.solid.items()}
        return {"long_len": self.long_len, "lengths": sorted(self.solid)}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, Any]) -> CoveringCutPass:
        solid = {int(k): arrays[f"solid_{k}"] for k in meta["lengths"]}
        for k, keys in solid.items():
            if keys.dtype != np.dtype(f"<U{k}"):
                raise ValueError(f"bad solid {k}-grams")
        return cls(solid, int(meta["long_len"]))
