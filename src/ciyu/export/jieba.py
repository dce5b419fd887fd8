"""jieba dictionaries: ``jieba-main`` (``set_dictionary``) and ``jieba-user``
(``load_userdict``).

jieba segments a block of text by the maximum-probability path through the words of its
dictionary, a word's probability being ``freq / total`` and a character outside the
dictionary counting as ``freq = 1``. That is ciyu's decoder, so the exports choose
frequencies that give jieba ciyu's log-probabilities:

``jieba-main``
    ``freq = 2 × count``: jieba then prices every word as ciyu does, and an unknown
    character at ``1 / (2 × total)``, which is ciyu's ``unk_logp``.
``jieba-user``
    The user dictionary joins jieba's own (about 60 M in total frequency), so counts are
    scaled by ``total_jieba / total_ciyu``: the word keeps ciyu's probability. A word that
    ciyu segments whole but that would still lose to its best split into words of jieba's
    dictionary is raised just above that split (what ``jieba.suggest_freq(word,
    tune=True)`` does). The dictionary tuned to is the installed jieba's, or any given
    with ``jieba_dict``.

Entries jieba cannot use are left out and reported: the number class ``<num>`` (jieba has
none), and words with a character outside jieba's default-mode blocks
(``[\\u4E00-\\u9FD5a-zA-Z0-9+#&._%-]``: kana, CJK extension A/B, U+9FD6–U+9FFF), which
``jieba.cut`` never hands to its dictionary.

Measure the agreement with ``python benchmarks/exports.py``; use ``jieba.cut(text,
HMM=False)`` for ciyu's segmentation: jieba's HMM re-cuts runs of single characters.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from fractions import Fraction
from pathlib import Path

from ..decoder import best_split
from ..errors import CiyuError
from ..lexicon import Lexicon
from ..reader import Corpus
from ..text import NUM
from .base import Export

#: What ``jieba.cut`` (default mode, jieba 0.42) hands to its dictionary: maximal runs of
#: these characters. A word with any other character can never be produced.
JIEBA_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")

#: Total frequency of the dictionary shipped with jieba 0.42.1, used to scale a user
#: dictionary when neither jieba nor a dictionary file is at hand.
JIEBA_042_TOTAL = 60_101_967


def _usable(word: str, out: Export) -> bool:
    if NUM in word:
        out.skip("jieba has no number class (<num>)", word)
        return False
    if not JIEBA_BLOCK.fullmatch(word):
        out.skip("a character jieba's default cut never gives its dictionary", word)
        return False
    return True


def _scaled(count: float, numerator: float, denominator: float | Fraction) -> int:
    """``count × numerator / denominator`` as a jieba frequency (an int of at least 1)."""
    if not isinstance(denominator, Fraction):
        value = count * numerator / denominator
        if math.isfinite(value):
            return max(1, round(value))
    # extreme counts: exact arithmetic (jieba reads any int)
    return max(1, round(Fraction(count) * Fraction(numerator) / Fraction(denominator)))


def main_dictionary(lexicon: Lexicon) -> Export:
    """A jieba main dictionary (``word freq`` lines) equivalent to the model."""
    out = Export(b"", 0)
    counts = lexicon.counts
    # ×2 makes jieba's unknown-character price (freq 1) equal to ciyu's (half a count);
    # fractional counts (EM) are scaled up so that the rarest word keeps a count of 2
    rarest = min(1.0, min(counts.values(), default=1.0))
    lines = []
    for word, count in lexicon.sorted_items():
        if _usable(word, out):
            lines.append(f"{word} {_scaled(count, 2.0, rarest)}\n")
    out.data = "".join(lines).encode("utf-8")
    out.entries = len(lines)
    return out


def default_jieba_dictionary() -> Path | None:
    """The dictionary file of the installed jieba package (not imported), or None."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "dict.txt"
        if path.is_file():
            return path
    return None


def read_jieba_dictionary(path: str | os.PathLike[str]) -> dict[str, int]:
    """``word → freq`` of a jieba dictionary (``word freq [tag]`` lines).

    Raises:
        CiyuError: naming the file and line of a malformed entry.
    """
    freqs: dict[str, int] = {}
    # read in blocks of whole lines (UTF-8 errors name the file and line): a Piece per
    # line takes seconds for jieba's 350,000 lines
    carry = ""  # the start of a line longer than a block
    for block in Corpus([path]).blocks():
        lines = (carry + block.text).split("\n")
        carry = "" if block.complete else lines.pop()  # a block is part of a line or whole lines
        for lineno, line in enumerate(lines, block.lineno):
            fields = line.split()
            if not fields:
                continue
            try:
                freqs[fields[0]] = int(fields[1])
            except (IndexError, ValueError):
                raise CiyuError(
                    f"{path}:{lineno}: expected 'word freq [tag]' (a jieba dictionary)"
                ) from None
    return freqs


def user_dictionary(lexicon: Lexicon, jieba_dict: str | os.PathLike[str] | None = None) -> Export:
    """A jieba user dictionary (``word freq`` lines) tuned to jieba's main dictionary."""
    out = Export(b"", 0)
    path = Path(jieba_dict) if jieba_dict is not None else default_jieba_dictionary()
    base = read_jieba_dictionary(path) if path is not None else {}
    base_total = float(sum(base.values())) if base else float(JIEBA_042_TOTAL)
    if path is None:
        out.notes.append(
            f"jieba is not installed and no --jieba-dict was given: frequencies are scaled "
            f"to jieba 0.42's total ({JIEBA_042_TOTAL}) but not tuned against its words"
        )
    else:
        out.notes.append(f"frequencies tuned to the jieba dictionary {path}")
    total_ciyu: float | Fraction = lexicon.total
    if math.isinf(total_ciyu):  # counts near the float maximum: sum them exactly
        total_ciyu = sum((Fraction(c) for c in lexicon.counts.values()), Fraction(0))
    freqs = {
        word: _scaled(count, base_total, total_ciyu)
        for word, count in lexicon.sorted_items()
        if _usable(word, out)
    }
    if base:
        # jieba's probabilities once the user words are loaded: load_userdict overrides
        # the frequency of a known word and adds every frequency to the total
        merged = dict(base)
        merged.update(freqs)
        total = base_total + sum(freqs.values())
        log_total = math.log(total)
        log_probs = {w: math.log(f) - log_total for w, f in merged.items() if f > 0}
        max_len = max(map(len, freqs), default=1)
        unk = -log_total  # jieba: a character outside the dictionary counts once
        own = lexicon.decoder()
        for word, freq in freqs.items():
            # raised only where ciyu keeps the word whole: a word of an adapted base that
            # ciyu's own model splits stays as the model prices it
            if len(word) < 2 or own.boundaries(word) != [len(word)]:
                continue
            _, split = best_split(word, log_probs, unk, max_len)
            needed = math.floor(math.exp(split) * total) + 1
            if needed > freq:
                freqs[word] = needed
    out.data = "".join(f"{w} {f}\n" for w, f in freqs.items()).encode("utf-8")
    out.entries = len(freqs)
    return out
