"""The options of template mining, and the distance buckets every pass shares."""

from __future__ import annotations

from dataclasses import dataclass

from ..config import option
from ..errors import ConfigError

#: Distinct fillers counted exactly per template (a larger number is estimated).
DISTINCT_EXACT = 1024
#: Most frequent fillers kept per template in the output.
TOP_FILLERS = 5
#: Filler counts held per template while counting (rarer ones are pruned beyond it).
FILLER_BUDGET = 4096
#: Paths explored from each word of a sentence (a sentence whose words are all associated
#: with each other has more paths than are worth counting; the shortest come first).
MAX_PATHS = 64


@dataclass(frozen=True)
class TemplateConfig:
    """Options of template mining (see :mod:`ciyu.template.mining`)."""

    min_count: int = option(
        0,
        "least count of a fixed word, a pair and a template; 0 = one per 250,000 words, at least 3",
    )
    max_distance: int = option(
        32, "farthest from the first fixed word of a template the others may be (words)"
    )
    max_fixed: int = option(4, "most fixed words in a template (一 方面 <X> 另一 方面 has four)")
    max_gaps: int = option(
        2, "most slots between fixed words (a <X> b <X> c has two; 不 是 <X> 而 是 one)"
    )
    sample_words: int = option(
        2_000_000,
        "seek templates in a sample of about this many words spread over the corpus (every "
        "k-th chunk), then count them by parsing all of it; 0 = seek them in all of it",
    )
    trivial: bool = option(
        False, "also list trivial templates, one word between two slots (<X> 的 <X>)"
    )

    def __post_init__(self) -> None:
        if self.min_count < 0:
            raise ConfigError(f"--min-count must be 0 (automatic) or more, got {self.min_count}")
        if not 1 <= self.max_distance <= 1024:
            raise ConfigError(f"--max-distance must be between 1 and 1024, got {self.max_distance}")
        if self.sample_words < 0:
            raise ConfigError(f"--sample-words must be 0 or more, got {self.sample_words}")
        if not 2 <= self.max_fixed <= 16:
            raise ConfigError(f"--max-fixed must be between 2 and 16, got {self.max_fixed}")
        if not 1 <= self.max_gaps <= 15:
            raise ConfigError(f"--max-gaps must be between 1 and 15, got {self.max_gaps}")

    def resolved_min_count(self, n_words: int) -> int:
        """``min_count``, or the automatic value for a corpus of ``n_words`` words."""
        return self.min_count or max(3, round(n_words / 250_000))


def bucket(d: int) -> int:
    """The distance bucket of a distance ``d >= 1``: 1, 2, 3–4, 5–8, 9–16, ... → 0, 1, 2, ...

    >>> [bucket(d) for d in (1, 2, 3, 4, 5, 8, 9, 16, 17, 32)]
    [0, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    """
    return (d - 1).bit_length()


def bucket_width(b: int) -> int:
    """How many distances bucket ``b`` holds (1, 1, 2, 4, 8, ...)."""
    return 1 if b == 0 else 1 << (b - 1)


def sample_every(n_words: int, sample_words: int) -> int:
    """Map every k-th chunk for a sample of about ``sample_words`` of ``n_words`` words
    (1: all of them).

    >>> sample_every(1_000_000, 2_000_000), sample_every(11_000_000, 2_000_000)
    (1, 6)
    """
    if sample_words <= 0 or n_words <= sample_words:
        return 1
    return -(-n_words // sample_words)
