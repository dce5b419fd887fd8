"""How strict the join tests must be for this corpus: calibrating the members' thresholds.

The thresholded members of the ensemble (``cohesion`` and ``lm``) join two characters when
a PMI passes a threshold. A PMI estimated from few occurrences is inflated, and text
whose words are mostly one character long (classical Chinese) has frequent pairs of
free-standing characters with high PMIs. So a threshold that suits a few million
characters of news joins too much on a small corpus or on classical text: measured on the
development sets, the median PMI of two adjacent characters that a gold standard
separates is 0.9 nats on 2 M characters of news and 1.6 to 2.6 on corpora of 12 K to
150 K characters.

``nvbe`` has no threshold: it cuts where the branching entropy rises, relative to the
mean of strings of the same length, so how often it cuts is read off the corpus itself.
The calibration uses it as the corpus's measure of how often a gap between two
characters is a word boundary (how long words tend to be): each thresholded member's
thresholds are multiplied by the *strictness* factor that makes that member cut the same
share of gaps as ``nvbe``, measured on a sample of the corpus. Only the share comes from
``nvbe``; *which* gaps a member cuts is still its own evidence.

For ``cohesion`` the share of gaps cut by the covering cut is a quantile: a gap is kept
when some solid n-gram spans it, so with every threshold scaled by ``f`` it is cut
exactly when ``f`` exceeds the gap's *solidity*, the largest ratio of cohesion to
threshold among the frequent n-grams that span it; ``f`` is the quantile of the
solidities at the share to reach. For ``lm`` the share falls as the join prices rise, and
``f`` is found by bisection.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from .. import stats
from ..counts import windows
from .base import Context, Segmenter
from .cohesion import CohesionConfig
from .lm import LmConfig, emissions, segment_fragments

log = logging.getLogger("ciyu")

#: Learnable characters in the calibration sample (the start of the corpus).
SAMPLE_CHARS = 1 << 18
#: The strictness factor is looked for in this range.
LOWEST, HIGHEST = 0.5, 4.0


def sample(ctx: Context, chars: int = SAMPLE_CHARS) -> list[str]:
    """The fragments at the start of the corpus, about ``chars`` learnable characters."""
    out: list[str] = []
    total = 0
    for frags in ctx.fragments(stage=None):
        for f in frags:
            out.append(f)
            total += len(f)
            if total >= chars:
                return out
    return out


def gap_share(frags: list[str], segment: Segmenter) -> float:
    """The share of the gaps between two characters of ``frags`` that ``segment`` cuts."""
    gaps = cuts = 0
    for frag, ends in zip(frags, segment(frags), strict=True):
        if len(frag) > 1:
            gaps += len(frag) - 1
            cuts += len(ends) - 1
    return cuts / gaps if gaps else 0.0


def _solidities(ctx: Context, frags: list[str], config: CohesionConfig) -> npt.NDArray[np.float64]:
    """For every gap of ``frags``: the largest ratio of cohesion to its threshold among
    the n-grams (``min_count`` occurrences or more) that span it (0 if none)."""
    counts = ctx.counts
    codes = np.frombuffer(("\0" + "\0".join(frags) + "\0").encode("utf-32-le"), dtype=np.uint32)
    n = len(codes)
    best = np.zeros(n, dtype=np.float64)  # best[g]: the gap after character g
    sep = np.concatenate([[0], np.cumsum(codes == 0)])
    min_count = config.resolve_min_count(counts.n_chars)
    h = stats.char_entropy(counts)
    for k in range(2, config.order + 1):
        if n < k:
            break
        starts = np.flatnonzero(sep[k:] - sep[:-k] == 0)
        keys = windows(codes, k)
        if not len(keys):
            continue
        unique, inverse = np.unique(keys, return_inverse=True)
        ok = counts.lookup(k, unique) >= min_count
        coh = np.full(len(unique), -np.inf)
        if ok.any():
            coh[ok] = stats.cohesion(counts, unique[ok])
        ratio = coh[inverse] / config.threshold(k, h)
        for j in range(k - 1):  # the gaps inside the window
            np.maximum.at(best, starts + j, ratio)
    inner = (codes[:-1] != 0) & (codes[1:] != 0)  # gaps between two characters
    result: npt.NDArray[np.float64] = best[:-1][inner]
    return result


def cohesion_strictness(
    ctx: Context, frags: list[str], config: CohesionConfig, share: float
) -> float:
    """The factor for every cohesion threshold that makes the covering cut of ``frags``
    cut ``share`` of their gaps (see the module documentation)."""
    solidity = _solidities(ctx, frags, config)
    if not len(solidity):
        return 1.0
    f = float(np.quantile(solidity, min(max(share, 0.0), 1.0)))
    return min(max(f, LOWEST), HIGHEST) if math.isfinite(f) else 1.0


def lm_strictness(
    ctx: Context, frags: list[str], config: LmConfig, share: float, steps: int = 12
) -> float:
    """The factor for the lm's join prices that makes it cut ``share`` of the gaps of
    ``frags`` (bisection; the share cut grows with the prices)."""

    # the emissions do not depend on the prices: computed once for every step
    em = emissions(ctx.counts, "\0".join(frags), config)

    def cut_share(f: float) -> float:
        scaled = dataclasses.replace(config, join_share=tuple(x * f for x in config.join_share))
        return gap_share(
            frags,
            lambda fr: segment_fragments(ctx.counts, fr, scaled, em if fr is frags else None),
        )

    lo, hi = LOWEST, HIGHEST
    if cut_share(hi) <= share:
        return hi
    if cut_share(lo) >= share:
        return lo
    for _ in range(steps):
        mid = math.sqrt(lo * hi)
        if cut_share(mid) < share:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def chunks_of(frags: list[str], size: int = 1 << 16) -> Iterator[list[str]]:
    """``frags`` in batches of about ``size`` characters (segmenters hold temporaries per
    character)."""
    batch: list[str] = []
    chars = 0
    for f in frags:
        batch.append(f)
        chars += len(f)
        if chars >= size:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch
