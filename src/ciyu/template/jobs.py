"""The passes of template mining as :class:`ciyu.passes.Pass` jobs, so that the engines
that run the learners' passes run them too: this process, ``-j N`` worker processes, or
a Ray cluster (``--engine ray``), with the same output.

Each job wraps one pass of :mod:`ciyu.template.pairs`, :mod:`~ciyu.template.mining` or
:mod:`~ciyu.template.evidence` (its ``map`` over the lines of a batch, the ``absorb`` of
its partial results, its ``finish``) and adds what an engine needs: the partials and the
pass itself as messages (:mod:`ciyu._codec`: JSON metadata and numpy arrays, no pickle),
the segmenter (the model file's bytes travel with the pass, and every worker process
builds the model once), and how a partial splits into shards by a hash of its keys.

Every merge is exact but the evidence pass's filler tables, which keep the most frequent
fillers of a template only (lossy counting, see :class:`~ciyu.template.evidence.Evidence`):
what they keep depends on how partials are grouped when they are merged. So the evidence
pass keeps all of a partial in its first shard, and every engine merges the partials in
corpus order with the same :class:`~ciyu.passes.Stack`: the same groups, the same bytes.
"""

from __future__ import annotations

import itertools
import sys
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from .. import _codec
from .._gc import paused_gc
from ..config import make, to_dict
from ..counts import chunked
from ..passes import Accumulator, Batch, Message, Pass, Stack, TextBatch
from .evidence import Evidence, EvidencePass, EvidenceTable
from .mining import Scored, TemplateHashes, TemplateHashPass, TemplatePass, TemplateTable
from .options import TemplateConfig
from .pairs import PairCounts, PairPass, PairTable, Vocabulary, WordCounts, WordPass
from .sentences import Words, model_words, split_words

S = TypeVar("S")
R = TypeVar("R")
Arrays = dict[str, npt.NDArray[Any]]
_I64 = np.int64


# --- strings in arrays ----------------------------------------------------------------------


def pack_strings(name: str, strings: Sequence[str]) -> Arrays:
    """``strings`` as the arrays ``{name}_codes`` and ``{name}_lengths`` of a message."""
    return _codec.pack_strings(strings, f"{name}_")


def unpack_strings(arrays: Arrays, name: str) -> list[str]:
    """The strings of :func:`pack_strings`.

    Raises:
        ValueError: if the arrays are missing or do not fit together.
    """
    return _codec.unpack_strings(arrays, f"{name}_")


def _ints(arrays: Arrays, name: str, n: int | None = None) -> list[int]:
    array = arrays[name]
    if array.dtype != _I64 or array.ndim != 1 or (n is not None and len(array) != n):
        raise ValueError(f"bad array {name}")
    return list(array.tolist())


def _spans(lengths: Sequence[int], total: int, what: str = "items") -> list[slice]:
    """The slices of consecutive runs of the given lengths over ``total`` items.

    Raises:
        ValueError: if a length is negative or they do not add up to ``total``.
    """
    if any(n < 0 for n in lengths) or sum(lengths) != total:
        raise ValueError(f"run lengths do not match their {what}")
    return list(map(slice, itertools.accumulate(lengths, initial=0), itertools.accumulate(lengths)))


def _runs(flat: Sequence[Any], lengths: Sequence[int]) -> list[list[Any]]:
    """``flat`` cut into consecutive runs of the given lengths."""
    return [list(flat[span]) for span in _spans(lengths, len(flat))]


def _pack_items(name: str, items: Sequence[tuple[str, ...]]) -> Arrays:
    """Templates' items (tuples of strings) as arrays."""
    arrays = pack_strings(name, [x for t in items for x in t])
    arrays[f"{name}_sizes"] = np.fromiter(map(len, items), dtype=_I64, count=len(items))
    return arrays


def _unpack_items(arrays: Arrays, name: str) -> list[tuple[str, ...]]:
    # word keys repeat across templates: one string object each (interned), as the
    # partial that was sent held them, not one per occurrence in the message (which
    # doubled the memory of merging the template pass's partials)
    flat = [sys.intern(x) for x in unpack_strings(arrays, name)]
    return [tuple(run) for run in _runs(flat, _ints(arrays, f"{name}_sizes"))]


