"""Segmenting a corpus in bulk, in one process or several, with the same output for any
number of processes.

The corpus is read in blocks of whole lines (about 1 MiB, see
:meth:`ciyu.reader.Corpus.blocks`); each block is one job, and the results are written in
input order (:func:`ciyu.parallel.ordered_map`). A line longer than a block arrives in
several blocks, whose words are joined with the separator as if it had been one block.

Worker processes load the model themselves, once each, from the model file: a
:class:`BlockSegmenter` travels to them as its file's path and identity (device, inode,
size, modification time), never as the model itself, and a worker refuses a file that
changed since the calling process loaded it. The calling process keeps no state between
runs: its model lives in the :class:`BlockSegmenter` it made.
"""

from __future__ import annotations

import collections
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ModelFormatError
from .model import Model
from .parallel import ordered_map
from .reader import Corpus

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


@functools.lru_cache(maxsize=1)
def _worker_model(path: str, fingerprint: Fingerprint) -> Model:
    """The model of a worker process: loaded by its first job, kept for the next ones.

    Only worker processes call this (when they unpickle a :class:`BlockSegmenter`).
    """
    model, found = load_model(path)
    if found != fingerprint:
        raise ModelFormatError(
            f"{path}: the model file changed while the text was being segmented; run again"
        )
    return model


def _in_worker(path: str, fingerprint: Fingerprint, sep: str) -> BlockSegmenter:
    return BlockSegmenter(_worker_model(path, fingerprint), sep, path, fingerprint)


@dataclass(frozen=True, slots=True)
class Job:
    """One block of whole lines to segment: the output is ``prefix + segmented text +
    suffix``. ``nbytes`` is the block's size in the input (for progress)."""

    prefix: str
    text: str
    suffix: str
    nbytes: int


def jobs(corpus: Corpus, sep: str) -> Iterator[Job]:
    """One job per block of whole lines of ``corpus``.

    The blocks of an over-long line are joined with the separator, and every output line
    ends with a newline (also the last one of a source that has none).
    """
    mid_line = False
    for block in corpus.blocks():
        text = block.text
        prefix = sep if mid_line and text and not text.startswith("\n") else ""
        if text.endswith("\n"):
            text = text[:-1]
        yield Job(prefix, text, "\n" if block.complete else "", block.nbytes)
        mid_line = not block.complete


class BlockSegmenter:
    """Segments :class:`Job` objects with one model and separator.

    Args:
        model: the model.
        sep: the word separator.
        path: the model's file, needed to segment in worker processes.
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
        self.sep = sep
        self.path = path
        self.fingerprint = fingerprint

    def __call__(self, job: Job) -> str:
        """The segmented text of ``job``, with its prefix and suffix."""
        return job.prefix + self.model.segment(job.text, self.sep) + job.suffix

    def __reduce__(self) -> tuple[object, tuple[str, Fingerprint, str]]:
        # a worker gets the file's path and identity, and loads the model once
        if self.path is None or self.fingerprint is None:
            raise TypeError("a BlockSegmenter without a model file cannot go to a worker")
        return _in_worker, (self.path, self.fingerprint, self.sep)

    def run(self, corpus: Corpus, threads: int | None = 1) -> Iterator[tuple[str, int]]:
        """Segment ``corpus``; yields, in input order, each block's output and its size in
        the input (bytes). The output is the same for any ``threads``.

        Args:
            corpus: the text.
            threads: worker processes (``None`` or 0: one per core); without a model
                file, everything runs in this process.
        """
        pending = jobs(corpus, self.sep)
        if (threads is not None and threads <= 1) or self.path is None:
            for job in pending:
                yield self(job), job.nbytes
            return
        sizes: collections.deque[int] = collections.deque()  # of the jobs in flight

        def items() -> Iterator[Job]:
            for job in pending:
                sizes.append(job.nbytes)
                yield job

        for chunk in ordered_map(self, items(), threads):
            yield chunk, sizes.popleft()
