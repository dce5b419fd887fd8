"""The ensemble learner: a lexicon from the boundaries that most learners agree on.

The member learners judge word boundaries by different evidence, so they make different
mistakes:

- ``cohesion``: how solid the strings are;
- ``nvbe``: how much the next character becomes uncertain;
- ``lm``: how well a word-internal character language model explains the text.

Each member segments every fragment of the corpus. A gap between two characters becomes a
word boundary when at least ``min_votes`` members cut there. The words of this consensus
segmentation are counted into the lexicon, and the shared lattice decoder segments with it.

Every member runs with its default configuration, learned from the same n-gram counts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from ..config import option, to_dict
from ..errors import ConfigError
from ..lexicon import Lexicon
from .base import Context, Segmenter, count_segmentation

MEMBERS = ("cohesion", "nvbe", "lm")


@dataclass(frozen=True)
class EnsembleConfig:
    """Options of the ensemble learner (see the module documentation)."""

    members: tuple[str, ...] = option(MEMBERS, "learners that vote on word boundaries")
    min_votes: int = option(2, "votes needed to cut between two characters")

    def __post_init__(self) -> None:
        unknown = [m for m in self.members if m not in MEMBERS]
        if unknown:
            raise ConfigError(
                f"--members: unknown learner(s) {', '.join(unknown)}; choose from "
                f"{', '.join(MEMBERS)}"
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


def learn(ctx: Context, config: EnsembleConfig | None = None) -> Lexicon:
    """Count the words of the consensus segmentation of the corpus into a lexicon."""
    config = config or EnsembleConfig()
    words = count_segmentation(ctx, segmenter(ctx, config))
    meta = {"method": "ensemble", "config": to_dict(config), "n_chars": ctx.counts.n_chars}
    return Lexicon(dict(words), meta)
