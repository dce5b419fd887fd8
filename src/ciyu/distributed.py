"""Running ciyu on a Ray cluster: ``--engine ray``, or ``engine="ray"`` in the Python API.

:class:`RayEngine` runs the same passes as the local engine (see :mod:`ciyu.passes`), as
Ray tasks:

- the first pass reads the input files on the cluster's nodes: a file in pieces of about
  64 MiB of whole lines (a gzip file whole: it cannot be split, so large corpora should be
  many files), or the blocks of a ``ray.data.Dataset``'s text column;
- every map task splits its partial result into shards by a hash of its keys
  (:meth:`~ciyu.passes.Pass.shard`), and one reduce task per shard merges that shard of
  every map task, so that no process ever holds the whole table of a pass; what is rarer
  than a minimum count is dropped only there, after the global merge;
- the table of the corpus's distinct fragments stays on the cluster, in shards, and the
  learner's later passes map its shards; only the merged results (the counts the learner
  reads, the words of a segmentation) come back to this process;
- partials and states travel in the pickle-free format of :mod:`ciyu._codec`, compressed
  with zlib; a pass's state (a decoder's words, an lm's counts) is put in Ray's object
  store once and every worker process rebuilds the pass from it once.

The result is byte-identical to the local engine's.

Ray is optional: ``pip install 'ciyu[ray]'``. Without an address, a Ray instance of this
machine is started for the job (its session files in a temporary directory of ciyu's, not
``/tmp/ray``, unless ``RAY_TMPDIR`` or ``temp_dir`` says where; it is authenticated with a
token held in memory, never written to ``~/.ray``) and stopped at the end. With an
address (``"auto"``: the cluster this machine belongs to), the job runs on that cluster,
whose nodes must have ciyu installed and see the input files (a shared file system, or
URLs such as ``s3://`` that pyarrow reads).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from .counts import Counted, CountPass, FragmentsPass, text_batches
from .errors import CiyuError, ConfigError, InputError
from .passes import Batch, Engine, Pass, Stack, decode_batch, encode_batch
from .ranges import (
    SPLIT_BYTES,
    FileRange,
    _open_url,
    expand_urls,
    file_ranges,
    is_url,
    read_range,
)
from .reader import Corpus, Errors, _decompressing, read_binary
from .tables import StringCounts, concat_strings

log = logging.getLogger("ciyu")

P = TypeVar("P")
R = TypeVar("R")

#: How to get Ray, as the error messages say it.
INSTALL = "pip install 'ciyu[ray]'"
#: Characters per batch inside a map task (as the local engine's chunks).
BATCH_CHARS = 1 << 19
#: Characters per batch of the table of distinct fragments inside a map task.
TABLE_BATCH_CHARS = 1 << 18
#: The environment variables of Ray's token authentication.
_AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def import_ray() -> Any:
    """The ``ray`` module.

    Raises:
        ConfigError: with the command that installs it, if Ray is not installed.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError(f"--engine ray needs Ray, which is not installed: {INSTALL}") from None
    return ray


# ---------------------------------------------------------------------------------------
# what the map tasks read


@dataclass(frozen=True)
class UrlCorpus:
    """Input files named by URLs (read with pyarrow's file systems), in order; iterated,
    it reads their lines here, as a :class:`~ciyu.reader.Corpus` does."""

    urls: tuple[str, ...]
    errors: Errors = "strict"

    def __iter__(self) -> Iterator[str]:
        for url in self.urls:
            with _open_url(url) as raw:
                for piece in read_binary(_decompressing(raw), url, self.errors):
                    yield piece.text


@dataclass(frozen=True)
class DatasetText:
    """The text column of a ``ray.data.Dataset``; iterated, its rows in order."""

    dataset: Any
    column: str = "text"

    def __post_init__(self) -> None:
        # a missing column would otherwise fail inside a Ray task, as a long remote error
        schema = self.dataset.schema()
        names = list(getattr(schema, "names", None) or [])
        if schema is not None and names and self.column not in names:
            raise ConfigError(
                f"the dataset has no column {self.column!r} (its columns: "
                f"{', '.join(map(str, names))}); name the text's column with text_column="
            )

    def __iter__(self) -> Iterator[str]:
        with _in_order():
            rows = self.dataset.select_columns([self.column]).iter_rows()
            for row in rows:
                yield _row_text(row[self.column])

    def block_refs(self) -> list[Any]:
        """The dataset's blocks of the text column (Arrow tables in the object store), in
        the dataset's order."""
        with _in_order():
            return list(self.dataset.select_columns([self.column]).to_arrow_refs())


