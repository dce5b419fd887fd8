"""The memory budget (``--max-memory``): measuring what a command holds, and planning how
it spends the rest.

A budget bounds the peak resident memory of a whole command: this process and every
worker process it starts. It is spent on:

1. what this process already holds when the work starts, measured (on Linux the Python
   interpreter with numpy and ciyu holds about 38 MiB before it reads a byte);
2. reading: one piece of input (at most 1 MiB of UTF-8) and its decoded text;
3. worker processes, when the budget can feed them: each is a Python interpreter of its
   own with numpy and ciyu (about 38 MiB) plus the chunk it counts, and the first one
   brings multiprocessing's resource tracker (a bare interpreter, about 12 MiB). Once
   30% of the room can feed two workers, that share is set aside for them, whatever
   ``-j`` asks (one process leaves it unused), so that the room of the count tables, and
   so the counts, are the same for any number of workers; below, counting runs in this
   process;
4. counting: the chunk being counted and the count tables with the temporaries of merging
   them, measured exactly as they grow (:class:`ciyu.counts.NgramCounts` prunes rare
   n-grams to stay within their share);
5. training: the learner's structures, estimated from the count tables and the size of
   the corpus (:class:`LearnerCost`); the tables are pruned further before learning if
   they would not leave room. What grows with the corpus itself (its distinct words)
   cannot be pruned away: a corpus too large for the budget is refused, after counting,
   with the budget it needs.

A budget below what 1, 2 and the least room for 4 (and 5, when training) need is refused
with :class:`MemoryBudgetError`, which says what the minimum is and why.

The constants below were measured on Linux (CPython 3.11, numpy 2), by the peak resident
memory (``VmHWM``) of every process of the command, as ``tests/test_memory.py`` measures
it; the per-character and per-entry costs follow from the array layouts of
:mod:`ciyu.counts`.
"""

from __future__ import annotations

import ctypes
import functools
import os
from dataclasses import dataclass

from .errors import ConfigError

MiB = 1 << 20

#: Resident memory of this process when it cannot be measured (not Linux): the
#: interpreter with numpy and ciyu imported (42.0 to 43.9 MiB measured when ``count``,
#: ``train`` and ``discover`` start counting). It is also the least a plan assumes, so
#: that those commands' plans sit in the middle of a rounding step (see
#: :func:`baseline_bytes`) and do not flip with the few hundred KiB between runs.
INTERPRETER_BYTES = 44 * MiB
#: A spawned worker process before it counts anything: an interpreter that imported numpy
#: and ciyu (38 MiB measured), with a margin for its allocator.
WORKER_BYTES = 42 * MiB
#: multiprocessing's resource tracker, started with the first worker (12 MiB measured).
TRACKER_BYTES = 14 * MiB
#: Reading: a piece of at most 1 MiB of UTF-8, the bytes and the decoded text (up to four
#: bytes a character when the piece holds one character outside the BMP).
READER_BYTES = 6 * MiB
#: Room counting needs at least, besides reading: one small chunk and small tables.
MIN_COUNT_BYTES = 8 * MiB
#: Share of the budget kept free for what the allocator holds but does not use
#: (fragmentation) and for small objects not accounted for.
SLACK = 0.06
#: Smallest and largest chunk of text counted at once, in characters.
MIN_CHUNK_CHARS = 1 << 12
MAX_CHUNK_CHARS = 1 << 17


@dataclass(frozen=True)
class LearnerCost:
    """What a learner holds at its peak besides the interpreter, the counts and reading:
    ``fixed`` bytes (its passes over the corpus, read in small chunks, and its lexicons
    and decoders for a small corpus), ``per_table_byte`` bytes per byte of count tables
    (what it builds from the counts: solid n-grams, branching entropies, the decoder trie
    of every candidate), and ``per_char`` bytes per learnable character of the corpus (the
    distinct pieces, tokens and words of its segmentations, which no pruning of the
    counts removes)."""

    fixed: int
    per_table_byte: float
    per_char: float

    def bytes(self, table_bytes: float, n_chars: int) -> float:
        """The estimate for count tables of ``table_bytes`` over ``n_chars`` characters."""
        return self.fixed + self.per_table_byte * table_bytes + self.per_char * n_chars


#: Measured peaks of the learners under a budget, rounded up: on law text and random
#: Chinese of 0.6 to 3 M characters, the ensemble held 7 to 26 MiB less than this estimate,
#: its members and minent less still. The default covers the ensemble and
#: its members (cohesion, nvbe, lm) and minent. The unigram trainer also keeps a Python
#: tuple for every n-gram seen twice or more (its seeds) and every distinct fragment.
LEARNER_COSTS = {
    "default": LearnerCost(36 * MiB, 3.0, 5.0),
    "unigram": LearnerCost(36 * MiB, 8.0, 12.0),
}


