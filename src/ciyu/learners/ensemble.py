"""The ensemble learner: a lexicon from the boundaries that most learners agree on.

The member learners judge word boundaries by different evidence, so they make different
mistakes:

- ``cohesion``: how solid the strings are;
- ``nvbe``: how much the next character becomes uncertain;
- ``lm``: how well a word-internal character language model explains the text.

Each member segments every fragment of the corpus. A gap between two characters becomes a
word boundary when at least ``min_votes`` members cut there, and the words of this consensus
segmentation are counted.

**How strict the members are is read off the corpus** (``calibrate``, see
:mod:`~ciyu.learners.calibrate`). ``cohesion`` and ``lm`` join characters whose PMI
passes a threshold, and a threshold that suits millions of characters of news joins far too
much on a small corpus (sparse counts inflate PMIs) or on classical Chinese (whose words are
mostly single characters). ``nvbe`` has no threshold, so the share of gaps it cuts on a
sample of the corpus is taken as the corpus's boundary rate, and the thresholds of each of
the two others are multiplied by the factor that makes it cut that share. The factors are
recorded in the model (``strictness_used``). Measured on the development sets: 1.47 and
1.36 on 2.2 M characters of news, 1.8 to 2.3 on the genre sets of 12 K to 0.9 M characters,
2.1 and 2.4 on classical Chinese; F1 rose on all seven (PKU 0.824 to 0.832, classical
0.730 to 0.819).

**Numbers** (``number_suffixes``). Every number stands for one symbol, the number class, and
the vote sets every number apart. A number then joins the token after it only when that
token *depends on numbers*: it follows a number in more than ``complete_share`` of its
occurrences, as measure words and units do (3个, 1998年, 5％). A token that is common
elsewhere never joins (图 2 是, 600 人), and nothing before a number joins it: a verb or
preposition (达 100万, 约 30), or the end of another phrase (多云转晴 －5℃).

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
for the same reason the cohesion thresholds do. When the members are calibrated, it is
multiplied by the square root of cohesion's factor (``merge_strictness``): the orphans of
a strict vote are more often real one-character words (classical text is mostly orphans),
so the merge must be stricter too, but less than the members, whose split words it
repairs. Measured: with the full factor the merge under-joins small corpora (F1 0.717
against 0.763 on a 27 K-character novel), without it it over-joins classical text (0.760
against 0.819).

The vote also leaves *fragments*: members cut long words (idioms, names, place names with
their suffix) in different places, so the consensus has tokens such as 翻天覆 + 地 or
京山 + 县, a multi-character token next to an orphan. The **completion** merges such a pair
when the multi-character token depends on the orphan: more than ``complete_share`` (half)
of its occurrences have that orphan beside it (the discounted pair count against the
token's count), so the token is rarely a word without it. The pair must also pass the
PMI test, with ``complete_pmi`` (4 nats). For a completion that PMI is ``ln(f / s)``, where
``f`` is the dependency and ``s`` the orphan's share of all tokens, so the test keeps out
orphans that make up more than ``f·e^-4`` of the tokens, between 0.9% and 1.8%. The
particle 的 (6% of the tokens on the benchmark) is never absorbed into the word before it
(诚挚 + 的 stays two words), and 了, 在 and 和 (1.2% each) only into a fragment that they
follow in more than two thirds of its occurrences. The number class is never completed
(see above for how numbers join).

After a merge round, the corpus is segmented again with the new lexicon and the next round
looks at its tokens: a merged pair is a new token, and the characters around it can become
orphans. The rounds go on until they reach the fixed point of the merge rules, a round in
which no pair passes, or ``merge_rounds`` of them (three: later rounds merge few pairs and
moved F1 by less than 0.001 on the benchmark, while each costs a pass over the corpus). A
last pass counts the words of the final segmentation, so the lexicon's counts are exact.

Every member is learned from the same n-gram counts.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..config import option, to_dict
from ..errors import ConfigError
from ..lexicon import MAX_WORD_LEN, Lexicon
from ..text import NUM
from . import calibrate, segmenters
from .base import (
    Context,
    Segmenter,
    count_segmentation,
    per_fragment,
)
from .passes import OrphanPairsPass

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
    complete_share: float = option(
        0.5,
        "a multi-character token is completed by an orphan beside it when more than this "
        "share of its occurrences have that orphan there (1 = never)",
    )
    complete_pmi: float = option(
        4.0,
        "token-level PMI (nats) a completion must also pass, so that very frequent free "
        "characters (particles) are not absorbed",
    )
    number_suffixes: bool = option(
        True,
        "a number is a word of its own, unless the token after it depends on numbers: "
        "it follows a number in more than --complete-share of its occurrences (a measure "
        "word or unit: 3个, 1998年, 5％); nothing before a number joins it (达 100万, "
        "晴 －5℃); off = the members and merges decide like for any character",
    )
    calibrate: bool = option(
        True,
        "read how strict the join tests must be off the corpus: the thresholds of cohesion "
        "and lm are multiplied by the factor that makes each cut as many gaps as nvbe, "
        "measured on a sample (off = their default thresholds)",
    )
    merge_strictness: float = option(
        0.5,
        "when calibrating: --merge-pmi is multiplied by cohesion's factor to this power "
        "(0 = not at all, 1 = as much as the members' thresholds)",
    )
    merge_rounds: int = option(
        3,
        "most orphan-merge rounds; they stop earlier when no pair passes "
        "(0 = use the vote as it is)",
    )

    def __post_init__(self) -> None:
        unknown = [m for m in self.members if m not in MEMBERS]
        if unknown:
            raise ConfigError(
                f"--members: unknown learner(s) {', '.join(unknown)}; choose from "
                f"{', '.join(MEMBERS)}"
            )
        if self.merge_rounds < 0 or self.merge_min_count < 1:
            raise ConfigError("--merge-rounds must be >= 0 and --merge-min-count >= 1")
        if not 0.0 < self.complete_share <= 1.0:
            raise ConfigError(
                f"--complete-share must be in (0, 1] (1 turns completion off), "
                f"got {self.complete_share}"
            )
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
    return _vote_segmenter(ctx, config or EnsembleConfig())[0]


def _vote_segmenter(ctx: Context, config: EnsembleConfig) -> tuple[Segmenter, dict[str, float]]:
    """The vote's segmenter, and the strictness factors of the calibration (see
    :mod:`~ciyu.learners.calibrate`; all 1 without it)."""
    from . import METHODS

    built: dict[str, Segmenter] = {}
    factors = {"cohesion": 1.0, "lm": 1.0}
    if config.calibrate and "nvbe" in config.members:
        built["nvbe"] = METHODS["nvbe"].segmenter(ctx, METHODS["nvbe"].config())
        frags = calibrate.sample(ctx)
        cuts = gaps = 0.0
        for batch in calibrate.chunks_of(frags):
            g = sum(len(f) - 1 for f in batch if len(f) > 1)
            cuts += calibrate.gap_share(batch, built["nvbe"]) * g
            gaps += g
        share = cuts / gaps if gaps else 0.0
        factors["boundary_share"] = share
        if "cohesion" in config.members:
            factors["cohesion"] = calibrate.cohesion_strictness(
                ctx, frags, METHODS["cohesion"].config(), share
            )
        if "lm" in config.members:
            factors["lm"] = calibrate.lm_strictness(ctx, frags, METHODS["lm"].config(), share)
    for m in config.members:
        if m not in built:
            built[m] = METHODS[m].segmenter(ctx, _member_config(m, factors))
    members = [built[m] for m in config.members]
    return VoteSegmenter(members, config.min_votes, config.number_suffixes), factors


class VoteSegmenter:
    """The vote's segmenter: word ends where at least ``min_votes`` members cut, and with
    ``number_suffixes`` every number set apart (see the module documentation). It can be
    rebuilt in a worker process when its members can (see
    :mod:`~ciyu.learners.segmenters`)."""

    def __init__(self, members: list[Segmenter], min_votes: int, number_suffixes: bool) -> None:
        self.members = members
        self.min_votes = min_votes
        self.number_suffixes = number_suffixes

    def __call__(self, frags: list[str]) -> list[list[int]]:
        ends = vote(frags, [m(frags) for m in self.members], self.min_votes)
        if self.number_suffixes:
            ends = [sorted({*e, *n}) for e, n in zip(ends, _number_edges(frags), strict=True)]
        return ends

    def spec(self) -> segmenters.Spec | None:
        """The members' specs, or None if one of them cannot travel."""
        specs = [segmenters.spec_of(m) for m in self.members]
        if any(spec is None for spec in specs):
            return None
        meta, arrays = segmenters.nest(spec for spec in specs if spec is not None)
        meta.update(segmenter="vote", min_votes=self.min_votes, numbers=self.number_suffixes)
        return meta, arrays

    @classmethod
    def from_spec(cls, meta: dict[str, Any], arrays: Mapping[str, Any]) -> VoteSegmenter:
        """The segmenter of :meth:`spec`."""
        members: list[Segmenter] = [
            segmenters.rebuild(*spec) for spec in segmenters.unnest(meta, arrays)
        ]
        return cls(members, int(meta["min_votes"]), bool(meta["numbers"]))