@contextlib.contextmanager
def _in_order() -> Iterator[None]:
    """Ray Data keeps the order of the blocks (the start of the corpus is what the
    learners calibrate on)."""
    from ray.data import DataContext

    options = DataContext.get_current().execution_options
    saved = options.preserve_order
    options.preserve_order = True
    try:
        yield
    finally:
        options.preserve_order = saved


def _row_text(value: object) -> str:
    if not isinstance(value, str):
        raise InputError(
            f"the dataset's text column holds a {type(value).__name__}, not text; give the "
            "column of strings with text_column="
        )
    return value


def _texts_of(source: Any) -> Iterator[str]:
    """The texts a map task's source holds."""
    kind, value = source
    if kind == "range":
        yield from read_range(value)
    elif kind == "arrow":
        table, column = value
        yield from (_row_text(v) for v in table.column(column).to_pylist())
    else:
        raise ValueError(f"unknown source {kind!r}")


def _batches_of(source: Any) -> Iterator[Batch]:
    """The batches a map task's source holds (see :meth:`RayEngine._sources`)."""
    kind, value = source
    if kind == "batch":
        yield decode_batch(value)
    elif kind == "table":
        yield from FragmentsPass().decode(value).slices(TABLE_BATCH_CHARS)
    else:
        yield from text_batches(_texts_of(source), BATCH_CHARS)


# ---------------------------------------------------------------------------------------
# the tasks (plain functions: RayEngine makes them remote)

_JOBS: dict[str, Pass[Any, Any]] = {}


def _job(cls: type[Pass[Any, Any]], state: tuple[str, list[Any]]) -> Pass[Any, Any]:
    """The pass of a worker process, rebuilt once per pass from its state in the object
    store (the worker keeps one pass: the previous one's state is let go)."""
    state_id, [ref] = state
    job = _JOBS.get(state_id)
    if job is None:
        import ray

        _JOBS.clear()
        job = _JOBS[state_id] = cls.decode_state(ray.get(ref))
    return job


def _map_task(
    cls: type[Pass[Any, Any]], state: tuple[str, list[Any]], source: Any, n_shards: int, split: bool
) -> tuple[Any, ...]:
    """Map every batch of ``source`` and merge the partials here (no pruning: that waits
    for the global merge); return the shards of the result, compressed, and the number of
    characters done. With ``split`` (the count pass collecting fragments), the count
    tables and the fragment tables are separate shards."""
    job = _job(cls, state)
    acc = Stack(job.merge, job.size, job.empty)
    chars = 0
    for batch in _batches_of(_resolved(source)):
        partial = job.map(batch)
        chars += job.chars(partial)
        acc.add(partial)
    shards = job.shard(acc.result(), n_shards)
    if split:
        out = [job.encode((counts, None), compress=True) for counts, _ in shards]
        out += [FragmentsPass().encode(table, compress=True) for _, table in shards]
    else:
        out = [job.encode(shard, compress=True) for shard in shards]
    return (*out, chars)


def _resolved(source: Any) -> Any:
    """A source whose data sits in the object store, fetched."""
    kind, value = source
    if kind in ("batch", "table"):
        import ray

        return kind, ray.get(value[0])
    if kind == "arrow":
        import ray

        refs, column = value
        return kind, (ray.get(refs[0]), column)
    return source


def _reduce_task(cls: type[Pass[Any, Any]], state: tuple[str, list[Any]], parts: list[Any]) -> Any:
    """Merge one shard of every map task, trim it (what is rare in the whole corpus is
    dropped here), and return it compressed."""
    import ray

    job = _job(cls, state)
    acc = Stack(job.merge, job.size, job.empty)
    for ref in parts:
        acc.add(job.decode(ray.get(ref)))
    return job.encode(job.trim(acc.result()), compress=True)


def _segment_task(model: list[Any], source: str, target: str, sep: str, errors: Errors) -> int:
    """Segment one input file into one output file; returns the bytes read."""
    import ray

    from . import bulk

    segmenter = _segmenter(model[0].hex(), lambda: ray.get(model[0]), sep)
    return bulk.segment_file(segmenter, source, target, errors)


_SEGMENTERS: dict[tuple[str, str], Any] = {}


