"""Segmenting a corpus in bulk, with one thread or several, with the same output for any
number of threads.

The corpus is read in blocks of whole lines (about 1 MiB, see
:meth:`ciyu.reader.Corpus.raw_blocks`); each block is one job, and the results are written in
input order. A line longer than a block arrives in several blocks, whose words are joined
with the separator as if it had been one block.

Threads share one model: the compiled segmenter runs the rule layer and the lattice
without the GIL, and a model never changes once it has segmented (see
:meth:`ciyu.model.Model.segment`), so ``N`` threads segment about ``N`` blocks at once
while this thread reads the input and writes the output. The compiled segmenter also
decodes its block's UTF-8 and encodes its output without the GIL: what stays with this
thread (reading and writing bytes) is a small part of the work, so two threads segment
nearly twice as fast as one. At most ``4 × N`` blocks (:data:`IN_FLIGHT_PER_THREAD`) are in
flight, so memory stays bounded whatever the size of the input. The calling process keeps
no state between runs: its model lives in the :class:`BlockSegmenter` it made.

:func:`segment_file` segments one file into another: what each task of
``ciyu segment --engine ray`` does with one input file.
"""

from __future__ import annotations

import collections
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ._atomic import atomic_write
from ._compiled import lattice as _lattice
from ._strings import valid_text
from .errors import ModelFormatError
from .model import Model
from .parallel import resolve_threads
from .reader import Corpus, Errors, RawBlock
from .text import compiled_rules

#: Blocks submitted and not yet written, per thread: with room for four, a block that
#: takes longer than the others (a slow core, a busy machine) leaves no thread idle
#: (``ciyu segment -j 2`` on 50 MB: 1.28 to 1.44 s with four, 1.44 to 1.56 s with two,
#: four alternating runs each on a noisy machine).
IN_FLIGHT_PER_THREAD = 4

#: What identifies the content of a model file: device, inode, size, modification time.
Fingerprint = tuple[int, int, int, int]


def _fingerprint(path: str) -> Fingerprint:
    st = os.stat(path)
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def load_model(path: str) -> tuple[Model, Fingerprint]:
    """Load a model file and note its identity, for workers to load the very same file.

    Args:
        path: the model file.

    Returns:
        The model and the file's fingerprint.

    Raises:
        ModelFormatError: if the file is not a valid model, or changed while it was read.
        InputError: if it cannot be read.
    """
    try:
        before = _fingerprint(path)
    except OSError:
        before = None  # Model.load reports the missing or unreadable file with its fix
    model = Model.load(path)
    after = _fingerprint(path)
    if before != after:
        raise ModelFormatError(f"{path}: the model file changed while it was read; run again")
    return model, after


@dataclass(frozen=True, slots=True)
class Job:
    """One block of whole lines to segment: the output is ``prefix + segmented text +
    suffix``. The text is ``raw``'s UTF-8 bytes, decoded by the thread that segments it,
    with ``errors``; a final newline stays in it (the segmenter keeps every newline as it
    is). ``nbytes`` is the block's size in the input (for progress), ``lines`` the lines
    the output ends (for the summary)."""

    prefix: str
    raw: RawBlock
    suffix: str
    nbytes: int
    errors: Errors = "strict"
    lines: int = 0

    def decoded(self) -> str:
        """The text of the job.

        Raises:
            InvalidUtf8Error: on invalid UTF-8 with ``errors="strict"``, as the reader
                reports it.
        """
        return self.raw.decode(self.errors)


def jobs(corpus: Corpus, sep: str) -> Iterator[Job]:
    """One job per block of whole lines of ``corpus``, its text left undecoded (see
    :class:`Job`).

    The blocks of an over-long line are joined with the separator, and every output line
    ends with a newline (also the last one of a source that has none).
    """
    mid_line = False
    for block in corpus.raw_blocks():
        data = block.data
        prefix = sep if mid_line and data and not data.startswith(b"\n") else ""
        # the block is segmented with its final newline (segmenting "text\n" gives the
        # words of "text" and "\n"), which spares a copy of it: only the last line of a
        # source without one gets a newline added
        suffix = "\n" if block.complete and not data.endswith(b"\n") else ""
        lines = block.newlines + (1 if suffix else 0)
        yield Job(prefix, block, suffix, len(data), corpus.errors, lines)
        mid_line = not block.complete


