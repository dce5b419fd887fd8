"""Corpus passes as map / merge / finish, run in one process or on a process pool.

Every pass of template mining has the same shape (issue 12, item 1): a *map* turns one
chunk of lines into a partial result, partial results *merge* exactly (integer counts, so
the merge is associative and any partitioning of the corpus gives the same result), and
a *finish* turns the merged result into what the next pass needs. Partial results are
plain Python and numpy objects, picklable, so they can travel between processes (or
machines) unchanged.

:func:`run_pass` runs a pass: chunks are mapped by ``threads`` worker processes (results in
input order) and merged in a size-balanced way (each entry is re-merged O(log chunks)
times), and a partial that outgrows its memory budget is pruned by its own rule (lossy
counting, marked approximate). Because the chunks do not depend on ``threads`` and are
merged in input order, the result is the same for any number of processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from ..counts import chunked
from ..lexicon import Lexicon
from ..model import Model
from ..parallel import ordered_map, resolve_threads
from .sentences import Words, model_words, split_words

T = TypeVar("T", bound="Partial")
R = TypeVar("R")


class Partial(Protocol):
    """A mergeable partial result."""

    def absorb(self: T, other: T) -> None:
        """Add ``other`` into this result (exactly, unless pruning made both approximate)."""

    def size(self) -> int:
        """Number of entries held (for balancing merges)."""

    def shrink(self, max_entries: int) -> None:
        """Prune to at most about ``max_entries`` entries if larger (lossy, marked)."""


class CorpusPass(Protocol[T, R]):  # type: ignore[misc]
    """One pass over the corpus: ``map`` a chunk of lines, ``finish`` the merged result.

    ``stage`` names the pass in progress reports.
    """

    stage: str

    def map(self, words_of: Words, lines: list[str]) -> T:
        """The partial result of one chunk of lines."""

    def finish(self, merged: T) -> R:
        """The result of the pass from the partial results of the whole corpus."""


@dataclass(frozen=True)
class Segmenter:
    """How workers turn lines into words: a model's lexicon (a compiled model cannot be
    pickled, so each worker rebuilds it) or whitespace (pre-segmented input)."""

    lexicon: Lexicon | None

    def words(self) -> Words:
        """The word function (builds the model once)."""
        if self.lexicon is None:
            return split_words
        return model_words(Model(self.lexicon))


# The pass and word function of a worker process, installed once per worker by
# ordered_map's initializer: they are large (vocabulary, pair table), so they are not
# pickled with every chunk. Used only in worker processes.
_WORKER: dict[str, Any] = {}


def _install(corpus_pass: Any, segmenter: Segmenter) -> None:
    _WORKER["pass"] = corpus_pass
    _WORKER["words"] = segmenter.words()


def _map_in_worker(lines: list[str]) -> Any:
    return _WORKER["pass"].map(_WORKER["words"], lines)


class _Merger(Generic[T]):
    """Size-balanced merging of partial results, with a budget per result."""

    def __init__(self, max_entries: int | None) -> None:
        self.stack: list[T] = []
        self.max_entries = max_entries

    def add(self, part: T) -> None:
        self.stack.append(part)
        while len(self.stack) > 1 and 2 * self.stack[-1].size() >= self.stack[-2].size():
            top = self.stack.pop()
            self.stack[-1].absorb(top)
        if self.max_entries is not None:
            total = sum(p.size() for p in self.stack)
            if total > self.max_entries:
                share = self.max_entries // (2 * len(self.stack)) + 1
                for p in self.stack:
                    p.shrink(share)

    def result(self) -> T | None:
        if not self.stack:
            return None
        first = self.stack[0]
        for part in self.stack[1:]:
            first.absorb(part)
        self.stack = []
        return first


def run_pass(
    corpus_pass: CorpusPass[T, R],
    lines: Iterable[str],
    segmenter: Segmenter,
    empty: Callable[[], T],
    *,
    chunk_chars: int,
    threads: int | None = 1,
    max_entries: int | None = None,
    progress: Callable[[str, int], None] | None = None,
    every: int = 1,
) -> R:
    """Run one pass over ``lines``: map every chunk, merge, finish.

    Args:
        corpus_pass: the pass.
        lines: the corpus, as lines (consumed once).
        segmenter: how lines become words.
        empty: a fresh empty partial result (for an empty corpus).
        chunk_chars: characters per chunk.
        threads: worker processes (``None`` or 0: one per core); same result for any value.
        max_entries: prune the partial results when they hold more entries in all.
        progress: called as ``progress(stage, characters_done)``.
        every: map only every ``every``-th chunk (the first, then every ``every``-th):
            a sample spread over the corpus, the same for any ``threads``.

    Returns:
        The finished result of the pass.
    """
    merger: _Merger[T] = _Merger(max_entries)
    sizes: list[int] = []

    def chunks() -> Iterable[list[str]]:
        skipped = 0  # characters of the chunks left out since the last one mapped
        for index, chunk in enumerate(chunked(lines, chunk_chars)):
            if index % every:
                skipped += sum(map(len, chunk))
                continue
            sizes.append(skipped + sum(map(len, chunk)))
            skipped = 0
            yield chunk

    if resolve_threads(threads) <= 1:
        words = segmenter.words()
        parts: Iterable[T] = (corpus_pass.map(words, c) for c in chunks())
    else:
        parts = ordered_map(
            _map_in_worker,
            chunks(),
            threads,
            initializer=_install,
            initargs=(corpus_pass, segmenter),
        )
    done = 0
    for i, part in enumerate(parts):
        merger.add(part)
        done += sizes[i]
        if progress is not None:
            progress(corpus_pass.stage, done)
    merged = merger.result()
    return corpus_pass.finish(merged if merged is not None else empty())