def _member_config(name: str, factors: dict[str, float]) -> Any:
    """A member's default config with its join thresholds multiplied by its strictness."""
    from . import METHODS

    cfg = METHODS[name].config()
    if name == "cohesion":
        return dataclasses.replace(
            cfg, threshold_per_char=cfg.threshold_per_char * factors["cohesion"]
        )
    if name == "lm":
        return dataclasses.replace(cfg, join_share=tuple(x * factors["lm"] for x in cfg.join_share))
    return cfg


def _number_edges(frags: list[str]) -> list[list[int]]:
    """For each fragment, the word ends that set every number apart: before and after
    each number (inside the fragment)."""
    return [
        [j for i, ch in enumerate(f) if ch == NUM for j in (i, i + 1) if 0 < j < len(f)]
        for f in frags
    ]


#: An adjacent pair of tokens of a segmentation, at least one of them a single character.
Pair = tuple[str, str]


@dataclass
class TokenPairs:
    """The tokens of a segmentation of the corpus and the adjacent pairs with an orphan.

    Kept as numpy arrays over token ids, so that the pairs of a large corpus (millions)
    are tested without a Python object each.

    Attributes:
        names: id → token (id 0 is unused).
        counts: id → the token's count.
        left, right, n: one entry per distinct pair: the ids of its tokens, and its count.
        orphan: id → is the token an orphan (a single character); None: computed.
    """

    names: list[str]
    counts: npt.NDArray[np.int64]
    left: npt.NDArray[np.int64]
    right: npt.NDArray[np.int64]
    n: npt.NDArray[np.int64]
    orphan: npt.NDArray[np.bool_] | None = None

    def orphans(self) -> npt.NDArray[np.bool_]:
        """id → is the token an orphan."""
        if self.orphan is None:
            self.orphan = _lengths(self) == 1
        return self.orphan

    @classmethod
    def from_counts(cls, tokens: Mapping[str, int], pairs: Mapping[Pair, int]) -> TokenPairs:
        """Build from token counts and pair counts (in tests, by hand)."""
        names = ["", *tokens]
        ids = {t: i for i, t in enumerate(names)}
        keys = list(pairs)
        return cls(
            names,
            np.array([0, *tokens.values()], dtype=np.int64),
            np.array([ids[a] for a, _ in keys], dtype=np.int64),
            np.array([ids[b] for _, b in keys], dtype=np.int64),
            np.array(list(pairs.values()), dtype=np.int64),
        )

    def token_counts(self) -> dict[str, float]:
        """Token → count."""
        return {t: float(c) for t, c in zip(self.names[1:], self.counts[1:].tolist(), strict=True)}


