"""Branching-entropy learner: normalised variation of branching entropy (nVBE, Magistry &
Sagot 2012; design memo §11, built on the boundary entropy of §1).

The idea is that the uncertainty about the next character rises at a word boundary.

- The right branching entropy ``h_r(x)`` is the entropy of the character that follows ``x``.
  Its *variation* is ``δh_r(x) = h_r(x) − h_r(x[:-1])``, the change when ``x`` grows by one
  character. A word ends where this rises.
- The left side is symmetric: ``δh_l(x) = h_l(x) − h_l(x[1:])``.
- Each variation is normalised by subtracting its mean over all strings of the same length,
  because longer strings have lower entropy for reasons unrelated to words. The
  *autonomy* of a string is ``a(x) = δh̃_l(x) + δh̃_r(x)``.

A fragment is segmented into the words that maximise ``Σ a(w)·|w|``, so the score of each
character is the autonomy of the word it belongs to. The search uses the shared lattice
decoder with ``a(w)·|w|`` as word scores. The strings considered are those of at most
``max_length`` characters seen at least ``min_count`` times. For single characters, the
variation is taken against the empty string, whose branching entropy is the entropy of the
character distribution.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .. import stats
from ..config import option, to_dict
from ..counts import NgramCounts
from ..decoder import boundaries_from_tables
from ..errors import ConfigError
from ..lexicon import Lexicon
from .base import Context, Segmenter, count_segmentation, per_fragment
from .segmenters import DecoderSegmenter

Floats = npt.NDArray[np.float64]

#: Score of a character never seen in training (far below any autonomy).
UNSEEN_SCORE = -10.0


@dataclass(frozen=True)
class NvbeConfig:
    """Options of the branching-entropy learner (see the module documentation)."""

    max_length: int = option(5, "longest word considered, in characters")
    min_count: int = option(2, "least count of a candidate string")

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise ConfigError(f"--max-length must be at least 1, got {self.max_length}")
        if self.min_count < 1:
            raise ConfigError(f"--min-count must be at least 1, got {self.min_count}")

    def count_order(self) -> int:
        """Branching entropy of a string of length k needs the (k+1)-gram counts."""
        return self.max_length + 1

    def singletons_unused(self) -> bool:
        """True if n-grams (of order 2 and up) seen once cannot change the lexicon, so that
        training may drop them from the counts (most of the tables)."""
        # candidates need min_count occurrences; entropies are exact without singletons
        return self.min_count >= 2


def _lookup(
    keys: npt.NDArray[np.str_], values: npt.NDArray[np.float64], query: npt.NDArray[np.str_]
) -> npt.NDArray[np.float64]:
    idx = np.minimum(np.searchsorted(keys, query), max(len(keys) - 1, 0))
    found = keys[idx] == query
    return np.where(found, values[idx], np.nan)


def autonomy_tables(
    counts: NgramCounts, config: NvbeConfig
) -> Iterator[tuple[npt.NDArray[np.str_], npt.NDArray[np.float64]]]:
    """The autonomy of the candidate strings, one ``(strings, autonomies)`` pair per
    length (see the module documentation). Only two lengths' entropies are held at once."""
    if counts.order < config.max_length + 1:
        raise ConfigError(
            f"nVBE with --max-length {config.max_length} needs counts of order "
            f"{config.max_length + 1}; these go up to {counts.order}"
        )
    h_empty = stats.char_entropy(counts)  # the branching entropy of the empty string
    previous: tuple[npt.NDArray[np.str_], Floats, Floats] | None = None
    for k in range(1, config.max_length + 1):
        keys, cnt = counts.table(k)
        h_left, h_right = stats.boundary_entropy(counts, keys)
        if previous is None:
            d_left, d_right = h_left - h_empty, h_right - h_empty
        else:
            codes = stats.codes_of(keys)
            pkeys, p_left, p_right = previous
            d_right = h_right - _lookup(pkeys, p_right, stats.as_keys(codes[:, :-1]))
            d_left = h_left - _lookup(pkeys, p_left, stats.as_keys(codes[:, 1:]))
            del codes
        previous = keys, h_left, h_right
        # the means are taken over the strings frequent enough to be candidates; every
        # single character keeps a score so that any text can be segmented
        frequent = cnt >= config.min_count
        keep = frequent | (k == 1)
        if not frequent.any():
            continue
        a = (d_left - np.nanmean(d_left[frequent])) + (d_right - np.nanmean(d_right[frequent]))
        keep &= ~np.isnan(a)
        yield keys[keep], a[keep]


def autonomy(counts: NgramCounts, config: NvbeConfig) -> dict[str, float]:
    """The autonomy ``a(x)`` of every candidate string (see the module documentation)."""
    scores: dict[str, float] = {}
    for keys, a in autonomy_tables(counts, config):
        scores.update(zip(keys.tolist(), a.tolist(), strict=True))
    return scores


def segmenter(ctx: Context, config: NvbeConfig | None = None) -> Segmenter:
    """Segment fragments by maximal total autonomy ``Σ a(w)·|w|``."""
    config = config or NvbeConfig()
    # the candidates can number millions: they go from the arrays into the decoder
    tables = (
        (keys, a * (keys.dtype.itemsize // 4)) for keys, a in autonomy_tables(ctx.counts, config)
    )
    if ctx.engine.ships:  # kept, for the worker processes to rebuild the decoder
        return DecoderSegmenter.from_tables(list(tables), UNSEEN_SCORE)
    return per_fragment(boundaries_from_tables(tables, UNSEEN_SCORE))


def learn(ctx: Context, config: NvbeConfig | None = None) -> Lexicon:
    """Segment the corpus by autonomy and count the words into a lexicon."""
    config = config or NvbeConfig()
    words = count_segmentation(ctx, segmenter(ctx, config))
    meta = {"method": "nvbe", "config": to_dict(config), "n_chars": ctx.counts.n_chars}
    return Lexicon(dict(words), meta)
