"""Existing dictionaries: the base a model adapts (``ciyu train --base``) and the reference
that new words are told from (``ciyu discover --reference``).

A base is one of:

- ``"jieba"``: the dictionary of the installed jieba package (``jieba/dict.txt``);
- a jieba-format dictionary: ``word [freq [tag]]`` per line, as jieba's main and user
  dictionaries are written (a word without a frequency gets the median frequency of the
  words that have one, 1 if none has);
- a ciyu model file (``#ciyu-model`` header).

Only entries that ciyu can produce are kept: a word must be one run of learnable text
(CJK ideographs, kana) or a number pattern; entries with Latin letters, digits,
punctuation or spaces (``T恤``, ``C++``, ``3D``) are counted and left out, because the rule
layer never hands such a string to the lexicon.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError, InputError, InvalidUtf8Error
from .export.jieba import default_jieba_dictionary
from .lexicon import MAX_COUNT, MAX_WORD_LEN, Lexicon
from .reader import Block, Corpus
from .text import NUM, learnable_view, undisplay

#: The name that stands for the installed jieba's own dictionary.
JIEBA = "jieba"


@dataclass
class Dictionary:
    """Words with frequencies read from an existing dictionary.

    Attributes:
        counts: word → positive frequency (only words ciyu can produce).
        source: where the words came from, as given (a path, or ``"jieba"``).
        path: the file read.
        skipped: how many entries were left out because ciyu cannot produce them.
        sha256: checksum of the file read, recorded in models adapted to it.
    """

    counts: dict[str, float]
    source: str
    path: Path
    skipped: int = 0
    sha256: str = ""
    examples: list[str] = field(default_factory=list)
    #: False when no entry gave a frequency (a plain word list)
    has_frequencies: bool = True

    def lexicon(self) -> Lexicon:
        """The words as a :class:`~ciyu.lexicon.Lexicon`."""
        return Lexicon(dict(self.counts), {"source": self.source})

    def describe(self) -> dict[str, object]:
        """What a model adapted to this dictionary records about it."""
        return {
            "source": self.source,
            "file": self.path.name,
            "words": len(self.counts),
            "skipped": self.skipped,
            "sha256": self.sha256,
        }


def _producible(word: str) -> bool:
    """True if the rule layer hands ``word`` to the lexicon as one piece of learnable text
    (with numbers, for a model's number patterns such as ``<num>年``)."""
    probe = word.replace(NUM, "0")  # a number pattern: any number in its place
    return 0 < len(word) <= MAX_WORD_LEN and "\0" not in learnable_view(probe)


def resolve(source: str | os.PathLike[str]) -> Path:
    """The file a base or reference names: ``"jieba"`` is the installed jieba's dictionary.

    Raises:
        ConfigError: for ``"jieba"`` when jieba is not installed.
        InputError: when the file does not exist.
    """
    if isinstance(source, str) and source == JIEBA:
        path = default_jieba_dictionary()
        if path is None:
            raise ConfigError(
                "'jieba' names the installed jieba package's dictionary, but jieba is not "
                "installed: pip install jieba, or give the path of a dictionary file"
            )
        return path
    path = Path(source)
    if not path.exists():
        raise InputError(f"{path}: no such dictionary file; give a jieba dictionary or 'jieba'")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a dictionary file")
    return path


def _is_model(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(12) == b"#ciyu-model\t"


def load(source: str | os.PathLike[str]) -> Dictionary:
    """Read a base or reference dictionary (see the module documentation).

    Raises:
        ConfigError, InputError: as for :func:`resolve`; InputError for a malformed line
            (naming the file and line); ModelFormatError for a damaged ciyu model.
    """
    path = resolve(source)
    name = os.fspath(source)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for data in iter(lambda: fh.read(1 << 20), b""):
            digest.update(data)
    if _is_model(path):
        lexicon = Lexicon.load(path)
        counts = {w: c for w, c in lexicon.counts.items() if _producible(w)}
        left_out = [w for w in lexicon.counts if w not in counts]
        return Dictionary(counts, name, path, len(left_out), digest.hexdigest(), left_out[:5])
    freqs: dict[str, float | None] = {}
    skipped = 0
    examples: list[str] = []
    carry = ""  # the start of a line longer than a block
    for block in _blocks(path):
        lines = (carry + block.text).split("\n")
        carry = "" if block.complete else lines.pop()
        for lineno, line in enumerate(lines, block.lineno):
            fields = line.split()
            if not fields:
                continue
            word = undisplay(fields[0])
            freq = _frequency(fields, path, lineno)
            if not _producible(word):
                skipped += 1
                if len(examples) < 5:
                    examples.append(fields[0])
                continue
            freqs[word] = freq
    given = sorted(f for f in freqs.values() if f is not None)
    fill = given[len(given) // 2] if given else 1.0
    counts = {w: (f if f is not None else fill) for w, f in freqs.items()}
    if not counts:
        raise InputError(f"{path}: no word of this dictionary is Chinese or Japanese text")
    return Dictionary(counts, name, path, skipped, digest.hexdigest(), examples, bool(given))


#: A frequency as jieba's dictionaries write it (an integer; a decimal or an exponent is
#: read too, a sign is refused below).
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: A part-of-speech tag: letters only (jieba's user dictionaries: ``word [freq] [tag]``).
_TAG = re.compile(r"[A-Za-z]+")


def _frequency(fields: list[str], path: Path, lineno: int) -> float | None:
    """The frequency of one dictionary line split into ``fields`` (None when it gives
    none: ``word`` or ``word tag``).

    Raises:
        InputError: naming the line, if the fields are not ``word [freq [tag]]`` or the
            frequency is not positive and finite (at most :data:`MAX_COUNT`).
    """
    shape = f"{path}:{lineno}: expected 'word [freq [tag]]' (a jieba dictionary)"
    if len(fields) == 1 or (len(fields) == 2 and _TAG.fullmatch(fields[1])):
        return None
    if len(fields) > 3 or not _NUMBER.fullmatch(fields[1]):
        raise InputError(f"{shape}, got {' '.join(fields)[:80]!r}; fix the dictionary line")
    freq = float(fields[1])
    if not 0 < freq <= MAX_COUNT:
        raise InputError(
            f"{path}:{lineno}: frequency {fields[1]} of {fields[0]!r} must be positive and "
            f"at most {MAX_COUNT:g}; fix the dictionary line"
        )
    return freq


def _blocks(path: Path) -> Iterator[Block]:
    """The blocks of a dictionary file; invalid UTF-8 is an error whose fix is converting
    the file (``--errors replace`` is for corpora: it would make words of damaged text)."""
    try:
        yield from Corpus([path]).blocks()
    except InvalidUtf8Error as exc:
        raise exc.with_fix("convert the file to UTF-8 (e.g. `iconv -f GB18030 -t UTF-8`)") from None


def common_threshold(counts: dict[str, float]) -> float:
    """The frequency of the *median running word*: the words at or above it make up half
    of all running words (the frequencies' mass). In jieba's dictionary these are 839
    words, down to about 9,600 in 60 M; its one-character words among them are the
    function words and the commonest free words (的 了 是 不 在 也 就 ...)."""
    values = sorted(counts.values(), reverse=True)
    half = sum(values) / 2
    running = 0.0
    for value in values:
        running += value
        if running >= half:
            return value
    return values[-1] if values else 0.0


class PhraseTest:
    """Tells *function phrases* (到了, 也不, 是一种, 示出了) from new words.

    A string is a function phrase of a reference dictionary when the reference's own
    segmentation (its words and frequencies) splits it into words of the reference, one
    of them a *common* one-character word: a word at least as frequent as the median
    running word (:func:`common_threshold`), which is what function words are (的 了 是 不
    也 在 就 ...). Such a string is the reference's words in a row, not a word it lacks.
    Phrases of longer words (色素沉着, 基底膜带) are not function phrases: they may be
    terms. A reference without frequencies (a plain word list) is judged with the
    frequencies of the corpus instead (``corpus_counts``).
    """

    def __init__(
        self, reference: Dictionary, corpus_counts: dict[str, float] | None = None
    ) -> None:
        self.words = reference.counts
        freqs = reference.counts if reference.has_frequencies else (corpus_counts or {})
        threshold = common_threshold(freqs) if freqs else math.inf
        self.common = {w for w, c in freqs.items() if len(w) == 1 and c >= threshold}
        self.decoder = reference.lexicon().decoder()

    def __call__(self, word: str) -> bool:
        """True if ``word`` is a function phrase of the reference."""
        if len(word) < 2 or word in self.words:
            return False
        pieces = self.decoder.cut(word)
        return all(p in self.words for p in pieces) and any(p in self.common for p in pieces)