def orphan_pairs(
    ctx: Context,
    segment: Segmenter,
    stage: str = "segment",
) -> TokenPairs:
    """Segment the corpus; count its tokens and the adjacent pairs of tokens of which at
    least one is an orphan (a single character). A pass of the context's engine
    (:class:`~ciyu.learners.passes.OrphanPairsPass`)."""
    pairs = ctx.run(OrphanPairsPass(segment), stage)
    orphan = np.array([len(t) == 1 for t in pairs.names])
    return TokenPairs(pairs.names, pairs.counts, pairs.left, pairs.right, pairs.n, orphan)


def _lengths(tp: TokenPairs) -> npt.NDArray[np.int64]:
    """id → the length of the token."""
    return np.array([len(t) for t in tp.names], dtype=np.int64)


def _two_orphans(tp: TokenPairs) -> npt.NDArray[np.bool_]:
    """Which pairs are two orphans."""
    orphan = tp.orphans()
    both: npt.NDArray[np.bool_] = orphan[tp.left] & orphan[tp.right]
    return both


def pair_discount(tp: TokenPairs, config: EnsembleConfig) -> float:
    """The discount taken off a pair's count: ``config.merge_discount``, or when it is
    negative Ney's estimate ``n1 / (n1 + 2·n2)`` from the pairs of two orphans seen once
    and twice."""
    if config.merge_discount >= 0:
        return config.merge_discount
    both = _two_orphans(tp)
    n1 = int(np.count_nonzero(both & (tp.n == 1)))
    n2 = int(np.count_nonzero(both & (tp.n == 2)))
    return n1 / (n1 + 2 * n2) if n1 + n2 else 0.0


