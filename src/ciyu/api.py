"""The Python API: the functions the command line calls, usable directly.

``ciyu.discover(path)`` ranks the words of a corpus, ``ciyu.train(path)`` returns a
:class:`~ciyu.model.Model` whose ``cut`` segments text, ``ciyu.count(path)`` returns
mergeable n-gram counts. The README shows each with real output.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

from .config import make
from .counts import DEFAULT_ORDER, NgramCounts, count_ngrams
from .errors import ConfigError
from .learners import DEFAULT_METHOD, METHODS, cohesion
from .learners.base import make_context
from .learners.cohesion import CohesionConfig, Discovery
from .model import Model
from .reader import Corpus, Errors

Inputs = Corpus | str | os.PathLike[str] | Iterable[str]


def _corpus(inputs: Inputs, errors: Errors) -> Corpus:
    """Paths (``str``/``PathLike``) are files or directories; a list of other strings is text.

    A list of strings is taken as text unless it is given as :class:`pathlib.Path` objects
    or wrapped in a :class:`Corpus`: ``ciyu.train(["文本一", "文本二"])`` learns from the
    two strings, ``ciyu.train(Corpus(["a.txt"]))`` or ``ciyu.train("a.txt")`` from the file.
    """
    if isinstance(inputs, Corpus):
        return inputs
    if isinstance(inputs, str | os.PathLike):
        return Corpus([inputs], errors=errors)
    items = list(inputs)
    if items and all(isinstance(i, os.PathLike) for i in items):
        return Corpus(items, errors=errors)
    return Corpus.from_texts(str(i) for i in items)


def count(
    inputs: Inputs,
    order: int = DEFAULT_ORDER,
    *,
    max_memory: int | None = None,
    errors: Errors = "strict",
    progress: Callable[[int], None] | None = None,
    threads: int | None = 1,
) -> NgramCounts:
    """Count the character n-grams (orders ``1..order``) of a corpus, as a stream.

    Args:
        inputs: a path, a :class:`Corpus`, or an iterable of text strings.
        order: highest n-gram order.
        max_memory: bound in bytes on the peak resident memory of this process (what it
            holds already included) and its workers while counting; rare n-grams are
            pruned to stay within it. Raises :class:`ciyu.errors.ConfigError` when it is
            below what counting needs at least.
        errors: ``"strict"`` stops at invalid UTF-8, ``"replace"`` substitutes U+FFFD.
        progress: called with the number of characters counted so far.
        threads: counting processes (``None`` or 0: one per core); the counts are the
            same for any value.
    """
    corpus = _corpus(inputs, errors)
    return count_ngrams(corpus, order, max_memory=max_memory, progress=progress, threads=threads)


def discover(
    inputs: Inputs,
    config: CohesionConfig | None = None,
    *,
    counts: NgramCounts | None = None,
    max_memory: int | None = None,
    errors: Errors = "strict",
    progress: Callable[[str, int], None] | None = None,
    threads: int | None = 1,
    **options: Any,
) -> Discovery:
    """Discover the words of a corpus with the cohesion learner.

    Args:
        inputs: a path, a :class:`Corpus`, or an iterable of text strings.
        config: a :class:`CohesionConfig`; keyword ``options`` override its fields
            (e.g. ``min_count=5``).
        counts: n-gram counts of the same corpus made earlier (skips counting).
        max_memory: bound in bytes on the peak resident memory of this process (what it
            holds already included) and its workers, counting and learning (see
            :func:`ciyu.learners.base.make_context`).
        errors: how to treat invalid UTF-8 (``"strict"`` or ``"replace"``).
        progress: called as ``progress(stage, characters_done)``.
        threads: processes for counting (``None`` or 0: one per core); results are the
            same for any value.

    Returns:
        A :class:`Discovery`: ``.words`` is the ranked list of :class:`WordStats`,
        ``.explain(word)`` tells why a word was kept or rejected, ``.lexicon()`` is the
        lexicon a :class:`Model` segments with.
    """
    cfg = make(CohesionConfig, config, options)
    with _corpus(inputs, errors) as corpus:
        ctx = make_context(
            lambda: corpus,
            cfg.count_order(),
            counts,
            cfg.order,
            max_memory=max_memory,
            progress=progress,
            threads=threads,
        )
        return cohesion.discover(ctx, cfg)


def train(
    inputs: Inputs,
    method: str = DEFAULT_METHOD,
    config: Any = None,
    *,
    counts: NgramCounts | None = None,
    max_memory: int | None = None,
    errors: Errors = "strict",
    progress: Callable[[str, int], None] | None = None,
    threads: int | None = 1,
    **options: Any,
) -> Model:
    """Learn a segmentation model from raw text.

    Args:
        inputs: a path, a :class:`Corpus`, or an iterable of text strings.
        method: the learner, one of :data:`ciyu.learners.METHODS` (default: the best on
            the quality benchmark, :data:`ciyu.learners.DEFAULT_METHOD`).
        config: that learner's config object; keyword ``options`` override its fields.
        counts, max_memory, errors, progress, threads: as for :func:`discover`.

    Returns:
        A :class:`Model`; its metadata records the method and every option.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    spec = METHODS[method]
    cfg = make(spec.config, config, options)
    with _corpus(inputs, errors) as corpus:
        ctx = make_context(
            lambda: corpus,
            cfg.count_order(),
            counts,
            max_memory=max_memory,
            progress=progress,
            threads=threads,
            drop_singletons=cfg.singletons_unused(),
            learner=method,
        )
        return Model(spec.learn(ctx, cfg))