def _counted(arrays: Arrays, name: str, counts: str) -> list[tuple[str, int]]:
    """The strings ``name`` with the counts ``counts``, as pairs."""
    keys = unpack_strings(arrays, name)
    return list(zip(keys, _ints(arrays, counts, len(keys)), strict=True))


def _tables(arrays: Arrays, name: str, counts: str, sizes: Sequence[int]) -> list[dict[str, int]]:
    """The strings ``name`` with the counts ``counts``, as one table (string → count) per
    run of ``sizes`` entries."""
    keys = unpack_strings(arrays, name)
    values = _ints(arrays, counts, len(keys))
    return [dict(zip(keys[s], values[s], strict=True)) for s in _spans(sizes, len(keys))]


def _pack_counter(name: str, counter: Counter[str]) -> Arrays:
    keys = sorted(counter)
    arrays = pack_strings(name, keys)
    arrays[f"{name}_counts"] = np.array([counter[k] for k in keys], dtype=_I64)
    return arrays


def _unpack_counter(arrays: Arrays, name: str) -> Counter[str]:
    return Counter(dict(_counted(arrays, name, f"{name}_counts")))


def _shard_of(items: tuple[str, ...] | str, n: int) -> int:
    """The shard of a key: a stable hash (the same in every process and machine)."""
    text = items if isinstance(items, str) else "\x1f".join(items)
    return zlib.crc32(text.encode("utf-8", "surrogatepass")) % n


# --- the jobs ---------------------------------------------------------------------------------


@dataclass
class Chunked(Generic[S]):
    """A pass's partial result and the characters of the corpus it covers."""

    part: S
    chars: int


class _Pruning(Generic[S]):
    """Merges partials in corpus order like :class:`~ciyu.passes.Stack` and, under a memory
    budget, prunes them when they hold more than ``max_entries`` entries in all (each
    partial by its own rule, marked approximate)."""

    def __init__(self, job: TemplateJob[S, Any], max_entries: int) -> None:
        self.job = job
        self.max_entries = max_entries
        self.stack: list[Chunked[S]] = []

    def add(self, partial: Chunked[S]) -> None:
        self.stack.append(partial)
        size = self.job.size
        while len(self.stack) > 1 and 2 * size(self.stack[-1]) >= size(self.stack[-2]):
            top = self.stack.pop()
            self.stack[-1] = self.job.merge(self.stack[-1], top)
        total = sum(size(p) for p in self.stack)
        if total > self.max_entries:
            share = self.max_entries // (2 * len(self.stack)) + 1
            for p in self.stack:
                p.part.shrink(share)  # type: ignore[attr-defined]

    def result(self) -> Chunked[S]:
        if not self.stack:
            return self.job.empty()
        total = self.stack[0]
        for p in self.stack[1:]:
            total = self.job.merge(total, p)
        self.stack = []
        return total


