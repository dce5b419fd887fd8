"""Character n-gram counts: count, merge, prune, save and load.

Counts are kept per order ``k`` as two parallel numpy arrays: the distinct n-grams as a
sorted fixed-width unicode array (dtype ``<Uk``, so a key *is* the string) and their
``int64`` counts. N-grams never cross a fragment boundary (see :mod:`ciyu.text`):
occurrences are counted overlapping, inside learnable runs only.

Counting is a map-reduce, the first pass over a corpus (:class:`CountPass`, see
:mod:`ciyu.passes`): :func:`count_chunk` turns one chunk of text into counts, and
:meth:`NgramCounts.merge` adds two count tables. Merging is exact, so counts made on
separate pieces of a corpus (by several processes, or machines) and merged equal the counts
of the whole corpus, as long as no memory-budget pruning happened. The same pass can also
collect the corpus's distinct fragments with their counts (BytePiece-style), the table
every later pass of a learner reads instead of the text. Under a memory budget
(``max_memory``, see :mod:`ciyu._memory`) the tables are measured as they grow, and when
they, the next chunk and the temporaries of merging would outgrow their room the rarest
n-grams of order 2 and up are dropped (lossy counting, with the floor read off the
histogram of counts; the floor never goes down) and the result is marked ``approximate``.

File format (``.npz``, version 1): a zip archive of ``.npy`` arrays (format 1.0 or 2.0),
stored uncompressed, loadable without pickle, and nothing else:

- ``meta``: a UTF-8 JSON object (at most :data:`MAX_META_BYTES` bytes, as a ``uint8``
  array) with ``format`` (``"ciyu-counts"``), ``version`` (1), ``order`` (1 to
  :data:`MAX_ORDER`), ``n_chars`` (0 to :data:`MAX_CHARS`), ``n_fragments`` (at most
  ``n_chars``, and 0 only if ``n_chars`` is), ``min_count`` (at least 1), ``approximate``
  (true or false) and ``prune_floor`` (at least 0), all whole numbers but ``approximate``;
- for every order ``k`` from 1 to ``order``, ``keys_k`` (1-D ``<Uk``: strings of exactly
  ``k`` code points, none 0 or a surrogate, strictly increasing) and ``counts_k`` (1-D
  ``<i8``, as long as ``keys_k``).

:meth:`NgramCounts.load` checks all of this, reads each array's header and compares the
declared size with the member's before allocating memory for it (so a file can never make
ciyu allocate more than its own size), relies on the zip's CRC-32 to detect damaged
bytes, and checks that the counts are consistent: the counts of order 1 add up to
``n_chars``; those of order ``k >= 2`` lie between ``min_count`` and ``n_chars`` and add up
to at most ``n_chars - n_fragments`` (the number of bigram windows); and the prefix and
the suffix of every n-gram are counted at least as often as the n-gram itself.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_write
from ._memory import (
    CountPlan,
    chunk_bytes_per_char,
    merge_bytes_per_entry,
    plan_count,
    return_freed_memory,
)
from ._untrusted import NpzReader, escape, load_json_object
from .errors import ConfigError, ModelFormatError
from .parallel import resolve_threads
from .passes import (
    Accumulator,
    Batch,
    LocalEngine,
    Message,
    Pass,
    RangeBatch,
    Stack,
    TextBatch,
)
from .reader import Corpus
from .tables import StringCounts, shard_of, sum_by_key
from .tables import merge_tables as _merge_tables
from .text import is_learnable, learnable_view

log = logging.getLogger("ciyu")

FORMAT = "ciyu-counts"
VERSION = 1
DEFAULT_ORDER = 6
DEFAULT_CHUNK_CHARS = 1 << 19
MAX_ORDER = 16
#: Largest ``n_chars`` a counts file may declare (2^53, the largest integer a float holds
#: exactly): counts are at most ``n_chars``, so the sums of the counts of up to 1024 files
#: fit in int64.
MAX_CHARS = 1 << 53
#: Largest metadata member of a counts file, in bytes.
MAX_META_BYTES = 1 << 16

Keys = npt.NDArray[np.str_]
Counts = npt.NDArray[np.int64]


def _empty_table(k: int) -> tuple[Keys, Counts]:
    return np.empty(0, dtype=f"<U{k}"), np.empty(0, dtype=np.int64)


def _as_codepoints(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def windows(codes: npt.NDArray[np.uint32], k: int) -> Keys:
    """All length-``k`` windows of ``codes`` that contain no 0 (fragment separator).

    ``codes`` is a code point array in which 0 separates fragments. Returns a ``<Uk``
    array, in text order.
    """
    if len(codes) < k:
        return np.empty(0, dtype=f"<U{k}")
    return _windows(codes, _run_lengths(codes), k)


def _run_lengths(codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.int32]:
    """For each position: how many non-zero code points end there without a 0 between
    (0 at a separator). A window of length ``k`` ending at ``i`` is valid iff
    ``run[i] >= k``. Kept in ``int32``: chunks are far below 2**31 characters."""
    pos = np.arange(len(codes), dtype=np.int32)
    last_zero = np.where(codes == 0, pos, np.int32(-1))
    np.maximum.accumulate(last_zero, out=last_zero)
    np.subtract(pos, last_zero, out=pos)
    return pos


def _windows(codes: npt.NDArray[np.uint32], run: npt.NDArray[np.int32], k: int) -> Keys:
    if len(codes) < k:
        return np.empty(0, dtype=f"<U{k}")
    valid = run[k - 1 :] >= k
    win = np.lib.stride_tricks.sliding_window_view(codes, k)[valid]
    return np.ascontiguousarray(win).view(f"<U{k}").ravel()


@dataclass
class NgramCounts:
    """Counts of character n-grams of orders ``1..order`` inside learnable fragments.

    Attributes:
        order: highest n-gram order counted.
        tables: ``tables[k-1]`` is ``(keys, counts)`` for order ``k``.
        n_chars: number of learnable characters seen (the normaliser ``N`` of the PMI
            formulas; unaffected by pruning).
        n_fragments: number of learnable fragments seen.
        min_count: n-grams of order >= 2 with a count below this were removed by
            :meth:`prune` (1 means nothing was removed).
        approximate: true if the memory budget forced lossy pruning while counting, so
            that counts may be slightly low and n-grams rarer than ``prune_floor`` missing.
        prune_floor: the largest lossy-pruning floor applied while counting (0 if none).
    """

    order: int
    tables: list[tuple[Keys, Counts]] = field(default_factory=list)
    n_chars: int = 0
    n_fragments: int = 0
    min_count: int = 1
    approximate: bool = False
    prune_floor: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.order <= MAX_ORDER:
            raise ConfigError(f"n-gram order must be between 1 and {MAX_ORDER}, got {self.order}")
        if not self.tables:
            self.tables = [_empty_table(k) for k in range(1, self.order + 1)]

    # --- access -------------------------------------------------------------------------
    def table(self, k: int) -> tuple[Keys, Counts]:
        """The ``(keys, counts)`` arrays of order ``k``."""
        return self.tables[k - 1]

    def lookup(self, k: int, keys: Keys) -> Counts:
        """Counts of the order-``k`` strings ``keys`` (0 where absent), vectorised."""
        tk, tc = self.tables[k - 1]
        if len(tk) == 0:
            return np.zeros(len(keys), dtype=np.int64)
        idx = np.searchsorted(tk, keys)
        idx_c = np.minimum(idx, len(tk) - 1)
        found = tk[idx_c] == keys
        return np.where(found, tc[idx_c], 0).astype(np.int64)

    def count(self, ngram: str) -> int:
        """Number of occurrences of ``ngram`` (0 if unseen or longer than ``order``)."""
        k = len(ngram)
        if not 1 <= k <= self.order:
            return 0
        return int(self.lookup(k, np.array([ngram], dtype=f"<U{k}"))[0])

    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self.tables)

    @property
    def nbytes(self) -> int:
        """Memory held by the count arrays, in bytes."""
        return sum(keys.nbytes + counts.nbytes for keys, counts in self.tables)

    def items(self, k: int) -> list[tuple[str, int]]:
        """The order-``k`` table as a list of ``(ngram, count)``, sorted by n-gram."""
        keys, counts = self.tables[k - 1]
        return list(zip(keys.tolist(), counts.tolist(), strict=True))

    # --- algebra ------------------------------------------------------------------------
    def merge(self, other: NgramCounts) -> NgramCounts:
        """Return the sum of two count tables (exact: counts of the union of the inputs)."""
        merged = dataclasses.replace(self, tables=list(self.tables))
        merged.absorb(dataclasses.replace(other, tables=list(other.tables)))
        return merged

    def absorb(self, other: NgramCounts) -> None:
        """Add ``other`` into these counts in place, one order at a time, releasing each of
        ``other``'s tables once merged: peak memory stays near the size of the result
        instead of twice it. ``other`` is emptied."""
        if other.order != self.order:
            raise ConfigError(
                f"cannot merge counts of order {self.order} and {other.order}; "
                "count both with the same --order"
            )
        for i in range(self.order):
            theirs = other.tables[i]
            other.tables[i] = _empty_table(i + 1)
            self.tables[i] = _merge_tables(self.tables[i], theirs)
            del theirs
        self.n_chars += other.n_chars
        self.n_fragments += other.n_fragments
        self.min_count = max(self.min_count, other.min_count)
        self.approximate = self.approximate or other.approximate
        self.prune_floor = max(self.prune_floor, other.prune_floor)

    def prune(self, min_count: int) -> NgramCounts:
        """Drop n-grams of order >= 2 seen fewer than ``min_count`` times.

        Single characters are always kept, so the alphabet and ``n_chars`` stay exact.
        """
        tables = [self.tables[0]]
        for keys, counts in self.tables[1:]:
            keep = counts >= min_count
            tables.append((keys[keep], counts[keep]))
        return NgramCounts(
            order=self.order,
            tables=tables,
            n_chars=self.n_chars,
            n_fragments=self.n_fragments,
            min_count=max(self.min_count, min_count),
            approximate=self.approximate,
            prune_floor=self.prune_floor,
        )

    def prune_in_place(self, min_count: int) -> None:
        """:meth:`prune` without a copy: one order's table at a time is replaced, so the
        temporaries are those of the largest order, not of all the tables."""
        for i in range(1, self.order):
            keys, counts = self.tables[i]
            keep = counts >= min_count
            if keep.all():
                continue
            self.tables[i] = (keys[keep], counts[keep])
            del keys, counts, keep
        self.min_count = max(self.min_count, min_count)

    def truncate(self, order: int) -> NgramCounts:
        """The same counts restricted to orders ``1..order``."""
        if order > self.order:
            raise ConfigError(
                f"these counts go up to order {self.order}; order {order} was asked for. "
                f"Recount with --order {order}"
            )
        return NgramCounts(
            order=order,
            tables=self.tables[:order],
            n_chars=self.n_chars,
            n_fragments=self.n_fragments,
            min_count=self.min_count,
            approximate=self.approximate,
            prune_floor=self.prune_floor,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NgramCounts):
            return NotImplemented
        return (
            self.order == other.order
            and self.n_chars == other.n_chars
            and self.n_fragments == other.n_fragments
            and all(
                np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
                for a, b in zip(self.tables, other.tables, strict=True)
            )
        )

    # --- files --------------------------------------------------------------------------
    def meta(self) -> dict[str, object]:
        """The metadata saved with the counts."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "order": self.order,
            "n_chars": self.n_chars,
            "n_fragments": self.n_fragments,
            "min_count": self.min_count,
            "approximate": self.approximate,
            "prune_floor": self.prune_floor,
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the counts to ``path`` atomically (format described in the module doc)."""
        arrays: dict[str, npt.NDArray[np.generic]] = {
            "meta": np.frombuffer(json.dumps(self.meta()).encode("utf-8"), dtype=np.uint8)
        }
        for k, (keys, counts) in enumerate(self.tables, 1):
            arrays[f"keys_{k}"] = keys
            arrays[f"counts_{k}"] = counts
        # written by hand rather than with np.savez, whose zip entries carry the current
        # time: the same counts must give the same bytes
        with atomic_write(path, "wb") as fh, zipfile.ZipFile(fh, "w") as archive:
            for name, array in arrays.items():
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                with archive.open(info, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, array, allow_pickle=False)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NgramCounts:
        """Read and validate counts written by :meth:`save`.

        Every declared size is checked before memory is allocated for it, and every value
        is checked (see the module doc), so a damaged or hostile file is reported, never
        half-loaded.

        Raises:
            ModelFormatError: naming the file and the first problem, if the file cannot be
                read, is not a ciyu counts file, is of another version, or is damaged.
        """
        name = os.fspath(path)
        shown = escape(name)
        try:
            # a pipe or device would block or fail to seek: refuse it before opening
            if not stat.S_ISREG(os.stat(name).st_mode) and not os.path.isdir(name):
                raise ModelFormatError(
                    f"{shown}: not a regular file (a pipe or device); save the counts to a "
                    "file and give its name"
                )
            with open(name, "rb") as fh:
                size = os.fstat(fh.fileno()).st_size
                if size == 0:
                    raise ModelFormatError(
                        f"{shown}: the file is empty, not a ciyu counts file; "
                        "create one with `ciyu count`"
                    )
                try:
                    with zipfile.ZipFile(fh) as archive:
                        return _read_counts(NpzReader(archive, size), shown)
                except _ZIP_ERRORS as exc:
                    raise ModelFormatError(
                        f"{shown}: not a ciyu counts file, or a damaged one "
                        f"({escape(str(exc)) or type(exc).__name__}); create it again with "
                        "`ciyu count`"
                    ) from None
        except FileNotFoundError:
            raise ModelFormatError(f"{shown}: no such counts file") from None
        except IsADirectoryError:
            raise ModelFormatError(f"{shown}: is a directory, not a counts file") from None
        except PermissionError:
            raise ModelFormatError(
                f"{shown}: permission denied; check the file's permissions"
            ) from None
        except OSError as exc:
            raise ModelFormatError(
                f"{shown}: cannot read the counts file ({escape(exc.strerror or str(exc))}); "
                "it must be a regular file"
            ) from None


# What reading a damaged zip archive can raise besides ValueError and ModelFormatError
# (zipfile parses headers with struct and trusts their fields).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    EOFError,
    ValueError,
    KeyError,
    NotImplementedError,
    RuntimeError,
    OverflowError,
    struct.error,
    zlib.error,
    OSError,  # e.g. a seek to a negative offset read from a damaged header
)


def _meta_int(meta: dict[str, object], key: str, low: int, high: int) -> int:
    value = meta.get(key)
    if type(value) is not int or not low <= value <= high:
        raise ModelFormatError(
            f"metadata field {key!r} must be a whole number from {low} to {high}, "
            f"got {escape(json.dumps(value))[:80]}"
        )
    return value


def _codepoints_valid(keys: Keys) -> bool:
    """No NUL (numpy drops trailing NULs, which would shorten a key), no surrogate, no
    value beyond U+10FFFF."""
    codes = keys.view(np.uint32)
    if len(codes) == 0:
        return True
    return not bool(
        np.any((codes == 0) | ((codes >= 0xD800) & (codes <= 0xDFFF)) | (codes > 0x10FFFF))
    )


def _sum(counts: Counts) -> int:
    """The exact sum of positive counts, or ``MAX_CHARS + 1`` if it is larger than
    :data:`MAX_CHARS` (so that nothing overflows int64)."""
    if float(counts.sum(dtype=np.float64)) > 2 * MAX_CHARS:
        return MAX_CHARS + 1
    return min(int(counts.sum()), MAX_CHARS + 1)


def _substrings_counted(keys: Keys, counts: Counts, shorter: tuple[Keys, Counts], k: int) -> bool:
    """True if the prefix and the suffix of every order-``k`` key are keys of order
    ``k - 1`` counted at least as often (so, by induction, every substring is)."""
    if len(keys) == 0:
        return True
    s_keys, s_counts = shorter
    if len(s_keys) == 0:
        return False
    codes = keys.view(np.uint32).reshape(len(keys), k)
    for part in (codes[:, : k - 1], codes[:, 1:]):
        sub = np.ascontiguousarray(part).view(f"<U{k - 1}").ravel()
        idx = np.minimum(np.searchsorted(s_keys, sub), len(s_keys) - 1)
        if not (np.all(s_keys[idx] == sub) and np.all(s_counts[idx] >= counts)):
            return False
    return True


def _read_counts(npz: NpzReader, shown: str) -> NgramCounts:
    """Read and validate the arrays of a counts archive (see the module doc)."""
    try:
        raw = npz.array("meta.npy", "|u1", max_items=MAX_META_BYTES)
        text = bytes(raw).decode("utf-8")
        meta = load_json_object(text, MAX_META_BYTES)
    except KeyError:
        raise ModelFormatError(
            f"{shown}: not a ciyu counts file (no metadata); create one with `ciyu count`"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ModelFormatError(f"{shown}: counts file has no readable metadata ({exc})") from None
    if meta.get("format") != FORMAT:
        raise ModelFormatError(
            f"{shown}: not a ciyu counts file "
            f"(format={escape(json.dumps(meta.get('format')))[:80]})"
        )
    if meta.get("version") != VERSION or type(meta.get("version")) is not int:
        raise ModelFormatError(
            f"{shown}: counts format version {escape(json.dumps(meta.get('version')))[:80]} "
            f"is not supported by this ciyu (version {VERSION}); recount with this version"
        )
    try:
        order = _meta_int(meta, "order", 1, MAX_ORDER)
        n_chars = _meta_int(meta, "n_chars", 0, MAX_CHARS)
        n_fragments = _meta_int(meta, "n_fragments", 0, n_chars)
        min_count = _meta_int(meta, "min_count", 1, MAX_CHARS + 1)
        prune_floor = _meta_int(meta, "prune_floor", 0, MAX_CHARS + 1)
    except ModelFormatError as exc:
        raise ModelFormatError(f"{shown}: {exc}; create the file again with `ciyu count`") from None
    approximate = meta.get("approximate")
    if not isinstance(approximate, bool):
        raise ModelFormatError(f"{shown}: metadata field 'approximate' must be true or false")
    if (n_chars == 0) != (n_fragments == 0):
        raise ModelFormatError(
            f"{shown}: metadata counts {n_chars} characters in {n_fragments} fragments"
        )
    expected = {"meta.npy"}
    expected |= {f"{a}_{k}.npy" for k in range(1, order + 1) for a in ("keys", "counts")}
    unexpected = sorted(set(npz.archive.namelist()) - expected)
    if unexpected:
        raise ModelFormatError(
            f"{shown}: unexpected member {escape(unexpected[0])[:80]} in a counts file of "
            f"order {order}"
        )
    tables: list[tuple[Keys, Counts]] = []
    for k in range(1, order + 1):
        problem = f"{shown}: order {k}"
        try:
            keys = npz.array(f"keys_{k}.npy", f"<U{k}")
            counts = npz.array(f"counts_{k}.npy", "<i8", max_items=len(keys))
        except KeyError:
            raise ModelFormatError(f"{problem} is missing") from None
        except ValueError as exc:
            raise ModelFormatError(f"{problem}: {exc}") from None
        if len(keys) != len(counts):
            raise ModelFormatError(f"{problem} has {len(keys)} keys but {len(counts)} counts")
        if not _codepoints_valid(keys):
            raise ModelFormatError(f"{problem} has keys with invalid characters (NUL, surrogates)")
        if len(keys) > 1 and not np.all(keys[1:] > keys[:-1]):
            raise ModelFormatError(f"{problem} keys are not sorted and unique")
        floor = 1 if k == 1 else min_count
        if len(counts) and (counts.min() < floor or counts.max() > n_chars):
            raise ModelFormatError(
                f"{problem} has counts outside {floor}..{n_chars} (the number of characters)"
            )
        total = _sum(counts)
        if k == 1 and total != n_chars:
            raise ModelFormatError(
                f"{problem}: the characters are counted {total} times, but the metadata says "
                f"{n_chars}"
            )
        if k > 1 and total > n_chars - n_fragments:
            raise ModelFormatError(
                f"{problem} counts more n-grams ({total}) than the text has "
                f"({n_chars} characters in {n_fragments} fragments)"
            )
        if k > 1 and not _substrings_counted(keys, counts, tables[-1], k):
            raise ModelFormatError(
                f"{problem} has an n-gram whose prefix or suffix is missing from order {k - 1} "
                "or counted fewer times"
            )
        tables.append((keys, counts))
    return NgramCounts(
        order=order,
        tables=tables,
        n_chars=n_chars,
        n_fragments=n_fragments,
        min_count=min_count,
        approximate=approximate,
        prune_floor=prune_floor,
    )


def count_chunk(texts: Iterable[str], order: int = DEFAULT_ORDER) -> NgramCounts:
    """Count the n-grams of one chunk of text (the *map* step).

    Each string is cut into learnable fragments by the rule layer; n-grams never span two
    strings or two fragments.
    """
    return _count_codes(_chunk_codes(texts), order)


def count_chunk_and_fragments(
    texts: Iterable[str], order: int = DEFAULT_ORDER
) -> tuple[NgramCounts, StringCounts]:
    """:func:`count_chunk`, and the distinct fragments of the chunk with their counts."""
    codes = _chunk_codes(texts)
    return _count_codes(codes, order), _fragment_table(codes)


def _chunk_codes(texts: Iterable[str]) -> npt.NDArray[np.uint32]:
    """The learnable views of ``texts`` as one code point array, 0 between fragments (and
    at both ends)."""
    views = [""]
    views.extend(learnable_view(t) for t in texts)
    views.append("")
    joined = "\0".join(views)
    del views
    return _as_codepoints(joined)


def _count_codes(codes: npt.NDArray[np.uint32], order: int) -> NgramCounts:
    """Count the n-grams of a code point array in which 0 separates fragments (and which
    starts and ends with 0). Sorts each order's windows in place and cuts the distinct
    keys out of them: the peak is about ``chunk_bytes_per_char`` bytes a character."""
    run = _run_lengths(codes)
    n_chars = int(np.count_nonzero(run))
    n_fragments = int(np.count_nonzero(run == 1))
    tables = []
    for k in range(1, order + 1):
        keys = _windows(codes, run, k)
        if len(keys) == 0:
            tables.append(_empty_table(k))
            continue
        keys.sort()
        first = np.empty(len(keys), dtype=bool)
        first[0] = True
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        del first
        counts = np.diff(starts, append=len(keys)).astype(np.int64, copy=False)
        tables.append((keys[starts], counts))
        del keys, starts
    return NgramCounts(order=order, tables=tables, n_chars=n_chars, n_fragments=n_fragments)


def _fragment_table(codes: npt.NDArray[np.uint32]) -> StringCounts:
    """The distinct fragments of a code point array in which 0 separates fragments (and
    which starts and ends with 0), with how often each occurs."""
    run = _run_lengths(codes)
    ends = np.flatnonzero((run[:-1] > 0) & (run[1:] == 0))  # the last character of each
    lengths = run[ends]
    order = np.argsort(lengths, kind="stable")
    ends, lengths = ends[order], lengths[order]
    bounds = [0, *(np.flatnonzero(np.diff(lengths)) + 1).tolist(), len(lengths)]
    table = StringCounts()
    for lo, hi in itertools.pairwise(bounds):
        if lo == hi:
            continue
        k = int(lengths[lo])
        starts = ends[lo:hi] - (k - 1)
        rows = codes[starts[:, None] + np.arange(k)]
        keys = np.ascontiguousarray(rows).view(f"<U{k}").ravel()
        table.tables[k] = sum_by_key(keys, np.ones(len(keys), dtype=np.int64))
    return table


#: Without a memory budget, worker processes read plain files in pieces of this size and
#: send back the merged counts of each piece.
RANGE_BYTES = 4 << 20
#: Texts longer than this (or than the chunk size, if larger) are split: see :func:`split_long`.
SPLIT_MIN_CHARS = 1 << 12
# Safe places to split a text: after whitespace or CJK sentence and clause punctuation
# (。，、；：！？) that is followed by a learnable character. None of these characters is part of
# a number, an atom or a mark sequence, and a learnable run starts after them whatever came
# before, so both halves cut into exactly the fragments the whole text has.
_SAFE_BEFORE = frozenset(" \t\u3000\u3001\u3002\uff0c\uff1b\uff1a\uff01\uff1f")


def split_long(text: str, max_chars: int) -> Iterator[str]:
    """Cut ``text`` into pieces of at most ``max_chars`` characters (for ``max_chars``
    of at least 16).

    Each cut is made at the last safe place in the second half of a piece: after a space
    or CJK punctuation, before a learnable character; there the pieces have exactly the
    fragments of the whole. Where the second half has no safe place (a learnable run of
    more than ``max_chars / 2`` characters), the cut is made at ``max_chars``: the n-grams
    across it are lost, as they are at the reader's 1 MiB pieces.
    """
    start = 0
    n = len(text)
    while n - start > max_chars:
        end = start + max_chars
        cut = end
        for i in range(end - 1, start + max_chars // 2, -1):
            if text[i - 1] in _SAFE_BEFORE and is_learnable(text[i]):
                cut = i
                break
        yield text[start:cut]
        start = cut
    yield text[start:] if start else text


def chunked(texts: Iterable[str], chunk_chars: int) -> Iterator[list[str]]:
    """Group a stream of strings into lists of at most ``chunk_chars`` characters, each
    string counted with one more for its separator (a longer string makes a list of its
    own). Empty strings count too: a file of empty lines still comes in bounded lists."""
    buf: list[str] = []
    size = 0
    for text in texts:
        cost = len(text) + 1
        if buf and size + cost > chunk_chars:
            yield buf
            buf, size = [], 0
        buf.append(text)
        size += cost
    if buf:
        yield buf


def _entries(parts: Iterable[NgramCounts], order: int) -> list[int]:
    """Entries of each order (index ``k - 1``) over ``parts``."""
    totals = [0] * order
    for part in parts:
        for i, (keys, _) in enumerate(part.tables):
            totals[i] += len(keys)
    return totals


def merge_reserve(entries: list[int]) -> int:
    """Temporaries of merging tables holding ``entries[k-1]`` entries of order ``k`` into
    one (orders are merged one at a time, so the largest order's cost is the reserve)."""
    return max((merge_bytes_per_entry(k) * n for k, n in enumerate(entries, 1)), default=0)


class _Accumulator:
    """Merges chunk counts in a size-balanced way and keeps them within ``table_bytes``.

    Partial tables are kept on a stack and merged while the newest is at least half the
    size of the one below it, so that each n-gram is re-merged O(log chunks) times instead
    of once per chunk.

    With a budget, the tables, the next chunk's tables at their largest (every window of
    ``chunk_chars`` characters distinct), and the larger of counting that chunk in this
    process and merging everything, must fit in ``table_bytes``; sizes are those of the
    arrays, exact. (The same whether chunks are counted here or by workers, so that the
    pruning, and the counts, do not depend on the number of workers.) When they would
    not, the stack is merged into one table and the n-grams of order 2 and up seen fewer
    than a *floor* are dropped (lossy counting): the floor is the least that leaves a
    quarter of the room free, read off the histogram of counts, and it never goes down.
    Merging before pruning keeps an n-gram frequent overall but rare in each chunk. The
    result is then marked ``approximate``.
    """

    def __init__(
        self,
        order: int,
        table_bytes: int | None = None,
        chunk_chars: int = DEFAULT_CHUNK_CHARS,
    ) -> None:
        self.order = order
        self.table_bytes = table_bytes
        self.stack: list[NgramCounts] = []
        self.floor = 0
        self.chunk_chars = chunk_chars
        k = np.arange(1, order + 1)
        self.entry_bytes = 4 * k + 8
        self.merge_bytes = np.array([merge_bytes_per_entry(i) for i in k.tolist()])
        # the next chunk: its tables at their largest, and counting it in this process
        self.next_entries = np.full(order, chunk_chars, dtype=np.int64)
        self.counting = chunk_bytes_per_char(order) * chunk_chars

    def need(self, entries: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Peak bytes with tables of ``entries`` held (``entries[k-1]``: entries of order
        ``k``; more columns for several cases at once) and the next chunk to come."""
        ahead = np.asarray(entries, dtype=np.int64).T + self.next_entries
        tables = ahead @ self.entry_bytes
        reserve = (ahead * self.merge_bytes).max(axis=-1)
        return tables + np.maximum(self.counting, reserve)  # type: ignore[no-any-return]

    def add(self, part: NgramCounts) -> None:
        """Push the counts of one chunk, merging and pruning as needed."""
        self.stack.append(part)
        while len(self.stack) > 1 and 2 * len(self.stack[-1]) >= len(self.stack[-2]):
            top = self.stack.pop()
            self.stack[-1].absorb(top)
        if self.table_bytes is not None and self.need(_entries(self.stack, self.order)) > (
            self.table_bytes
        ):
            self._prune()

    def _collapse(self) -> NgramCounts:
        """Merge the stack into one table (the largest absorbs the others)."""
        parts, self.stack = self.stack, []
        total = parts[0]
        for part in parts[1:]:
            total.absorb(part)
        return total

    def _prune(self) -> None:
        assert self.table_bytes is not None
        total = self._collapse()
        self.stack = [total]
        # kept[k-1][t]: entries of order k with a count of at least t (t capped)
        cap = 1 << 12
        kept = np.zeros((self.order, cap + 1), dtype=np.int64)
        kept[0] = len(total.tables[0][0])  # single characters are always kept
        for i in range(1, self.order):
            counts = total.tables[i][1]
            hist = np.zeros(cap + 1, dtype=np.int64)
            for lo in range(0, len(counts), 1 << 16):  # small temporaries
                hist += np.bincount(np.minimum(counts[lo : lo + (1 << 16)], cap), minlength=cap + 1)
            kept[i] = np.cumsum(hist[::-1])[::-1]
        need = self.need(kept)
        start = max(self.floor, 2)
        fits = np.flatnonzero(need[start:] <= 0.75 * self.table_bytes)
        floor = start + int(fits[0]) if len(fits) else cap
        if need[floor] > self.table_bytes:
            log.warning(
                "the memory budget is too small for these counts: even the n-grams seen "
                "%d times or more do not fit; raise --max-memory",
                floor,
            )
        self.floor = max(self.floor, floor)
        log.info("memory budget reached: dropping n-grams seen fewer than %d times", self.floor)
        total.prune_in_place(self.floor)
        total.approximate = True
        total.prune_floor = self.floor

    def result(self, min_count: int = 1) -> NgramCounts:
        """Merge everything pushed so far into one table, one order at a time; n-grams of
        order 2 and up seen fewer than ``min_count`` times in all are dropped as each order
        is merged, so the full table of an order never coexists with the others' unpruned."""
        total = NgramCounts(order=self.order)
        parts, self.stack = self.stack, []
        for i in range(self.order):
            table = _empty_table(i + 1)
            for part in reversed(parts):  # newest (smallest) first, the largest last
                theirs = part.tables[i]
                part.tables[i] = _empty_table(i + 1)
                table = _merge_tables(table, theirs)
                del theirs
            if i > 0 and min_count > 1:
                keep = table[1] >= min_count
                table = (table[0][keep], table[1][keep])
                del keep
            total.tables[i] = table
        for part in parts:
            total.n_chars += part.n_chars
            total.n_fragments += part.n_fragments
            total.approximate = total.approximate or part.approximate
            total.prune_floor = max(total.prune_floor, part.prune_floor)
        total.min_count = max(min_count, 1)
        return total


@dataclass
class Counted:
    """What the first pass over a corpus gives (:class:`CountPass`).

    Attributes:
        counts: the n-gram counts.
        table: the distinct fragments of the corpus with how often each occurs, when the
            pass was asked to collect them: a :class:`~ciyu.tables.StringCounts`, or
            where an engine keeps it (on a cluster) that engine's handle.
    """

    counts: NgramCounts
    table: Any = None


CountPartial = tuple[NgramCounts, StringCounts | None]


class _CountAccumulator:
    """Merges the partials of :class:`CountPass`: the counts as :class:`_Accumulator`
    does (within the count tables' room, pruning under a budget), the fragment tables on
    a :class:`~ciyu.passes.Stack`."""

    def __init__(self, job: CountPass) -> None:
        self.min_count = job.min_count
        self.counts = _Accumulator(job.order, job.table_bytes, job.chunk_chars)
        self.fragments: Stack[StringCounts] | None = None
        if job.fragments:
            self.fragments = Stack(_absorbed, lambda t: t.nbytes, StringCounts)

    def add(self, partial: CountPartial) -> None:
        counts, table = partial
        self.counts.add(counts)
        if self.fragments is not None and table is not None:
            self.fragments.add(table)

    def result(self) -> CountPartial:
        table = self.fragments.result() if self.fragments is not None else None
        return self.counts.result(self.min_count), table


def _absorbed(a: StringCounts, b: StringCounts) -> StringCounts:
    a.absorb(b)
    return a


class CountPass(Pass[CountPartial, Counted]):
    """Counting n-grams as a pass over the corpus (see :mod:`ciyu.passes`), and with
    ``fragments`` collecting the corpus's distinct fragments with their counts.

    Args:
        order: highest n-gram order.
        min_count: n-grams of order 2 and up seen fewer times than this in the whole
            corpus are dropped (after the global merge, never per batch).
        table_bytes: the room of the count tables while merging (see :class:`_Accumulator`).
        chunk_chars: characters per batch (for the accumulator's planning).
        fragments: also collect the table of distinct fragments.
    """

    kind = "count"

    def __init__(
        self,
        order: int,
        *,
        min_count: int = 1,
        table_bytes: int | None = None,
        chunk_chars: int = DEFAULT_CHUNK_CHARS,
        fragments: bool = False,
    ) -> None:
        self.order = order
        self.min_count = max(1, min_count)
        self.table_bytes = table_bytes
        self.chunk_chars = chunk_chars
        self.fragments = fragments

    def map(self, batch: Batch) -> CountPartial:
        if not isinstance(batch, TextBatch):
            raise TypeError("the count pass reads text")
        if self.fragments:
            return count_chunk_and_fragments(batch.texts, self.order)
        return count_chunk(batch.texts, self.order), None

    def merge(self, a: CountPartial, b: CountPartial) -> CountPartial:
        a[0].absorb(b[0])
        if a[1] is None:
            return a[0], b[1]
        if b[1] is not None:
            a[1].absorb(b[1])
        return a

    def empty(self) -> CountPartial:
        return NgramCounts(self.order), StringCounts() if self.fragments else None

    def accumulator(self) -> Accumulator[CountPartial]:
        return _CountAccumulator(self)

    def trim(self, merged: CountPartial) -> CountPartial:
        counts, table = merged
        if counts.min_count < self.min_count:
            counts.prune_in_place(self.min_count)
        return counts, table

    def finish(self, merged: CountPartial) -> Counted:
        return Counted(*merged)

    def chars(self, partial: CountPartial) -> int:
        return partial[0].n_chars

    def size(self, partial: CountPartial) -> int:
        return partial[0].nbytes + (partial[1].nbytes if partial[1] is not None else 0)

    def shard(self, partial: CountPartial, n: int) -> list[CountPartial]:
        counts, table = partial
        # the number of characters and fragments goes with the first shard only
        shards = [
            dataclasses.replace(counts, tables=[], n_chars=0, n_fragments=0) for _ in range(n)
        ]
        shards[0].n_chars, shards[0].n_fragments = counts.n_chars, counts.n_fragments
        for k, (keys, cnt) in enumerate(counts.tables):
            where = shard_of(keys, n)
            for i, shard in enumerate(shards):
                mask = where == i
                shard.tables[k] = (keys[mask], cnt[mask])
        tables: list[StringCounts | None] = (
            list(table.shard(n)) if table is not None else [None] * n
        )
        return list(zip(shards, tables, strict=True))

    def to_message(self, partial: CountPartial) -> Message:
        counts, table = partial
        arrays: dict[str, npt.NDArray[np.generic]] = {}
        for k, (keys, cnt) in enumerate(counts.tables, 1):
            arrays[f"keys_{k}"] = keys
            arrays[f"counts_{k}"] = cnt
        if table is not None:
            arrays.update(table.to_arrays("fragments."))
        return counts.meta() | {"with_fragments": table is not None}, arrays

    def from_message(self, meta: dict[str, Any], arrays: dict[str, Any]) -> CountPartial:
        order = int(meta["order"])
        if order != self.order:
            raise ValueError(f"counts of order {order}, not {self.order}")
        tables = []
        for k in range(1, order + 1):
            keys, cnt = arrays[f"keys_{k}"], arrays[f"counts_{k}"]
            if keys.dtype != np.dtype(f"<U{k}") or cnt.dtype != np.int64 or keys.shape != cnt.shape:
                raise ValueError(f"bad table of order {k}")
            tables.append((keys, cnt))
        counts = NgramCounts(
            order=order,
            tables=tables,
            n_chars=int(meta["n_chars"]),
            n_fragments=int(meta["n_fragments"]),
            min_count=int(meta["min_count"]),
            approximate=bool(meta["approximate"]),
            prune_floor=int(meta["prune_floor"]),
        )
        table = StringCounts.from_arrays(arrays, "fragments.") if meta["with_fragments"] else None
        return counts, table

    def state(self) -> Message:
        meta = {"order": self.order, "min_count": self.min_count, "fragments": self.fragments}
        return meta, {}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, Any]) -> CountPass:
        return cls(
            int(meta["order"]), min_count=int(meta["min_count"]), fragments=bool(meta["fragments"])
        )