def _chosen(
    tp: TokenPairs, config: EnsembleConfig, discount: float, *, numbers: bool = True
) -> npt.NDArray[np.bool_]:
    """Which pairs pass: the orphan merge's PMI test, or the completion's two tests (and,
    with ``config.number_suffixes``, the number rule); ``numbers`` false: no merge makes a
    word with a number."""
    names = tp.names
    length = _lengths(tp)
    has_num = np.array([NUM in t for t in names])
    both = _two_orphans(tp)
    seen = tp.n - discount
    ok = (tp.n >= config.merge_min_count) & (seen > 0)
    c_left, c_right = tp.counts[tp.left], tp.counts[tp.right]
    pmi = np.log(tp.counts.sum() * np.where(ok, seen, 1.0) / (c_left * c_right))
    fragment = np.where(tp.orphans()[tp.left], c_right, c_left)  # the non-orphan's count
    plain = ~has_num[tp.left] & ~has_num[tp.right]
    one = tp.orphans()[tp.left] != tp.orphans()[tp.right]  # an orphan and a longer token
    complete = one & plain & (seen > config.complete_share * fragment) & (pmi > config.complete_pmi)
    chosen = ok & ((both & plain & (pmi > config.merge_pmi)) | complete)
    if numbers and config.number_suffixes:
        # a number and a token that depends on numbers: the token follows a number in
        # more than complete_share of its occurrences (a measure word, a unit)
        number = np.array([t == NUM for t in names])
        suffix = number[tp.left] & ~has_num[tp.right] & (seen > config.complete_share * c_right)
        chosen |= ok & suffix
    elif numbers:
        chosen |= ok & ~plain & both & (pmi > config.merge_pmi)
    chosen &= length[tp.left] + length[tp.right] <= MAX_WORD_LEN  # what a model can hold
    return chosen  # type: ignore[no-any-return]


def passing_pairs(
    tp: TokenPairs, config: EnsembleConfig, discount: float | None = None
) -> list[Pair]:
    """The pairs to merge, in code point order: two orphans that pass the token-PMI test,
    and the completions of a multi-character token by an orphan (see the module
    documentation). ``discount`` defaults to :func:`pair_discount`."""
    if discount is None:
        discount = pair_discount(tp, config)
    chosen = _chosen(tp, config, discount)
    return sorted(
        (tp.names[a], tp.names[b])
        for a, b in zip(tp.left[chosen].tolist(), tp.right[chosen].tolist(), strict=True)
    )


def merge_orphans(
    tp: TokenPairs, config: EnsembleConfig, discount: float | None = None
) -> dict[str, float]:
    """Word counts after merging the pairs of :func:`passing_pairs`.

    The counts of a merged pair move from its two tokens to the new word. Where merges
    overlap (a b c with both a b and b c passing) this is approximate; the next pass over
    the corpus recounts exactly.
    """
    if discount is None:
        discount = pair_discount(tp, config)
    return _merge(tp, _chosen(tp, config, discount))


def _merge(tp: TokenPairs, chosen: npt.NDArray[np.bool_]) -> dict[str, float]:
    words = tp.token_counts()
    for a, b, n in zip(
        tp.left[chosen].tolist(), tp.right[chosen].tolist(), tp.n[chosen].tolist(), strict=True
    ):
        left, right = tp.names[a], tp.names[b]
        words[left + right] = words.get(left + right, 0.0) + n
        words[left] -= n
        words[right] -= n
    return {w: c for w, c in words.items() if c > 0}


def learn(ctx: Context, config: EnsembleConfig | None = None) -> Lexicon:
    """The consensus lexicon: vote, then orphan-merge rounds up to their fixed point,
    then an exact recount. With a base dictionary (``ctx.base``), :func:`adapt`."""
    config = config or EnsembleConfig()
    if ctx.base is not None:
        return adapt(ctx, ctx.base, config)
    segment, factors = _vote_segmenter(ctx, config)
    # the orphans of a strict vote are more often real one-character words: the merge
    # is made stricter too, less than the members (see the module documentation)
    scale = factors["cohesion"] ** config.merge_strictness
    merging = dataclasses.replace(config, merge_pmi=config.merge_pmi * scale)
    discounts: list[float] = []  # per merge round, recorded in the model
    merged: list[int] = []  # pairs merged per round, recorded in the model
    for round_ in range(config.merge_rounds):
        tp = orphan_pairs(ctx, segment, f"merge round {round_ + 1}/{config.merge_rounds}")
        discount = pair_discount(tp, config)
        chosen = _chosen(tp, merging, discount)
        if not chosen.any():  # the fixed point: this segmentation is final
            break
        discounts.append(round(discount, 4))
        merged.append(int(np.count_nonzero(chosen)))
        lexicon = Lexicon(_merge(tp, chosen))
        segment = per_fragment(lexicon.decoder().boundaries)
        del tp, lexicon
    words = dict(count_segmentation(ctx, segment, "final count"))
    meta = {
        "method": "ensemble",
        "config": to_dict(config),
        "strictness_used": {k: round(v, 4) for k, v in factors.items()},
        "merge_pmi_used": round(merging.merge_pmi, 4),
        "merge_discount_used": discounts,
        "merged_pairs": merged,
        "n_chars": ctx.counts.n_chars,
    }
    return Lexicon({w: float(c) for w, c in words.items()}, meta)


