"""The character language-model segmenter with position tags (Su Jianlin's 分词系列5, design
memo §3).

Assume a sentence is a sequence of independent words, and expand each word's probability by
the chain rule *inside the word*. For a word ``a_1 … a_k``:

    p(a_1 … a_k) = p(a_1) · p(a_2 | a_1) · … · p(a_k | a_1 … a_{k−1})

Each factor is estimated from the raw-text n-gram counts, with the history cut to the last
``order − 1`` characters and never crossing the start of the word. A character's factor
then depends only on its position in its word. These positions are the tags ``0 .. order−1``
(b, c, d, e for order 4): tag 0 starts a word and scores ``ln p(c)``, and tag k continues it
and scores ``ln p(c | the k previous characters)``. Viterbi finds the best tag sequence, and a
word starts at every tag 0.

Without penalties the model joins every positively associated pair. So continuing a word
has a price, ``join_pmi``, and a character joins the word before it only when its
conditional probability beats its unconditional one by that many nats. In other words,
these are PMI thresholds, and they rise with the position. Su's transition table
(bc 0.15, cd 0.01, de 0.01, ee 0.001) makes them 1.9, 4.6, 4.6 and 6.9 nats, the ratios
6.7, 100, 100 and 1000. By default they are expressed as shares of the character entropy
``H`` of the corpus, ``join_share``: 0.285, 0.69, 0.69 and 1.04 of ``H``. That gives Su's
values on Chinese news text, where ``H`` is about 6.66 nats, and lower prices for scripts
with small alphabets, such as kana, where every PMI is smaller.

Unseen events get the log-probability ``floor``. Emissions are computed for whole chunks
with numpy, and the tag Viterbi runs per fragment: in C (``ciyu._lattice.tag_viterbi``)
when the compiled extension is installed, with :func:`viterbi` as its reference.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .._compiled import lattice as _lattice
from ..config import option, to_dict
from ..counts import NgramCounts, windows
from ..errors import ConfigError
from ..lexicon import Lexicon
from ..stats import char_entropy
from .base import Context, Segmenter, count_segmentation


@dataclass(frozen=True)
class LmConfig:
    """Options of the language-model segmenter (see the module documentation)."""

    order: int = option(4, "character n-gram order of the model (number of position tags)")
    join_pmi: tuple[float, ...] = option(
        (),
        "nats a character must gain over starting a new word to be the 2nd, 3rd, ... "
        "character of a word, the last value holding for all later positions; "
        "empty = --join-share times the character entropy",
    )
    join_share: tuple[float, ...] = option(
        (0.285, 0.69, 0.69, 1.04),
        "when --join-pmi is empty: the prices as shares of the character entropy",
    )
    floor: float = option(-20.0, "log-probability of an unseen character or n-gram")

    def __post_init__(self) -> None:
        if self.order < 2:
            raise ConfigError(f"--order must be at least 2, got {self.order}")
        for name, values in (("--join-pmi", self.join_pmi), ("--join-share", self.join_share)):
            if values and len(values) != self.order:
                raise ConfigError(
                    f"{name} needs {self.order} values (one per position 2..{self.order} "
                    f"and one for later positions), got {len(values)}"
                )
        if not self.join_pmi and not self.join_share:
            raise ConfigError("give --join-pmi or --join-share")

    def prices(self, char_entropy: float) -> list[float]:
        """The join prices in nats for a corpus whose character entropy is given."""
        if self.join_pmi:
            return list(self.join_pmi)
        return [share * char_entropy for share in self.join_share]

    def count_order(self) -> int:
        """The model needs n-grams up to its order."""
        return self.order

    def singletons_unused(self) -> bool:
        """True if n-grams (of order 2 and up) seen once cannot change the lexicon, so that
        training may drop them from the counts (most of the tables)."""
        # an n-gram of the training text missing from the counts was seen once
        return True


def _counts_ending_at(
    counts: NgramCounts, codes: npt.NDArray[np.uint32], k: int
) -> npt.NDArray[np.int64]:
    """For each position j of ``codes``: the count of the k-gram ending at j (0 if none)."""
    n = len(codes)
    out = np.zeros(n, dtype=np.int64)
    if n < k:
        return out
    sep = np.concatenate([[0], np.cumsum(codes == 0)])
    valid = np.flatnonzero(sep[k:] - sep[:-k] == 0)
    # every window is an n-gram of the training text, seen at least once: one missing from
    # the counts was dropped as a singleton (or by a memory budget)
    out[valid + k - 1] = np.maximum(counts.lookup(k, windows(codes, k)), 1)
    return out


def emissions(counts: NgramCounts, view: str, config: LmConfig) -> npt.NDArray[np.float64]:
    """Emission log-probabilities, shape ``(order, len(view))``, for a ``\\0``-separated view."""
    codes = np.frombuffer(view.encode("utf-32-le"), dtype=np.uint32)
    n = len(codes)
    em = np.full((config.order, n), config.floor)
    ends = [_counts_ending_at(counts, codes, k) for k in range(1, config.order + 1)]
    with np.errstate(divide="ignore", invalid="ignore"):
        em[0] = np.where(ends[0] > 0, np.log(ends[0]) - np.log(counts.n_chars), config.floor)
        for k in range(1, config.order):
            hist = np.concatenate([[0], ends[k - 1][:-1]])  # k-gram ending just before j
            ok = (ends[k] > 0) & (hist > 0)
            em[k] = np.where(ok, np.log(ends[k]) - np.log(np.maximum(hist, 1)), config.floor)
    return em


def viterbi(em: list[list[float]], start: int, end: int, join: list[float]) -> list[int]:
    """Best tag path over positions ``start..end-1``; returns word end offsets (relative)."""
    n_tags = len(em)
    last = n_tags - 1
    neg = -1e300
    score = [neg] * n_tags
    score[0] = em[0][start]
    back: list[list[int]] = []
    for j in range(start + 1, end):
        prev = score
        best_tag = max(range(n_tags), key=prev.__getitem__)
        new = [prev[best_tag] + em[0][j]]
        ptr = [best_tag]
        for k in range(1, n_tags):
            cand = prev[k - 1] - join[k - 1]
            src = k - 1
            if k == last and prev[last] - join[last] > cand:
                cand = prev[last] - join[last]
                src = last
            new.append(cand + em[k][j])
            ptr.append(src)
        back.append(ptr)
        score = new
    tag = max(range(n_tags), key=score.__getitem__)
    starts = []
    for j in range(end - 1, start, -1):
        if tag == 0:
            starts.append(j - start)
        tag = back[j - start - 1][tag]
    starts.reverse()
    return [*starts, end - start]


def segment_fragments(
    counts: NgramCounts,
    frags: list[str],
    config: LmConfig,
    em: npt.NDArray[np.float64] | None = None,
) -> list[list[int]]:
    """Word end offsets of each fragment under the model. ``em``: the fragments'
    emissions (:func:`emissions` of ``"\0".join(frags)``), when computed already: they
    depend on the order and the floor, not on the join prices."""
    if em is None:
        em = emissions(counts, "\0".join(frags), config)
    join = config.prices(char_entropy(counts))
    if _lattice is not None:  # the compiled twin of viterbi(), all fragments at once
        ends: list[list[int]] = _lattice.tag_viterbi(
            em, config.order, [len(f) for f in frags], join
        )
        return ends
    out = []
    pos = 0
    for frag in frags:
        n = len(frag)
        # one fragment's emissions at a time as Python floats: a chunk's would be large
        out.append(viterbi(em[:, pos : pos + n].tolist(), 0, n, join) if frag else [])
        pos += n + 1
    return out


class LmSegmenter:
    """Segments batches of fragments with the model; can be rebuilt in a worker process
    from the counts it needs (orders ``1..config.order``, see
    :mod:`~ciyu.learners.segmenters`)."""

    def __init__(self, counts: NgramCounts, config: LmConfig) -> None:
        self.counts = counts
        self.config = config

    def __call__(self, frags: list[str]) -> list[list[int]]:
        return segment_fragments(self.counts, frags, self.config)

    def spec(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The config and the count tables the model reads."""
        c, counts = self.config, self.counts
        arrays: dict[str, Any] = {}
        for k in range(1, c.order + 1):
            arrays[f"keys_{k}"], arrays[f"counts_{k}"] = counts.table(k)
        meta = {
            "segmenter": "lm",
            "order": c.order,
            "join_pmi": list(c.join_pmi),
            "join_share": list(c.join_share),
            "floor": c.floor,
            "n_chars": counts.n_chars,
            "n_fragments": counts.n_fragments,
            "min_count": counts.min_count,
        }
        return meta, arrays

    @classmethod
    def from_spec(cls, meta: dict[str, Any], arrays: Mapping[str, Any]) -> LmSegmenter:
        """The segmenter of :meth:`spec`."""
        order = int(meta["order"])
        tables = []
        for k in range(1, order + 1):
            keys, cnt = arrays[f"keys_{k}"], arrays[f"counts_{k}"]
            if keys.dtype != np.dtype(f"<U{k}") or cnt.dtype != np.int64 or keys.shape != cnt.shape:
                raise ValueError(f"bad counts of order {k}")
            tables.append((keys, cnt))
        config = LmConfig(
            order=order,
            join_pmi=tuple(float(x) for x in meta["join_pmi"]),
            join_share=tuple(float(x) for x in meta["join_share"]),
            floor=float(meta["floor"]),
        )
        counts = NgramCounts(
            order=order,
            tables=tables,
            n_chars=int(meta["n_chars"]),
            n_fragments=int(meta["n_fragments"]),
            min_count=int(meta["min_count"]),
        )
        return cls(counts, config)


def segmenter(ctx: Context, config: LmConfig | None = None) -> Segmenter:
    """Segment batches of fragments with the model."""
    return LmSegmenter(ctx.counts, config or LmConfig())


def learn(ctx: Context, config: LmConfig | None = None) -> Lexicon:
    """Segment the corpus with the model and count the words into a lexicon."""
    config = config or LmConfig()
    counts = ctx.counts
    words = count_segmentation(ctx, segmenter(ctx, config))
    meta = {
        "method": "lm",
        "config": to_dict(config),
        "join_pmi_used": [round(x, 4) for x in config.prices(char_entropy(counts))],
        "n_chars": counts.n_chars,
    }
    return Lexicon(dict(words), meta)