class FragmentsPass(Pass[StringCounts, StringCounts]):
    """The distinct fragments of a corpus with their counts, as a pass of its own (when
    they were not collected while counting: counts given, or a memory budget)."""

    kind = "fragments"

    def map(self, batch: Batch) -> StringCounts:
        if not isinstance(batch, TextBatch):
            raise TypeError("the fragments pass reads text")
        return _fragment_table(_chunk_codes(batch.texts))

    def merge(self, a: StringCounts, b: StringCounts) -> StringCounts:
        return _absorbed(a, b)

    def empty(self) -> StringCounts:
        return StringCounts()

    def finish(self, merged: StringCounts) -> StringCounts:
        return merged

    def chars(self, partial: StringCounts) -> int:
        return partial.chars()

    def size(self, partial: StringCounts) -> int:
        return partial.nbytes

    def shard(self, partial: StringCounts, n: int) -> list[StringCounts]:
        return partial.shard(n)

    def to_message(self, partial: StringCounts) -> Message:
        return {}, partial.to_arrays()

    def from_message(self, meta: dict[str, Any], arrays: dict[str, Any]) -> StringCounts:
        return StringCounts.from_arrays(arrays)

    def state(self) -> Message:
        return {}, {}

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, Any]) -> FragmentsPass:
        return cls()


