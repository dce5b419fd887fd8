"""The ensemble learner: a lexicon from the boundaries that most learners agree on.

The member learners judge word boundaries by different evidence, so they make different
mistakes:

- ``cohesion``: how solid the strings are;
- ``nvbe``: how much the next character becomes uncertain;
- ``lm``: how well a word-internal character language model explains the text.

Each member segments every fragment of the corpus. A gap between two characters becomes a
word boundary when at least ``min_votes`` members cut there, and the words of this consensus
segmentation are counted.

The members often disagree about two-character words made of very frequent characters
(国有, 为了, 到来), so the vote leaves them as two *orphan* single-character tokens. The
**orphan merge** repairs this with the minimum-entropy merge rule (design memo §6.2),
applied to the token stream rather than to characters. Merging two adjacent tokens ``a b``
shortens the code of the corpus when their token-level PMI
``ln(N·n(ab) / (n(a)·n(b)))`` exceeds 1 nat, where ``n`` counts tokens, not characters.
Token counts are what make this work: 国 alone is a rare token, because it usually sits
inside a word, so the pair 国 有 stands out, while 的 alone is a very frequent token and
pairs with it do not.

Two single-character tokens seen side by side at least ``merge_min_count`` times (once, by
default) are merged when their token PMI exceeds ``merge_pmi``. The PMI of a rare pair is
inflated: a pair seen once next to a frequent character looks far above chance. So the
pair's count is first lowered by an absolute discount ``D``, as in Kneser–Ney smoothing,
estimated from the data with Ney's formula ``D = n1 / (n1 + 2·n2)``, where ``n1`` and ``n2``
count the pairs seen once and twice (about 0.7 on the benchmark). With this discount, pairs
seen once are eligible, which finds rare new words (names, terms) that a fixed minimum
count of 2 missed. The threshold, 2.5 nats, leaves a margin above the first-order 1 nat,
for the same reason the cohesion thresholds do. After a merge round, the corpus is
segmented again with the new lexicon and the next round looks at its tokens. A last pass
counts the words of the final segmentation, so the lexicon's counts are exact.

Every member runs with its default configuration, and all are learned from the same n-gram
counts.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass

from ..config import option, to_dict
from ..errors import ConfigError
from ..lexicon import Lexicon
from .base import Context, Segmenter, count_segmentation, per_fragment, segmentation

MEMBERS = ("cohesion", "nvbe", "lm")


@dataclass(frozen=True)
class EnsembleConfig:
    """Options of the ensemble learner (see the module documentation)."""

    members: tuple[str, ...] = option(MEMBERS, "learners that vote on word boundaries")
    min_votes: int = option(2, "votes needed to cut between two characters")
    merge_pmi: float = option(
        2.5, "token-level PMI (nats) above which two adjacent orphan characters are merged"
    )
    merge_min_count: int = option(1, "least count of an orphan pair to be merged")
    merge_discount: float = option(
        -1.0,
        "subtracted from an orphan pair's count before its PMI is taken, because the PMIs "
        "of rare pairs are inflated; negative = Ney's absolute discount n1 / (n1 + 2 n2), "
        "estimated from how many pairs are seen once (n1) and twice (n2)",
    )
    merge_rounds: int = option(2, "orphan-merge rounds (0 = use the vote as it is)")

    def __post_init__(self) -> None:
        unknown = [m for m in self.members if m not in MEMBERS]
        if unknown:
            raise ConfigError(
                f"--members: unknown learner(s) {', '.join(unknown)}; choose from "
                f"{', '.join(MEMBERS)}"
            )
        if self.merge_rounds < 0 or self.merge_min_count < 1:
            raise ConfigError("--merge-rounds must be >= 0 and --merge-min-count >= 1")
        if not 1 <= self.min_votes <= len(self.members):
            raise ConfigError(
                f"--min-votes must be between 1 and the number of members "
                f"({len(self.members)}), got {self.min_votes}"
            )

    def count_order(self) -> int:
        """The highest order any member needs."""
        from . import METHODS

        return max(int(METHODS[m].config().count_order()) for m in self.members)

    def singletons_unused(self) -> bool:
        """True if n-grams (of order 2 and up) seen once cannot change the lexicon, so that
        training may drop them from the counts (most of the tables)."""
        from . import METHODS

        return all(bool(METHODS[m].config().singletons_unused()) for m in self.members)


def vote(frags: list[str], segmentations: list[list[list[int]]], min_votes: int) -> list[list[int]]:
    """Word end offsets of each fragment where at least ``min_votes`` segmentations agree."""
    out = []
    for i, frag in enumerate(frags):
        votes: Counter[int] = Counter()
        for seg in segmentations:
            votes.update(seg[i])
        ends = sorted(e for e, v in votes.items() if v >= min_votes and e < len(frag))
        out.append([*ends, len(frag)] if frag else [])
    return out


def segmenter(ctx: Context, config: EnsembleConfig | None = None) -> Segmenter:
    """Segment batches of fragments by majority vote of the members."""
    from . import METHODS

    config = config or EnsembleConfig()
    members = [METHODS[m].segmenter(ctx, METHODS[m].config()) for m in config.members]
    return lambda frags: vote(frags, [m(frags) for m in members], config.min_votes)


def orphan_pairs(ctx: Context, segment: Segmenter) -> tuple[Counter[str], Counter[str]]:
    """Token counts of a segmentation of the corpus, and counts of adjacent pairs of
    single-character tokens (keyed by the two-character string)."""
    tokens: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for words in segmentation(ctx, segment):
        tokens.update(words)
        for a, b in itertools.pairwise(words):
            if len(a) == 1 and len(b) == 1:
                pairs[a + b] += 1
    return tokens, pairs


def pair_discount(pairs: Counter[str], config: EnsembleConfig) -> float:
    """The discount taken off an orphan pair's count: ``config.merge_discount``, or when it
    is negative Ney's estimate ``n1 / (n1 + 2·n2)`` from the pairs seen once and twice."""
    if config.merge_discount >= 0:
        return config.merge_discount
    n1 = sum(1 for n in pairs.values() if n == 1)
    n2 = sum(1 for n in pairs.values() if n == 2)
    return n1 / (n1 + 2 * n2) if n1 + n2 else 0.0


