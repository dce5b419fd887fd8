"""Word statistics computed from n-gram counts: cohesion (min PMI) and boundary entropy.

All values are in nats.

*Cohesion* of a string ``s`` of length ``k >= 2`` is its weakest binary split:
``min_i ln( N·c(s) / (c(s[:i])·c(s[i:])) )``, with ``N`` the number of learnable
characters (one normaliser for every order, as in Su's formulation).

*Boundary entropy* ``H_R(s)`` is the entropy of the character that follows an occurrence of
``s``; ``H_L(s)`` of the one before it. Occurrences at a fragment edge (next to
punctuation, a space, a line end) have no neighbour character; each is counted as a
distinct neighbour of its own, so a string that often stands alone is *free*, and a string
seen once has entropy 0. With ``c(s) = C`` and neighbour counts ``c_x``:
``H = ln C − Σ_x c_x ln c_x / C`` (edge occurrences have ``c_x = 1`` and add nothing to
the sum). Both are exact when the ``(k+1)``-gram table is complete.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .counts import Keys, NgramCounts

Floats = npt.NDArray[np.float64]


def codes_of(keys: Keys) -> npt.NDArray[np.uint32]:
    """View a ``<Uk`` key array as an ``(n, k)`` array of code points (no copy)."""
    k = keys.dtype.itemsize // 4
    return keys.view(np.uint32).reshape(-1, k)


def as_keys(codes: npt.NDArray[np.uint32]) -> Keys:
    """Turn an ``(n, k)`` code point array into a ``<Uk`` key array."""
    k = codes.shape[1]
    return np.ascontiguousarray(codes).view(f"<U{k}").ravel()


def split_pmis(counts: NgramCounts, keys: Keys, key_counts: npt.NDArray[np.int64]) -> Floats:
    """PMI (nats) of every binary split of every key: shape ``(n, k-1)``.

    Splits whose parts are missing from the tables (pruned) get ``-inf``.
    """
    codes = codes_of(keys)
    n, k = codes.shape
    out = np.empty((n, max(k - 1, 0)), dtype=np.float64)
    log_n = np.log(max(counts.n_chars, 1))
    # a key missing from pruned counts has count 0: its splits come out as -inf - -inf
    # (nan) before the mask below sets them to -inf
    with np.errstate(divide="ignore", invalid="ignore"):
        log_c = np.log(key_counts.astype(np.float64))
        for i in range(1, k):
            left = counts.lookup(i, as_keys(codes[:, :i])).astype(np.float64)
            right = counts.lookup(k - i, as_keys(codes[:, i:])).astype(np.float64)
            pmi = log_n + log_c - np.log(left) - np.log(right)
            out[:, i - 1] = np.where((left > 0) & (right > 0), pmi, -np.inf)
    return out


def cohesion(counts: NgramCounts, keys: Keys) -> Floats:
    """Cohesion (min split PMI, nats) of each key; ``nan`` for single characters."""
    k = keys.dtype.itemsize // 4
    if k < 2:
        return np.full(len(keys), np.nan)
    kc = counts.lookup(k, keys)
    with np.errstate(divide="ignore"):
        result: Floats = split_pmis(counts, keys, kc).min(axis=1)
    return result


def _grouped_entropy(
    group_keys: Keys, neighbour_counts: npt.NDArray[np.int64]
) -> tuple[Keys, Floats]:
    """For sorted ``group_keys``: distinct keys and ``Σ c ln c`` of each group's counts."""
    if len(group_keys) == 0:
        return group_keys, np.empty(0)
    starts = np.flatnonzero(np.concatenate([[True], group_keys[1:] != group_keys[:-1]]))
    c = neighbour_counts.astype(np.float64)
    sums = np.add.reduceat(c * np.log(c), starts)
    return group_keys[starts], sums


def boundary_entropy(counts: NgramCounts, keys: Keys) -> tuple[Floats, Floats]:
    """Left and right boundary entropies (nats) of the order-``k`` strings ``keys``.

    Needs the order ``k+1`` table; returns ``nan`` when ``k >= counts.order``.
    """
    k = keys.dtype.itemsize // 4
    n = len(keys)
    if k >= counts.order or n == 0:
        return np.full(n, np.nan), np.full(n, np.nan)
    total = counts.lookup(k, keys).astype(np.float64)
    ext_keys, ext_counts = counts.table(k + 1)
    ext = codes_of(ext_keys)
    result = []
    for side in ("left", "right"):
        if side == "right":
            group = as_keys(ext[:, :k])  # already sorted: the table is sorted by prefix
            cnt = ext_counts
        else:
            group = as_keys(ext[:, 1:])
            order = np.argsort(group, kind="stable")
            group, cnt = group[order], ext_counts[order]
        gkeys, gsums = _grouped_entropy(group, cnt)
        idx = np.minimum(np.searchsorted(gkeys, keys), max(len(gkeys) - 1, 0))
        found = (gkeys[idx] == keys) if len(gkeys) else np.zeros(n, dtype=bool)
        s = np.where(found, gsums[idx] if len(gkeys) else 0.0, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = np.where(total > 0, np.log(total) - s / total, 0.0)
        result.append(np.maximum(h, 0.0))
    return result[0], result[1]


def entropy_of(neighbours: dict[str, int], total: int) -> float:
    """Boundary entropy from an explicit neighbour histogram (edge occurrences implied).

    ``total - sum(neighbours.values())`` occurrences are at a fragment edge.
    """
    if total <= 0:
        return 0.0
    s = sum(c * np.log(c) for c in neighbours.values() if c > 0)
    return float(max(np.log(total) - s / total, 0.0))


def char_entropy(counts: NgramCounts) -> float:
    """Entropy (nats) of the corpus's character distribution.

    Thresholds in nats that were calibrated on Chinese (thousands of characters, about
    6.7 nats) are scaled by it for scripts with small alphabets, whose characters are
    frequent and whose PMIs are small.
    """
    c = counts.table(1)[1].astype(np.float64)
    if not len(c):
        return 0.0
    p = c / c.sum()
    return float(-(p * np.log(p)).sum())