class TemplateJob(Pass[Chunked[S], R]):
    """A pass of template mining on the engines (see the module documentation).

    Args:
        inner: the pass (``map(words_of, lines)``, ``finish(merged)``).
        model: the bytes of the model file that segments the text, or None for text
            whose words are separated by whitespace.
        max_entries: under a memory budget, prune partials beyond this many entries.
    """

    stage: ClassVar[str] = "pass"
    #: Map a batch's chunks as one (its partial is small and costs per template held,
    #: not per chunk), rather than one chunk at a time.
    whole_batches: ClassVar[bool] = False

    def __init__(self, inner: Any, model: bytes | None, max_entries: int | None = None) -> None:
        self.inner = inner
        self.model = model
        self.max_entries = max_entries
        #: :meth:`map` cuts a batch into chunks of at most this many characters (with
        #: :func:`~ciyu.counts.chunked`) and merges their partials; None: one chunk.
        self.chunk_chars: int | None = None
        self._words: Words | None = None

    # --- what subclasses say ---------------------------------------------------------
    def inner_empty(self) -> S:
        """The pass's partial of no text: its ``empty()`` (a pass without one says it
        here)."""
        empty: S = self.inner.empty()
        return empty

    def pack(self, part: S) -> Message:
        """A partial as a message."""
        raise NotImplementedError

    def unpack(self, meta: dict[str, Any], arrays: Arrays) -> S:
        """The partial of :meth:`pack`."""
        raise NotImplementedError

    def split(self, part: S, n: int) -> list[S]:
        """A partial in ``n`` shards with no key in common (default: all in the first)."""
        return [part, *(self.inner_empty() for _ in range(n - 1))]

    def inner_state(self) -> Message:
        """What rebuilds the pass, but for the model (see :meth:`rebuild`)."""
        raise NotImplementedError

    @classmethod
    def rebuild(
        cls, meta: dict[str, Any], arrays: Arrays, model: bytes | None
    ) -> TemplateJob[S, R]:
        """The job of :meth:`inner_state`."""
        raise NotImplementedError

    # --- the pass -------------------------------------------------------------------------
    def words(self) -> Words:
        """How lines become words (the model is built once per process)."""
        if self._words is None:
            if self.model is None:
                self._words = split_words
            else:
                from ..model import Model

                self._words = model_words(Model.loads(self.model, "the model of the pass"))
        return self._words

    def map(self, batch: Batch) -> Chunked[S]:
        if not isinstance(batch, TextBatch):
            raise TypeError(f"template passes read lines of text, not {type(batch).__name__}")
        with paused_gc():  # see there: in a worker process too
            return self._map(batch)

    def _map(self, batch: TextBatch) -> Chunked[S]:
        words = self.words()
        if self.chunk_chars is None or self.whole_batches:
            return Chunked(self.inner.map(words, batch.texts), sum(map(len, batch.texts)))
        acc = Stack(self.merge, self.size, self.empty)
        for chunk in chunked(batch.texts, self.chunk_chars):
            acc.add(Chunked(self.inner.map(words, chunk), sum(map(len, chunk))))
        return acc.result()

    def merge(self, a: Chunked[S], b: Chunked[S]) -> Chunked[S]:
        a.part.absorb(b.part)  # type: ignore[attr-defined]
        a.chars += b.chars
        return a

    def finish(self, merged: Chunked[S]) -> R:
        result: R = self.inner.finish(merged.part)
        return result

    def empty(self) -> Chunked[S]:
        return Chunked(self.inner_empty(), 0)

    def chars(self, partial: Chunked[S]) -> int:
        return partial.chars

    def size(self, partial: Chunked[S]) -> int:
        """Entries held (the passes' own measure, which their merges have always used)."""
        return int(partial.part.size())  # type: ignore[attr-defined]

    def shard(self, partial: Chunked[S], n: int) -> list[Chunked[S]]:
        parts = self.split(partial.part, n)
        return [Chunked(p, partial.chars if i == 0 else 0) for i, p in enumerate(parts)]

    def accumulator(self) -> Accumulator[Chunked[S]]:
        if self.max_entries is None:
            return super().accumulator()
        return _Pruning(self, self.max_entries)

    def to_message(self, partial: Chunked[S]) -> Message:
        meta, arrays = self.pack(partial.part)
        return {**meta, "chars": partial.chars}, arrays

    def from_message(self, meta: dict[str, Any], arrays: dict[str, Any]) -> Chunked[S]:
        return Chunked(self.unpack(meta, arrays), int(meta["chars"]))

    def state(self) -> Message:
        meta, arrays = self.inner_state()
        if self.model is not None:
            arrays = {**arrays, "model": np.frombuffer(self.model, dtype=np.uint8)}
        return {**meta, "max_entries": self.max_entries, "chunk_chars": self.chunk_chars}, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, Any]) -> TemplateJob[S, R]:
        model = arrays.get("model")
        job = cls.rebuild(meta, arrays, None if model is None else model.tobytes())
        job.max_entries = meta.get("max_entries")
        job.chunk_chars = meta.get("chunk_chars")
        return job


