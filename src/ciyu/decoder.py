"""The shared lattice decoder: maximum-probability segmentation under a unigram lexicon.

Given word log-probabilities, a fragment ``s`` is split into the words ``w_1..w_m`` that
maximise ``Σ ln p(w_i)`` (Viterbi over the word lattice). Every single character is
always a possible word: characters absent from the lexicon get ``unk_logp``, so the
decoder never fails and never drops text.

Two implementations give identical results, ties included:

- the pure-Python *reference* walks a prefix table (every prefix of every word is a key,
  mapped to ``None`` when the prefix is not itself a word), so the inner loop stops as
  soon as no longer word can match;
- the compiled twin, ``ciyu._lattice`` (a small C extension built when ciyu is
  installed), walks a code-point trie in the same order. Its trie never changes once it
  is used, and its long loops run without the GIL, so a :class:`Decoder` (and the
  :class:`ciyu.Model` around it) can be shared by threads that segment in parallel.

:class:`Decoder` uses the compiled twin when it is available (``compiled=None``), and the
tests compare the two on random lexicons and strings.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterable, Mapping
from itertools import repeat
from typing import TYPE_CHECKING

from ._compiled import HAVE_COMPILED
from ._compiled import lattice as _lattice

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from ._lattice import Lattice

__all__ = [
    "HAVE_COMPILED",
    "Decoder",
    "best_split",
    "boundaries_from_tables",
    "log_probs_of",
    "scores_of",
]

_NEG_INF = -math.inf


def log_probs_of(counts: Mapping[str, float]) -> dict[str, float]:
    """Unigram log-probabilities (natural log) of the words of ``counts``: ``ln c - ln Σc``.

    :func:`math.log`, not numpy's (whose SIMD variants may differ in the last bit between
    machines, and ties between segmentations depend on these exact values); mapped in C.
    The compiled decoder takes the same logarithms (see :meth:`Decoder.from_counts`).
    """
    log_total = _log_total(counts)
    logs = map(operator.sub, map(math.log, counts.values()), repeat(log_total))
    return dict(zip(counts, logs, strict=True))


def _log_total(counts: Mapping[str, float]) -> float:
    """``ln Σc`` (0 for no counts).

    Raises:
        ValueError: if the total is not a positive finite number.
    """
    if not counts:
        return 0.0
    total = float(sum(counts.values()))
    if not (total > 0 and math.isfinite(total)):
        raise ValueError(
            f"the count of every word must be a positive finite number (total {total})"
        )
    return math.log(total)


class _LogProbs:
    """A decoder's word scores: the words as given, with their log-probabilities, or with
    counts (``counted``) whose log-probabilities are made the first time they are asked
    for (a model loaded to segment a file never asks)."""

    __slots__ = ("_table", "counted", "given")

    def __init__(self, given: Mapping[str, float], *, counted: bool) -> None:
        self.given = given
        self.counted = counted
        self._table = None if counted else given

    def get(self) -> Mapping[str, float]:
        """Word → log-probability."""
        if self._table is None:
            self._table = log_probs_of(self.given)
        return self._table


class _Boundaries(functools.partial[list[int]]):
    """The compiled :meth:`Decoder.boundaries`, which keeps the word scores it was built
    from (``source``: the table and the unknown character's score), so that the same
    decoder can be rebuilt in another process (see :func:`scores_of`)."""

    scores: _LogProbs
    unk_logp: float

    @property
    def source(self) -> tuple[Mapping[str, float], float]:
        """The word scores and the unknown character's score."""
        return self.scores.get(), self.unk_logp


def scores_of(boundaries: Callable[[str], list[int]]) -> tuple[Mapping[str, float], float] | None:
    """The word scores and the unknown character's score of a decoder's ``boundaries``
    method (compiled or not), or None if ``boundaries`` is not one."""
    if isinstance(boundaries, _Boundaries):
        return boundaries.source
    owner = getattr(boundaries, "__self__", None)
    if isinstance(owner, Decoder) and not owner.compiled:
        return owner._log_probs, owner.unk_logp
    return None


class Decoder:
    """Maximum-probability segmenter over a fixed word → log-probability table.

    Args:
        log_probs: word → natural-log probability.
        unk_logp: log-probability of a character that is not in the table.
        compiled: use the compiled decoder (True), the Python reference (False), or the
            compiled one when it is installed (None).

    Raises:
        ValueError: if a score is not a finite number (both implementations check).
    """

    def __init__(
        self, log_probs: Mapping[str, float], unk_logp: float, *, compiled: bool | None = None
    ) -> None:
        # kept as given (no copy: lexicons can hold millions of entries)
        self._setup(_LogProbs(log_probs, counted=False), unk_logp, compiled)

    @classmethod
    def from_counts(
        cls, counts: Mapping[str, float], unk_logp: float, *, compiled: bool | None = None
    ) -> Decoder:
        """The decoder over the unigram log-probabilities of ``counts`` (those of
        :func:`log_probs_of`). The compiled twin takes the logarithms itself, and the
        table of log-probabilities is made only if asked for (:meth:`score`, the
        reference, or rebuilding the decoder elsewhere): loading a model to segment a file
        makes none.

        Raises:
            ValueError: if a count is not a positive finite number.
        """
        decoder = cls.__new__(cls)
        decoder._setup(_LogProbs(counts, counted=True), unk_logp, compiled)
        return decoder

    def _setup(self, scores: _LogProbs, unk_logp: float, compiled: bool | None) -> None:
        """Build the decoder over ``scores``."""
        self.unk_logp = float(unk_logp)
        if not math.isfinite(self.unk_logp):
            raise ValueError(f"the unknown-character score must be finite, got {unk_logp}")
        self._scores = scores
        if compiled and _lattice is None:
            raise ImportError("the compiled decoder (ciyu._lattice) is not installed")
        self.compiled = _lattice is not None and compiled is not False
        self._table: dict[str, float | None] | None = None
        #: The compiled lattice, when one is used (for bulk segmentation).
        self.fast: Lattice | None = None
        if self.compiled:
            assert _lattice is not None
            words = scores.given
            if scores.counted:  # the lattice takes the logarithms of the counts
                self.fast = _lattice.Lattice(
                    list(words), list(words.values()), self.unk_logp, False, _log_total(words)
                )
            else:
                self.fast = _lattice.Lattice(
                    list(words), [float(lp) for lp in words.values()], self.unk_logp
                )
            bound = _Boundaries(self.fast.boundaries)
            bound.scores, bound.unk_logp = scores, self.unk_logp
            self.boundaries = bound  # type: ignore[method-assign]
        else:
            for word, lp in self._log_probs.items():
                if not math.isfinite(lp):
                    raise ValueError(f"the score of {word!r} must be a finite number, got {lp}")

    @functools.cached_property
    def max_len(self) -> int:
        """The length of the longest word (1 if there is none)."""
        return max(map(len, self._scores.given), default=1)

    @property
    def _log_probs(self) -> Mapping[str, float]:
        """Word → log-probability."""
        return self._scores.get()

    def _prefix_table(self) -> dict[str, float | None]:
        if self._table is None:
            table: dict[str, float | None] = {}
            for word, lp in self._log_probs.items():
                table[word] = float(lp)
                for i in range(1, len(word)):
                    table.setdefault(word[:i], None)
            self._table = table
        return self._table

    def score(self, word: str) -> float | None:
        """Log-probability of ``word`` as one lexicon entry, or None if it is not one."""
        lp = self._log_probs.get(word)
        return None if lp is None else float(lp)

    def boundaries(self, s: str) -> list[int]:
        """End offsets of the best segmentation of ``s`` (the last one is ``len(s)``).

        This is the reference implementation; instances using the compiled decoder
        replace it with the compiled twin.
        """
        n = len(s)
        if n == 0:
            return []
        table = self._prefix_table()
        unk = self.unk_logp
        best = [_NEG_INF] * (n + 1)
        best[0] = 0.0
        back = [0] * (n + 1)
        for i in range(n):
            base = best[i]
            lp = table.get(s[i])
            cand = base + (unk if lp is None else lp)
            if cand > best[i + 1]:
                best[i + 1] = cand
                back[i + 1] = i
            j = i + 2
            stop = min(n, i + self.max_len)
            while j <= stop:
                entry = s[i:j]
                if entry not in table:
                    break
                lp = table[entry]
                if lp is not None:
                    cand = base + lp
                    if cand > best[j]:
                        best[j] = cand
                        back[j] = i
                j += 1
        ends = []
        j = n
        while j > 0:
            ends.append(j)
            j = back[j]
        ends.reverse()
        return ends

    def cut(self, s: str) -> list[str]:
        """The best segmentation of ``s`` as a list of words; ``"".join`` gives back ``s``."""
        words = []
        start = 0
        for end in self.boundaries(s):
            words.append(s[start:end])
            start = end
        return words


def boundaries_from_tables(
    tables: Iterable[tuple[npt.NDArray[np.str_], npt.NDArray[np.float64]]], unk_logp: float
) -> Callable[[str], list[int]]:
    """:meth:`Decoder.boundaries` over words given as numpy tables ``(keys, scores)`` (one
    table per word length, keys of dtype ``<Uk``), for large transient tables: with the
    compiled decoder the words go straight from the arrays into its trie, without a Python
    object per word; the reference builds a dict."""
    if _lattice is not None:
        import numpy as np  # not at the top: segmenting a file needs no numpy (startup time)

        lattice: Lattice = _lattice.Lattice([], [], float(unk_logp), True)
        for keys, scores in tables:
            if len(keys):
                lattice.extend_codes(
                    np.ascontiguousarray(keys),
                    keys.dtype.itemsize // 4,
                    np.ascontiguousarray(scores, dtype=np.float64),
                )
        return lattice.boundaries
    table: dict[str, float] = {}
    for keys, scores in tables:
        table.update(zip(keys.tolist(), scores.tolist(), strict=True))
    return Decoder(table, unk_logp, compiled=False).boundaries


def best_split(
    word: str, log_probs: Mapping[str, float], unk_logp: float, max_len: int
) -> tuple[list[str], float]:
    """The best segmentation of ``word`` into at least two pieces, and its score.

    Pieces are entries of ``log_probs`` of at most ``max_len`` characters, or single
    characters (scored ``unk_logp`` when absent). This is the "what if ``word`` were not
    in the lexicon" question that de-redundancy and tokenizer pruning ask of every entry.
    """
    n = len(word)
    best = [0.0] + [_NEG_INF] * n
    back = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(max(0, j - max_len), j):
            if i == 0 and j == n:
                continue
            lp = log_probs.get(word[i:j])
            if lp is None:
                if j - i > 1:
                    continue
                lp = unk_logp
            if best[i] + lp > best[j]:
                best[j] = best[i] + lp
                back[j] = i
    parts = []
    j = n
    while j > 0:
        parts.append(word[back[j] : j])
        j = back[j]
    parts.reverse()
    return parts, best[n]
