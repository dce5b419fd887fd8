"""SIGHAN-style scoring of a segmentation against a gold standard.

Words are compared as character spans over the *whole file*: each word is the span
``[start, end)`` of its characters in the concatenation of all words of the file (word
separators and line breaks removed). A predicted word is correct when the gold has exactly
the same span. Comparing over the whole file, not line by line, means that a line break in
a different place (MSR's gold moves an opening quote to the previous line in eight places)
cannot shift the score.

Words are separated by ASCII whitespace, as in the bakeoff files and the official ``score``
script; other whitespace characters (such as the ideographic space U+3000) are words.

* precision = correct / predicted words, recall = correct / gold words, F1 their harmonic
  mean;
* with a training word list: a gold word is *OOV* if it is not in the list; OOV recall is
  the share of OOV gold words found, IV recall the share of the others.

A score whose denominator is zero is undefined, never 0: files without a single word are
refused with an :class:`~ciyu.errors.EvaluationError` (precision, recall and F1 would be
0/0), and OOV (IV) recall is ``None`` — ``null`` in JSON, "undefined" in the report —
when the gold has no OOV (IV) word.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from .errors import EvaluationError
from .reader import Corpus

log = logging.getLogger("ciyu")

_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")


@dataclass(frozen=True)
class Scores:
    """Result of :func:`evaluate`.

    ``oov_rate``, ``oov_recall`` and ``iv_recall`` are None without a training word list;
    with one, ``oov_recall`` (``iv_recall``) is None when the gold holds no OOV (IV)
    word, because a share of nothing is undefined.
    """

    precision: float
    recall: float
    f1: float
    gold_words: int
    predicted_words: int
    correct: int
    oov_rate: float | None = None
    oov_recall: float | None = None
    iv_recall: float | None = None

    def to_json(self) -> str:
        """The scores as a JSON object (keys sorted)."""
        return json.dumps(asdict(self), sort_keys=True)

    def report(self) -> str:
        """A short human-readable table."""
        rows: list[tuple[str, float | None, str]] = [
            ("precision", self.precision, ""),
            ("recall", self.recall, ""),
            ("F1", self.f1, ""),
        ]
        if self.oov_rate is not None:  # a word list was given
            rows += [
                ("OOV rate", self.oov_rate, ""),
                ("OOV recall", self.oov_recall, "OOV"),
                ("IV recall", self.iv_recall, "IV"),
            ]
        lines = [
            f"{name:<11}{value:.4f}"
            if value is not None
            else f"{name:<11}undefined (the gold has no {kind} word)"
            for name, value, kind in rows
        ]
        lines.append(
            f"words: gold {self.gold_words}, predicted {self.predicted_words}, "
            f"correct {self.correct}"
        )
        return "\n".join(lines)


def _words(lines: Iterable[tuple[int, str]]) -> tuple[list[str], list[int], str]:
    """Words, the line number of each, and all characters concatenated."""
    words: list[str] = []
    line_of: list[int] = []
    for lineno, line in lines:
        for w in _ASCII_SPACE.split(line):
            if w:
                words.append(w)
                line_of.append(lineno)
    return words, line_of, "".join(words)


def _spans(words: list[str]) -> list[tuple[int, int]]:
    spans = []
    pos = 0
    for w in words:
        spans.append((pos, pos + len(w)))
        pos += len(w)
    return spans


def _line_at(words: list[str], line_of: list[int], offset: int) -> int:
    pos = 0
    for w, ln in zip(words, line_of, strict=True):
        pos += len(w)
        if pos > offset:
            return ln
    return line_of[-1] if line_of else 1


def _gold_hits(
    gold: Iterable[tuple[int, str]],
    pred: Iterable[tuple[int, str]],
    gold_name: str,
    pred_name: str,
) -> tuple[list[str], list[bool], int]:
    """The gold words, whether the prediction has each one's span, and the number of
    predicted words."""
    g_words, g_lines, g_text = _words(gold)
    p_words, p_lines, p_text = _words(pred)
    if g_text != p_text:
        offset = next(
            (i for i, (a, b) in enumerate(zip(g_text, p_text, strict=False)) if a != b),
            min(len(g_text), len(p_text)),
        )
        ga = g_text[offset : offset + 10] or "<end of file>"
        pa = p_text[offset : offset + 10] or "<end of file>"
        raise EvaluationError(
            f"{gold_name} and {pred_name} hold different text: first difference at character "
            f"{offset} ({gold_name} line {_line_at(g_words, g_lines, offset)}: {ga!r}; "
            f"{pred_name} line {_line_at(p_words, p_lines, offset)}: {pa!r}). The prediction "
            "must segment exactly the gold's text"
        )
    p_set = set(_spans(p_words))
    return g_words, [s in p_set for s in _spans(g_words)], len(p_words)


def score_words(
    gold: Iterable[tuple[int, str]],
    pred: Iterable[tuple[int, str]],
    training_words: set[str] | None = None,
    *,
    gold_name: str = "gold",
    pred_name: str = "prediction",
) -> Scores:
    """Score numbered lines ``(lineno, text)`` of a prediction against the gold.

    Args:
        gold, pred: the numbered lines of the gold and of the prediction.
        training_words: the training word list, for OOV and IV recall.
        gold_name, pred_name: names of the two, for messages.

    Returns:
        The :class:`Scores`.

    Raises:
        EvaluationError: when the two files do not hold the same characters (the message
            gives the first differing character offset and the line in each file), or
            hold no word at all (every score would be 0/0).
    """
    g_words, hits, n_pred = _gold_hits(gold, pred, gold_name, pred_name)
    if not g_words:  # then the prediction has none either: it holds the same text
        raise EvaluationError(
            f"{gold_name} and {pred_name} hold no words, so there is nothing to score "
            "(precision, recall and F1 would be 0/0); check that you gave the right files"
        )
    correct = sum(hits)
    precision = correct / n_pred
    recall = correct / len(g_words)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    oov_rate = oov_recall = iv_recall = None
    if training_words is not None:
        oov = [w not in training_words for w in g_words]
        n_oov = sum(oov)
        n_iv = len(g_words) - n_oov
        oov_rate = n_oov / len(g_words)
        if n_oov:
            oov_recall = sum(h for h, o in zip(hits, oov, strict=True) if o) / n_oov
        if n_iv:
            iv_recall = sum(h for h, o in zip(hits, oov, strict=True) if not o) / n_iv
    return Scores(
        precision, recall, f1, len(g_words), n_pred, correct, oov_rate, oov_recall, iv_recall
    )


def _numbered(path: str | os.PathLike[str]) -> Iterable[tuple[int, str]]:
    for piece in Corpus([path], spool_stdin=False).pieces():  # one pass: no copy
        yield piece.lineno, piece.text


def gold_word_hits(
    gold: str | os.PathLike[str], pred: str | os.PathLike[str]
) -> list[tuple[str, bool]]:
    """Every gold word of the file ``gold``, and whether ``pred`` has it (same span), as
    :func:`evaluate` counts it: for breakdowns of recall by kind of word.

    Raises:
        EvaluationError: as :func:`evaluate`.
    """
    words, hits, _ = _gold_hits(_numbered(gold), _numbered(pred), str(gold), str(pred))
    return list(zip(words, hits, strict=True))


def read_word_list(path: str | os.PathLike[str]) -> set[str]:
    """Words of a word list: the first whitespace-separated field of each line.

    Reads plain lists (one word per line) and jieba dictionaries (``word freq tag``).
    """
    words = set()
    for piece in Corpus([path], spool_stdin=False).pieces():  # one pass: no copy
        fields = _ASCII_SPACE.split(piece.text.strip())
        if fields and fields[0]:
            words.add(fields[0])
    return words


def evaluate(
    gold: str | os.PathLike[str],
    pred: str | os.PathLike[str],
    words: str | os.PathLike[str] | None = None,
) -> Scores:
    """Score the segmented file ``pred`` against ``gold`` (see the module documentation).

    Args:
        gold: gold segmentation, words separated by spaces.
        pred: predicted segmentation of the same text.
        words: optional training word list, for OOV and IV recall.

    Returns:
        The :class:`Scores` (see there for the undefined recalls).

    Raises:
        EvaluationError: as :func:`score_words`.
        InputError: if a file cannot be read.
    """
    training = read_word_list(words) if words is not None else None
    if training is not None and not training:
        log.warning("%s holds no words: every gold word counts as OOV", words)
    return score_words(
        _numbered(gold), _numbered(pred), training, gold_name=str(gold), pred_name=str(pred)
    )


@dataclass(frozen=True)
class Agreement:
    """How closely two segmenters agree on the same lines (see :func:`agreement`)."""

    f1: float
    lines_identical: float
    lines: int
    words_a: int
    words_b: int


def agreement(a: Iterable[Sequence[str]], b: Iterable[Sequence[str]]) -> Agreement:
    """Word-span F1 and the share of identical lines between two segmentations.

    ``a`` and ``b`` give, line by line, the words of the same text (words join back to
    the line; spaces are words like any other).

    Raises:
        EvaluationError: when a line's words do not spell the same text in both.
    """
    same = lines = words_a = words_b = common = 0
    for lineno, (wa, wb) in enumerate(zip(a, b, strict=True), 1):
        if "".join(wa) != "".join(wb):
            raise EvaluationError(f"line {lineno}: the two segmentations spell different text")
        lines += 1
        same += list(wa) == list(wb)
        sa, sb = _spans(list(wa)), set(_spans(list(wb)))
        words_a += len(sa)
        words_b += len(sb)
        common += sum(s in sb for s in sa)
    f1 = 2 * common / (words_a + words_b) if words_a + words_b else 1.0
    return Agreement(f1, same / lines if lines else 1.0, lines, words_a, words_b)