def _config(meta: dict[str, Any]) -> TemplateConfig:
    return make(TemplateConfig, None, meta["config"])


def _vocab_message(vocab: Vocabulary) -> Message:
    meta = {"n_words": vocab.n_words, "n_chars": vocab.n_chars, "min_count": vocab.min_count}
    return meta, {**pack_strings("vocab", vocab.words), "vocab_counts": vocab.counts}


def _vocab(meta: dict[str, Any], arrays: Arrays) -> Vocabulary:
    words = unpack_strings(arrays, "vocab")
    counts = np.asarray(arrays["vocab_counts"], dtype=_I64)
    if len(counts) != len(words):
        raise ValueError("vocabulary counts do not match its words")
    return Vocabulary(
        words, counts, int(meta["n_words"]), int(meta["n_chars"]), int(meta["min_count"])
    )


class WordJob(TemplateJob[WordCounts, Vocabulary]):
    """Pass 1 (:class:`~ciyu.template.pairs.WordPass`): word counts."""

    kind = "template-words"
    stage = WordPass.stage

    def __init__(self, config: TemplateConfig, model: bytes | None, **kw: Any) -> None:
        super().__init__(WordPass(config), model, **kw)
        self.config = config

    def inner_empty(self) -> WordCounts:
        return WordCounts()

    def pack(self, part: WordCounts) -> Message:
        return {"n_words": part.n_words, "n_chars": part.n_chars}, _pack_counter(
            "words", part.counts
        )

    def unpack(self, meta: dict[str, Any], arrays: Arrays) -> WordCounts:
        return WordCounts(
            _unpack_counter(arrays, "words"), int(meta["n_words"]), int(meta["n_chars"])
        )

    def split(self, part: WordCounts, n: int) -> list[WordCounts]:
        out = [WordCounts() for _ in range(n)]
        out[0].n_words, out[0].n_chars = part.n_words, part.n_chars
        for word, c in part.counts.items():
            out[_shard_of(word, n)].counts[word] = c
        return out

    def inner_state(self) -> Message:
        return {"config": to_dict(self.config)}, {}

    @classmethod
    def rebuild(cls, meta: dict[str, Any], arrays: Arrays, model: bytes | None) -> WordJob:
        return cls(_config(meta), model)


class PairJob(TemplateJob[PairCounts, PairTable]):
    """Pass 2 (:class:`~ciyu.template.pairs.PairPass`): pair counts by distance."""

    kind = "template-pairs"
    stage = PairPass.stage

    def __init__(
        self,
        config: TemplateConfig,
        vocab: Vocabulary,
        model: bytes | None,
        compiled: bool = True,
        **kw: Any,
    ) -> None:
        super().__init__(PairPass(config, vocab, compiled=compiled), model, **kw)
        self.config, self.vocab, self.compiled = config, vocab, compiled

    def pack(self, part: PairCounts) -> Message:
        names = ("keys", "counts", "left", "right", "slots")
        return {"floor": part.floor}, {n: getattr(part, n) for n in names}

    def unpack(self, meta: dict[str, Any], arrays: Arrays) -> PairCounts:
        empty = self.inner_empty()
        keys, counts = (np.array(arrays[n], dtype=_I64) for n in ("keys", "counts"))
        left, right, slots = (np.array(arrays[n], dtype=_I64) for n in ("left", "right", "slots"))
        expected = (empty.left.shape, empty.right.shape, empty.slots.shape)
        if keys.shape != counts.shape or (left.shape, right.shape, slots.shape) != expected:
            raise ValueError("pair arrays of the wrong shapes")
        return PairCounts(keys, counts, left, right, slots, floor=int(meta["floor"]))

    def split(self, part: PairCounts, n: int) -> list[PairCounts]:
        # the pair keys split by a hash of the pair (its buckets stay together); the
        # margins go to the first shard
        shard = part.keys // self.inner.n_buckets % n
        out = []
        for i in range(n):
            part_i = (
                self.inner_empty()
                if i
                else PairCounts(
                    part.keys[:0], part.counts[:0], part.left, part.right, part.slots, part.floor
                )
            )
            keep = shard == i
            part_i.keys, part_i.counts = part.keys[keep], part.counts[keep]
            part_i.floor = part.floor
            out.append(part_i)
        return out

    def inner_state(self) -> Message:
        meta, arrays = _vocab_message(self.vocab)
        return {**meta, "config": to_dict(self.config), "compiled": self.compiled}, arrays

    @classmethod
    def rebuild(cls, meta: dict[str, Any], arrays: Arrays, model: bytes | None) -> PairJob:
        return cls(_config(meta), _vocab(meta, arrays), model, bool(meta["compiled"]))


