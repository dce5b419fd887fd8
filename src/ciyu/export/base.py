"""What every export returns, and the pieces a tokenizer library can match."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..errors import ModelFormatError
from ..lexicon import Lexicon
from ..text import NUM, display


@dataclass
class Export:
    """The bytes of an exported file, and the entries that could not be exported.

    Attributes:
        data: the file's content.
        entries: how many words were written.
        skipped: reason → the words left out for that reason.
        notes: facts about the export worth telling the user (e.g. which jieba
            dictionary frequencies were scaled to).
    """

    data: bytes
    entries: int
    skipped: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def skip(self, reason: str, word: str) -> None:
        """Record that ``word`` was left out for ``reason``."""
        self.skipped.setdefault(reason, []).append(word)

    def warnings(self, examples: int = 5) -> list[str]:
        """One line per reason: how many words were skipped, with a few examples."""
        lines = []
        for reason, words in sorted(self.skipped.items()):
            shown = ", ".join(display(w) for w in words[:examples])
            more = ", ..." if len(words) > examples else ""
            lines.append(f"{len(words)} word(s) skipped: {reason} ({shown}{more})")
        return lines


def pieces(lexicon: Lexicon, out: Export) -> list[tuple[str, float]]:
    """:meth:`Lexicon.vocabulary`, with the words it leaves out recorded in ``out`` as
    skipped: the number-class patterns, and words with a character that is not learnable
    (ciyu's decoder never produces them: ``OK吧`` is two tokens by rule).

    Log-probabilities are the model's own (normalised over all its words), so the library's
    Viterbi picks the same pieces as ciyu's decoder.

    Raises:
        ModelFormatError: if a log-probability is not finite (counts so large or so small
            that their total overflows): no library could use it.
    """
    vocab = lexicon.vocabulary()
    kept = {piece for piece, _ in vocab}
    for word, _ in lexicon.sorted_items():
        if word in kept:
            continue
        if NUM in word:
            out.skip("the number class <num> has no equivalent in the library", word)
        else:
            out.skip("a character that is not learnable text: ciyu never produces it", word)
    bad = [piece for piece, score in vocab if not math.isfinite(score)]
    if bad or not math.isfinite(lexicon.unk_logp()):
        what = f"log-probability of {display(bad[0])!r}" if bad else "unknown-character score"
        raise ModelFormatError(
            f"the model's {what} is not finite: its counts are too large or too small; "
            "rescale them (e.g. to a total near the size of the corpus)"
        )
    return vocab
