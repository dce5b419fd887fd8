"""A unigram-LM tokenizer trainer with a vocabulary-size target (design memo §8–§9.1).

It serves people who build tokenizers. The result is a vocabulary of exactly
``vocab_size`` pieces (at most), each with a probability, ready to be exported. It works in
four steps.

1. **Sentences.** The distinct learnable fragments of the corpus are counted. This is
   BytePiece-style counting: every later pass runs over this table, weighted by the counts,
   not over the corpus.
2. **Seeds.** The seeds are all n-grams of 2 to ``max_piece_length`` characters seen at
   least twice. The n-gram counts are already there, so no suffix array is needed. They
   are ranked by ``count × length``, as sentencepiece ranks its seeds, and the best
   ``seed_factor × vocab_size`` are kept (at least 100,000). The characters are added too.
3. **Re-estimation and pruning.** Each round does two things:
   - it re-estimates the piece counts by Viterbi EM: every sentence is segmented by the
     shared lattice decoder, and the pieces are counted;
   - it removes the multi-character pieces whose loss of log-likelihood would be smallest
     if they were replaced by their best alternative segmentation:
     ``count · (ln p(w) − ln p(best split of w))``. This is sentencepiece's pruning
     criterion, estimated piece by piece.

   Each round keeps ``shrink`` of the pieces, never fewer than the target. The characters
   that cover ``character_coverage`` of the text are always kept.
4. **Finishing.** Two more EM passes run at the final size. Pieces that the decoder never
   chooses are dropped (BytePiece's wasted pieces).

Characters outside the vocabulary stay single-character tokens when text is cut, so nothing
is lost. With ids, they map to ``<unk>``.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..config import option, to_dict
from ..decoder import best_split
from ..errors import ConfigError
from ..lexicon import Lexicon
from .base import Context, Segmenter, count_segmentation, per_fragment

log = logging.getLogger("ciyu")


@dataclass(frozen=True)
class UnigramConfig:
    """Options of the unigram tokenizer trainer (see the module documentation)."""

    vocab_size: int = option(8000, "number of pieces in the vocabulary (an upper bound)")
    max_piece_length: int = option(6, "longest piece, in characters")
    character_coverage: float = option(
        0.9995, "share of the text's characters that must be pieces of their own"
    )
    shrink: float = option(0.75, "share of the pieces kept by each pruning round")
    seed_factor: int = option(10, "seed pieces per vocabulary entry (at least 100,000 seeds)")

    def __post_init__(self) -> None:
        if self.vocab_size < 1:
            raise ConfigError(f"--vocab-size must be positive, got {self.vocab_size}")
        if self.max_piece_length < 1:
            raise ConfigError(f"--max-piece-length must be positive, got {self.max_piece_length}")
        if not 0 < self.character_coverage <= 1:
            raise ConfigError(
                f"--character-coverage must be in (0, 1], got {self.character_coverage}"
            )
        if not 0 < self.shrink < 1:
            raise ConfigError(f"--shrink must be between 0 and 1, got {self.shrink}")

    def count_order(self) -> int:
        """Seeds come from the n-gram counts up to the longest piece."""
        return self.max_piece_length

    def singletons_unused(self) -> bool:
        """True if n-grams (of order 2 and up) seen once cannot change the lexicon, so that
        training may drop them from the counts (most of the tables)."""
        return False


def required_characters(ctx: Context, coverage: float) -> set[str]:
    """The most frequent characters that together cover ``coverage`` of the text."""
    chars, counts = ctx.counts.table(1)
    order = np.argsort(-counts, kind="stable")
    covered = np.cumsum(counts[order]) / max(int(counts.sum()), 1)
    n = int(np.searchsorted(covered, coverage)) + 1
    return set(chars[order[:n]].tolist())


def _viterbi_counts(ctx: Context, pieces: dict[str, float], stage: str) -> Counter[str]:
    """One Viterbi EM step: the pieces of the best segmentation of every fragment of the
    corpus (each distinct fragment once, weighted by its count), counted."""
    return count_segmentation(ctx, per_fragment(Lexicon(pieces).decoder().boundaries), stage)


def _losses(counts: Counter[str], max_len: int) -> list[tuple[float, str]]:
    """``(loss, piece)`` for every multi-character piece, largest loss first."""
    total = sum(counts.values())
    logp = {w: math.log(c / total) for w, c in counts.items() if c > 0}
    unk = math.log(0.5 / total)
    out = []
    for word, c in counts.items():
        if len(word) < 2 or c <= 0:
            continue
        _, alternative = best_split(word, logp, unk, max_len)
        out.append((c * (logp[word] - alternative), word))
    out.sort(key=lambda x: (-x[0], x[1]))
    return out


def learn(ctx: Context, config: UnigramConfig | None = None) -> Lexicon:
    """Train the vocabulary in the four steps of the module documentation."""
    config = config or UnigramConfig()
    required = required_characters(ctx, config.character_coverage)
    if len(required) > config.vocab_size:
        raise ConfigError(
            f"--vocab-size {config.vocab_size} is smaller than the {len(required)} characters "
            f"needed to cover {config.character_coverage:.2%} of the text; raise --vocab-size "
            "or lower --character-coverage"
        )
    counts = ctx.counts
    seeds: list[tuple[int, str]] = []
    for k in range(2, config.max_piece_length + 1):
        keys, cnt = counts.table(k)
        frequent = cnt >= 2
        seeds.extend(zip((cnt[frequent] * k).tolist(), keys[frequent].tolist(), strict=True))
    seeds.sort(key=lambda x: (-x[0], x[1]))
    seeds = seeds[: max(config.seed_factor * config.vocab_size, 100_000)]
    pieces = {w: float(score // len(w)) for score, w in seeds}
    chars, char_counts = counts.table(1)
    pieces.update(zip(chars.tolist(), char_counts.astype(float).tolist(), strict=True))
    n_required = len(required)
    rounds = itertools.count(1)
    while True:
        used = _viterbi_counts(ctx, pieces, f"EM round {next(rounds)}")
        ranked = _losses(used, config.max_piece_length)
        size = len(ranked) + n_required
        target = (
            config.vocab_size
            if size <= config.vocab_size
            else max(config.vocab_size, int(size * config.shrink))
        )
        kept = ranked[: max(target - n_required, 0)]
        pieces = {w: float(used[w]) for _, w in kept}
        for ch in required:
            pieces[ch] = float(max(used.get(ch, 0), 1))
        log.info("unigram: %d pieces (target %d)", len(pieces), config.vocab_size)
        if target == config.vocab_size:
            break
    for _ in range(2):
        used = _viterbi_counts(ctx, pieces, f"EM round {next(rounds)}")
        pieces = {w: float(c) for w, c in used.items() if w in pieces and c > 0}
        for ch in required:
            pieces.setdefault(ch, 1.0)
    meta = {"method": "unigram", "config": to_dict(config), "n_chars": counts.n_chars}
    return Lexicon(pieces, meta)


def segmenter(ctx: Context, config: UnigramConfig | None = None) -> Segmenter:
    """Segment fragments with the trained vocabulary."""
    return per_fragment(learn(ctx, config).decoder().boundaries)
