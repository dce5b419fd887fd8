"""The Python API: the functions the command line calls, usable directly.

``ciyu.discover(path)`` ranks the words of a corpus, ``ciyu.train(path)`` returns a
:class:`~ciyu.model.Model` whose ``cut`` segments text, ``ciyu.count(path)`` returns
mergeable n-gram counts, ``ciyu.templates(path)`` mines templates (``在 <X> 中``) and
:class:`ciyu.Parser` parses with them. The README shows each with real output.

What to read is said in one of three ways, and never guessed:

- the first argument: one path (a ``str`` or :class:`os.PathLike` naming an existing file
  or directory; ``"-"`` is standard input), a list of :class:`pathlib.Path` objects, or a
  :class:`~ciyu.reader.Corpus`;
- ``paths=[...]``: file and directory names, as ``str`` or path objects;
- ``texts=[...]``: the text itself, as strings (a single ``str`` is one text).

A path may also be a URL (``s3://bucket/corpus/*.txt``, ``gs://...``, ``file:///...``),
read with pyarrow's file systems, and the first argument may be a ``ray.data.Dataset``
whose column ``text_column`` holds the text (it is then read on the Ray cluster).

``engine`` says what runs the passes over the corpus: ``"local"`` (the default: this
process and ``threads`` worker processes), ``"ray"`` (a Ray instance started on this
machine for the call, or the Ray cluster this process is connected to; see
:mod:`ciyu.distributed`), or an engine object (:class:`ciyu.distributed.RayEngine`,
:class:`ciyu.passes.LocalEngine`) kept open across calls. The results are the same.

A list of strings as the first argument could be either (``["a.txt", "b.txt"]`` or two
sentences), so it is an error whose message says what to write instead; so is a ``str``
that names no existing file.

>>> count(texts=["中文分词", "分词"]).n_chars
6
>>> count(["a.txt", "b.txt"])
Traceback (most recent call last):
ciyu.errors.ConfigError: ciyu.count() got a list of strings: file names or text? Write \
ciyu.count(texts=[...]) to use the strings as text, or ciyu.count(paths=[...]) to read the \
files they name
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeGuard, cast

from . import dictionary
from ._atomic import atomic_write
from ._strings import check_errors
from .config import make
from .counts import DEFAULT_ORDER, NgramCounts, count_ngrams
from .errors import ConfigError, InputError
from .learners import DEFAULT_METHOD, METHODS, cohesion
from .learners.base import make_context
from .learners.cohesion import CohesionConfig, Discovery
from .lexicon import Lexicon
from .model import Model
from .passes import Engine, LocalEngine
from .reader import Corpus, Errors
from .template import Mined, Template, TemplateConfig, mine
from .template.tsv import format_rows, parse_rows

log = logging.getLogger("ciyu")

#: What the first argument of :func:`count`, :func:`discover` and :func:`train` can be.
Inputs = Corpus | str | os.PathLike[str] | Iterable[os.PathLike[str]]
Paths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
Texts = str | Iterable[str]


def _short(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _corpus(
    fn: str, inputs: Inputs | None, texts: Texts | None, paths: Paths | None, errors: Errors
) -> Corpus:
    """The :class:`Corpus` that ``inputs``, ``texts=`` or ``paths=`` (exactly one) name.

    Raises:
        ConfigError: if not exactly one is given, on a list of strings as ``inputs``
            (ambiguous), on an invalid ``errors``, or on an argument of the wrong kind.
        InputError: on a path that does not exist, or a text that is not valid (see
            :meth:`Corpus.from_texts`).
    """
    check_errors(errors)
    given = [
        name
        for name, v in (("inputs", inputs), ("texts", texts), ("paths", paths))
        if v is not None
    ]
    if len(given) != 1:
        raise ConfigError(
            f"ciyu.{fn}() reads one of: a path or a Corpus as first argument, "
            f"texts=[...] (strings to learn from) or paths=[...] (files); "
            + ("none was given" if not given else f"got {' and '.join(given)}")
        )
    if texts is not None:
        if isinstance(texts, Corpus | os.PathLike | bytes):
            raise ConfigError(
                f"texts= takes strings of text, got {type(texts).__name__}; "
                f"for files write ciyu.{fn}(paths=[...]) or ciyu.{fn}(Corpus(...))"
            )
        return Corpus.from_texts(texts, errors=errors)
    if paths is not None:
        items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
        for i, item in enumerate(items):
            if not isinstance(item, str | os.PathLike):
                raise ConfigError(
                    f"paths[{i}] is {type(item).__name__}, not a path (str or os.PathLike)"
                )
        if not items:
            raise ConfigError(f"ciyu.{fn}(paths=[]): no file to read")
        return Corpus(items, errors=errors)
    assert inputs is not None
    if isinstance(inputs, Corpus):
        if errors != "strict" and errors != inputs.errors:
            raise ConfigError(
                f"errors={errors!r} does not apply to a Corpus, which reads with "
                f"errors={inputs.errors!r}: give it to the Corpus, Corpus(..., errors={errors!r})"
            )
        return inputs
    if isinstance(inputs, str | os.PathLike):
        path = os.fspath(inputs)
        if not isinstance(path, str):
            raise ConfigError(f"a path is a str or os.PathLike of str, got {path!r}")
        if path != "-" and not os.path.exists(path):
            raise InputError(
                f"{_short(path)}: no such file or directory. ciyu.{fn}() reads a str as a "
                f"path; to use the string itself as text, write ciyu.{fn}(texts=[...])"
            )
        return Corpus([inputs], errors=errors)
    given_object: object = inputs  # callers may pass anything
    if isinstance(given_object, bytes) or not isinstance(given_object, Iterable):
        raise ConfigError(
            f"ciyu.{fn}() cannot read a {type(inputs).__name__}: give a path, a Corpus, "
            f"texts=[...] or paths=[...]"
        )
    items = list(given_object)
    if items and all(isinstance(i, os.PathLike) for i in items):
        return Corpus(items, errors=errors)
    if any(isinstance(i, str) for i in items):
        raise ConfigError(
            f"ciyu.{fn}() got a list of strings: file names or text? Write "
            f"ciyu.{fn}(texts=[...]) to use the strings as text, or "
            f"ciyu.{fn}(paths=[...]) to read the files they name"
        )
    kinds = ", ".join(sorted({type(i).__name__ for i in items})) or "nothing"
    raise ConfigError(
        f"ciyu.{fn}() reads a path, a list of pathlib.Path, a Corpus, texts=[...] or "
        f"paths=[...]; got a list of {kinds}"
    )


def _is_dataset(value: object) -> bool:
    """True for a ``ray.data.Dataset`` (recognised without importing Ray)."""
    return type(value).__module__.startswith("ray.data") and hasattr(value, "to_arrow_refs")


def _urls(inputs: object, paths: object) -> list[str]:
    """The inputs when they are URLs (all of them; a mix with local paths is an error)."""

    def is_url(path: str | os.PathLike[str]) -> bool:
        text = os.fspath(path)
        return isinstance(text, str) and "://" in text

    given: list[object] = []
    for value in (inputs, paths):
        if isinstance(value, str | os.PathLike):
            given.append(value)
        elif isinstance(value, list | tuple):
            given.extend(value)
    remote = [os.fspath(v) for v in given if isinstance(v, str | os.PathLike) and is_url(v)]
    if remote and len(remote) != len(given):
        raise ConfigError("give either URLs or local paths, not both")
    return [str(u) for u in remote]


@contextlib.contextmanager
def _engine(engine: object, threads: object, inputs: object) -> Iterator[Engine | None]:
    """The engine a call names (see the module documentation); one made here is closed
    at the end. A Ray dataset is read with Ray whatever ``engine`` says, unless it names
    an engine object."""
    if engine is None and _is_dataset(inputs):
        engine = "ray"
    if engine is None or engine == "local":
        yield None
        return
    if engine == "ray":
        from . import distributed

        with distributed.RayEngine() as ray_engine:
            yield ray_engine
        return
    if isinstance(engine, Engine):
        yield engine
        return
    raise ConfigError(f"engine must be 'local', 'ray' or an engine object, got {engine!r}")


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_run(
    *,
    order: object = 1,
    max_memory: object = None,
    threads: object = None,
    progress: object = None,
    counts: object = None,
) -> None:
    """Check the options every API function shares, before any work starts.

    Raises:
        ConfigError: naming the option, what it must be, and what it was.
    """
    if not _is_int(order):
        raise ConfigError(f"order must be an int, got {order!r}")
    # the range is checked by the memory planner, whose message names the least budget
    if max_memory is not None and not _is_int(max_memory):
        raise ConfigError(f"max_memory must be a number of bytes or None, got {max_memory!r}")
    if threads is not None and not (_is_int(threads) and threads >= 0):
        raise ConfigError(
            f"threads must be a number of processes (0 or None: one per core), got {threads!r}"
        )
    if progress is not None and not callable(progress):
        raise ConfigError(f"progress must be a function or None, got {progress!r}")
    if counts is not None and not isinstance(counts, NgramCounts):
        raise ConfigError(
            f"counts must be NgramCounts (from ciyu.count or NgramCounts.load), got "
            f"{type(counts).__name__}"
        )


def count(
    inputs: Inputs | None = None,
    order: int = DEFAULT_ORDER,
    *,
    texts: Texts | None = None,
    paths: Paths | None = None,
    max_memory: int | None = None,
    errors: Errors = "strict",
    progress: Callable[[int], None] | None = None,
    threads: int | None = 1,
    engine: str | Engine | None = None,
    text_column: str = "text",
) -> NgramCounts:
    """Count the character n-grams (orders ``1..order``) of a corpus, as a stream.

    Args:
        inputs: a path (of an existing file or directory), a list of
            :class:`pathlib.Path`, or a :class:`Corpus` (see the module documentation).
        order: highest n-gram order.
        texts: instead of ``inputs``: the text itself, as strings.
        paths: instead of ``inputs``: file and directory names (``str`` or path objects).
        max_memory: bound in bytes on the peak resident memory of this process (what it
            holds already included) and its workers while counting; rare n-grams are
            pruned to stay within it. Raises :class:`ciyu.errors.ConfigError` when it is
            below what counting needs at least.
        errors: ``"strict"`` stops at invalid UTF-8 in files and lone surrogates in
            ``texts``; ``"replace"`` substitutes U+FFFD for them.
        progress: called with the number of characters counted so far.
        threads: counting processes (``None`` or 0: one per core); the counts are the
            same for any value.
        engine: ``"local"``, ``"ray"`` or an engine object (see the module
            documentation); the counts are the same.
        text_column: the column of a Ray dataset that holds the text.

    Raises:
        ConfigError: if the input is ambiguous or missing (the message says what to
            write), or an option is invalid.
        InputError: if the input cannot be read.
    """
    _check_run(order=order, max_memory=max_memory, threads=threads, progress=progress)
    with (
        _engine(engine, threads, inputs) as runner,
        _reading("count", inputs, texts, paths, errors, text_column) as corpus,
    ):
        if runner is None or isinstance(runner, LocalEngine):
            return count_ngrams(
                corpus,
                order,
                max_memory=max_memory,
                progress=progress,
                threads=threads,
                engine=runner,
            )
        if max_memory is not None:
            raise ConfigError(
                "max_memory bounds the processes of this machine; with a cluster engine, "
                "size the memory of the cluster's nodes instead"
            )
        counts: NgramCounts = runner.count(lambda: corpus, order, progress=progress).counts
        return counts


def _config(who: str, cls: type[Any], config: Any, options: dict[str, Any]) -> Any:
    """The learner's config: ``config`` (which must be of class ``cls``) with ``options``.

    Raises:
        ConfigError: on a config of another learner (or not a config), or an unknown
            option.
    """
    if config is not None and not isinstance(config, cls):
        owner = [m.name for m in METHODS.values() if isinstance(config, m.config)]
        fix = f", or train with method={owner[0]!r}" if owner else ""
        raise ConfigError(
            f"{who} takes a {cls.__name__}, got a {type(config).__name__}: "
            f"pass ciyu.learners.{cls.__name__}(...) or keyword options{fix}"
        )
    return make(cls, config, options)


@contextlib.contextmanager
def _reading(
    fn: str,
    inputs: Inputs | None,
    texts: Texts | None,
    paths: Paths | None,
    errors: Errors,
    text_column: str = "text",
) -> Iterator[Iterable[str]]:
    """:func:`_corpus`, closed afterwards if it was made here (a Corpus given by the
    caller stays theirs: closing it would delete its copy of standard input); or the
    text column of a Ray dataset, or files named by URLs."""
    loaded = sys.modules.get("ciyu.distributed")
    if loaded is not None and isinstance(inputs, loaded.UrlCorpus | loaded.DatasetText):
        yield inputs  # read by an earlier call
        return
    if _is_dataset(inputs):
        from . import distributed

        if texts is not None or paths is not None:
            raise ConfigError(f"ciyu.{fn}() reads a dataset, texts= or paths=, not several")
        if not isinstance(text_column, str):
            raise ConfigError(f"text_column must be a column name, got {text_column!r}")
        yield distributed.DatasetText(inputs, text_column)
        return
    urls = _urls(inputs if texts is None else None, paths)
    if urls:
        from . import distributed

        check_errors(errors)
        yield distributed.UrlCorpus(tuple(distributed.expand_urls(urls)), errors)
        return
    corpus = _corpus(fn, inputs, texts, paths, errors)
    if corpus is inputs:
        yield corpus
        return
    with corpus:
        yield corpus


def discover(
    inputs: Inputs | None = None,
    config: CohesionConfig | None = None,
    *,
    texts: Texts | None = None,
    paths: Paths | None = None,
    counts: NgramCounts | None = None,
    max_memory: int | None = None,
    errors: Errors = "strict",
    progress: Callable[[str, int], None] | None = None,
    threads: int | None = 1,
    engine: str | Engine | None = None,
    text_column: str = "text",
    **options: Any,
) -> Discovery:
    """Discover the words of a corpus with the cohesion learner.

    Args:
        inputs: a path, a list of :class:`pathlib.Path`, or a :class:`Corpus`.
        config: a :class:`CohesionConfig`; keyword ``options`` override its fields
            (e.g. ``min_count=5``).
        texts: instead of ``inputs``: the text itself, as strings.
        paths: instead of ``inputs``: file and directory names.
        counts: n-gram counts of the same corpus made earlier (skips counting).
        max_memory: bound in bytes on the peak resident memory of this process (what it
            holds already included) and its workers, counting and learning (see
            :func:`ciyu.learners.base.make_context`).
        errors: how to treat invalid UTF-8 and lone surrogates (``"strict"`` or
            ``"replace"``).
        progress: called as ``progress(stage, characters_done)``.
        threads: processes for counting and the passes over the corpus (``None`` or 0:
            one per core); results are the same for any value.
        engine: ``"local"``, ``"ray"`` or an engine object (see the module
            documentation); results are the same.
        text_column: the column of a Ray dataset that holds the text.

    Returns:
        A :class:`Discovery`: ``.words`` is the ranked list of :class:`WordStats`,
        ``.explain(word)`` tells why a word was kept or rejected, ``.lexicon()`` is the
        lexicon a :class:`Model` segments with.

    Raises:
        ConfigError: as for :func:`count`, or on a config that is not a
            :class:`CohesionConfig`, or an unknown option.
        InputError: if the input cannot be read.
    """
    _check_run(max_memory=max_memory, threads=threads, progress=progress, counts=counts)
    cfg = _config("ciyu.discover()", CohesionConfig, config, options)
    with (
        _engine(engine, threads, inputs) as runner,
        _reading("discover", inputs, texts, paths, errors, text_column) as corpus,
        make_context(
            lambda: corpus,
            cfg.count_order(),
            counts,
            cfg.order,
            max_memory=max_memory,
            progress=progress,
            threads=threads,
            engine=runner,
        ) as ctx,
    ):
        return cohesion.discover(ctx, cfg)


def train(
    inputs: Inputs | None = None,
    method: str = DEFAULT_METHOD,
    config: Any = None,
    *,
    texts: Texts | None = None,
    paths: Paths | None = None,
    counts: NgramCounts | None = None,
    max_memory: int | None = None,
    errors: Errors = "strict",
    progress: Callable[[str, int], None] | None = None,
    threads: int | None = 1,
    base: str | os.PathLike[str] | Lexicon | Model | None = None,
    engine: str | Engine | None = None,
    text_column: str = "text",
    **options: Any,
) -> Model:
    """Learn a segmentation model from raw text.

    Args:
        inputs: a path, a list of :class:`pathlib.Path`, or a :class:`Corpus`.
        method: the learner, one of :data:`ciyu.learners.METHODS` (default: the best on
            the quality benchmark, :data:`ciyu.learners.DEFAULT_METHOD`).
        config: that learner's config object (e.g. :class:`ciyu.learners.NvbeConfig` for
            ``"nvbe"``); keyword ``options`` override its fields.
        texts, paths, counts, max_memory, errors, progress, threads, engine,
            text_column: as for :func:`discover`.
        base: an existing dictionary to adapt to the text (only with the default
            method): ``"jieba"`` for the installed jieba's dictionary, the path of a
            jieba-format dictionary (``word [freq [tag]]`` lines) or of a ciyu model, or
            a :class:`Lexicon` or :class:`Model`. The model holds the base's words and
            the text's own, with frequencies re-estimated on the text; the base defines
            the granularity (see :func:`ciyu.learners.ensemble.adapt`).

    Returns:
        A :class:`Model`; its metadata records the method and every option (and the
        base: its source, size and checksum).

    Raises:
        ConfigError: as for :func:`discover`; on an unknown method, or a config object
            of another method.
        InputError: if the input cannot be read.
    """
    if not isinstance(method, str) or method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    _check_run(max_memory=max_memory, threads=threads, progress=progress, counts=counts)
    spec = METHODS[method]
    cfg = _config(f"method {method!r}", spec.config, config, options)
    base_lexicon = _base(base, method)
    with (
        _engine(engine, threads, inputs) as runner,
        _reading("train", inputs, texts, paths, errors, text_column) as corpus,
        make_context(
            lambda: corpus,
            cfg.count_order(),
            counts,
            max_memory=max_memory,
            progress=progress,
            threads=threads,
            drop_singletons=cfg.singletons_unused(),
            learner=method,
            base=base_lexicon,
            engine=runner,
        ) as ctx,
    ):
        return Model._from_checked(spec.learn(ctx, cfg))


def _base(base: str | os.PathLike[str] | Lexicon | Model | None, method: str) -> Lexicon | None:
    """The base lexicon ``train`` adapts, with what the model records about it."""
    if base is None:
        return None
    if method != DEFAULT_METHOD:
        raise ConfigError(
            f"a base dictionary is adapted by the default learner ({DEFAULT_METHOD}); "
            f"drop method={method!r} (--method) or the base"
        )
    if isinstance(base, Model):
        base = base.lexicon
    if isinstance(base, Lexicon):
        return Lexicon(dict(base.counts), {"source": "a Lexicon given to ciyu.train"})
    if not isinstance(base, str | os.PathLike):
        raise ConfigError(
            f"base must be 'jieba', a file path, a Lexicon or a Model, got {type(base).__name__}"
        )
    found = dictionary.load(base)
    lexicon = found.lexicon()
    lexicon.meta = found.describe()
    if found.skipped:
        log.info(
            "base %s: %d entries left out (not Chinese or Japanese text: %s)",
            found.source,
            found.skipped,
            ", ".join(found.examples),
        )
    return lexicon


def templates(
    inputs: Inputs | None = None,
    model: Model | str | os.PathLike[str] | None = None,
    config: TemplateConfig | None = None,
    *,
    texts: Texts | None = None,
    paths: Paths | None = None,
    pre_segmented: bool = False,
    max_memory: int | None = None,
    errors: Errors = "strict",
    progress: Callable[[str, int], None] | None = None,
    threads: int | None = 1,
    engine: str | Engine | None = None,
    **options: Any,
) -> Mined:
    """Mine the templates of a corpus: fixed words with slots (``在 <X> 中``).

    Args:
        inputs: a path, a list of :class:`pathlib.Path`, or a :class:`Corpus`.
        model: the model that segments the text (a :class:`Model` or a model file);
            ``None`` trains the default model on the same text (:func:`train`).
        config: a :class:`~ciyu.template.TemplateConfig`; keyword ``options`` override its
            fields (e.g. ``min_count=10``).
        texts: instead of ``inputs``: the text itself, as strings.
        paths: instead of ``inputs``: file and directory names.
        pre_segmented: the text is already segmented, words separated by whitespace (no
            model is used).
        max_memory: a budget in bytes for the tables of pairs and templates (the rarest
            entries are dropped beyond it, and the result is marked approximate); when a
            model is trained first, also the bound on that training's peak memory (see
            :func:`train`).
        errors: how to treat invalid UTF-8 and lone surrogates (``"strict"`` or
            ``"replace"``).
        progress: called as ``progress(stage, characters_done)``.
        threads: processes (``None`` or 0: one per core); the output is the same for any
            value.
        engine: ``"local"``, ``"ray"`` or an engine object (see the module
            documentation): what runs the passes, and the training of the model when
            there is none; the output is the same.

    Returns:
        A :class:`~ciyu.template.Mined`: the :class:`~ciyu.template.Template` records,
        best first, and the mining metadata (``.meta``).

    Raises:
        ConfigError: as for :func:`discover`; on a bad option or model, or when the text
            holds no words.
        InputError: if the input or the model file cannot be read.
    """
    _check_run(max_memory=max_memory, threads=threads, progress=progress)
    if config is not None and not isinstance(config, TemplateConfig):
        raise ConfigError(
            f"ciyu.templates() takes a TemplateConfig, got a {type(config).__name__}: pass "
            "ciyu.TemplateConfig(...) or keyword options"
        )
    if model is not None and not isinstance(model, Model | str | os.PathLike):
        raise ConfigError(
            f"model must be a Model, a model file or None, got {type(model).__name__}"
        )
    if pre_segmented and model is not None:
        raise ConfigError("pre-segmented text needs no model: give model=None")
    cfg = make(TemplateConfig, config, options)
    with (
        _engine(engine, threads, inputs) as runner,
        _reading("templates", inputs, texts, paths, errors) as corpus,
    ):
        lexicon = None
        if not pre_segmented:
            if model is None:
                # the training stages are named apart, so that the first pass of mining
                # (named "count") sets the total of the passes after it
                train_progress = (lambda s, n: progress("train " + s, n)) if progress else None
                model = train(
                    cast(Inputs, corpus),
                    progress=train_progress,
                    threads=threads,
                    max_memory=max_memory,
                    engine=runner,
                )
            elif not isinstance(model, Model):
                model = Model.load(model)
            lexicon = model.lexicon
        return mine(
            lambda: corpus,
            lexicon,
            cfg,
            threads=threads,
            max_memory=max_memory,
            progress=progress,
            engine=runner,
        )


def save_templates(records: Iterable[Template], path: str | os.PathLike[str]) -> None:
    """Write templates to a TSV file, atomically (format: :mod:`ciyu.template.tsv`)."""
    with atomic_write(path, "w") as fh:
        fh.writelines(format_rows(list(records)))


def load_templates(path: str | os.PathLike[str]) -> list[Template]:
    """Read a templates file written by :func:`save_templates` or ``ciyu templates``.

    Raises:
        CiyuError: naming the file and line when it is not such a file.
    """
    with Corpus([path], spool_stdin=False) as corpus:
        return parse_rows(((p.lineno, p.text) for p in corpus.pieces()), str(path))