def merge_orphans(
    tokens: Counter[str],
    pairs: Counter[str],
    config: EnsembleConfig,
    discount: float | None = None,
) -> dict[str, float]:
    """Word counts after merging the orphan pairs that pass the token-PMI test.

    The counts of a merged pair move from its two characters to the new word. Where
    merges overlap (a b c with both a b and b c passing) this is approximate; the next
    pass over the corpus recounts exactly. ``discount`` defaults to
    :func:`pair_discount`.
    """
    n_tokens = sum(tokens.values())
    if discount is None:
        discount = pair_discount(pairs, config)
    words: dict[str, float] = dict(tokens)
    for pair, n in sorted(pairs.items()):
        if n < config.merge_min_count:
            continue
        a, b = pair[0], pair[1]
        seen = n - discount
        if seen > 0 and math.log(n_tokens * seen / (tokens[a] * tokens[b])) > config.merge_pmi:
            words[pair] = words.get(pair, 0.0) + n
            words[a] -= n
            words[b] -= n
    return {w: c for w, c in words.items() if c > 0}


def learn(ctx: Context, config: EnsembleConfig | None = None) -> Lexicon:
    """The consensus lexicon: vote, then orphan-merge rounds, then an exact recount."""
    config = config or EnsembleConfig()
    segment = segmenter(ctx, config)
    discounts: list[float] = []  # per merge round, recorded in the model
    if config.merge_rounds == 0:
        words = dict(count_segmentation(ctx, segment))
    else:
        for _ in range(config.merge_rounds):
            tokens, pairs = orphan_pairs(ctx, segment)
            discount = pair_discount(pairs, config)
            discounts.append(round(discount, 4))
            lexicon = Lexicon(merge_orphans(tokens, pairs, config, discount))
            segment = per_fragment(lexicon.decoder().boundaries)
        words = dict(count_segmentation(ctx, segment))
    meta = {
        "method": "ensemble",
        "config": to_dict(config),
        "merge_discount_used": discounts,
        "n_chars": ctx.counts.n_chars,
    }
    return Lexicon({w: float(c) for w, c in words.items()}, meta)
