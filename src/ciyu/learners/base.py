"""What every learner shares: the corpus handle, the n-gram counts, and turning a
segmenter into a lexicon.

A learner sees the corpus only through a :class:`Context`: the n-gram counts of the whole
corpus, passes over the corpus (:meth:`Context.run`, which hands a
:class:`~ciyu.passes.Pass` to the context's engine: this process, worker processes, or a
Ray cluster; the learner does not know which), a function that re-reads the text in order
(:meth:`Context.fragments`), and a progress callback. Learners that segment by some other
criterion than a lexicon (branching entropy, a character language model, a vote) become
lexicon learners through :func:`count_segmentation`: segment every fragment of the corpus
and count the words (BytePiece's "pre-tokenisation" step, design memo §3.4), so that every
method ends in the same shared lattice decoder.

**Duplicates are counted once.** The counting pass also collects the table of the
corpus's distinct fragments with how often each occurs (:attr:`Context.table`), and every
later pass maps that table instead of reading the text again: a fragment that occurs a
thousand times (boilerplate, a form's template, a law in several versions) is segmented
once and weighs a thousand. The results are exactly those of reading every copy. Under a
memory budget the table is made only when it fits beside the counts and the learner;
otherwise the passes read the text again.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from .._memory import (
    LearnerCost,
    MemoryBudgetError,
    format_size,
    learner_cost,
    learning_room,
    least_budget,
    plan_count,
    return_freed_memory,
)
from ..counts import (
    DEFAULT_CHUNK_CHARS,
    FragmentsPass,
    NgramCounts,
    chunked,
    count_corpus,
    split_long,
    text_batches,
)
from ..errors import ConfigError
from ..lexicon import Lexicon
from ..parallel import resolve_threads
from ..passes import Batch, Engine, LocalEngine, Pass, TextBatch
from ..tables import StringCounts
from ..text import fragments as fragments_of
from .passes import WordCountPass, words_of
from .segmenters import per_fragment

__all__ = [
    "Context",
    "Progress",
    "Segmenter",
    "TextSource",
    "count_segmentation",
    "fit_learner",
    "make_context",
    "per_fragment",
    "segmentation",
]

log = logging.getLogger("ciyu")

#: Below this many learnable characters, learning warns that the corpus is small. On the
#: development sets, models learned from 12 K to 115 K characters scored 0.76–0.82 F1
#: against 0.83–0.84 from 0.9 M to 2.2 M characters of similar text.
SMALL_CORPUS_CHARS = 100_000

R = TypeVar("R")
TextSource = Callable[[], Iterable[str]]
SEGMENT_CHUNK_CHARS = 1 << 18
#: Under a memory budget: characters per chunk of a learner's pass over the corpus, and
#: the longest text the passes see (longer ones are split, see
#: :func:`ciyu.counts.split_long`), so that the per-chunk temporaries stay small.
BUDGET_CHUNK_CHARS = 1 << 15
Progress = Callable[[str, int], None]
#: A segmenter: a batch of fragments of learnable text (numbers as NUM) → for each
#: fragment, the end offsets of its words. Those of :mod:`~ciyu.learners.segmenters`
#: can be rebuilt in worker processes; a pass over any other runs in this process.
Segmenter = Callable[[list[str]], list[list[int]]]


@dataclass
class Context:
    """The corpus as the learners see it.

    Attributes:
        texts: returns a fresh iterable over the corpus text each time it is called.
        counts: n-gram counts of the corpus.
        chunk_chars: characters per chunk for passes over the corpus.
        progress: called as ``progress(stage, characters_done)``, or None; a pass over
            the corpus counts learnable characters, so it ends at ``counts.n_chars``.
        base: an existing dictionary the learner adapts (``ciyu train --base``), or None.
        engine: what runs the passes (default: this process).
        table: the distinct fragments of the corpus with how often each occurs, which
            the passes map instead of the text; None: the passes read the text again.
        owns_engine: :meth:`close` closes the engine (it was made for this context).
    """

    texts: TextSource
    counts: NgramCounts
    chunk_chars: int = DEFAULT_CHUNK_CHARS
    progress: Progress | None = None
    base: Lexicon | None = None
    engine: Engine = field(default_factory=LocalEngine)
    table: Any = None
    owns_engine: bool = False

    def fragments(self, stage: str | None = "segment") -> Iterable[list[str]]:
        """The learnable fragments of the corpus in corpus order, every occurrence, in
        chunks of about ``chunk_chars`` (at most 256 K characters: segmenters hold
        per-character temporaries); the progress callback hears of each chunk under the
        name ``stage`` (not at all if None)."""
        done = 0
        for chunk in chunked(self.texts(), min(self.chunk_chars, SEGMENT_CHUNK_CHARS)):
            frags = [f for t in chunk for f in fragments_of(t)]
            yield frags
            done += sum(map(len, frags))  # learnable characters, as counted by the counts
            if stage is not None and self.progress is not None:
                self.progress(stage, done)

    def batches(self) -> Iterable[Batch]:
        """The corpus as the batches of a pass: slices of :attr:`table`, or the text."""
        size = min(self.chunk_chars, SEGMENT_CHUNK_CHARS)
        if isinstance(self.table, StringCounts):
            return self.table.slices(size)
        return (TextBatch(chunk) for chunk in chunked(self.texts(), size))

    def run(self, job: Pass[Any, R], stage: str | None = "segment") -> R:
        """Run a pass over the corpus with the context's engine; progress is reported
        as ``stage`` (not at all if None)."""
        report = None
        if stage is not None and self.progress is not None:
            report = functools.partial(self.progress, stage)
        if self.table is not None and not isinstance(self.table, StringCounts):
            return self.engine.run_table(job, self.table, progress=report)
        return self.engine.run(job, self.batches(), progress=report)

    def close(self) -> None:
        """Close the engine if it was made for this context (its worker processes)."""
        if self.owns_engine:
            self.engine.close()

    def __enter__(self) -> Context:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def make_context(
    texts: TextSource,
    order: int,
    counts: NgramCounts | None = None,
    min_order: int | None = None,
    *,
    max_memory: int | None = None,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    progress: Progress | None = None,
    threads: int | None = 1,
    drop_singletons: bool = False,
    learner: str | None = None,
    base: Lexicon | None = None,
    engine: Engine | None = None,
    dedupe: bool = True,
) -> Context:
    """Count the corpus (unless ``counts`` are given) and wrap it for the learners.

    ``order`` is the order counted (by ``threads`` processes); given ``counts`` must reach
    ``min_order`` (default: ``order``). With ``drop_singletons`` (for learners whose
    config says ``singletons_unused()``), n-grams of order 2 and up seen once are dropped:
    while merging when the counts are made here, from a copy when they are given.

    With ``dedupe`` (the default) the distinct fragments of the corpus are collected with
    their counts, and the learner's passes map that table instead of the text (the same
    results; see the module documentation).

    ``max_memory`` bounds the peak resident memory of this process and its workers, the
    learner included (see :mod:`ciyu._memory`): counting is planned within it, the
    learner's passes read the corpus in small chunks, and before learning the n-grams
    rarer than a floor are dropped from the counts until the structures of the learner
    named ``learner`` (a ``--method``; None: the default learners), as
    :func:`ciyu._memory.learner_cost` estimates them, fit beside them
    (:func:`fit_learner`). What is left of the budget then pays for the table of
    distinct fragments, if it fits, and for the worker processes of the later passes
    (none when they do not fit). ``base`` is an existing dictionary to adapt (see
    :class:`Context`); it is held whole (it is not counted against ``max_memory``'s
    pruning).

    ``engine`` runs the passes (default: a :class:`~ciyu.passes.LocalEngine` with
    ``threads`` processes, closed by :meth:`Context.close`).

    Raises:
        ConfigError: if the given counts are of a lower order than ``order``, or the corpus
            has no learnable text.
        MemoryBudgetError: if ``max_memory`` is below what learning needs at least, or
            below what the learner needs for this corpus whatever the counts.
    """
    plan = None
    cost = learner_cost(learner)
    owns_engine = engine is None
    if engine is None:
        engine = LocalEngine(threads)
    elif max_memory is not None and not isinstance(engine, LocalEngine):
        raise ConfigError(
            "--max-memory bounds the processes of this machine; with a cluster engine, "
            "size the memory of the cluster's nodes instead"
        )
    if max_memory is not None:
        plan = plan_count(
            max_memory, order, resolve_workers(engine, threads), then=cost.fixed, what="learning"
        )
        return_freed_memory()
        whole = texts

        def texts() -> Iterable[str]:
            return (piece for text in whole() for piece in split_long(text, BUDGET_CHUNK_CHARS))

        chunk_chars = min(chunk_chars, BUDGET_CHUNK_CHARS)
    owned = counts is None
    table: Any = None
    try:
        if counts is None:
            report = (lambda n: progress("count", n)) if progress else None
            min_count = 2 if drop_singletons else 1
            if isinstance(engine, LocalEngine):
                counted = count_corpus(
                    texts(),
                    order,
                    max_memory=max_memory,
                    plan=plan,
                    chunk_chars=chunk_chars,
                    progress=report,
                    threads=threads,
                    min_count=min_count,
                    engine=engine,
                    fragments=dedupe and max_memory is None,
                )
            else:
                counted = engine.count(
                    texts, order, min_count=min_count, fragments=dedupe, progress=report
                )
            counts, table = counted.counts, counted.table
        elif counts.order < (min_order or order):
            need = min_order or order
            raise ConfigError(
                f"the counts go up to order {counts.order} but this learner needs order "
                f"{need}; recount with `ciyu count --order {need}`"
            )
        if drop_singletons and counts.min_count < 2:  # given counts: prune a copy
            counts = counts.prune(2)
            owned = True
        if counts.n_chars == 0:
            raise ConfigError(
                "no learnable text in the input (no CJK or kana characters); "
                "check the input files, or their encoding"
            )
        if counts.n_chars < SMALL_CORPUS_CHARS:
            log.warning(
                "the corpus has only %s learnable characters: words are learned from "
                "strings that recur, and in less than about %s characters most words occur "
                "too rarely to be told from chance. Add in-domain text (1 M characters or "
                "more gives steady statistics)%s",
                f"{counts.n_chars:,}",
                f"{SMALL_CORPUS_CHARS:,}",
                ""
                if base is not None
                else ", or start from an existing dictionary with --base jieba",
            )
        spare = None
        if max_memory is not None and plan is not None:
            counts = fit_learner(counts, cost, max_memory, plan.baseline, owned=owned)
            return_freed_memory()
            spare = spare_room(counts, cost, max_memory, plan.baseline)
        if dedupe and table is None:
            need = 3 * table_bytes_at_most(counts)
            if spare is None or need <= spare:
                if spare is not None and isinstance(engine, LocalEngine):
                    engine.worker_room = spare - need  # workers beside the growing table
                table = _fragment_table(engine, texts, chunk_chars)
                if spare is not None:
                    spare -= need / 3
            else:
                log.info(
                    "memory budget: the passes read the text again (no room for the table "
                    "of distinct fragments, up to %s)",
                    format_size(need / 3),
                )
        if spare is not None and isinstance(engine, LocalEngine):
            engine.worker_room = spare
    except BaseException:
        if owns_engine:
            engine.close()
        raise
    return Context(texts, counts, chunk_chars, progress, base, engine, table, owns_engine)


def resolve_workers(engine: Engine, threads: int | None) -> int:
    """The processes that count: the engine's (``threads`` for a local engine)."""
    return engine.workers if isinstance(engine, LocalEngine) else resolve_threads(threads)


