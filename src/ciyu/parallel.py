"""Process parallelism with results in input order, so output never depends on ``threads``.

Worker processes are started with the ``spawn`` method on every OS: it is the only one
available everywhere, and it avoids forking a process that holds locks or threads. Work is
submitted lazily, with at most ``2 × threads`` items in flight (or ``in_flight``), so a
long stream is processed in bounded memory. With ``threads <= 1``, or when the stream
holds a single item, everything runs in the calling process: starting workers costs more
than a small input is worth.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def resolve_threads(threads: int | None) -> int:
    """The number of worker processes: ``None`` or 0 means one per CPU core."""
    if not threads:
        return os.cpu_count() or 1
    return max(1, threads)


def ordered_map(
    fn: Callable[[T], R],
    items: Iterable[T],
    threads: int | None = 1,
    *,
    initializer: Callable[..., object] | None = None,
    initargs: tuple[Any, ...] = (),
    in_flight: int | None = None,
) -> Iterator[R]:
    """``map(fn, items)`` over ``threads`` processes, yielding results in input order.

    ``fn`` and the items must be picklable; ``initializer(*initargs)`` runs once in every
    worker (and once in this process when no worker is started). At most ``in_flight``
    items (default ``2 × threads``) are submitted and not yet yielded: their inputs and
    results are what this process holds for the workers.
    """
    n = resolve_threads(threads)
    it = iter(items)
    first = next(it, _END)
    if first is _END:
        return
    second = next(it, _END)
    if n <= 1 or second is _END:
        if initializer is not None:
            initializer(*initargs)
        yield fn(first)
        if second is not _END:
            yield fn(second)
            for item in it:
                yield fn(item)
        return
    limit = max(1, in_flight) if in_flight is not None else 2 * n
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=n, mp_context=context, initializer=initializer, initargs=initargs
    ) as pool:
        pending: deque[Future[R]] = deque()
        for item in _chain(first, second, it):
            pending.append(pool.submit(fn, item))
            if len(pending) >= limit:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


class _End:
    pass


_END: Any = _End()


def _chain(first: Any, second: Any, rest: Iterator[Any]) -> Iterator[Any]:
    yield first
    yield second
    yield from rest
