"""The multi-order cohesion learner (Su Jianlin's 分词系列8, design memo §4), with boundary
entropy (§1) reported for every word.

1. **Solid n-grams.** An n-gram ``s`` of length ``2 <= k <= order`` seen at least
   ``min_count`` times is *solid* if its cohesion (weakest-split PMI, nats) reaches
   ``threshold(k)``. Thresholds grow with length, because sparse long strings get inflated
   ratios: by default ``0.3 · H · (k − 1)`` nats, with ``H`` the entropy of the corpus's
   character distribution. On Chinese news text (H ≈ 6.7 nats) that is 2, 4, 6 nats for
   k = 2, 3, 4, the e², e⁴, e⁶ ratios of Su's 2019 implementation; a script with a small
   alphabet, whose characters are frequent and PMIs small, gets lower thresholds.
2. **Covering cut.** In every fragment, a gap between two characters is kept when some
   solid n-gram occurrence spans it, and cut otherwise; the resulting pieces are counted.
   Overlapping solid n-grams chain, which is how words longer than ``order`` are found.
3. **Backtracking.** Chaining also glues false words (各项 + 项目 → 各项目). A piece of length
   ``3..order`` is kept only if it is itself solid; a longer piece only if every one of its
   length-``order`` windows is solid. Pieces of length 1 and 2 pass.
4. **Lexicon.** Kept pieces seen ``min_count`` times become words; the counts of every other
   piece are re-segmented with the kept words and added to the words they split into, so
   that counts stay on one scale (each occurrence of text is counted once).

The ranking ``score`` of a word is ``count · (cohesion − 1) · (1 − e^(−freedom))``:
the first two factors estimate the saving in code length of making it a word (the
minimum-entropy merge gain, §6.2: worth it when PMI exceeds 1 nat), and the last damps
words whose boundaries are not free (freedom = min(left, right) boundary entropy), which
is what catches fragments such as ``X的``.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from .. import stats
from ..config import option, to_dict
from ..counts import DEFAULT_ORDER, Keys, NgramCounts, windows
from ..decoder import Decoder
from ..errors import ConfigError
from ..lexicon import MAX_WORD_LEN, Lexicon
from ..tables import StringCounts, sum_by_key
from ..text import NUM, learnable_view
from .base import Context, Segmenter, per_fragment
from .passes import PAIR_SEP, CoveringCutPass

log = logging.getLogger("ciyu")

#: Documented rule for the automatic ``min_count``: about one occurrence in 500,000
#: characters, at least 2 (so a corpus of 2.3 M characters uses 5).
AUTO_MIN_COUNT_PER_CHAR = 1 / 500_000


@dataclass(frozen=True)
class CohesionConfig:
    """Options of the cohesion learner (see the module documentation)."""

    order: int = option(4, "longest n-gram tested for cohesion")
    min_count: int = option(
        0, "least count of a solid n-gram and of a word; 0 = scale with corpus size"
    )
    thresholds: tuple[float, ...] = option(
        (),
        "cohesion thresholds in nats for n-grams of length 2, 3, ...; the last step is "
        "repeated for longer ones; empty = --threshold-per-char times the character entropy",
    )
    threshold_per_char: float = option(
        0.3,
        "when --thresholds is empty: the threshold of a k-gram is this share of the "
        "character entropy per extra character, times (k - 1)",
    )
    min_length: int = option(2, "shortest word listed by discovery")
    min_entropy: float = option(
        0.0, "list only words whose left and right boundary entropies reach this (nats)"
    )
    list_numbers: bool = option(
        False, "also list number patterns such as <num>年 among the discovered words"
    )

    def __post_init__(self) -> None:
        if self.order < 2:
            raise ConfigError(f"--order must be at least 2, got {self.order}")
        if self.min_count < 0:
            raise ConfigError(f"--min-count must be 0 (auto) or positive, got {self.min_count}")
        if self.threshold_per_char <= 0 and not self.thresholds:
            raise ConfigError("--threshold-per-char must be positive (or give --thresholds)")
        if self.min_length < 1:
            raise ConfigError(f"--min-length must be at least 1, got {self.min_length}")

    def threshold(self, k: int, char_entropy: float) -> float:
        """Cohesion threshold (nats) for n-grams of length ``k >= 2``.

        Without explicit ``thresholds`` it is ``threshold_per_char · H · (k − 1)``, with
        ``H`` the entropy of the corpus's character distribution (nats). On Chinese news
        text ``H`` is about 6.7 nats, which gives Su's 2, 4, 6 nats; a script with a small
        alphabet (kana: about 4.1 nats) gets proportionally lower thresholds, because its
        characters are frequent and their PMIs small.
        """
        th = self.thresholds
        if not th:
            return self.threshold_per_char * char_entropy * (k - 1)
        if k - 2 < len(th):
            return th[k - 2]
        step = th[-1] - th[-2] if len(th) >= 2 else th[-1]
        return th[-1] + step * (k - 1 - len(th))

    def count_order(self) -> int:
        """n-gram order to count: one above ``order``, so boundary entropy is exact for every
        solid n-gram (and at least the default, for words longer than ``order``)."""
        return max(DEFAULT_ORDER, self.order + 1)

    def resolve_min_count(self, n_chars: int) -> int:
        """The effective ``min_count`` for a corpus of ``n_chars`` learnable characters."""
        if self.min_count > 0:
            return self.min_count
        return max(2, round(n_chars * AUTO_MIN_COUNT_PER_CHAR))

    def singletons_unused(self) -> bool:
        """True if n-grams (of order 2 and up) seen once cannot change the lexicon, so that
        training may drop them from the counts (most of the tables)."""
        # solid n-grams and words need min_count occurrences; boundary entropies are
        # exact without singletons (a neighbour seen once adds 1·ln 1 = 0 to Σ c ln c)
        return self.min_count != 1


@dataclass(frozen=True)
class WordStats:
    """The statistics behind one discovered word (all entropies and PMIs in nats)."""

    word: str
    count: int
    cohesion: float
    left_entropy: float
    right_entropy: float
    score: float

    @property
    def freedom(self) -> float:
        """min(left, right) boundary entropy."""
        return min(self.left_entropy, self.right_entropy)


@dataclass
class Discovery:
    """Everything the cohesion learner found, kept so that any word can be explained."""

    config: CohesionConfig
    counts: NgramCounts
    min_count: int
    solid: dict[int, set[str]]
    pieces: Counter[str]
    words: list[WordStats]
    lexicon_counts: dict[str, float]
    long_neighbours: dict[str, tuple[Counter[str], Counter[str]]] = field(repr=False)

    @property
    def char_entropy(self) -> float:
        """Entropy (nats) of the corpus's character distribution."""
        return stats.char_entropy(self.counts)

    def lexicon(self) -> Lexicon:
        """The learned lexicon (all kept words, single characters included)."""
        h = self.char_entropy
        meta = {
            "method": "cohesion",
            "config": to_dict(self.config),
            "min_count_used": self.min_count,
            "thresholds_used": [
                round(self.config.threshold(k, h), 4) for k in range(2, self.config.order + 1)
            ],
            "n_chars": self.counts.n_chars,
        }
        return Lexicon(dict(self.lexicon_counts), meta)

    def backtrack_failure(self, word: str) -> str | None:
        """Why ``word`` fails the backtracking check, or None if it passes."""
        n = self.config.order
        k = len(word)
        if k < 3:
            return None
        if k <= n:
            return None if word in self.solid[k] else f"{word} is not a solid {k}-gram"
        for i in range(k - n + 1):
            window = word[i : i + n]
            if window not in self.solid[n]:
                return f"its window {window} is not a solid {n}-gram"
        return None

    def explain(self, word: str) -> str:
        """A human-readable account of why ``word`` was kept or rejected."""
        cfg = self.config
        counts = self.counts
        lines = [f"word: {word}"]
        k = len(word)
        ngram_count = counts.count(word) if k <= counts.order else None
        piece_count = self.pieces.get(word, 0)
        if ngram_count is not None:
            lines.append(f"occurrences as a substring: {ngram_count}")
        lines.append(f"occurrences as a piece of the covering cut: {piece_count}")
        lines.append(f"min_count: {self.min_count}; corpus characters N = {counts.n_chars}")
        if 2 <= k <= counts.order and ngram_count:
            th = cfg.threshold(k, self.char_entropy)
            lines.append(f"cohesion test (threshold {th:.2f} nats):")
            for i in range(1, k):
                a, b = word[:i], word[i:]
                ca, cb = counts.count(a), counts.count(b)
                if ca and cb:
                    pmi = math.log(counts.n_chars * ngram_count / (ca * cb))
                    lines.append(f"  {a} | {b}: c={ca}, {cb}  PMI = {pmi:.3f}")
                else:
                    lines.append(f"  {a} | {b}: a part is missing from the counts")
        if 2 <= k <= cfg.order:
            lines.append(f"solid {k}-gram: {'yes' if word in self.solid[k] else 'no'}")
        found = {w.word: w for w in self.words}
        failure = self.backtrack_failure(word)
        if word in found:
            w = found[word]
            lines.append(
                f"left entropy {w.left_entropy:.3f}, right entropy {w.right_entropy:.3f}, "
                f"cohesion {w.cohesion:.3f}, score {w.score:.1f}"
            )
            lines.append("verdict: KEPT")
        else:
            if piece_count == 0:
                reason = "the covering cut never produces it as a piece (a gap inside is cut)"
            elif failure:
                reason = f"backtracking: {failure}"
            elif piece_count < self.min_count:
                reason = f"piece count {piece_count} is below min_count {self.min_count}"
            elif k < cfg.min_length:
                reason = f"shorter than min_length {cfg.min_length}"
            else:
                reason = f"boundary entropy below min_entropy {cfg.min_entropy}"
            lines.append(f"verdict: REJECTED — {reason}")
        return "\n".join(lines)


