"""Passes over a corpus as map / merge / finish, and the local engine that runs them.

Every pass a learner makes over its corpus (counting the n-grams, the covering cut,
segmenting and counting the words, counting the pairs of tokens of a merge round) is a
:class:`Pass`:

- ``map(batch)`` turns one :data:`Batch` of the corpus into a *partial* result;
- ``merge(a, b)`` adds two partials; it is associative and exact, and partials are kept in
  a canonical form (sorted numpy tables, see :mod:`ciyu.tables`), so the merged result is
  the same for any way of cutting the corpus into batches and any order of merging;
- ``finish(merged)`` turns the merge of all the partials into the pass's result.

A pass also says how its partials travel (:meth:`Pass.to_message`, in the pickle-free
format of :mod:`ciyu._codec`), how a partial is split into shards by a hash of its keys
(:meth:`Pass.shard`, for merges spread over several machines), what to apply to a shard
once it is completely merged (:meth:`Pass.trim`: dropping what is rarer than a minimum
count must wait for the global merge), and what state a worker needs to run ``map``
(:meth:`Pass.state`; a pass whose state cannot leave this process, such as one built
around an arbitrary Python function, runs here).

The learners never run a pass themselves: they hand it to the
:class:`~ciyu.learners.base.Context`, whose engine runs it. :class:`LocalEngine` runs it
in this process, or with worker processes (``-j N``); ``ciyu.distributed.RayEngine`` runs
it on a Ray cluster. Both give the same bytes.

A batch is a :class:`TextBatch` (lines of text, read in corpus order) or a slice of the
table of the corpus's distinct fragments (a :class:`~ciyu.tables.StringCounts` whose
counts are how often each fragment occurs): a pass over the table sees every distinct
fragment once, with its multiplicity, so repeated text costs little.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

import numpy as np

from . import _codec
from ._memory import MiB, return_freed_memory
from .errors import ConfigError
from .parallel import resolve_threads
from .tables import Counts, StringCounts
from .text import fragments as fragments_of

if TYPE_CHECKING:  # imported where used: a command that reads no file in pieces, or
    # sends nothing to workers, does not hold them (its memory is budgeted)
    from .ranges import FileRange

log = logging.getLogger("ciyu")

P = TypeVar("P")
R = TypeVar("R")
#: Metadata and arrays: the content of a message (see :mod:`ciyu._codec`).
Message = tuple[dict[str, Any], dict[str, Any]]


@dataclass
class TextBatch:
    """Lines of text (or pieces of lines), in corpus order: what the first pass reads."""

    texts: list[str]

    def fragments(self) -> tuple[list[str], Counts]:
        """The learnable fragments of the texts (numbers as NUM), each counted once."""
        frags = [f for t in self.texts for f in fragments_of(t)]
        return frags, np.ones(len(frags), dtype=np.int64)


@dataclass(frozen=True)
class RangeBatch:
    """A piece of a file (see :mod:`ciyu.ranges`) that the process mapping it reads
    itself, in batches of about ``chunk_chars`` characters whose partials it merges: the
    first pass over large files, so that this process neither reads nor ships the text."""

    source: FileRange
    chunk_chars: int

    def batches(self) -> Iterator[TextBatch]:
        """The text of the range, in batches as the first pass cuts text."""
        from .counts import text_batches
        from .ranges import read_range

        return text_batches(read_range(self.source), self.chunk_chars)

    def fragments(self) -> tuple[list[str], Counts]:
        """The fragments of every line of the range, each counted once."""
        frags = [f for b in self.batches() for f in b.fragments()[0]]
        return frags, np.ones(len(frags), dtype=np.int64)


#: A piece of the corpus a pass maps: lines of text, a slice of the table of distinct
#: fragments with their counts, or a piece of a file that the mapping process reads.
Batch = TextBatch | StringCounts | RangeBatch


def batch_fragments(batch: Batch) -> tuple[list[str], Counts]:
    """The fragments of a batch and how often each occurs."""
    if isinstance(batch, StringCounts):
        return batch.strings()
    return batch.fragments()


def map_batch(job: Pass[P, Any], batch: Batch) -> tuple[P, int]:
    """The partial of one batch, and the characters it covers; a :class:`RangeBatch` is
    mapped batch by batch and the partials merged here."""
    if isinstance(batch, RangeBatch):
        acc = Stack(job.merge, job.size, job.empty)
        chars = 0
        for sub in batch.batches():
            partial = job.map(sub)
            chars += job.chars(partial)
            acc.add(partial)
        return acc.result(), chars
    partial = job.map(batch)
    return partial, job.chars(partial)


def encode_batch(batch: Batch, *, compress: bool = False) -> bytearray:
    """A batch as a message (:mod:`ciyu._codec`)."""
    if isinstance(batch, StringCounts):
        return _codec.pack({"batch": "table"}, batch.to_arrays(), compress=compress)
    if isinstance(batch, RangeBatch):
        r = batch.source
        meta = {"batch": "range", "path": r.path, "start": r.start, "end": r.end}
        return _codec.pack({**meta, "errors": r.errors, "chunk": batch.chunk_chars}, {})
    arrays = _codec.pack_strings(batch.texts)
    return _codec.pack({"batch": "text"}, arrays, compress=compress)


def decode_batch(data: bytes | bytearray) -> Batch:
    """The batch of a message made by :func:`encode_batch`.

    Raises:
        ciyu._codec.CodecError: if the message is damaged.
    """
    meta, arrays = _codec.unpack(data)
    if meta.get("batch") == "range":
        from .ranges import FileRange

        source = FileRange(meta["path"], int(meta["start"]), meta["end"], meta["errors"])
        return RangeBatch(source, int(meta["chunk"]))
    if meta.get("batch") == "table":
        try:
            return StringCounts.from_arrays(arrays)
        except ValueError as exc:
            raise _codec.CodecError(f"damaged batch: {exc}") from None
    if meta.get("batch") != "text":
        raise _codec.CodecError("damaged text batch")
    try:
        return TextBatch(_codec.unpack_strings(arrays))
    except ValueError:  # UnicodeDecodeError too: a code point beyond U+10FFFF
        raise _codec.CodecError("damaged text batch") from None


class Accumulator(Protocol[P]):
    """Merges the partials of a pass as they come (see :meth:`Pass.accumulator`)."""

    def add(self, partial: P) -> None:
        """Take one more partial."""

    def result(self) -> P:
        """The merge of every partial taken."""


class Stack(Generic[P]):
    """The default :class:`Accumulator`: partials are kept on a stack and merged while the
    newest is at least half the size of the one below it, so that every entry is merged
    O(log batches) times instead of once per batch.

    Args:
        merge: adds two partials (may reuse them).
        size: the bytes a partial holds.
        empty: the partial of nothing.
    """

    def __init__(
        self, merge: Callable[[P, P], P], size: Callable[[P], int], empty: Callable[[], P]
    ) -> None:
        self._merge = merge
        self._size = size
        self._empty = empty
        self.stack: list[tuple[P, int]] = []

    def add(self, partial: P) -> None:
        """Push a partial, merging as described."""
        self.stack.append((partial, self._size(partial)))
        while len(self.stack) > 1 and 2 * self.stack[-1][1] >= self.stack[-2][1]:
            top, _ = self.stack.pop()
            below, _ = self.stack.pop()
            merged = self._merge(below, top)
            self.stack.append((merged, self._size(merged)))

    def result(self) -> P:
        """Merge the stack, the newest (smallest) first."""
        if not self.stack:
            return self._empty()
        total, _ = self.stack.pop()
        while self.stack:
            below, _ = self.stack.pop()
            total = self._merge(below, total)
        return total


class Pass(ABC, Generic[P, R]):
    """One pass over a corpus: map, merge, finish (see the module documentation).

    Subclasses set :attr:`kind` (a name, checked when partials are decoded) and implement
    the abstract methods. A pass whose :meth:`state` is not None can be rebuilt in another
    process by :meth:`from_state`, and so run by worker processes or a cluster.
    """

    kind: ClassVar[str] = "pass"

    @abstractmethod
    def map(self, batch: Batch) -> P:
        """The partial result of one batch."""

    @abstractmethod
    def merge(self, a: P, b: P) -> P:
        """The sum of two partials (associative and exact; may reuse its arguments)."""

    @abstractmethod
    def finish(self, merged: P) -> R:
        """The result of the pass, from the merge of all the partials."""

    @abstractmethod
    def empty(self) -> P:
        """The partial of no text."""

    @abstractmethod
    def chars(self, partial: P) -> int:
        """The learnable characters of the corpus a partial covers (for progress)."""

    @abstractmethod
    def size(self, partial: P) -> int:
        """Bytes held by a partial (to merge partials of similar sizes)."""

    @abstractmethod
    def shard(self, partial: P, n: int) -> list[P]:
        """Split a partial into ``n`` by a stable hash of its keys: shard ``i`` of a merge
        is the merge of the shards ``i``, and shards hold no key in common."""

    @abstractmethod
    def to_message(self, partial: P) -> Message:
        """A partial as metadata and arrays (see :mod:`ciyu._codec`)."""

    @abstractmethod
    def from_message(self, meta: dict[str, Any], arrays: dict[str, Any]) -> P:
        """The partial of :meth:`to_message`.

        Raises:
            ValueError: if the arrays are not such a partial.
        """

    def trim(self, merged: P) -> P:
        """Applied to a partial that holds every occurrence of its keys (the global merge,
        or one shard of it) before :meth:`finish`: drop what the result does not keep."""
        return merged

    def accumulator(self) -> Accumulator[P]:
        """How this pass merges partials as they come (default: a :class:`Stack`)."""
        return Stack(self.merge, self.size, self.empty)

    def state(self) -> Message | None:
        """What a worker needs to rebuild this pass with :meth:`from_state`, or None if
        the pass can run only in this process."""
        return None

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, Any]) -> Pass[P, R]:
        """The pass described by :meth:`state`."""
        raise TypeError(f"a {cls.__name__} runs only in the process that made it")

    def encode(self, partial: P, *, compress: bool = False) -> bytearray:
        """A partial as one message."""
        meta, arrays = self.to_message(partial)
        return _codec.pack({**meta, "pass": self.kind}, arrays, compress=compress)

    def decode(self, data: bytes | bytearray) -> P:
        """The partial of :meth:`encode`.

        Raises:
            ciyu._codec.CodecError: if the message is damaged or of another pass.
        """
        meta, arrays = _codec.unpack(data)
        if meta.get("pass") != self.kind:
            raise _codec.CodecError(f"a partial of {meta.get('pass')!r}, not of {self.kind!r}")
        try:
            return self.from_message(meta, arrays)
        except (ValueError, KeyError, TypeError) as exc:
            raise _codec.CodecError(f"damaged partial of {self.kind!r}: {exc}") from None

    def encode_state(self) -> bytearray | None:
        """:meth:`state` as one message, or None."""
        state = self.state()
        if state is None:
            return None
        meta, arrays = state
        return _codec.pack({**meta, "pass": self.kind}, arrays)

    @classmethod
    def decode_state(cls, data: bytes | bytearray) -> Pass[Any, Any]:
        """The pass of :meth:`encode_state`."""
        meta, arrays = _codec.unpack(data)
        if meta.get("pass") != cls.kind:
            raise _codec.CodecError(f"the state of {meta.get('pass')!r}, not of {cls.kind!r}")
        return cls.from_state(meta, arrays)


def run_here(
    job: Pass[P, R],
    batches: Iterable[Batch],
    progress: Callable[[int], None] | None = None,
) -> R:
    """Run a pass in this process: map every batch, merge, trim, finish."""
    acc = job.accumulator()
    done = 0
    for batch in batches:
        partial, chars = map_batch(job, batch)
        done += chars
        acc.add(partial)
        if progress is not None:
            progress(done)
    return job.finish(job.trim(acc.result()))


class Engine(ABC):
    """Runs passes: :class:`LocalEngine` here, ``ciyu.distributed.RayEngine`` on a
    cluster. An engine may hold processes and temporary files: close it (or use it as a
    context manager) when done."""

    #: Processes that map batches at once.
    workers: int = 1

    @property
    def ships(self) -> bool:
        """True if passes may run in other processes, so that learners should keep what
        their segmenters need to be rebuilt there (see
        :mod:`ciyu.learners.segmenters`)."""
        return self.workers > 1

    @abstractmethod
    def run(
        self,
        job: Pass[P, R],
        batches: Iterable[Batch],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> R:
        """Run ``job`` over ``batches``; ``progress`` hears the characters done."""

    def run_table(
        self,
        job: Pass[P, R],
        table: Any,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> R:
        """Run ``job`` over a table of distinct fragments that this engine made (see
        :meth:`count`)."""
        raise TypeError(f"{type(self).__name__} cannot read a table of {type(table).__name__}")

    def count(
        self,
        texts: Callable[[], Iterable[str]],
        order: int,
        *,
        min_count: int = 1,
        fragments: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> Any:
        """The first pass over a corpus, as :func:`ciyu.counts.count_corpus` makes it:
        the n-gram counts (a :class:`ciyu.counts.Counted`) and, with ``fragments``, the
        table of distinct fragments in a form this engine's :meth:`run_table` reads."""
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - engines without resources have nothing to do
        """Release the engine's processes and files."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Bytes a worker process holds per byte of a pass's state: the message read from its
#: file, the arrays rebuilt from it (views) and the structures built from them (a
#: decoder's trie, an lm's count tables), measured at about 2.5 on the ensemble's vote.
STATE_EXPANSION = 3
#: A spawned worker process before it maps anything (see :mod:`ciyu._memory`).
WORKER_BASE_BYTES = 42 * MiB


class LocalEngine(Engine):
    """Runs passes in this process, or with worker processes that map batches while this
    process merges their partials in input order.

    Worker processes are spawned (see :mod:`ciyu.parallel`) once, the first time a pass
    has more than one batch, and serve every later pass; each pass's state is written once
    to a private temporary file that every worker reads when it first needs it. A pass
    whose state cannot leave this process (:meth:`Pass.state` is None) runs here.

    Args:
        threads: worker processes (``None`` or 0: one per core; 1: this process only).
        worker_room: under a memory budget, the bytes the workers of a pass may hold in
            all (their interpreters, the pass's state, their batches and partials); a pass
            gets the workers that fit, possibly none, and its workers end with it. None:
            no budget, workers are kept for the next passes.
    """

    def __init__(self, threads: int | None = 1, *, worker_room: float | None = None) -> None:
        self.workers = resolve_threads(threads)
        self.worker_room = worker_room
        self._pool: ProcessPoolExecutor | None = None
        self._pool_size = 0
        self._dir: str | None = None
        self._serial = 0

    def run(
        self,
        job: Pass[P, R],
        batches: Iterable[Batch],
        *,
        progress: Callable[[int], None] | None = None,
        workers: int | None = None,
        in_flight: int | None = None,
        budget: bool = False,
    ) -> R:
        """Run ``job`` over ``batches``.

        Args:
            job: the pass.
            batches: the corpus, in order.
            progress: called with the characters done after each batch.
            workers: processes for this pass (default: the engine's, as the memory
                budget allows).
            in_flight: batches sent to workers and not yet merged (default: twice the
                workers).
            budget: the workers of this pass run under a memory budget planned by the
                caller (they return freed memory to the system, and end with the pass).
        """
        it = iter(batches)
        first = next(it, None)
        if first is None:
            return job.finish(job.trim(job.empty()))
        second = next(it, None)
        chain = _chain(first, second, it)
        n = self.workers if workers is None else workers
        if n <= 1 or second is None:
            return run_here(job, chain, progress)
        state = job.encode_state()
        if state is None:
            log.debug("pass %s runs in this process: its state cannot leave it", job.kind)
            return run_here(job, chain, progress)
        if workers is None and self.worker_room is not None:
            n = self._affordable(n, len(state))
            if n <= 1:
                return run_here(job, chain, progress)
        temporary = budget or self.worker_room is not None
        return self._run_pool(job, chain, state, n, in_flight or 2 * n, temporary, progress)

    @property
    def ships(self) -> bool:
        """True if passes may run in worker processes: more than one is asked for and,
        under a memory budget, there is room for two."""
        room = self.worker_room
        return self.workers > 1 and (room is None or room >= 2 * WORKER_BASE_BYTES + 14 * MiB)

    def _affordable(self, n: int, state_bytes: int) -> int:
        """The most workers (up to ``n``) whose memory fits in :attr:`worker_room`."""
        assert self.worker_room is not None
        each = WORKER_BASE_BYTES + STATE_EXPANSION * state_bytes + 16 * MiB
        while n > 1 and n * each + 14 * MiB > self.worker_room:
            n -= 1
        if n <= 1:
            log.info("memory budget: this pass runs in this process (no room for workers)")
        return n

    def _run_pool(
        self,
        job: Pass[P, R],
        batches: Iterator[Batch],
        state: bytearray,
        n: int,
        in_flight: int,
        temporary: bool,
        progress: Callable[[int], None] | None,
    ) -> R:
        path = self._write_state(state)
        del state
        key = (path, os.stat(path).st_size, os.stat(path).st_mtime_ns)
        work = functools.partial(_work, type(job), key)
        acc = job.accumulator()
        done = 0
        try:
            with self._pool_for(n, temporary) as pool:
                pending: deque[Future[tuple[int, bytearray]]] = deque()

                def collect() -> None:
                    nonlocal done
                    chars, payload = pending.popleft().result()
                    acc.add(job.decode(payload))
                    done += chars
                    if progress is not None:
                        progress(done)

                for batch in batches:
                    pending.append(pool.submit(work, encode_batch(batch)))
                    if len(pending) >= in_flight:
                        collect()
                while pending:
                    collect()
        finally:
            with contextlib.suppress(OSError):
                os.remove(path)
        return job.finish(job.trim(acc.result()))

    @contextlib.contextmanager
    def _pool_for(self, n: int, temporary: bool) -> Iterator[ProcessPoolExecutor]:
        """``n`` worker processes: a pool for this pass only (under a budget), or the
        engine's pool, started now if it has not been."""
        context = multiprocessing.get_context("spawn")
        if temporary:
            with ProcessPoolExecutor(
                max_workers=n, mp_context=context, initializer=return_freed_memory
            ) as pool:
                yield pool
            return
        if self._pool is None or self._pool_size != n:
            if self._pool is not None:
                self._pool.shutdown()
            self._pool = ProcessPoolExecutor(max_workers=n, mp_context=context)
            self._pool_size = n
        yield self._pool

    def _write_state(self, state: bytearray) -> str:
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="ciyu-passes-")
        self._serial += 1
        path = os.path.join(self._dir, f"state-{self._serial}.bin")
        with open(path, "wb") as fh:
            fh.write(state)
        return path

    def close(self) -> None:
        """Stop the worker processes and remove the temporary files."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()
        folder, self._dir = self._dir, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


@functools.lru_cache(maxsize=1)
def _worker_job(cls: type[Pass[Any, Any]], key: tuple[str, int, int]) -> Pass[Any, Any]:
    """The pass of a worker process, rebuilt from its state file by the first batch and
    kept for the next ones (one pass at a time)."""
    path = key[0]
    with open(path, "rb") as fh:
        data = fh.read()
    st = os.stat(path)
    if (path, st.st_size, st.st_mtime_ns) != key:
        raise ConfigError(f"{path}: the state of the pass changed while it ran")
    return cls.decode_state(data)


def _work(
    cls: type[Pass[Any, Any]], key: tuple[str, int, int], payload: bytearray
) -> tuple[int, bytearray]:
    """What a worker process does with one batch: map it, and send the partial back as a
    message with the characters it covers."""
    job = _worker_job(cls, key)
    partial, chars = map_batch(job, decode_batch(payload))
    return chars, job.encode(partial)


def _chain(first: Batch, second: Batch | None, rest: Iterator[Batch]) -> Iterator[Batch]:
    yield first
    if second is not None:
        yield second
        yield from rest
