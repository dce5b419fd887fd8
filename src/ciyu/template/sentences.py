"""Sentences and clauses: the units templates are mined in and parsed over.

A line is segmented into words (by a :class:`~ciyu.model.Model`, or given already
segmented, words separated by whitespace); whitespace is a separator, not a word. The words
are then cut into *sentences* after sentence-final punctuation (``。！？!?``, with any
closing quotes or brackets that follow it). Punctuation stays in the sentence as words, so
a template may hold a comma (``虽然 <X> ， 但 <X>``) and span two *clauses*: a clause ends
after a comma, semicolon or colon.

Statistics see each word through its *key*: the word itself, except that a word holding a
number is written with the number class (``2021年`` → ``<num>年`` in files), so that
``第 <num> 条`` is one template whatever the number.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._strings import valid_text
from ..text import compiled_rules, learnable_view

if TYPE_CHECKING:
    from ..model import Model

#: Marks that end a sentence (a token made only of them, such as ``？！`` or ``！！``).
SENTENCE_END = frozenset("。！？!?｡")
#: Marks that end a clause inside a sentence.
CLAUSE_END = frozenset("，,；;：:")
#: Closing quotes and brackets that stay with the sentence they follow.
CLOSERS = frozenset("”’」』）)】》〕〉\"'")
#: How a slot is written in a template.
SLOT = "<X>"

_DIGIT = re.compile(r"[0-9\uff10-\uff19]")
# A separator for the bulk segmenter that text almost never holds (a noncharacter); a
# line that does hold it is segmented word by word instead.
_SEP = "\ufdd1"

#: A function that turns one line of text into its words.
Words = Callable[[str], list[str]]


def is_sentence_end(word: str) -> bool:
    """True if ``word`` is sentence-final punctuation (``。``, ``？！``, ``!!``)."""
    return bool(word) and all(ch in SENTENCE_END for ch in word)


def is_clause_end(word: str) -> bool:
    """True if ``word`` ends a clause (a comma, semicolon or colon, or a run of them)."""
    return bool(word) and all(ch in CLAUSE_END for ch in word)


def is_boundary(word: str) -> bool:
    """True for the punctuation a template may hold inside but never begin or end with."""
    return is_clause_end(word) or is_sentence_end(word)


def word_key(word: str) -> str:
    """The word as statistics see it: numbers replaced by the number class.

    >>> from ciyu.text import display
    >>> display(word_key("2021年")), word_key("中国")
    ('<num>年', '中国')
    """
    if not _DIGIT.search(word):
        return word
    view = learnable_view(word)
    return word if "\0" in view or not view else view


class ModelWords:
    """Words of a line as segmented by a model (whitespace dropped); :meth:`lines` does
    many lines at once.

    Args:
        model: the model.
    """

    def __init__(self, model: Model) -> None:
        self.segment = model.segment
        self.cut = model.cut
        self.fast = model.decoder.fast

    def __call__(self, line: str) -> list[str]:
        """The words of ``line``."""
        tokens = self.cut(line) if _SEP in line else self.segment(line, _SEP).split(_SEP)
        return [t for t in tokens if t and not t.isspace()]

    def lines(self, lines: Sequence[str]) -> list[list[str]]:
        """The words of every line, the lines segmented together: the same words as one
        line at a time (the segmenter cuts its text at line breaks first), with one call
        to the segmenter and one check of the text instead of one each per line."""
        joined = "\n".join(lines)
        if not lines or _SEP in joined or joined.count("\n") != len(lines) - 1:
            return [self(line) for line in lines]  # a line holds the separator or a break
        return [
            [t for t in line.split(_SEP) if t and not t.isspace()]
            for line in self.segment(joined, _SEP).split("\n")
        ]

    def flat(self, lines: Sequence[str]) -> tuple[list[str], list[int]]:
        """The words of every line, one after the other, and how many each line has (the
        words of :meth:`lines`): with the compiled segmenter, listed by it at once."""
        if self.fast is not None and lines:
            joined = "\n".join(lines)
            if joined.count("\n") == len(lines) - 1:  # no line holds a break of its own
                return self.fast.words(valid_text(joined, "strict", "text"), compiled_rules())
        per_line = self.lines(lines)
        return list(itertools.chain.from_iterable(per_line)), list(map(len, per_line))


def model_words(model: Model) -> ModelWords:
    """Words of a line as segmented by ``model`` (whitespace dropped)."""
    return ModelWords(model)


def flat_words(words_of: Words, lines: Sequence[str]) -> tuple[list[str], list[int]]:
    """The words of every line, one after the other, and how many each line has (with
    :meth:`ModelWords.flat` when it can)."""
    if isinstance(words_of, ModelWords):
        return words_of.flat(lines)
    per_line = [words_of(line) for line in lines]
    return list(itertools.chain.from_iterable(per_line)), list(map(len, per_line))


def split_words(line: str) -> list[str]:
    """Words of a pre-segmented line: separated by whitespace."""
    return line.split()


# classes of a word, as bits
BOUNDARY, PUNCT, OPENER, CLOSER, SENTENCE, CLAUSE, CLOSING = 1, 2, 4, 8, 16, 32, 64
_CLAUSE_SHIFT = CLAUSE.bit_length() - 1  # CLAUSE >> it is 1


@functools.lru_cache(maxsize=1 << 16)
def word_class(word: str) -> int:
    """Bits: BOUNDARY (ends a clause or sentence), SENTENCE (ends a sentence), CLAUSE (ends a
    clause), CLOSING (made of :data:`CLOSERS`), PUNCT (only punctuation and symbols),
    OPENER (an opening bracket or quote), CLOSER (a closing one)."""
    bits = 0
    if is_sentence_end(word):
        bits |= BOUNDARY | SENTENCE
    if is_clause_end(word):
        bits |= BOUNDARY | CLAUSE
    if word and all(ch in CLOSERS for ch in word):
        bits |= CLOSING
    cats = [unicodedata.category(ch) for ch in word]
    if cats and all(c[0] in "PS" for c in cats):
        bits |= PUNCT
        if all(c in ("Ps", "Pi") for c in cats):
            bits |= OPENER
        if all(c in ("Pe", "Pf") for c in cats):
            bits |= CLOSER
    return bits


def sentences(words: Sequence[str]) -> Iterator[list[str]]:
    """Cut the words of a line into sentences after sentence-final punctuation.

    >>> [" ".join(s) for s in sentences("他 说 ： “ 好 。 ” 走 吧 ！ 嗯".split())]
    ['他 说 ： “ 好 。 ”', '走 吧 ！', '嗯']
    """
    start = 0
    n = len(words)
    i = 0
    while i < n:
        if word_class(words[i]) & SENTENCE:
            i += 1
            while i < n and word_class(words[i]) & CLOSING:
                i += 1
            yield list(words[start:i])
            start = i
        else:
            i += 1
    if start < n:
        yield list(words[start:])


def clause_ids(words: Sequence[str]) -> list[int]:
    """The clause of every word of a sentence (0, 1, ...); a clause's final comma,
    semicolon or colon belongs to it.

    >>> clause_ids("虽然 下 雨 ， 但 他 来 了 。".split())
    [0, 0, 0, 0, 1, 1, 1, 1, 1]
    """
    ids = []
    clause = 0
    for word in words:
        ids.append(clause)
        if word_class(word) & CLAUSE:
            clause += 1
    return ids


@dataclass(frozen=True)
class Sentence:
    """One sentence: its words (as written), their keys, and its layout.

    Attributes:
        words: the words.
        keys: their keys (:func:`word_key`).
        classes: :func:`word_class` of each word.
        clauses: the clause of each word (:func:`clause_ids`).
        clause_end: for each position, the first position after it that holds a
            boundary mark, or the sentence length.
    """

    words: list[str]
    keys: list[str]
    classes: list[int]
    clauses: list[int]
    clause_end: list[int]

    @classmethod
    def of(cls, words: list[str]) -> Sentence:
        """The sentence of ``words``."""
        # every pass builds one per sentence of the corpus: the per-word loops are left
        # to C (map, accumulate, list repetition)
        infos = list(map(word_info, words))
        keys = [k for k, _ in infos]
        classes = [c for _, c in infos]
        n = len(words)
        # a clause's final mark belongs to it: the count of marks before each word
        marks = [(c & CLAUSE) >> _CLAUSE_SHIFT for c in classes[:-1]]
        clauses = list(itertools.accumulate(marks, initial=0)) if n else []
        # each run of positions up to a boundary mark ends at it (the mark's own run
        # ends at the next one)
        ends: list[int] = []
        for i, c in enumerate(classes):
            if c & BOUNDARY:
                ends.extend([i] * (i - len(ends)))
        ends.extend([n] * (n - len(ends)))
        return cls(words, keys, classes, clauses, ends)


@functools.lru_cache(maxsize=1 << 18)
def word_info(word: str) -> tuple[str, int]:
    """:func:`word_key` and :func:`word_class` of a word (cached: words repeat)."""
    return word_key(word), word_class(word)


def chunk_sentences(lines: Iterable[str], words_of: Words) -> Iterator[Sentence]:
    """Every sentence of ``lines``, with its word keys, one object each: the reference
    that :meth:`ChunkSentences.of` (what the passes use) is tested against."""
    for line in lines:
        for sent in sentences(words_of(line)):
            yield Sentence.of(sent)


@dataclass(frozen=True)
class ChunkSentences:
    """The sentences of a chunk of lines, laid out one after the other in flat arrays:
    what :class:`Sentence` holds for one sentence, for all of them at once (a parse pass
    reads every sentence of the corpus; one object per sentence cost more than the
    parse). Positions in :attr:`clauses` and :attr:`clause_end` are the sentence's own,
    as in :class:`Sentence`.

    Attributes:
        words: the words, sentence after sentence.
        keys: their keys (:func:`word_key`).
        offsets: where each sentence begins in ``words``, and the end (one more entry than
            sentences).
        classes, clauses, clause_end: as :class:`Sentence`'s, as int32 arrays.
    """

    words: list[str]
    keys: list[str]
    offsets: list[int]
    classes: array[int]
    clauses: array[int]
    clause_end: array[int]

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sentence(self, k: int) -> Sentence:
        """Sentence ``k`` (the same as :meth:`Sentence.of` of its words)."""
        a, b = self.offsets[k], self.offsets[k + 1]
        return Sentence(
            self.words[a:b],
            self.keys[a:b],
            list(self.classes[a:b]),
            list(self.clauses[a:b]),
            list(self.clause_end[a:b]),
        )

    @classmethod
    def of(cls, lines: Iterable[str], words_of: Words) -> ChunkSentences:
        """The sentences of ``lines``, segmented by ``words_of`` (cut as
        :func:`sentences` cuts each line)."""
        import numpy as np  # the template passes hold it already; parsing one line does not

        words, per_line = flat_words(words_of, list(lines))
        infos = list(map(word_info, words))
        keys = [k for k, _ in infos]
        n = len(words)
        classes = np.fromiter((c for _, c in infos), dtype=np.int32, count=n)
        line_ends = np.cumsum(np.array(per_line, dtype=np.int64))
        line_end = np.zeros(n + 1, dtype=bool)  # line_end[p + 1]: a line ends after p
        line_end[line_ends] = True
        # a sentence ends after its final mark and the closing marks that follow it on
        # its line: the tail of a final mark is the run of closing marks after it
        closing = (classes & CLOSING) != 0
        anchor = np.where(~closing | line_end[:-1], np.arange(n), 0)
        tail = (classes[np.maximum.accumulate(anchor)] & SENTENCE) != 0 if n else closing
        after = np.append(closing[1:], False) & ~line_end[1:]
        cut = (tail & ~after) | line_end[1:]
        offsets = np.concatenate([[0], np.flatnonzero(cut) + 1]).astype(np.int64)
        lengths = np.diff(offsets)
        begin = np.repeat(offsets[:-1], lengths)  # each word's sentence start
        # a clause's final mark belongs to it: the marks before each word in its sentence
        marks = (classes & CLAUSE) != 0
        before = np.cumsum(marks) - marks
        clauses = before - np.repeat(before[offsets[:-1]] if n else before[:0], lengths)
        # the first boundary mark after each position, within its sentence, else the
        # sentence's end (positions the sentence's own)
        bounds = np.flatnonzero(classes & BOUNDARY)
        end = np.repeat(offsets[1:], lengths)
        at = np.searchsorted(bounds, np.arange(n), side="right")
        following = np.append(bounds, n)[at]
        clause_end = np.minimum(following, end) - begin
        return cls(
            words,
            keys,
            offsets.tolist(),
            array("i", classes.tobytes()),
            array("i", clauses.astype(np.int32).tobytes()),
            array("i", clause_end.astype(np.int32).tobytes()),
        )