def solid_ngrams(counts: NgramCounts, config: CohesionConfig, min_count: int) -> dict[int, Keys]:
    """Sorted arrays of the solid n-grams of each length ``2..config.order``."""
    solid: dict[int, Keys] = {}
    char_entropy = stats.char_entropy(counts)
    for k in range(2, config.order + 1):
        keys, cnt = counts.table(k)
        keep = cnt >= min_count
        keys = keys[keep]
        coh = stats.cohesion(counts, keys) if len(keys) else np.empty(0)
        solid[k] = keys[coh >= config.threshold(k, char_entropy)]
        log.debug("solid %d-grams: %d of %d", k, len(solid[k]), len(keys))
    return solid


def _member(sorted_keys: Keys, keys: Keys) -> npt.NDArray[np.bool_]:
    if len(sorted_keys) == 0:
        return np.zeros(len(keys), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
    return np.asarray(sorted_keys[idx] == keys)


def covering_cut(
    texts: Iterable[str],
    solid: dict[int, Keys],
    long_len: int,
) -> tuple[Counter[str], dict[str, tuple[Counter[str], Counter[str]]]]:
    """Cut a chunk of text at every gap no solid n-gram spans; count the pieces.

    Also returns, for pieces of at least ``long_len`` characters, the histograms of their
    left and right neighbour characters (occurrences at a fragment edge are left out: each
    is a distinct neighbour, see :func:`ciyu.stats.entropy_of`).
    """
    frags = [f for t in texts for f in learnable_view(t).split("\0") if f]
    pieces, sides = cut_fragments(frags, np.ones(len(frags), dtype=np.int64), solid, long_len)
    return Counter(pieces.to_dict()), neighbour_counts(sides)


def neighbour_counts(sides: StringCounts) -> dict[str, tuple[Counter[str], Counter[str]]]:
    """The neighbours of :func:`cut_fragments`, as two histograms per piece (an
    occurrence at a fragment edge is in neither: each is a distinct neighbour)."""
    neighbours: dict[str, tuple[Counter[str], Counter[str]]] = {}
    for key, n in sides.items():
        piece, _, rest = key.partition(PAIR_SEP)
        left, right = neighbours.setdefault(piece, (Counter(), Counter()))
        if len(rest) > 1:
            (left if rest[0] == "<" else right)[rest[1:]] += n
    return neighbours


def cut_fragments(
    frags: list[str],
    weights: npt.NDArray[np.int64],
    solid: Mapping[int, Keys],
    long_len: int,
) -> tuple[StringCounts, StringCounts]:
    """The covering cut of fragments that occur ``weights[i]`` times each: the pieces
    with their counts, and for pieces of at least ``long_len`` characters their
    neighbours, as keys ``piece + PAIR_SEP + side + neighbour`` (side ``<`` or ``>``,
    neighbour ``""`` at the edge of the fragment, which :func:`neighbour_counts` leaves
    out) with their counts."""
    masked = "\0" + "\0".join(frags) + "\0"
    codes = np.frombuffer(masked.encode("utf-32-le"), dtype=np.uint32)
    n = len(codes)
    diff = np.zeros(n + 1, dtype=np.int32)
    sep = np.concatenate([[0], np.cumsum(codes == 0)])
    for k, keys in solid.items():
        if len(keys) == 0 or n < k:
            continue
        starts = np.flatnonzero(sep[k:] - sep[:-k] == 0)
        hit = starts[_member(keys, windows(codes, k))]
        diff += np.bincount(hit, minlength=n + 1).astype(np.int32)
        diff -= np.bincount(hit + k - 1, minlength=n + 1).astype(np.int32)
    covered = np.cumsum(diff[:n]) > 0  # covered[g]: the gap after character g is spanned
    zero = codes == 0
    # a piece starts at every non-separator character that follows a separator or a cut gap
    starts = np.flatnonzero(~zero[1:] & (zero[:-1] | ~covered[:-1])) + 1
    ends = np.flatnonzero(~zero[:-1] & (zero[1:] | ~covered[:-1])) + 1
    piece_weights = np.asarray(weights, dtype=np.int64)[sep[starts] - 1]
    lengths = ends - starts
    pieces = StringCounts()
    for k in np.unique(lengths).tolist():
        rows = np.flatnonzero(lengths == k)
        window = codes[starts[rows][:, None] + np.arange(k)]
        keys = np.ascontiguousarray(window).view(f"<U{k}").ravel()
        pieces.tables[k] = sum_by_key(keys, piece_weights[rows])
    sides: list[str] = []
    side_weights: list[int] = []
    for row in np.flatnonzero(lengths >= long_len).tolist():
        s, e = int(starts[row]), int(ends[row])
        piece = masked[s:e]
        w = int(piece_weights[row])
        sides.append(f"{piece}{PAIR_SEP}<{masked[s - 1] if codes[s - 1] else ''}")
        sides.append(f"{piece}{PAIR_SEP}>{masked[e] if codes[e] else ''}")
        side_weights += (w, w)
    return pieces, StringCounts.from_items(sides, side_weights)


def _word_stats(
    words: list[str],
    pieces: Counter[str],
    counts: NgramCounts,
    config: CohesionConfig,
    long_neighbours: dict[str, tuple[Counter[str], Counter[str]]],
) -> list[WordStats]:
    by_len: dict[int, list[str]] = {}
    for w in words:
        by_len.setdefault(len(w), []).append(w)
    out = []
    for k, group in sorted(by_len.items()):
        keys = np.array(group, dtype=f"<U{k}")
        if k == 1:
            coh = np.full(len(group), np.nan)
        elif k <= counts.order:
            coh = stats.cohesion(counts, keys)
        else:  # weakest window of length `order`, the unit the backtracking check used
            n = config.order
            codes = stats.codes_of(keys)
            coh = np.min(
                [
                    stats.cohesion(counts, stats.as_keys(codes[:, i : i + n]))
                    for i in range(k - n + 1)
                ],
                axis=0,
            )
        if k < counts.order:
            h_left, h_right = stats.boundary_entropy(counts, keys)
        else:
            h_left = np.array([stats.entropy_of(long_neighbours[w][0], pieces[w]) for w in group])
            h_right = np.array([stats.entropy_of(long_neighbours[w][1], pieces[w]) for w in group])
        for w, c, hl, hr in zip(
            group, coh.tolist(), h_left.tolist(), h_right.tolist(), strict=True
        ):
            count = pieces[w]
            freedom = min(hl, hr)
            gain = 0.0 if math.isnan(c) else max(c - 1.0, 0.0)
            score = count * gain * (1.0 - math.exp(-freedom))
            out.append(WordStats(w, count, c, hl, hr, score))
    return out


def discover(ctx: Context, config: CohesionConfig | None = None) -> Discovery:
    """Run the cohesion learner over a corpus.

    Returns:
        A :class:`Discovery` holding the ranked words, the lexicon and the evidence.
    """
    config = config or CohesionConfig()
    counts = ctx.counts
    min_count = config.resolve_min_count(counts.n_chars)
    solid = solid_ngrams(counts, config, min_count)
    long_len = counts.order  # boundary entropy of shorter words comes from the counts
    pieces, long_neighbours = ctx.run(CoveringCutPass(solid, long_len), "cut")
    solid_sets = {k: set(v.tolist()) for k, v in solid.items()}
    disc = Discovery(config, counts, min_count, solid_sets, pieces, [], {}, long_neighbours)
    kept: dict[str, float] = {}
    rejected: list[tuple[str, int]] = []
    for piece, c in pieces.items():
        if len(piece) == 1 or (
            c >= min_count
            and len(piece) <= MAX_WORD_LEN  # longer ones are split like rejected pieces
            and disc.backtrack_failure(piece) is None
        ):
            kept[piece] = float(c)
        else:
            rejected.append((piece, c))
    # Give the occurrences of rejected pieces to the words they split into, so that every
    # character of the corpus is counted exactly once in the lexicon.
    total = sum(kept.values()) + sum(c for _, c in rejected)
    logp = {w: math.log(c / total) for w, c in kept.items()}
    decoder = Decoder(logp, unk_logp=math.log(0.5 / total))
    redistributed = dict(kept)
    for piece, c in sorted(rejected):
        for w in decoder.cut(piece):
            redistributed[w] = redistributed.get(w, 0.0) + c
    disc.lexicon_counts = redistributed
    listed = [
        w for w in kept if len(w) >= config.min_length and (config.list_numbers or NUM not in w)
    ]
    ranked = _word_stats(listed, pieces, counts, config, long_neighbours)
    if config.min_entropy > 0:
        ranked = [w for w in ranked if w.freedom >= config.min_entropy]
    ranked.sort(key=lambda w: (-w.score, -w.count, w.word))
    disc.words = ranked
    log.info(
        "cohesion learner: N=%d chars, min_count=%d, %d pieces, %d words kept",
        counts.n_chars,
        min_count,
        len(pieces),
        len(ranked),
    )
    return disc


def learn(ctx: Context, config: CohesionConfig | None = None) -> Lexicon:
    """The cohesion learner's lexicon (see :func:`discover` for the evidence behind it)."""
    return discover(ctx, config).lexicon()


def segmenter(ctx: Context, config: CohesionConfig | None = None) -> Segmenter:
    """Segment fragments with the learned lexicon (for ensembles)."""
    return per_fragment(learn(ctx, config).decoder().boundaries)
