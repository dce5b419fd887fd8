"""Minimum-entropy lexicon building (Su Jianlin's 最小熵原理 (二), design memo §5–§6).

The goal is to make the corpus cheap to remember. Words are coded with an ideal code, and
merging two tokens ``a b`` into a word lowers the average code length per character exactly
when their PMI exceeds 1 nat (§6.2). The learner applies that rule in four steps:

1. **Count** characters and adjacent pairs inside fragments. Characters are normalised by
   the number of characters and pairs by the number of pairs.
2. **Cut.** A pair with ``p(ab) > min_proba`` and ``ln p(ab) − ln p(a) − ln p(b) > min_pmi``
   is kept. Each fragment is joined across kept pairs and cut everywhere else, and the
   pieces are counted.
3. **Truncate.** Pieces whose relative frequency is at most ``min_proba`` are dropped. Their
   occurrences go to the words they split into.
4. **De-redundancy (去冗).** Words are visited from the longest to the shortest. A word
   ``w`` is re-segmented without itself into its best decomposition ``s_1 … s_m``. If
   ``ln p(w) − Σ ln p(s_i)`` is below ``redundancy × (|w| − 1)`` nats, then ``w`` is
   dropped and its count goes to the ``s_i``. In other words, a word must be much more
   probable than its parts to be worth a lexicon entry. Su's code uses ``|w| − 1``, so the
   threshold grows with length.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..config import option, to_dict
from ..decoder import best_split
from ..errors import ConfigError
from ..lexicon import MAX_WORD_LEN, Lexicon
from ..stats import as_keys, codes_of
from .base import Context, Segmenter, per_fragment
from .passes import CoveringCutPass


@dataclass(frozen=True)
class MinentConfig:
    """Options of the minimum-entropy learner (see the module documentation)."""

    min_pmi: float = option(1.0, "PMI (nats) above which two adjacent characters are joined")
    min_proba: float = option(1e-7, "least relative frequency of a kept pair or word")
    redundancy: float = option(
        1.0, "nats per extra character a word must gain over its best decomposition"
    )
    max_length: int = option(16, "longest word kept (longer pieces are split)")

    def __post_init__(self) -> None:
        if not 0 < self.min_proba < 1:
            raise ConfigError(f"--min-proba must be between 0 and 1, got {self.min_proba}")
        if not 1 <= self.max_length <= MAX_WORD_LEN:
            raise ConfigError(
                f"--max-length must be between 1 and {MAX_WORD_LEN} (the longest word a model "
                f"holds), got {self.max_length}"
            )

    def count_order(self) -> int:
        """Only characters and pairs are needed."""
        return 2

    def singletons_unused(self) -> bool:
        """True if n-grams (of order 2 and up) seen once cannot change the lexicon, so that
        training may drop them from the counts (most of the tables)."""
        return False  # pairs seen once enter the merge statistics


def deredundancy(words: Counter[str], threshold_per_char: float, max_len: int) -> Counter[str]:
    """Drop words nearly as probable as their best decomposition (longest first)."""
    words = Counter(words)
    total = sum(words.values())
    logp = {w: math.log(c / total) for w, c in words.items()}
    unk = math.log(0.5 / total)
    for word in sorted((w for w in words if len(w) >= 2), key=lambda w: (-len(w), w)):
        parts, score = best_split(word, logp, unk, max_len)
        if logp[word] - score < threshold_per_char * (len(word) - 1):
            count = words.pop(word)
            del logp[word]
            for part in parts:
                words[part] += count
                logp[part] = math.log(words[part] / total)
    return words


def learn(ctx: Context, config: MinentConfig | None = None) -> Lexicon:
    """Build the lexicon in the four steps of the module documentation."""
    config = config or MinentConfig()
    counts = ctx.counts
    _, c1 = counts.table(1)
    pairs, c2 = counts.table(2)
    n_chars = max(int(c1.sum()), 1)
    n_pairs = max(int(c2.sum()), 1)
    codes = codes_of(pairs)
    first = counts.lookup(1, as_keys(codes[:, :1])) / n_chars
    second = counts.lookup(1, as_keys(codes[:, 1:])) / n_chars
    with np.errstate(divide="ignore"):
        pmi = np.log(c2 / n_pairs) - np.log(first) - np.log(second)
    kept = pairs[(c2 / n_pairs > config.min_proba) & (pmi > config.min_pmi)]
    pieces, _ = ctx.run(CoveringCutPass({2: kept}, long_len=1 << 30), "cut")
    total = sum(pieces.values())
    words: Counter[str] = Counter()
    dropped = []
    for piece, c in pieces.items():
        if len(piece) == 1 or (c / total > config.min_proba and len(piece) <= config.max_length):
            words[piece] += c
        else:
            dropped.append((piece, c))
    decoder = Lexicon(dict(words)).decoder()
    for piece, c in sorted(dropped):
        for w in decoder.cut(piece):
            words[w] += c
    words = deredundancy(words, config.redundancy, config.max_length)
    meta = {"method": "minent", "config": to_dict(config), "n_chars": counts.n_chars}
    return Lexicon({w: float(c) for w, c in words.items()}, meta)


def segmenter(ctx: Context, config: MinentConfig | None = None) -> Segmenter:
    """Segment fragments with the learned lexicon (for ensembles)."""
    return per_fragment(learn(ctx, config).decoder().boundaries)