def text_batches(texts: Iterable[str], chunk_chars: int) -> Iterator[TextBatch]:
    """The batches of the first pass: texts cut where they are too long (see
    :func:`split_long`), in chunks of about ``chunk_chars`` characters."""
    split_at = max(chunk_chars, SPLIT_MIN_CHARS)
    pieces = (piece for text in texts for piece in split_long(text, split_at))
    return (TextBatch(chunk) for chunk in chunked(pieces, chunk_chars))


def count_ngrams(texts: Iterable[str], order: int = DEFAULT_ORDER, **options: Any) -> NgramCounts:
    """Count character n-grams of orders ``1..order`` over a stream of text: the counts
    of :func:`count_corpus`, which takes the same arguments (``fragments=True`` is
    accepted and its table dropped)."""
    return count_corpus(texts, order, **options).counts


def count_corpus(
    texts: Iterable[str],
    order: int = DEFAULT_ORDER,
    *,
    max_memory: int | None = None,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    progress: Callable[[int], None] | None = None,
    threads: int | None = 1,
    min_count: int = 1,
    table_bytes: int | None = None,
    plan: CountPlan | None = None,
    engine: LocalEngine | None = None,
    fragments: bool = False,
) -> Counted:
    """Count character n-grams of orders ``1..order`` over a stream of text.

    Args:
        texts: lines (or any strings) of text; consumed once, as a stream.
        order: highest n-gram order.
        max_memory: bound in bytes on the peak resident memory of this process and of
            the worker processes while counting (what this process already holds counts
            against it; see :mod:`ciyu._memory`): the number of workers, the chunk size
            and the room of the count tables follow from it, and rare n-grams are pruned
            to stay within it (see :class:`_Accumulator`). ``None`` means no budget.
        chunk_chars: characters per chunk handed to :func:`count_chunk` (without a budget).
        progress: called with the number of characters read after every chunk.
        threads: worker processes counting chunks (``None`` or 0: one per core). Chunks
            are merged in input order, so the result is the same for any value.
        min_count: drop n-grams of order 2 and up seen fewer times than this in the whole
            text (as :meth:`NgramCounts.prune`, but during the final merge, which keeps
            the peak memory lower).
        table_bytes: bound on the count tables alone (merge temporaries included), when
            no ``max_memory`` is given.
        plan: how to spend ``max_memory``, when the caller made the plan.
        engine: the engine whose workers count (default: one made for this call).
        fragments: also collect the table of the distinct fragments of the text with
            their counts, in the same pass (only without a memory budget, which does
            not plan for it).

    Returns:
        A :class:`Counted`: the merged :class:`NgramCounts`, and the fragments' table
        when asked for.

    Raises:
        ConfigError: if ``order`` is out of range.
        MemoryBudgetError: if ``max_memory`` is below what counting needs at least.
    """
    if order < 1 or order > MAX_ORDER:
        raise ConfigError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    workers = resolve_threads(threads)
    in_flight = None
    if max_memory is not None:
        plan = plan or plan_count(max_memory, order, workers)
    if plan is not None:
        if plan.workers < workers:
            log.info(
                "memory budget: counting with %s instead of %d (each worker is an "
                "interpreter of its own, about 40 MiB, with its chunks)",
                f"{plan.workers} worker processes" if plan.workers > 1 else "this process",
                workers,
            )
        workers, chunk_chars, table_bytes = plan.workers, plan.chunk_chars, plan.table_bytes
        in_flight = plan.in_flight
        fragments = False
    if max_memory is not None:
        return_freed_memory()
    chunk_chars = max(1, chunk_chars)
    job = CountPass(
        order,
        min_count=min_count,
        table_bytes=table_bytes,
        chunk_chars=chunk_chars,
        fragments=fragments,
    )
    own = engine is None
    runner = engine if engine is not None else LocalEngine(workers)
    batches: Iterable[Batch] = text_batches(texts, chunk_chars)
    if max_memory is None and workers > 1 and isinstance(texts, Corpus) and texts.files:
        # the workers read the files themselves, in pieces, and merge what they count
        from .ranges import file_ranges

        ranges = file_ranges([str(p) for p in texts.files], texts.errors, RANGE_BYTES)
        if len(ranges) > 1:
            batches = [RangeBatch(r, chunk_chars) for r in ranges]
    try:
        return runner.run(
            job,
            batches,
            progress=progress,
            workers=workers,
            in_flight=in_flight,
            budget=max_memory is not None,
        )
    finally:
        if own:
            runner.close()