class BlockSegmenter:
    """Segments :class:`Job` objects with one model and separator.

    Args:
        model: the model.
        sep: the word separator.
        path: the model's file (for messages).
        fingerprint: the file's identity when ``model`` was loaded from it
            (:func:`load_model`).
    """

    def __init__(
        self,
        model: Model,
        sep: str = " ",
        path: str | None = None,
        fingerprint: Fingerprint | None = None,
    ) -> None:
        self.model = model
        self.sep = valid_text(sep, "strict", "sep")
        self.path = path
        self.fingerprint = fingerprint
        fast = model.decoder.fast
        self._segment: Callable[[str | bytes], bytes | None] | None = None
        if fast is not None:
            # text decoded from UTF-8 holds no lone surrogate: the compiled segmenter is
            # called directly, without Model.segment's check (a regular expression over
            # each block, run with the GIL held); each thread keeps its arrays from block
            # to block (fresh ones for every block are memory the kernel must map, zero
            # and unmap, which costs most when threads share the process)
            assert _lattice is not None  # it made the lattice
            rules, separator, new_workspace = compiled_rules(), self.sep, _lattice.Workspace
            workspaces = threading.local()

            def segment(text: str | bytes) -> bytes | None:
                workspace = getattr(workspaces, "workspace", None)
                if workspace is None:
                    workspace = workspaces.workspace = new_workspace()
                return fast.segment(text, rules, separator, True, workspace)

            self._segment = segment

    def __call__(self, job: Job) -> bytes:
        """The segmented text of ``job``, with its prefix and suffix, in UTF-8.

        Raises:
            InvalidUtf8Error: if the job's bytes are not UTF-8 (named as the reader names
                it).
        """
        if self._segment is not None:
            # the compiled segmenter decodes strict UTF-8 itself, without the GIL; bytes it
            # refuses (and --errors replace) are decoded here, for the reader's message or
            # its replacement characters
            out = self._segment(job.raw.data) if job.errors == "strict" else None
            if out is None:
                out = self._segment(job.decoded())
                assert out is not None  # decoded text is never refused
            if not job.prefix and not job.suffix:
                return out  # nearly every block: no copy
            # the prefix and suffix are short: encoding them is cheaper than joining
            # strings of a whole block
            return job.prefix.encode() + out + job.suffix.encode()
        text = job.decoded()
        return (job.prefix + self.model.segment(text, self.sep) + job.suffix).encode()

    def run(self, corpus: Corpus, threads: int | None = 1) -> Iterator[tuple[bytes, int, int]]:
        """Segment ``corpus``; yields, in input order, each block's output (UTF-8), its
        size in the input (bytes) and the lines its output ends. The output is the same
        for any ``threads``.

        Args:
            corpus: the text.
            threads: threads that segment (``None`` or 0: one per core).
        """
        pending = jobs(corpus, self.sep)
        n = resolve_threads(threads)
        if n <= 1:
            for job in pending:
                yield self(job), job.nbytes, job.lines
            return
        from concurrent.futures import Future, ThreadPoolExecutor

        # the first use builds the shared tables (the rule layer's, and freezes the
        # lattice) here, before any thread shares them
        self.model.segment("", self.sep)
        in_flight: collections.deque[tuple[Future[bytes], Job]] = collections.deque()
        with ThreadPoolExecutor(max_workers=n, thread_name_prefix="ciyu-segment") as pool:
            try:
                for job in pending:
                    in_flight.append((pool.submit(self, job), job))
                    if len(in_flight) >= IN_FLIGHT_PER_THREAD * n:
                        future, done = in_flight.popleft()
                        yield future.result(), done.nbytes, done.lines
                while in_flight:
                    future, done = in_flight.popleft()
                    yield future.result(), done.nbytes, done.lines
            finally:
                for future, _ in in_flight:
                    future.cancel()


def segment_file(
    segmenter: BlockSegmenter, source: str, target: str, errors: Errors = "strict"
) -> int:
    """Segment the file ``source`` (plain or gzip) into the file ``target``, written
    atomically; returns the bytes of the input read (uncompressed).

    Raises:
        InputError: if ``source`` cannot be read or is not UTF-8 (with ``errors``).
        OutputError: if ``target`` cannot be written.
    """
    folder = os.path.dirname(target)
    if folder:
        os.makedirs(folder, exist_ok=True)
    done = 0
    with Corpus([source], errors=errors) as corpus, atomic_write(target, "wb") as out:
        for chunk, nbytes, _ in segmenter.run(corpus, 1):
            out.write(chunk)
            done += nbytes
    return done
