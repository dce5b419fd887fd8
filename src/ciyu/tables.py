"""Tables of strings with counts, kept as numpy arrays: the partial results of the passes
over a corpus (see :mod:`ciyu.passes`).

A :class:`StringCounts` holds strings of any length with ``int64`` counts, one sorted table
per length ``k``: a fixed-width unicode array (dtype ``<Uk``, so a key *is* the string)
and the counts, as :class:`ciyu.counts.NgramCounts` keeps each order. So tables made on
separate pieces of a corpus merge exactly (:meth:`StringCounts.merge`), in any order and
any grouping, into the same arrays: the result of a pass does not depend on how the
corpus was cut. A table is split into shards by a hash of its keys that is the same in
every process (:func:`stable_hash`), so that a merge can be spread over several machines
with no machine holding the whole table.

>>> a = StringCounts.from_items(["中文", "分词", "中文"])
>>> b = StringCounts.from_items(["中文", "的"], [5, 1])
>>> sorted(a.merge(b).items())
[('中文', 7), ('分词', 1), ('的', 1)]
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Keys = npt.NDArray[np.str_]
Counts = npt.NDArray[np.int64]

#: Multiplier of the polynomial hash of :func:`stable_hash` (odd, 64 bits).
_HASH_MULTIPLIER = 0x9E3779B97F4A7C15


def merge_tables(a: tuple[Keys, Counts], b: tuple[Keys, Counts]) -> tuple[Keys, Counts]:
    """Add two sorted count tables of the same key width (neither is modified).

    The smaller table is merged into the larger by binary search: its keys found there add
    their counts, the others are placed between the larger table's keys. This needs no
    sort, and besides the result only a mask of its size and index arrays of the smaller
    table's size (see :func:`ciyu._memory.merge_bytes_per_entry`).
    """
    if len(a[0]) < len(b[0]):
        a, b = b, a
    if len(b[0]) == 0:
        return a
    a_keys, a_counts = a
    b_keys, b_counts = b
    idx = np.searchsorted(a_keys, b_keys)
    found = a_keys[np.minimum(idx, len(a_keys) - 1)] == b_keys
    new = ~found
    where = idx[new]  # b's new keys go before these positions of a (non-decreasing)
    n_new = len(where)
    # position of each new key in the result, and of each of a's keys (the rest)
    at_new = where + np.arange(n_new, dtype=where.dtype)
    is_a = np.ones(len(a_keys) + n_new, dtype=bool)
    is_a[at_new] = False
    keys = np.empty(len(is_a), dtype=a_keys.dtype)
    keys[is_a] = a_keys
    keys[at_new] = b_keys[new]
    counts = np.empty(len(is_a), dtype=np.int64)
    counts[is_a] = a_counts
    counts[at_new] = b_counts[new]
    del is_a, at_new
    # b's keys found in a: a's key i moved right by the new keys placed before it
    hit = idx[found]
    counts[hit + np.searchsorted(where, hit, side="right")] += b_counts[found]
    return keys, counts


def sum_by_key(keys: Keys, counts: Counts) -> tuple[Keys, Counts]:
    """The distinct keys of ``keys`` (sorted) and the sum of the ``counts`` of each, in
    exact integer arithmetic."""
    if len(keys) == 0:
        return keys.copy(), np.empty(0, dtype=np.int64)
    order = np.argsort(keys, kind="stable")
    keys = keys[order]
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts], np.add.reduceat(np.asarray(counts, dtype=np.int64)[order], starts)


def stable_hash(keys: Keys) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each string of a ``<Uk`` array, the same in every process and on
    every machine (unlike :func:`hash`): a polynomial over the code points, then the
    SplitMix64 finaliser so that every bit depends on every code point."""
    k = keys.dtype.itemsize // 4
    n = len(keys)
    if n == 0:
        return np.empty(0, dtype=np.uint64)
    codes = np.ascontiguousarray(keys).view(np.uint32).reshape(n, k).astype(np.uint64)
    powers = np.ones(k, dtype=np.uint64)
    if k > 1:
        powers[1:] = _HASH_MULTIPLIER
        powers = np.cumprod(powers, dtype=np.uint64)  # wraps modulo 2**64
    h = codes @ powers[::-1].copy() + np.uint64(k)
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return h