def _segmenter(key: str, data: Callable[[], bytes], sep: str) -> Any:
    from .bulk import BlockSegmenter
    from .model import Model

    found = _SEGMENTERS.get((key, sep))
    if found is None:
        _SEGMENTERS.clear()
        found = _SEGMENTERS[(key, sep)] = BlockSegmenter(Model.loads(data(), "model"), sep)
    return found


# ---------------------------------------------------------------------------------------
# the engine


@contextlib.contextmanager
def _own_signal_handlers() -> Iterator[None]:
    """Keep this process's SIGTERM handler: ``ray.init`` installs one that exits at once
    (the command line's removes its temporary files first) and never takes it back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    saved = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)


#: Ray's sockets live 80 characters below its temporary directory, and a socket's path
#: has at most 107 bytes.
_MAX_TMP_CHARS = 24


def _short_tmp() -> str:
    """The system's temporary directory, or ``/tmp`` when its path is too long for Ray's
    socket paths."""
    base = tempfile.gettempdir()
    if len(base.encode()) <= _MAX_TMP_CHARS or not os.path.isdir("/tmp"):
        return base
    return "/tmp"


def _reload_auth(ray: Any) -> None:
    """Make a Ray already imported read its authentication settings from the environment
    again (it reads them once, when imported)."""
    raylet = getattr(ray, "_raylet", None)
    config = getattr(raylet, "Config", None)
    loader = getattr(raylet, "AuthenticationTokenLoader", None)
    if config is not None:
        config.initialize("")
    if loader is not None:
        loader.instance().reset_cache()


@dataclass
class RayTable:
    """The table of a corpus's distinct fragments, kept on the cluster in shards (object
    references to their messages)."""

    shards: list[Any]


class RayEngine(Engine):
    """Runs passes as Ray tasks (see the module documentation).

    Args:
        address: the Ray cluster to join (``"auto"``: the one this machine belongs to;
            ``ray://host:10001``; ...); None starts a Ray instance on this machine for as
            long as the engine is open.
        num_cpus: CPUs of the instance started here (default: all).
        temp_dir: where the instance started here writes its session files (default:
            ``RAY_TMPDIR`` if set, else a temporary directory removed at the end).
        shards: how many shards a merge is split into (default: twice the cluster's CPUs).
        split_bytes: the size of the pieces plain input files are read in.

    Raises:
        ConfigError: if Ray is not installed (naming the command that installs it), or
            the cluster cannot be reached.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        temp_dir: str | None = None,
        shards: int | None = None,
        split_bytes: int = SPLIT_BYTES,
    ) -> None:
        self._ray = ray = import_ray()
        self._started = False
        self._own_dir: str | None = None
        self._saved_env: dict[str, str | None] = {}
        self.split_bytes = split_bytes
        if not ray.is_initialized():
            self._start(address, num_cpus, temp_dir)
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self.shards = shards or max(2, 2 * self.workers)
        remote = ray.remote
        self._map = remote(_map_task)
        self._reduce = remote(_reduce_task)
        self._segment = remote(_segment_task)

    def _start(self, address: str | None, num_cpus: int | None, temp_dir: str | None) -> None:
        ray = self._ray
        options: dict[str, Any] = {
            "include_dashboard": False,
            "configure_logging": True,
            "logging_level": logging.ERROR,
            "log_to_driver": False,
        }
        if address is None:
            if temp_dir is None and "RAY_TMPDIR" not in os.environ:
                temp_dir = self._own_dir = tempfile.mkdtemp(prefix="ciyu-ray-", dir=_short_tmp())
            if temp_dir is not None:
                options["_temp_dir"] = os.path.abspath(temp_dir)
            options["num_cpus"] = num_cpus
            if not any(v in os.environ for v in _AUTH_VARIABLES):
                # a token in memory: Ray would otherwise write one to ~/.ray/auth_token
                self._set_env("RAY_AUTH_MODE", "token")
                self._set_env("RAY_AUTH_TOKEN", secrets.token_hex(32))
                _reload_auth(ray)
        else:
            options["address"] = address
        try:
            with _own_signal_handlers():
                ray.init(**options)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            self.close()
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise ConfigError(f"cannot start or reach {where}: {exc}") from None
        self._started = True

    def _set_env(self, name: str, value: str) -> None:
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def close(self) -> None:
        """Stop the Ray instance started here (not a cluster that was joined: only this
        process's connection to it) and remove its files."""
        if self._started:
            self._started = False
            self._ray.shutdown()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if self._saved_env:
            _reload_auth(self._ray)
        self._saved_env = {}
        folder, self._own_dir = self._own_dir, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    @property
    def ships(self) -> bool:
        """Passes always run in Ray's worker processes."""
        return True

    def _get(self, refs: Any) -> Any:
        """``ray.get``; a ciyu error raised in a task (bad input, say) is raised here as
        itself, one line, not as Ray's report with the task's traceback."""
        ray = self._ray
        try:
            return ray.get(refs)
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, CiyuError | OSError):
                raise cause from None
            raise

    # --- running passes ---------------------------------------------------------------
    def _state(self, job: Pass[Any, Any]) -> tuple[str, list[Any]]:
        data = job.encode_state()
        if data is None:
            raise ConfigError(
                f"this pass ({job.kind}) cannot run on a cluster: its segmenter is a Python "
                "function that cannot be rebuilt in another process; use the local engine"
            )
        return uuid.uuid4().hex, [self._ray.put(bytes(data))]

    def _submit(
        self,
        job: Pass[Any, Any],
        sources: Iterable[Any],
        progress: Callable[[int], None] | None,
        split: bool = False,
    ) -> tuple[tuple[str, list[Any]], list[list[Any]]]:
        """Start a map task per source; wait for them, reporting progress."""
        ray = self._ray
        state = self._state(job)
        n = self.shards
        outputs = 2 * n + 1 if split else n + 1
        maps = [
            self._map.options(num_returns=outputs).remote(type(job), state, s, n, split)
            for s in sources
        ]
        pending = {m[-1]: m for m in maps}
        done = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            done += int(self._get(ready[0]))
            del pending[ready[0]]
            if progress is not None:
                progress(done)
        return state, maps

    def _reduced(
        self,
        cls: type[Pass[Any, Any]],
        state: tuple[str, list[Any]],
        maps: list[list[Any]],
        offset: int = 0,
    ) -> list[Any]:
        return [
            self._reduce.remote(cls, state, [m[offset + i] for m in maps])
            for i in range(self.shards)
        ]

    def _gather(self, job: Pass[P, R], refs: list[Any]) -> R:
        """The reduced shards, fetched and joined (they hold no key in common)."""
        acc = Stack(job.merge, job.size, job.empty)
        for data in self._get(refs):
            acc.add(job.decode(data))
        return job.finish(acc.result())

    def run(
        self,
        job: Pass[P, R],
        batches: Iterable[Batch],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> R:
        """Run ``job`` over batches made here (each is sent to the cluster)."""
        put = self._ray.put
        sources = (("batch", [put(bytes(encode_batch(b, compress=True)))]) for b in batches)
        state, maps = self._submit(job, list(sources), progress)
        return self._gather(job, self._reduced(type(job), state, maps))

    def run_table(
        self,
        job: Pass[P, R],
        table: Any,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> R:
        """Run ``job`` over the shards of a :class:`RayTable`, on the cluster."""
        if not isinstance(table, RayTable):
            return super().run_table(job, table, progress=progress)
        sources = [("table", [ref]) for ref in table.shards]
        state, maps = self._submit(job, sources, progress)
        return self._gather(job, self._reduced(type(job), state, maps))

    def _sources(self, corpus: object) -> list[Any] | None:
        """The sources of the first pass for a corpus the cluster can read itself, or
        None (the text is then read here and sent in batches)."""
        if isinstance(corpus, DatasetText):
            return [("arrow", ([ref], corpus.column)) for ref in corpus.block_refs()]
        if isinstance(corpus, UrlCorpus):
            ranges = file_ranges(corpus.urls, corpus.errors, self.split_bytes)
            return [("range", r) for r in ranges]
        if isinstance(corpus, Corpus) and corpus.files is not None:
            paths = [os.path.abspath(p) for p in corpus.files]
            ranges = file_ranges(paths, corpus.errors, self.split_bytes)
            return [("range", r) for r in ranges]
        return None

    def count(
        self,
        texts: Callable[[], Iterable[str]],
        order: int,
        *,
        min_count: int = 1,
        fragments: bool = False,
        progress: Callable[[int], None] | None = None,
    ) -> Counted:
        """The first pass: the n-gram counts, gathered here (pruned to ``min_count`` on
        the cluster, shard by shard), and with ``fragments`` the table of distinct
        fragments, left on the cluster (a :class:`RayTable`)."""
        job = CountPass(order, min_count=min_count, fragments=fragments)
        corpus = texts()
        sources = self._sources(corpus)
        if sources is None:
            put = self._ray.put
            sources = [
                ("batch", [put(bytes(encode_batch(b, compress=True)))])
                for b in text_batches(corpus, BATCH_CHARS)
            ]
        state, maps = self._submit(job, sources, progress, split=fragments)
        counted = self._gather(job, self._reduced(CountPass, state, maps))
        counts = counted.counts
        if not fragments:
            return Counted(counts, None)
        table_state = self._state(FragmentsPass())
        shards = [
            self._reduce.remote(FragmentsPass, table_state, [m[self.shards + i] for m in maps])
            for i in range(self.shards)
        ]
        return Counted(counts, RayTable(shards))

    def gather_table(self, table: RayTable) -> StringCounts:
        """The whole table of distinct fragments, fetched here."""
        job = FragmentsPass()
        return concat_strings(job.decode(data) for data in self._get(table.shards))

    # --- segmenting files ---------------------------------------------------------------
    def segment_files(
        self,
        model_file: str,
        jobs: Sequence[tuple[str, str]],
        sep: str = " ",
        errors: Errors = "strict",
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Segment every ``(input, output)`` file pair with the model, one task each;
        returns the bytes read. The model file is sent once (to the object store)."""
        ray = self._ray
        with open(model_file, "rb") as fh:
            model = [ray.put(fh.read())]
        pending = [self._segment.remote(model, src, dst, sep, errors) for src, dst in jobs]
        done = 0
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            done += int(self._get(ready[0]))
            if progress is not None:
                progress(done)
        return done


def engine_for(engine: object, *, threads: int | None = 1) -> tuple[Engine | None, bool]:
    """The engine a Python API call names: None or ``"local"`` (the local engine, made by
    the caller), ``"ray"`` (a :class:`RayEngine` made here: the caller closes it), or an
    :class:`~ciyu.passes.Engine`. Returns the engine and whether the caller owns it.

    Raises:
        ConfigError: on anything else, or ``"ray"`` without Ray installed.
    """
    if engine is None or engine == "local":
        return None, False
    if engine == "ray":
        return RayEngine(), True
    if isinstance(engine, Engine):
        return engine, False
    raise ConfigError(f"engine must be 'local', 'ray' or a ciyu engine object, got {engine!r}")


def segment_outputs(inputs: Sequence[str], out_dir: str) -> list[tuple[str, str]]:
    """The output file of every input file of ``ciyu segment --engine ray``: a file
    ``X`` (or ``X.gz``) becomes ``out_dir/X``, and every file below a directory ``D`` keeps
    its path relative to ``D``.

    Raises:
        ConfigError: on standard input or a URL among the inputs, two inputs that would
            write the same output, or an output that is an input.
        InputError: if an input is missing or unreadable.
    """
    pairs: list[tuple[str, str]] = []
    for src in inputs:
        if src == "-" or is_url(src):
            raise ConfigError(
                f"{src}: segment --engine ray segments files that every node of the cluster "
                "can read (a shared file system), not standard input or URLs"
            )
        files = Corpus([src]).files or []
        top = os.path.abspath(src)
        for path in files:
            name = os.path.abspath(path)
            relative = os.path.relpath(name, top) if os.path.isdir(top) else os.path.basename(name)
            if relative.endswith(".gz"):
                relative = relative[: -len(".gz")]
            pairs.append((name, os.path.join(os.path.abspath(out_dir), relative)))
    sources = {src for src, _ in pairs}
    seen: dict[str, str] = {}
    for src, dst in pairs:
        if dst in sources:
            raise ConfigError(
                f"{dst}: the output would overwrite an input; choose another --output-dir"
            )
        if dst in seen:
            raise ConfigError(
                f"{seen[dst]} and {src} would both be written to {dst}; segment them in two runs"
            )
        seen[dst] = src
    return pairs


__all__ = [
    "INSTALL",
    "DatasetText",
    "FileRange",
    "RayEngine",
    "RayTable",
    "UrlCorpus",
    "engine_for",
    "expand_urls",
    "file_ranges",
    "import_ray",
    "is_url",
    "read_range",
    "segment_outputs",
]