class CandidateJob(TemplateJob[TemplateTable, list[Scored]]):
    """Pass 3 (:class:`~ciyu.template.mining.TemplatePass`): template counts. Its partial,
    a :class:`~ciyu.template.mining.TemplateTable`, travels as the table's arrays, checked
    when they arrive."""

    kind = "template-candidates"
    stage = TemplatePass.stage

    def __init__(
        self,
        config: TemplateConfig,
        pairs: PairTable,
        model: bytes | None,
        compiled: bool = True,
        frequent: npt.NDArray[np.uint64] | None = None,
        **kw: Any,
    ) -> None:
        inner = TemplatePass(config, pairs, compiled=compiled, frequent=frequent)
        super().__init__(inner, model, **kw)
        self.config, self.pairs, self.compiled = config, pairs, compiled
        self.frequent = frequent

    @property
    def approximate(self) -> bool:
        """Set by ``finish``: true if the budget pruned template counts."""
        return bool(self.inner.approximate)

    def pack(self, part: TemplateTable) -> Message:
        # the table's arrays as they are (the sketch's uint64 hashes as int64 bits)
        arrays = {
            "items": part.items,
            "stats": part.stats,
            "hashes": part.hashes.view(_I64),
            "opened": part.opened.view(np.uint8),
        }
        return {"floor": part.floor, "n_words": part.n_words}, arrays

    def unpack(self, meta: dict[str, Any], arrays: Arrays) -> TemplateTable:
        hashes, opened = arrays["hashes"], arrays["opened"]
        if hashes.dtype != _I64 or opened.dtype != np.uint8 or (opened > 1).any():
            raise ValueError("bad template sketch arrays")
        part = TemplateTable(
            self.pairs.n_buckets,
            arrays["items"],
            arrays["stats"],
            hashes.view(np.uint64),
            opened.view(np.bool_),
            floor=int(meta["floor"]),
            n_words=int(meta["n_words"]),
        )
        part.check(len(self.pairs.vocab.words))
        return part

    def split(self, part: TemplateTable, n: int) -> list[TemplateTable]:
        return part.split(n)

    def inner_state(self) -> Message:
        meta, arrays = _pairs_message(self.config, self.pairs, self.compiled)
        if self.frequent is not None:
            arrays["frequent"] = self.frequent.view(_I64)
        return meta, arrays

    @classmethod
    def rebuild(cls, meta: dict[str, Any], arrays: Arrays, model: bytes | None) -> CandidateJob:
        frequent = arrays.get("frequent")
        if frequent is not None:
            frequent = np.array(frequent, dtype=_I64).view(np.uint64)
            if frequent.ndim != 1 or (len(frequent) > 1 and (frequent[1:] <= frequent[:-1]).any()):
                raise ValueError("the frequent template hashes are not sorted")
        pairs = _pairs(meta, arrays)
        return cls(_config(meta), pairs, model, bool(meta["compiled"]), frequent)


def _pairs_message(config: TemplateConfig, pairs: PairTable, compiled: bool) -> Message:
    """What rebuilds pass 3 (its options and kept pairs), but for the model."""
    meta, arrays = _vocab_message(pairs.vocab)
    keys = np.array(sorted(pairs.pmi), dtype=_I64)
    arrays = {
        **arrays,
        "edges": pairs.edges,
        "pmi_keys": keys,
        "pmi_values": np.array([pairs.pmi[k] for k in keys.tolist()], dtype=np.float64),
    }
    meta = {
        **meta,
        "config": to_dict(config),
        "n_buckets": pairs.n_buckets,
        "approximate": pairs.approximate,
        "compiled": compiled,
    }
    return meta, arrays


