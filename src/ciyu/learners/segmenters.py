"""Segmenters that can be rebuilt in another process: what lets a learner's passes run on
worker processes or a cluster (see :mod:`ciyu.passes`).

A :data:`~ciyu.learners.base.Segmenter` is any function from a batch of fragments to the
end offsets of their words. A function cannot travel to another process without pickle,
and the compiled lattice cannot be pickled at all, so the segmenters the learners use are
objects that can describe themselves: ``spec()`` gives metadata and numpy arrays (the word
scores of a decoder, the autonomy tables of ``nvbe``, the counts of ``lm``, the members
of a vote), and :func:`rebuild` makes the same segmenter from them in a worker. Any other
function still works as a segmenter; the passes over it run in the calling process.

The kinds of segmenter a spec may name are listed in :data:`KINDS`; nothing else is ever
imported or built from a spec.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from ..decoder import boundaries_from_tables, scores_of

#: A spec: metadata (JSON) and named arrays.
Spec = tuple[dict[str, Any], dict[str, Any]]
#: Segmenter kind → (module, class) of the segmenters a spec may describe.
KINDS: dict[str, tuple[str, str]] = {
    "decoder": ("ciyu.learners.segmenters", "DecoderSegmenter"),
    "lm": ("ciyu.learners.lm", "LmSegmenter"),
    "vote": ("ciyu.learners.ensemble", "VoteSegmenter"),
}


@runtime_checkable
class Shippable(Protocol):
    """A segmenter that can describe itself for :func:`rebuild`."""

    def __call__(self, frags: list[str]) -> list[list[int]]: ...

    def spec(self) -> Spec | None:
        """What :func:`rebuild` needs, or None if this segmenter cannot leave its process."""


def spec_of(segment: Callable[[list[str]], list[list[int]]]) -> Spec | None:
    """The spec of a segmenter, or None if it cannot be rebuilt elsewhere."""
    return segment.spec() if isinstance(segment, Shippable) else None


def rebuild(meta: dict[str, Any], arrays: Mapping[str, Any]) -> Shippable:
    """The segmenter a spec describes.

    Raises:
        ValueError: if the spec names no known kind of segmenter.
    """
    kind = meta.get("segmenter")
    if kind not in KINDS:
        raise ValueError(f"unknown kind of segmenter {kind!r}")
    module, name = KINDS[kind]
    cls = getattr(importlib.import_module(module), name)
    segmenter: Shippable = cls.from_spec(meta, arrays)
    return segmenter


def nest(specs: Iterable[Spec], name: str = "member") -> Spec:
    """Several specs as one: their metadata in a list, their arrays prefixed."""
    metas = []
    arrays: dict[str, Any] = {}
    for i, (meta, arr) in enumerate(specs):
        metas.append(meta)
        arrays.update({f"{name}{i}.{key}": value for key, value in arr.items()})
    return {name + "s": metas}, arrays


def unnest(meta: dict[str, Any], arrays: Mapping[str, Any], name: str = "member") -> list[Spec]:
    """The specs of :func:`nest`."""
    out = []
    for i, sub in enumerate(meta[name + "s"]):
        head = f"{name}{i}."
        out.append((sub, {k[len(head) :]: v for k, v in arrays.items() if k.startswith(head)}))
    return out


ScoreTables = list[tuple[npt.NDArray[np.str_], npt.NDArray[np.float64]]]


def score_tables(scores: Mapping[str, float]) -> ScoreTables:
    """Word scores as one table per word length: the words (``<Uk``) and their scores."""
    by_length: dict[int, list[str]] = {}
    for word in scores:
        by_length.setdefault(len(word), []).append(word)
    return [
        (np.array(words, dtype=f"<U{k}"), np.array([scores[w] for w in words], dtype=np.float64))
        for k, words in sorted(by_length.items())
    ]


class DecoderSegmenter:
    """Segments every fragment with the lattice decoder over word scores (a lexicon's
    log-probabilities, or the scores of ``nvbe``'s autonomy tables).

    Args:
        boundaries: the decoder's ``boundaries``.
        tables: the word scores, one table per word length (see :func:`score_tables`),
            when they are at hand; otherwise they are read off the decoder (a
            :class:`~ciyu.decoder.Decoder`'s ``boundaries``), or the segmenter cannot
            travel.
        unk: the score of an unknown character, with ``tables``.
    """

    def __init__(
        self,
        boundaries: Callable[[str], list[int]],
        tables: ScoreTables | None = None,
        unk: float = 0.0,
    ) -> None:
        self._tables = tables
        self._unk = unk
        self._scores = scores_of(boundaries)
        # the compiled lattice itself, not the wrapper that remembers its scores
        self.boundaries: Callable[[str], list[int]] = getattr(boundaries, "func", boundaries)

    @classmethod
    def from_tables(cls, tables: ScoreTables, unk: float) -> DecoderSegmenter:
        """A decoder built from word score tables (numpy arrays, one per length)."""
        return cls(boundaries_from_tables(tables, unk), tables, unk)

    def __call__(self, frags: list[str]) -> list[list[int]]:
        boundaries = self.boundaries
        return [boundaries(f) for f in frags]

    def spec(self) -> Spec | None:
        """The word scores, or None for a function that is not a decoder."""
        if self._tables is not None:
            tables, unk = self._tables, self._unk
        elif self._scores is not None:
            tables, unk = score_tables(self._scores[0]), self._scores[1]
        else:
            return None
        arrays: dict[str, Any] = {}
        for i, (words, scores) in enumerate(tables):
            arrays[f"words_{i}"] = words
            arrays[f"scores_{i}"] = scores
        return {"segmenter": "decoder", "unk": unk, "tables": len(tables)}, arrays

    @classmethod
    def from_spec(cls, meta: dict[str, Any], arrays: Mapping[str, Any]) -> DecoderSegmenter:
        """The segmenter of :meth:`spec`."""
        tables = [(arrays[f"words_{i}"], arrays[f"scores_{i}"]) for i in range(meta["tables"])]
        for words, scores in tables:
            if words.dtype.kind != "U" or scores.dtype != np.float64 or words.shape != scores.shape:
                raise ValueError("bad word score table")
        return cls.from_tables(tables, float(meta["unk"]))


def per_fragment(boundaries: Callable[[str], list[int]]) -> Callable[[list[str]], list[list[int]]]:
    """A segmenter from a function that segments one fragment; a decoder's
    ``boundaries`` gives a segmenter that can be rebuilt in another process."""
    return DecoderSegmenter(boundaries)