def shard_of(keys: Keys, n: int) -> npt.NDArray[np.int64]:
    """The shard (``0 .. n-1``) of each key of a ``<Uk`` array, by :func:`stable_hash`."""
    if n <= 1:
        return np.zeros(len(keys), dtype=np.int64)
    return (stable_hash(keys) % np.uint64(n)).astype(np.int64)


@dataclass
class StringCounts:
    """Strings with counts, one sorted table per length (see the module documentation).

    Attributes:
        tables: length ``k`` → ``(keys, counts)``: the distinct strings of length ``k`` as
            a sorted ``<Uk`` array, and their counts (``int64``, positive). No empty
            string, and no string that ends with U+0000 (numpy strips it).
    """

    tables: dict[int, tuple[Keys, Counts]] = field(default_factory=dict)

    @classmethod
    def from_items(
        cls, strings: Sequence[str], counts: Sequence[int] | Counts | None = None
    ) -> StringCounts:
        """The table of ``strings`` (which may repeat: their counts add up), each counted
        ``counts[i]`` times (once by default). Empty strings are left out."""
        n = len(strings)
        if n == 0:
            return cls()
        weights = (
            np.ones(n, dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
        )
        lengths = np.fromiter(map(len, strings), dtype=np.int64, count=n)
        order = np.argsort(lengths, kind="stable")
        lengths = lengths[order]
        objects = np.empty(n, dtype=object)
        objects[:] = strings
        bounds = [0, *(np.flatnonzero(np.diff(lengths)) + 1).tolist(), n]
        tables: dict[int, tuple[Keys, Counts]] = {}
        for lo, hi in itertools.pairwise(bounds):
            k = int(lengths[lo])
            if k == 0:
                continue
            idx = order[lo:hi]
            keys = objects[idx].astype(f"<U{k}")
            tables[k] = sum_by_key(keys, weights[idx])
        return cls(tables)

    @classmethod
    def from_mapping(cls, items: Mapping[str, int]) -> StringCounts:
        """The table of a mapping string → count."""
        return cls.from_items(list(items), list(items.values()))

    # --- access -------------------------------------------------------------------------
    def __len__(self) -> int:
        return sum(len(keys) for keys, _ in self.tables.values())

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays, in bytes."""
        return sum(keys.nbytes + counts.nbytes for keys, counts in self.tables.values())

    def total(self) -> int:
        """The sum of the counts."""
        return sum(int(counts.sum()) for _, counts in self.tables.values())

    def chars(self) -> int:
        """The characters of all the strings, each counted as often as it is counted."""
        return sum(k * int(counts.sum()) for k, (_, counts) in self.tables.items())

    def distinct_chars(self) -> int:
        """The characters of the distinct strings."""
        return sum(k * len(keys) for k, (keys, _) in self.tables.items())

    def items(self) -> Iterator[tuple[str, int]]:
        """``(string, count)``, by length, then in code point order."""
        for k in sorted(self.tables):
            keys, counts = self.tables[k]
            yield from zip(keys.tolist(), counts.tolist(), strict=True)

    def to_dict(self) -> dict[str, int]:
        """The table as a dict string → count (by length, then in code point order)."""
        out: dict[str, int] = {}
        for k in sorted(self.tables):
            keys, counts = self.tables[k]
            out.update(zip(keys.tolist(), counts.tolist(), strict=True))
        return out

    def strings(self) -> tuple[list[str], Counts]:
        """The strings (by length, then in code point order) and their counts."""
        words: list[str] = []
        parts: list[Counts] = []
        for k in sorted(self.tables):
            keys, counts = self.tables[k]
            words.extend(keys.tolist())
            parts.append(counts)
        weights = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
        return words, weights

    # --- algebra ------------------------------------------------------------------------
    def merge(self, other: StringCounts) -> StringCounts:
        """The sum of two tables (neither is modified)."""
        tables = dict(self.tables)
        for k, table in other.tables.items():
            tables[k] = merge_tables(tables[k], table) if k in tables else table
        return StringCounts(tables)

    def absorb(self, other: StringCounts) -> None:
        """Add ``other`` into this table in place; ``other`` is emptied."""
        theirs, other.tables = other.tables, {}
        for k in list(theirs):
            table = theirs.pop(k)
            self.tables[k] = merge_tables(self.tables[k], table) if k in self.tables else table

    def prune(self, min_count: int) -> StringCounts:
        """The strings counted at least ``min_count`` times."""
        tables = {}
        for k, (keys, counts) in self.tables.items():
            keep = counts >= min_count
            if keep.any():
                tables[k] = (keys[keep], counts[keep])
        return StringCounts(tables)

    def shard(self, n: int) -> list[StringCounts]:
        """Split into ``n`` tables by :func:`shard_of` of the strings: the shards of two
        tables hold the same strings at the same index, so that shard ``i`` of a merge is
        the merge of the shards ``i``."""
        shards = [StringCounts() for _ in range(n)]
        for k, (keys, counts) in self.tables.items():
            where = shard_of(keys, n)
            for i, shard in enumerate(shards):
                mask = where == i
                if mask.any():
                    shard.tables[k] = (keys[mask], counts[mask])
        return shards

    def slices(self, max_chars: int) -> Iterator[StringCounts]:
        """Consecutive pieces of the table (by length, then in code point order), each of
        about ``max_chars`` characters of distinct strings (a string longer than that is a
        piece of its own)."""
        piece: dict[int, tuple[Keys, Counts]] = {}
        size = 0
        for k in sorted(self.tables):
            keys, counts = self.tables[k]
            start = 0
            while start < len(keys):
                rows = max(1, -(-(max_chars - size) // k))  # enough to reach max_chars
                stop = min(len(keys), start + rows)
                piece[k] = (keys[start:stop], counts[start:stop])
                size += k * (stop - start)
                start = stop
                if size >= max_chars:
                    yield StringCounts(piece)
                    piece, size = {}, 0
        if piece:
            yield StringCounts(piece)

    # --- arrays -------------------------------------------------------------------------
    def to_arrays(self, prefix: str = "") -> dict[str, npt.NDArray[np.generic]]:
        """The arrays of the table, named ``{prefix}keys_{k}`` and ``{prefix}counts_{k}``."""
        out: dict[str, npt.NDArray[np.generic]] = {}
        for k in sorted(self.tables):
            keys, counts = self.tables[k]
            out[f"{prefix}keys_{k}"] = keys
            out[f"{prefix}counts_{k}"] = counts
        return out

    @classmethod
    def from_arrays(
        cls, arrays: Mapping[str, npt.NDArray[np.generic]], prefix: str = ""
    ) -> StringCounts:
        """The table saved by :meth:`to_arrays` (validated: sorted distinct keys of the
        right width, positive counts).

        Raises:
            ValueError: if the arrays are not such a table.
        """
        tables: dict[int, tuple[Keys, Counts]] = {}
        head = f"{prefix}keys_"
        for name, array in arrays.items():
            if not name.startswith(head) or not name[len(head) :].isdigit():
                continue
            k = int(name[len(head) :])
            keys: Keys = np.asarray(array)
            counts: Counts | None = arrays.get(f"{prefix}counts_{k}")  # type: ignore[assignment]
            if (
                k < 1
                or counts is None
                or keys.dtype != np.dtype(f"<U{k}")
                or counts.dtype != np.int64
                or keys.shape != counts.shape
                or keys.ndim != 1
            ):
                raise ValueError(f"bad string table of length {k}")
            if len(keys) > 1 and not bool(np.all(keys[1:] > keys[:-1])):
                raise ValueError(f"the strings of length {k} are not sorted and distinct")
            if len(counts) and int(counts.min()) < 1:
                raise ValueError(f"a string of length {k} has a count below 1")
            tables[k] = (keys, counts)
        return cls(tables)


def concat_strings(parts: Iterable[StringCounts]) -> StringCounts:
    """The union of tables that hold no string in common (the shards of one table)."""
    out = StringCounts()
    for part in parts:
        out.absorb(part)
    return out