def adapt(ctx: Context, base: Lexicon, config: EnsembleConfig | None = None) -> Lexicon:
    """Adapt an existing dictionary to the corpus (``ciyu train --base``).

    The base defines the granularity: the corpus is first segmented with the base's own
    words and frequencies. Where the base already has the words, its segmentation
    stands: a string made of base words is the base's to split. What the base cannot
    express shows up as runs of single characters that are not words of the base (names,
    terms: 韩 立, 伊 曲 康 唑); inside such runs the members' vote decides, as ciyu's
    unsupervised stand-in for the supervised HMM that jieba runs there, and the words it
    makes join the lexicon. The merge rules of the ensemble then run on the token stream,
    as after a vote: the orphan merge joins two orphans whose token PMI passes
    ``merge_pmi``, and the completion joins a fragment to the orphan it depends on (心肌
    酶). No merge makes a word with a number (the base has its own number words or
    none).

    Between rounds the corpus is segmented again with the base's words and the merged
    ones. Every word's count is its frequency in the base plus its count in the corpus:
    the base acts as a prior of its own size, so a merged word beats its split into base
    words only where the corpus gives it the evidence (a strong prior for frequent base
    words such as 的, a weak one for rare ones). The result holds every base word and the
    new words, with these counts re-estimated on the corpus.
    """
    config = config or EnsembleConfig()
    prior = dict(base.counts)
    new: dict[str, float] = {}  # merged words that the base lacks → count in the corpus

    def lexicon() -> Lexicon:
        counts = dict(prior)
        for word, count in new.items():
            counts[word] = counts.get(word, 0.0) + count
        return Lexicon(counts)

    # where the base has no word (a run of its single characters), the vote decides
    vote, _ = _vote_segmenter(ctx, config)
    start = _vote_in_unknown_runs(per_fragment(base.decoder().boundaries), vote)
    for word, n in count_segmentation(ctx, start, "vote in unknown runs").items():
        if word not in prior and len(word) > 1 and NUM not in word:
            new[word] = float(n)
    segment = per_fragment(lexicon().decoder().boundaries)
    discounts: list[float] = []
    merged: list[int] = []
    for round_ in range(config.merge_rounds):
        stage = f"merge round {round_ + 1}/{config.merge_rounds}"
        tp = orphan_pairs(ctx, segment, stage)
        discount = pair_discount(tp, config)
        chosen = _chosen(tp, config, discount, numbers=False)
        if not chosen.any():
            break
        discounts.append(round(discount, 4))
        merged.append(int(np.count_nonzero(chosen)))
        for word, count in _merge(tp, chosen).items():
            if word not in prior:
                new[word] = count
        segment = per_fragment(lexicon().decoder().boundaries)
        del tp
    found = count_segmentation(ctx, segment, "final count")
    counts = dict(prior)
    kept = 0
    for word, count in found.items():
        if word in prior:
            counts[word] += count
        elif word in new:
            counts[word] = float(count)
            kept += 1
    meta = {
        "method": "ensemble",
        "config": to_dict(config),
        "base": dict(base.meta),
        "new_words": kept,
        "merge_discount_used": discounts,
        "merged_pairs": merged,
        "n_chars": ctx.counts.n_chars,
    }
    return Lexicon(counts, meta)


def _vote_in_unknown_runs(base: Segmenter, vote: Segmenter) -> Segmenter:
    """The base's segmentation, except inside its runs of two or more single characters
    (where it has no word: names, terms), which the vote segments."""

    def segment(frags: list[str]) -> list[list[int]]:
        out = []
        for ends, voted in zip(base(frags), vote(frags), strict=True):
            starts = [0, *ends[:-1]]
            keep = set(ends)
            i = 0
            while i < len(ends):
                j = i
                while j < len(ends) and ends[j] - starts[j] == 1:
                    j += 1
                if j - i >= 2:  # a run of single characters from starts[i] to ends[j - 1]
                    lo, hi = starts[i], ends[j - 1]
                    keep = {e for e in keep if not lo < e < hi} | {e for e in voted if lo < e < hi}
                i = max(j, i + 1)
            out.append(sorted(keep))
        return out

    return segment