def _fragment_table(engine: Engine, texts: TextSource, chunk_chars: int) -> Any:
    """The table of distinct fragments, made by a pass of its own."""
    return engine.run(FragmentsPass(), text_batches(texts(), chunk_chars))


def table_bytes_at_most(counts: NgramCounts) -> int:
    """The most the table of distinct fragments of a corpus can hold: every fragment
    distinct, four bytes a character and an eight-byte count each."""
    return 4 * counts.n_chars + 8 * counts.n_fragments


def spare_room(counts: NgramCounts, cost: LearnerCost, budget: int, baseline: int) -> float:
    """What is left of ``budget`` beside the counts and the learner's estimated
    structures (see :func:`fit_learner`)."""
    need = cost.bytes(0, counts.n_chars) + (1 + cost.per_table_byte) * counts.nbytes
    return learning_room(budget, baseline) - need


def fit_learner(
    counts: NgramCounts, cost: LearnerCost, budget: int, baseline: int, *, owned: bool = False
) -> NgramCounts:
    """Drop the n-grams (of order 2 and up) rarer than the least floor that lets the
    counts and the learner's estimated structures (``cost``) fit in ``budget``, besides
    the ``baseline`` this process held before counting; pruned in place when ``owned``,
    else on a copy.

    Raises:
        MemoryBudgetError: if even the single characters leave the learner no room: the
            learner's structures that grow with the corpus do not fit.
    """
    room = learning_room(budget, baseline)
    per_table = 1 + cost.per_table_byte
    fixed = cost.bytes(0, counts.n_chars)
    if fixed + per_table * counts.nbytes <= room:
        return counts
    cap = 1 << 12
    kept_bytes = np.full(cap + 1, counts.tables[0][0].nbytes + counts.tables[0][1].nbytes)
    for k, (_, c) in enumerate(counts.tables[1:], 2):
        hist = np.zeros(cap + 1, dtype=np.int64)
        for lo in range(0, len(c), 1 << 16):  # small temporaries
            hist += np.bincount(np.minimum(c[lo : lo + (1 << 16)], cap), minlength=cap + 1)
        kept_bytes += np.cumsum(hist[::-1])[::-1] * (4 * k + 8)
    need = fixed + per_table * kept_bytes
    start = max(counts.min_count, 2)
    fits = np.flatnonzero(need[start:] <= room)
    if not len(fits):
        least = least_budget(baseline, float(need[-1]))
        raise MemoryBudgetError(
            f"--max-memory {format_size(budget)} is too small to learn from this corpus of "
            f"{counts.n_chars:,} characters: besides the interpreter and the counts, the "
            f"learner holds the distinct pieces, tokens and words of its segmentations "
            f"(estimated at {format_size(fixed)} here), which no pruning of the counts "
            f"removes; give --max-memory {-(-least // (1 << 20))}M or more"
        )
    floor = start + int(fits[0])
    log.info(
        "memory budget: dropping n-grams seen fewer than %d times before learning "
        "(counts %s, the learner estimated at %s)",
        floor,
        format_size(kept_bytes[floor]),
        format_size(need[floor] - kept_bytes[floor]),
    )
    if owned:
        counts.prune_in_place(floor)
        return counts
    return counts.prune(floor)


def segmentation(ctx: Context, segmenter: Segmenter, stage: str = "segment") -> Iterator[list[str]]:
    """Segment every fragment of the corpus, in corpus order, in this process; yields the
    words of each fragment, none longer than :data:`~ciyu.lexicon.MAX_WORD_LEN`
    characters. Progress is reported as ``stage``."""
    for frags in ctx.fragments(stage):
        for frag, ends in zip(frags, segmenter(frags), strict=True):
            yield words_of(frag, ends)


def count_segmentation(ctx: Context, segmenter: Segmenter, stage: str = "segment") -> Counter[str]:
    """Segment every fragment of the corpus and count the resulting words (progress is
    reported as ``stage``): a :class:`~ciyu.learners.passes.WordCountPass` run by the
    context's engine."""
    return ctx.run(WordCountPass(segmenter), stage)
