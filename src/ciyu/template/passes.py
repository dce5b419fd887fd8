"""How a pass of template mining runs: map / merge / finish on an engine.

Every pass of template mining is a :class:`~ciyu.template.jobs.TemplateJob`: a *map*
turns one chunk of lines into a partial result, partial results *merge* exactly (integer
counts, so any partitioning of the corpus gives the same result), and a *finish* turns
the merged result into what the next pass needs. The engines that run the learners'
passes (:mod:`ciyu.passes`) run them: this process, worker processes (``-j N``), or a Ray
cluster (:mod:`ciyu.distributed`).

:func:`run_pass` cuts the lines into chunks here, in corpus order, and hands them to the
engine, which merges the partials in that order: the chunks do not depend on the number
of processes or on the engine, so neither does the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from ..counts import chunked
from ..passes import Engine, TextBatch
from .jobs import TemplateJob

__all__ = ["CHUNKS_PER_BATCH", "run_pass"]

#: Chunks in a batch: a worker merges the partials of a batch's chunks itself, so that
#: this process decodes and merges a quarter as many (most of the templates and pairs of
#: a chunk recur in the next ones).
CHUNKS_PER_BATCH = 4

R = TypeVar("R")


def run_pass(
    job: TemplateJob[Any, R],
    lines: Iterable[str],
    engine: Engine,
    *,
    chunk_chars: int,
    progress: Callable[[str, int], None] | None = None,
    every: int = 1,
    per_batch: int = CHUNKS_PER_BATCH,
) -> R:
    """Run one pass over ``lines``: map every chunk, merge, finish.

    Args:
        job: the pass.
        lines: the corpus, as lines (consumed once).
        engine: what maps the chunks and merges the partials.
        chunk_chars: characters per chunk.
        progress: called as ``progress(stage, characters_done)``.
        every: map only every ``every``-th chunk (the first, then every ``every``-th):
            a sample spread over the corpus, the same for any engine.
        per_batch: chunks sent to a worker at once; it maps them one by one and merges
            their partials before sending one back (or maps them as one, for a job with
            ``whole_batches``).

    Returns:
        The finished result of the pass.
    """
    read = [0, 0]  # characters read so far, of them in the chunks mapped
    # the job cuts a batch back into chunks of this size (the batches' chunks, for
    # consecutive ones; in any case the same on every engine)
    job.chunk_chars = chunk_chars

    def batches() -> Iterator[TextBatch]:
        batch: list[str] = []
        held = 0
        for index, chunk in enumerate(chunked(lines, chunk_chars)):
            n = sum(map(len, chunk))
            read[0] += n
            if index % every:
                continue
            read[1] += n
            batch.extend(chunk)
            held += 1
            if held == per_batch:
                yield TextBatch(batch)
                batch, held = [], 0
        if held:
            yield TextBatch(batch)

    report = None
    if progress is not None:

        def report(done: int) -> None:
            # the chunks left out of a sample count as done with the chunks around them
            progress(job.stage, round(done * read[0] / max(read[1], 1)))

    return engine.run(job, batches(), progress=report)
