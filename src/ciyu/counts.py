"""Character n-gram counts: count, merge, prune, save and load.

Counts are kept per order ``k`` as two parallel numpy arrays: the distinct n-grams as a
sorted fixed-width unicode array (dtype ``<Uk``, so a key *is* the string) and their
``int64`` counts. N-grams never cross a fragment boundary (see :mod:`ciyu.text`):
occurrences are counted overlapping, inside learnable runs only.

Counting is a map-reduce: :func:`count_chunk` turns one chunk of text into counts, and
:meth:`NgramCounts.merge` adds two count tables. Merging is exact, so counts made on
separate pieces of a corpus (by several processes, or machines) and merged equal the counts
of the whole corpus, as long as no memory-budget pruning happened. When the tables outgrow
``max_memory`` the rarest n-grams of order 2 and up are dropped (lossy counting, with the
floor read off the histogram of counts so that half the allowance stays in use; the floor
never goes down) and the result is marked ``approximate``.

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
import functools
import json
import logging
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ._atomic import atomic_write
from ._untrusted import NpzReader, escape, load_json_object
from .errors import ConfigError, ModelFormatError
from .parallel import ordered_map
from .text import learnable_view

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


def _merge_tables(a: tuple[Keys, Counts], b: tuple[Keys, Counts]) -> tuple[Keys, Counts]:
    """Add two sorted count tables of the same order (neither is modified).

    The smaller table is merged into the larger by binary search: its keys found there add
    their counts, the others are inserted at their places. This needs no sort, and only
    the result and index arrays of the smaller table's size as temporaries.
    """
    if len(a[0]) < len(b[0]):
        a, b = b, a
    if len(b[0]) == 0:
        return a
    a_keys, a_counts = a
    b_keys, b_counts = b
    idx = np.searchsorted(a_keys, b_keys)
    found = a_keys[np.minimum(idx, len(a_keys) - 1)] == b_keys
    counts = a_counts.copy()
    counts[idx[found]] += b_counts[found]  # b's keys are distinct: no index repeats
    new = ~found
    where = idx[new]
    return np.insert(a_keys, where, b_keys[new]), np.insert(counts, where, b_counts[new])


def _as_codepoints(text: str) -> npt.NDArray[np.uint32]:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def windows(codes: npt.NDArray[np.uint32], k: int) -> Keys:
    """All length-``k`` windows of ``codes`` that contain no 0 (fragment separator).

    ``codes`` is a code point array in which 0 separates fragments. Returns a ``<Uk``
    array, in text order.
    """
    if len(codes) < k:
        return np.empty(0, dtype=f"<U{k}")
    sep = np.concatenate([[0], np.cumsum(codes == 0)])
    valid = sep[k:] - sep[:-k] == 0
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
    masked = "\0".join(learnable_view(t) for t in texts)
    codes = _as_codepoints("\0" + masked + "\0")
    nonzero = codes != 0
    n_chars = int(nonzero.sum())
    n_fragments = int(np.count_nonzero(nonzero[1:] & ~nonzero[:-1]))
    tables = []
    for k in range(1, order + 1):
        keys, counts = np.unique(windows(codes, k), return_counts=True)
        tables.append((keys, counts.astype(np.int64)))
    return NgramCounts(order=order, tables=tables, n_chars=n_chars, n_fragments=n_fragments)


def chunked(texts: Iterable[str], chunk_chars: int) -> Iterator[list[str]]:
    """Group a stream of strings into lists of about ``chunk_chars`` characters."""
    buf: list[str] = []
    size = 0
    for text in texts:
        buf.append(text)
        size += len(text)
        if size >= chunk_chars:
            yield buf
            buf, size = [], 0
    if buf:
        yield buf


class _Accumulator:
    """Merges chunk counts in a size-balanced way and enforces the memory budget.

    Partial tables are kept on a stack and merged while the newest is at least half the
    size of the one below it, so that each n-gram is re-sorted O(log chunks) times instead
    of once per chunk.
    """

    def __init__(self, order: int, max_memory: int | None) -> None:
        self.order = order
        self.max_memory = max_memory
        self.stack: list[NgramCounts] = []
        self.floor = 0

    def add(self, part: NgramCounts) -> None:
        """Push the counts of one chunk, merging and pruning as needed."""
        self.stack.append(part)
        while len(self.stack) > 1 and 2 * len(self.stack[-1]) >= len(self.stack[-2]):
            top = self.stack.pop()
            self.stack[-1].absorb(top)
        self._enforce_budget()

    def _enforce_budget(self) -> None:
        if self.max_memory is None:
            return
        # A quarter of the budget is left to the interpreter and the chunk being counted;
        # merging needs roughly twice the tables' size in temporaries.
        allowance = 0.75 * self.max_memory
        if sum(p.nbytes for p in self.stack) * 3 <= allowance:
            return
        # prune to half the allowance, so that counting can go on for a while: the floor
        # is the least count that brings the tables there (read off a histogram of
        # counts weighted by entry size), and it never goes down
        target = allowance / 6
        cap = 1 << 16
        weight = np.zeros(cap + 1)
        fixed = 0
        for part in self.stack:
            fixed += part.tables[0][0].nbytes + part.tables[0][1].nbytes
            for k, (_, counts) in enumerate(part.tables[1:], 2):
                weight += np.bincount(np.minimum(counts, cap), minlength=cap + 1) * float(4 * k + 8)
        # remaining[t] = bytes kept with floor t = entries with count >= t
        remaining = fixed + np.cumsum(weight[::-1])[::-1]
        fits = np.flatnonzero(remaining <= target)
        floor = int(fits[0]) if len(fits) else cap
        self.floor = max(self.floor + 1, floor, 2)
        log.info("memory budget reached: dropping n-grams seen fewer than %d times", self.floor)
        self.stack = [p.prune(self.floor) for p in self.stack]
        for p in self.stack:
            p.approximate = True
            p.prune_floor = self.floor

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


def count_ngrams(
    texts: Iterable[str],
    order: int = DEFAULT_ORDER,
    *,
    max_memory: int | None = None,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    progress: Callable[[int], None] | None = None,
    threads: int | None = 1,
    min_count: int = 1,
) -> NgramCounts:
    """Count character n-grams of orders ``1..order`` over a stream of text.

    Args:
        texts: lines (or any strings) of text; consumed once, as a stream.
        order: highest n-gram order.
        max_memory: budget in bytes for the count tables; when exceeded, rare n-grams are
            pruned (see the module doc). ``None`` means no budget.
        chunk_chars: characters per chunk handed to :func:`count_chunk`.
        progress: called with the number of characters read after every chunk.
        threads: worker processes counting chunks (``None`` or 0: one per core). Chunks
            are merged in input order, so the result is the same for any value.
        min_count: drop n-grams of order 2 and up seen fewer times than this in the whole
            text (as :meth:`NgramCounts.prune`, but during the final merge, which keeps
            the peak memory lower).

    Returns:
        The merged :class:`NgramCounts`.
    """
    if order < 1 or order > MAX_ORDER:
        raise ConfigError(f"--order must be between 1 and {MAX_ORDER}, got {order}")
    if max_memory is not None:
        # keep the per-chunk temporaries (about 12 * order bytes a character) within budget
        chunk_chars = max(1 << 12, min(chunk_chars, max_memory // (24 * order)))
    acc = _Accumulator(order, max_memory)
    seen = 0
    for part in ordered_map(
        functools.partial(count_chunk, order=order), chunked(texts, chunk_chars), threads
    ):
        acc.add(part)
        seen += part.n_chars
        if progress is not None:
            progress(seen)
    return acc.result(min_count)
