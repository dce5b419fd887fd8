"""Lexicons (words with counts) and the model file format.

A :class:`Lexicon` maps words to positive counts; a word's unigram log-probability is
``ln count − ln total``. Counts may be fractional (expected counts from EM).

Model file format, version 1 — UTF-8 text, ``\\n`` line ends, human-readable and
editable, never executed::

    #ciyu-model<TAB>1
    #meta<TAB>{JSON object: method, config, n_words, total, ciyu version, ...}
    word<TAB>count
    ...

Words are sorted by count (descending), then by code point. A word may not be empty or
contain a tab, a newline or a carriage return. The number class (any number, see
:mod:`ciyu.text`) is written ``<num>``, so ``<num>年`` is "a number followed by 年".

On load, the header, the version, every line, the absence of duplicates and the
``n_words`` checksum in the metadata are validated, so a truncated or hand-damaged file is
reported, not half-loaded.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._atomic import atomic_write
from ._grammar import python_class
from .decoder import Decoder
from .errors import ModelFormatError
from .text import LEARNABLE_RANGES, display, undisplay

FORMAT = "ciyu-model"
VERSION = 1
_FORBIDDEN = ("\t", "\n", "\r")


def _check_word(word: str) -> str | None:
    if not word:
        return "empty word"
    if any(c in word for c in _FORBIDDEN):
        return f"word {word!r} contains a tab or line break"
    return None


@functools.cache
def _learnable_word() -> re.Pattern[str]:
    """A run of learnable characters (what :meth:`Lexicon.vocabulary` keeps)."""
    return re.compile(f"[{python_class(LEARNABLE_RANGES)}]+")


def _format_count(value: float) -> str:
    if float(value).is_integer():
        return str(int(value))
    return repr(float(value))


@dataclass
class Lexicon:
    """Words with counts, plus the metadata recorded in the model file.

    Attributes:
        counts: word → positive count.
        meta: free-form JSON-serialisable metadata (method, config, corpus statistics).
    """

    counts: dict[str, float]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for word, count in self.counts.items():
            problem = _check_word(word)
            if problem:
                raise ModelFormatError(f"cannot put {problem} in a lexicon")
            if not (count > 0 and math.isfinite(count)):
                raise ModelFormatError(f"count of {word!r} must be positive, got {count}")

    @property
    def total(self) -> float:
        """Sum of all counts."""
        return float(sum(self.counts.values()))

    def __len__(self) -> int:
        return len(self.counts)

    def __contains__(self, word: object) -> bool:
        return word in self.counts

    def __iter__(self) -> Iterator[str]:
        return iter(self.counts)

    def sorted_items(self) -> list[tuple[str, float]]:
        """``(word, count)`` pairs by count descending, then word ascending."""
        return sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def log_probs(self) -> dict[str, float]:
        """Unigram log-probabilities (natural log) of every word."""
        log_total = math.log(self.total) if self.counts else 0.0
        return {w: math.log(c) - log_total for w, c in self.counts.items()}

    def unk_logp(self) -> float:
        """Log-probability given to a character absent from the lexicon.

        Half that of a word seen once: an unseen character never beats a known word, and
        it always remains possible, so no text is ever dropped.
        """
        total = self.total
        return math.log(0.5 / total) if total > 0 else 0.0

    def vocabulary(self) -> list[tuple[str, float]]:
        """The pieces a tokenizer uses, with their log-probabilities, in id order (from 1).

        First the words by rank that the decoder can produce as pieces of learnable text:
        without number-class patterns (``<num>年`` matches many texts, so it is no piece)
        and without words holding any other character that is not learnable (a
        hand-made ``OK吧`` is never produced); then every character that occurs inside
        those words but is not a word itself, by code point, at :meth:`unk_logp` (what the
        decoder gives it). So every character of a word is a piece, as in sentencepiece
        and Hugging Face vocabularies, and the tokenizer exports reproduce the decoder.
        """
        log_probs = self.log_probs()
        learnable = _learnable_word()
        words = [(w, log_probs[w]) for w, _ in self.sorted_items() if learnable.fullmatch(w)]
        inner = {c for w, _ in words for c in w} - self.counts.keys()
        unk = self.unk_logp()
        return words + [(c, unk) for c in sorted(inner)]

    def decoder(self) -> Decoder:
        """The shared lattice decoder over this lexicon's unigram log-probabilities."""
        return Decoder(self.log_probs(), self.unk_logp())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the lexicon as a model file, atomically."""
        items = self.sorted_items()
        meta = dict(self.meta)
        meta["n_words"] = len(items)
        meta["total"] = _format_count(sum(c for _, c in items))
        with atomic_write(path, "w") as fh:
            fh.write(f"#{FORMAT}\t{VERSION}\n")
            fh.write(f"#meta\t{json.dumps(meta, ensure_ascii=False, sort_keys=True)}\n")
            for word, count in items:
                fh.write(f"{display(word)}\t{_format_count(count)}\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Lexicon:
        """Read and validate a model file written by :meth:`save`.

        Raises:
            ModelFormatError: naming the file and line of the first problem.
        """
        name = os.fspath(path)
        try:
            with open(name, encoding="utf-8", newline="\n") as fh:
                return cls._parse(fh, name)
        except FileNotFoundError:
            raise ModelFormatError(
                f"{name}: no such model file; train one with `ciyu train`"
            ) from None
        except UnicodeDecodeError as exc:
            raise ModelFormatError(f"{name}: not UTF-8 ({exc.reason}); not a ciyu model") from None
        except IsADirectoryError:
            raise ModelFormatError(f"{name}: is a directory, not a model file") from None

    @classmethod
    def _parse(cls, lines: Iterable[str], name: str) -> Lexicon:
        it = iter(lines)
        header = next(it, "").rstrip("\n")
        if not header.startswith(f"#{FORMAT}\t"):
            raise ModelFormatError(f"{name}:1: not a ciyu model file (no '#{FORMAT}' header)")
        version = header.split("\t", 1)[1]
        if version != str(VERSION):
            raise ModelFormatError(
                f"{name}:1: model format version {version} is not supported by this ciyu "
                f"(reads version {VERSION}); retrain the model or upgrade ciyu"
            )
        meta_line = next(it, "").rstrip("\n")
        if not meta_line.startswith("#meta\t"):
            raise ModelFormatError(f"{name}:2: missing '#meta' line")
        try:
            meta = json.loads(meta_line.split("\t", 1)[1])
        except ValueError as exc:
            raise ModelFormatError(f"{name}:2: metadata is not valid JSON ({exc})") from None
        if not isinstance(meta, dict):
            raise ModelFormatError(f"{name}:2: metadata must be a JSON object")
        counts: dict[str, float] = {}
        lineno = 2
        for lineno, raw in enumerate(it, 3):
            if not raw.endswith("\n"):
                raise ModelFormatError(f"{name}:{lineno}: file is truncated (no final newline)")
            parts = raw[:-1].split("\t")
            if len(parts) != 2:
                raise ModelFormatError(f"{name}:{lineno}: expected 'word<TAB>count'")
            word, value = undisplay(parts[0]), parts[1]
            problem = _check_word(word)
            if problem:
                raise ModelFormatError(f"{name}:{lineno}: {problem}")
            try:
                count = float(value)
            except ValueError:
                raise ModelFormatError(
                    f"{name}:{lineno}: count {value!r} is not a number"
                ) from None
            if not (count > 0 and math.isfinite(count)):
                raise ModelFormatError(f"{name}:{lineno}: count must be positive, got {value}")
            if word in counts:
                raise ModelFormatError(f"{name}:{lineno}: duplicate word {word!r}")
            counts[word] = count
        expected = meta.get("n_words")
        if expected is not None and expected != len(counts):
            raise ModelFormatError(
                f"{name}: metadata announces {expected} words but {len(counts)} were read; "
                "the file is truncated or was edited without updating n_words"
            )
        meta.pop("n_words", None)
        meta.pop("total", None)
        return cls(counts, meta)