def _pairs(meta: dict[str, Any], arrays: Arrays) -> PairTable:
    """The kept pairs of :func:`_pairs_message`."""
    keys, values = arrays["pmi_keys"].tolist(), arrays["pmi_values"].tolist()
    return PairTable(
        _vocab(meta, arrays),
        int(meta["n_buckets"]),
        np.array(arrays["edges"], dtype=_I64),
        dict(zip(keys, values, strict=True)),
        bool(meta["approximate"]),
    )


class CandidateHashJob(TemplateJob[TemplateHashes, npt.NDArray[np.uint64]]):
    """Pass 3, first part (:class:`~ciyu.template.mining.TemplateHashPass`): template
    counts by hash, which tell :class:`CandidateJob` the templates to count in full."""

    kind = "template-candidate-hashes"
    stage = TemplateHashPass.stage

    def __init__(
        self,
        config: TemplateConfig,
        pairs: PairTable,
        model: bytes | None,
        compiled: bool = True,
        **kw: Any,
    ) -> None:
        inner = TemplateHashPass(TemplatePass(config, pairs, compiled=compiled))
        super().__init__(inner, model, **kw)
        self.config, self.pairs, self.compiled = config, pairs, compiled

    @property
    def approximate(self) -> bool:
        """Set by ``finish``: true if the budget pruned the counts."""
        return bool(self.inner.approximate)

    def pack(self, part: TemplateHashes) -> Message:
        meta = {"floor": part.floor, "n_words": part.n_words}
        return meta, {"keys": part.keys, "counts": part.counts}

    def unpack(self, meta: dict[str, Any], arrays: Arrays) -> TemplateHashes:
        # copies: a message's arrays may not be aligned for the compiled merge
        keys, counts = (np.array(arrays[n], dtype=_I64) for n in ("keys", "counts"))
        part = TemplateHashes(keys, counts, int(meta["floor"]), int(meta["n_words"]))
        part.check()
        return part

    def split(self, part: TemplateHashes, n: int) -> list[TemplateHashes]:
        return part.split(n)

    def inner_state(self) -> Message:
        return _pairs_message(self.config, self.pairs, self.compiled)

    @classmethod
    def rebuild(cls, meta: dict[str, Any], arrays: Arrays, model: bytes | None) -> CandidateHashJob:
        return cls(_config(meta), _pairs(meta, arrays), model, compiled=bool(meta["compiled"]))