def learner_cost(method: str | None = None) -> LearnerCost:
    """The :class:`LearnerCost` of the learner ``method`` (None: the default learners)."""
    return LEARNER_COSTS.get(method or "default", LEARNER_COSTS["default"])


class MemoryBudgetError(ConfigError):
    """The memory budget is too small for the work asked of it."""


def format_size(n: float) -> str:
    """``n`` bytes for people: ``512 B``, ``4.0 KiB``, ``38 MiB``, ``1.5 GiB``."""
    if n < 1 << 10:
        return f"{int(n)} B"
    if n < MiB:
        return f"{n / (1 << 10):.1f} KiB"
    if n < 1 << 30:
        return f"{n / MiB:.0f} MiB"
    return f"{n / (1 << 30):.1f} GiB"


def resident_bytes() -> int | None:
    """Resident memory of this process now, in bytes, or None where it cannot be read
    (``/proc/self/statm`` is Linux only)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def process_tree(root: int) -> list[int]:
    """The process ``root`` and all its descendants now (Linux: ``/proc``; ``[root]``
    elsewhere). What the budget bounds, and what the tests and benchmarks measure."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return [root]
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
            # the command name, in parentheses, may hold spaces and parentheses itself
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def peak_kib(pid: int) -> int | None:
    """The peak resident memory (``VmHWM``) of a process so far, in KiB, or None if it
    cannot be read (gone, not Linux)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    except (OSError, StopIteration, ValueError, IndexError):
        return None


@functools.cache
def _libc() -> ctypes.CDLL | None:
    # the symbols of the running program and its libraries (the C library among them);
    # ctypes.util.find_library would start a subprocess (ldconfig) to look for it
    try:
        return ctypes.CDLL(None)
    except (OSError, TypeError):  # Windows has no "this program" handle
        return None


#: glibc's mallopt parameter for the size from which a block is mapped on its own.
_M_MMAP_THRESHOLD = -3


def return_freed_memory() -> None:
    """Make the C allocator give freed memory back to the system at once (glibc only;
    nothing elsewhere), for the rest of this process.

    glibc maps a large block on its own, and unmaps it when it is freed, only above a
    threshold that rises to the size of the largest block freed so far (up to 32 MiB).
    Once counting has freed a few arrays of some MiB, the next ones come from the heap, and
    freed heap memory mostly stays resident: counting law text under 64 MiB, that kept
    8 MiB more resident than the arrays held. Fixing the threshold at 128 KiB (its
    initial value) makes every numpy array of that size or more come and go with its own
    mapping, so that the resident memory follows the memory in use. Called when a budget
    is set, in this process and in every worker.
    """
    libc = _libc()
    mallopt = getattr(libc, "mallopt", None) if libc is not None else None
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, 128 << 10)


def result_bytes_per_char(order: int) -> int:
    """Most bytes of count tables one character of a chunk can add: every window distinct,
    a key of ``4k`` bytes and an ``int64`` count for each order ``k``."""
    return sum(4 * k + 8 for k in range(1, order + 1))


def merge_bytes_per_entry(k: int) -> int:
    """Bytes of temporaries per entry of order ``k`` when tables are merged (the new keys
    and counts, the insertion mask, and the index arrays of the smaller table), an upper
    bound used by :func:`ciyu.counts.merge_reserve`."""
    return 6 * k + 29


def chunk_bytes_per_char(order: int) -> int:
    """Peak bytes per character of counting one chunk in this process, besides the tables
    it produces: the text and its learnable view (up to 16 bytes), the code points and run
    lengths (8), and for the top order its windows and their sort (``4k + 9``) with the
    unique keys being cut out of them (``4k + 16``)."""
    return 16 + 8 + (4 * order + 9) + (4 * order + 16)


def worker_bytes_per_char(order: int) -> int:
    """Peak bytes per character of a worker counting a chunk: the chunk as received
    (pickled and unpickled), counting it, its tables, and their pickled copy."""
    result = result_bytes_per_char(order)
    return 8 + chunk_bytes_per_char(order) + result + (5 * result) // 4


def parent_bytes_per_char(order: int) -> int:
    """Bytes per character the parent holds for one chunk in flight to a worker: the text
    (list and pickle) and the tables that come back."""
    return 8 + result_bytes_per_char(order)


@dataclass(frozen=True)
class CountPlan:
    """How counting spends a memory budget.

    Attributes:
        workers: counting processes (1: in this process, no worker started).
        chunk_chars: characters counted at once.
        table_bytes: what the count tables may hold in this process, the chunk just
            counted and the temporaries of merging and pruning included.
        in_flight: chunks submitted to the workers and not yet merged.
        baseline: what this process was taken to hold (see :func:`baseline_bytes`).
    """

    workers: int
    chunk_chars: int
    table_bytes: int
    in_flight: int
    baseline: int


def baseline_bytes(held: int | None = None) -> int:
    """What a plan takes this process to hold: the measured resident memory (or
    :data:`INTERPRETER_BYTES` where it cannot be measured), at least
    :data:`INTERPRETER_BYTES`, rounded to the nearest 4 MiB. The rounding makes the plan,
    and so the counts pruned under it, the same from one run to the next although the
    measured memory varies (by up to 0.6 MiB between runs of the same command, measured):
    rounding up flipped plans from one run to the next when the interpreter held about a
    multiple of 4 MiB (44.0 ± 0.3 MiB with ciyu 0.1's modules). What it can be under is
    less than :data:`SLACK` keeps free of any budget."""
    if held is None:
        held = resident_bytes() or INTERPRETER_BYTES
    step = 4 * MiB
    return (max(held, INTERPRETER_BYTES) + step // 2) // step * step


def _chunk_for(room: float, per_char: float) -> int:
    """Chunk size so that one chunk's worst case takes a tenth of ``room``."""
    chars = int(room * 0.1 / per_char)
    return max(MIN_CHUNK_CHARS, min(MAX_CHUNK_CHARS, chars))


def _workers_cost(workers: int, chunk: int, order: int) -> int:
    """Memory of ``workers`` worker processes counting chunks of ``chunk`` characters:
    their interpreters and chunks, the resource tracker, and what this process holds
    for the ``workers + 1`` chunks in flight."""
    return (
        TRACKER_BYTES
        + workers * (WORKER_BYTES + chunk * worker_bytes_per_char(order))
        + (workers + 1) * chunk * parent_bytes_per_char(order)
    )


def count_floor(baseline: int, extra: int = 0) -> int:
    """The least budget counting accepts, given what this process holds; ``extra`` is
    the least the work after counting needs (training's minimum)."""
    need = baseline + READER_BYTES + max(MIN_COUNT_BYTES, extra)
    return int(need / (1 - SLACK)) + 1


def refuse(budget: int, floor: int, baseline: int, what: str) -> MemoryBudgetError:
    """The error for a budget below ``floor``."""
    need = -(-floor // MiB)
    return MemoryBudgetError(
        f"--max-memory {format_size(budget)} is too small: {what} needs at least "
        f"{need} MiB, because this Python process holds about {format_size(baseline)} (the "
        f"interpreter with numpy and ciyu) before it reads its input; "
        f"give --max-memory {need}M or more"
    )


def plan_count(
    budget: int,
    order: int,
    threads: int,
    *,
    held: int | None = None,
    then: int = 0,
    what: str = "counting",
) -> CountPlan:
    """Split ``budget`` between reading, the count tables and worker processes.

    The tables' room and the chunk size depend on the budget, the order and what this
    process holds, never on ``threads``: the counts pruned under a budget are the same
    for any number of workers. Once the budget is large enough to feed two workers with
    less than 30% of it, that share is set aside for them (with one process it is left
    unused); below, counting runs in this process.

    Args:
        budget: the bound on the peak resident memory of this process and its workers.
        order: highest n-gram order counted.
        threads: worker processes asked for (already resolved: 1 means none).
        held: what this process holds now (default: measured).
        then: the least memory the work after counting needs besides what this process
            holds (training's minimum), for the refusal of budgets below it.
        what: the work, as the error message names it.

    Raises:
        MemoryBudgetError: if the budget is below the floor (the message says why).
    """
    baseline = baseline_bytes(held)
    floor = count_floor(baseline, then)
    if budget < floor:
        raise refuse(budget, floor, baseline, what)
    room = budget * (1 - SLACK) - baseline - READER_BYTES
    local_per_char = chunk_bytes_per_char(order) + result_bytes_per_char(order)
    share = 0.3
    tables = room * (1 - share)
    chunk = _chunk_for(tables, local_per_char)
    if _workers_cost(2, chunk, order) > room * share:
        tables = room
        chunk = _chunk_for(tables, local_per_char)
    workers = 1
    for w in range(threads, 1, -1):
        if tables < room and _workers_cost(w, chunk, order) <= room - tables:
            workers = w
            break
    return CountPlan(workers, chunk, int(tables), workers + 1, baseline)


def learning_room(budget: int, baseline: int) -> float:
    """What the counts and the learner may hold together under ``budget``."""
    return budget * (1 - SLACK) - baseline - READER_BYTES


def least_budget(baseline: int, need: float) -> int:
    """The least budget that leaves ``need`` bytes besides what this process holds."""
    return int((baseline + READER_BYTES + need) / (1 - SLACK)) + 1