class EvidenceJob(TemplateJob[EvidenceTable, EvidenceTable]):
    """Passes 4 and 5 (:class:`~ciyu.template.evidence.EvidencePass`): parse with the
    candidates and gather their evidence. Its partials are not split (module
    documentation); they hold the candidates' rows only, so they stay small."""

    kind = "template-evidence"
    stage = EvidencePass.stage
    # each chunk's partial holds a row for every template it applies (with the example
    # and the fillers' hashes made for it), merged row by row: a batch parsed as one makes
    # and merges the rows once (the parse of the law corpus takes about a sixth less time)
    whole_batches = True

    def __init__(
        self,
        config: TemplateConfig,
        candidates: Sequence[Scored],
        model: bytes | None,
        compiled: bool = True,
        full: bool = True,
        **kw: Any,
    ) -> None:
        inner = EvidencePass(config, candidates, compiled=compiled, full=full)
        super().__init__(inner, model, **kw)
        self.config, self.candidates, self.compiled = config, list(candidates), compiled
        self.full = full

    def pack(self, part: EvidenceTable) -> Message:
        items = list(part.rows)
        rows = [part.rows[t] for t in items]
        arrays = _pack_items("items", items)
        arrays["n"] = np.array([ev.n for ev in rows], dtype=_I64)
        arrays["floor"] = np.array([ev.floor for ev in rows], dtype=_I64)
        fillers = [ev.fillers for ev in rows]
        arrays.update(pack_strings("fillers", [f for fs in fillers for f in fs]))
        arrays["filler_counts"] = np.array([c for fs in fillers for c in fs.values()], dtype=_I64)
        arrays["filler_sizes"] = np.fromiter(map(len, fillers), dtype=_I64, count=len(rows))
        slots = [c for ev in rows for c in ev.slots]
        arrays.update(pack_strings("slots", [f for s in slots for f in s]))
        arrays["slot_counts"] = np.array([c for s in slots for c in s.values()], dtype=_I64)
        arrays["slot_sizes"] = np.fromiter(map(len, slots), dtype=_I64, count=len(slots))
        arrays["slots_per_row"] = np.array([len(ev.slots) for ev in rows], dtype=_I64)
        # the sketch's uint64 hashes travel as int64 bits
        hashes = [h for ev in rows for h in ev.hashes]
        arrays["hashes"] = np.array(hashes, dtype=np.uint64).view(_I64)
        arrays["hash_sizes"] = np.fromiter(
            (len(ev.hashes) for ev in rows), dtype=_I64, count=len(rows)
        )
        examples = [ev.example for ev in rows]
        arrays.update(pack_strings("examples", [e[2] if e else "" for e in examples]))
        arrays["example_rank"] = np.array(
            [[-1, -1] if e is None else [int(e[0]), e[1]] for e in examples], dtype=_I64
        ).reshape(len(rows), 2)
        return {"n_words": part.n_words}, arrays

    def unpack(self, meta: dict[str, Any], arrays: Arrays) -> EvidenceTable:
        items = _unpack_items(arrays, "items")
        k = len(items)
        ns, floors = _ints(arrays, "n", k), _ints(arrays, "floor", k)
        fillers = _tables(arrays, "fillers", "filler_counts", _ints(arrays, "filler_sizes", k))
        slot_tables = _tables(arrays, "slots", "slot_counts", _ints(arrays, "slot_sizes"))
        slots = _runs(slot_tables, _ints(arrays, "slots_per_row", k))
        hashes = np.asarray(arrays["hashes"], dtype=_I64).view(np.uint64).tolist()
        sketches = _spans(_ints(arrays, "hash_sizes", k), len(hashes), "hashes")
        texts = unpack_strings(arrays, "examples")
        ranks = np.asarray(arrays["example_rank"], dtype=_I64)
        if ranks.shape != (k, 2) or len(texts) != k:
            raise ValueError("bad example arrays")
        table = EvidenceTable(n_words=int(meta["n_words"]))
        for i, (t, (short, length)) in enumerate(zip(items, ranks.tolist(), strict=True)):
            table.rows[t] = Evidence(
                ns[i],
                fillers[i],
                slots[i],
                hashes[sketches[i]],
                None if short < 0 else (bool(short), length, texts[i]),
                floors[i],
            )
        return table

    def inner_state(self) -> Message:
        c = self.candidates
        arrays = _pack_items("items", [s.items for s in c])
        arrays["counts"] = np.array([s.count for s in c], dtype=_I64)
        arrays["scores"] = np.array(
            [[s.gain, s.weakest_pmi, s.cost] for s in c], dtype=np.float64
        ).reshape(len(c), 3)
        meta = {"config": to_dict(self.config), "compiled": self.compiled, "full": self.full}
        return meta, arrays

    @classmethod
    def rebuild(cls, meta: dict[str, Any], arrays: Arrays, model: bytes | None) -> EvidenceJob:
        items = _unpack_items(arrays, "items")
        counts = _ints(arrays, "counts", len(items))
        scores = np.asarray(arrays["scores"], dtype=np.float64).reshape(len(items), 3).tolist()
        candidates = [
            Scored(t, n, gain, weakest, cost)
            for t, n, (gain, weakest, cost) in zip(items, counts, scores, strict=True)
        ]
        return cls(
            _config(meta),
            candidates,
            model,
            compiled=bool(meta["compiled"]),
            full=bool(meta["full"]),
        )
