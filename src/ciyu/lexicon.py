"""Lexicons (words with counts) and the model file format.

A :class:`Lexicon` maps words to positive counts; a word's unigram log-probability is
``ln count − ln total``. Counts may be fractional (expected counts from EM).

Model file format, version 2 — UTF-8 text, human-readable and editable, never executed::

    #ciyu-model<TAB>2
    #meta<TAB>{JSON object: method, config, n_words, total, ciyu version, ...}
    word<TAB>count
    ...
    #sha256<TAB>64 lowercase hex digits

- **Words** are sorted by count (descending), then by code point. A word is 1 to
  :data:`MAX_WORD_LEN` characters long (the number class counting as one) and contains no
  tab, newline or carriage return. The number class (any number, see :mod:`ciyu.text`) is
  written ``<num>``, so ``<num>年`` is "a number followed by 年". The bound on the length
  keeps segmentation linear in the length of the text for every model.
- **Counts** are decimal numbers (``12``, ``2.5``, ``1e-05``; no sign, no ``nan`` or
  ``inf``) from :data:`MIN_COUNT` to :data:`MAX_COUNT`, and unless the lexicon is empty
  they add up to at least 1. So every log-probability, the total and the price of an
  unknown character (:meth:`Lexicon.unk_logp`, ``ln(0.5 / total)``, always below 0) are
  finite, and so are the numbers of every export.
- **Metadata** is one JSON object of at most :data:`MAX_META_CHARS` characters and
  :data:`~ciyu._untrusted.MAX_JSON_DEPTH` levels of nesting; ``n_words`` is the number of
  word lines.
- **The last line** holds the SHA-256 of everything before it, each line taken with a
  ``\n`` end. A damaged file (a flipped bit, a lost or doubled line) fails to load with a
  message. To keep a model you edited by hand, delete its ``#sha256`` line: the model
  then loads without the check, and saving it again writes a new checksum.

Windows line ends (``\r\n``) and a UTF-8 byte order mark are accepted (editors and
``git`` on Windows add them), and do not change the checksum.

Version 1 files (the same without the ``#sha256`` line, and ``n_words`` optional) still
load; ciyu writes version 2.

On load, the header, the version, every line (with its line number, and the byte offset of
a byte that is not UTF-8), the absence of duplicates, ``n_words`` and the checksum are
validated, so a truncated or damaged file is reported, not half-loaded. Every size is
bounded before it is read, so no file can make loading slow or exhaust memory.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import math
import numbers
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from ._atomic import atomic_write
from ._grammar import python_class
from ._untrusted import MAX_JSON_DEPTH, escape, json_depth, load_json_object
from .decoder import Decoder, log_probs_of
from .errors import ModelFormatError
from .text import LETTER_RANGES, NUM, NUM_DISPLAY, display, learnable_view, undisplay

FORMAT = "ciyu-model"
#: The format version ciyu writes.
VERSION = 2
#: The format versions ciyu reads.
READS = (1, 2)
#: Longest word, in characters (far beyond any word of any language; learners cut longer
#: strings into pieces).
MAX_WORD_LEN = 256
#: Smallest count a word may have.
MIN_COUNT = 1e-6
#: Largest count a word may have (a thousand times the characters of a petabyte of text).
MAX_COUNT = 1e15
#: Longest metadata line, in characters.
MAX_META_CHARS = 1 << 20
_CHECKSUM = b"#sha256\t"
_CHECKSUM_LINE = re.compile(rb"#sha256\t([0-9a-f]{64})")
_COUNT = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
#: What a count is made of: read by float(), and without a sign, these are exactly the
#: strings _COUNT matches (float also reads signs, spaces, underscores, inf and nan).
_COUNT_BYTES = b"0123456789.eE+-"
_BOM = b"\xef\xbb\xbf"
# longest word line: every character of a word written as <num>, 4 bytes each at most
_MAX_WORD_LINE = MAX_WORD_LEN * 4 * len(NUM_DISPLAY) + 64
_MAX_HEADER_LINE = 256


def _check_word(word: str) -> str | None:
    if not word:
        return "empty word"
    if "\t" in word or "\n" in word or "\r" in word:
        return f"word {word!r} contains a tab or line break"
    if len(word) > MAX_WORD_LEN:
        return (
            f"word {escape(display(word[:12]))}... is {len(word):,} characters long "
            f"(at most {MAX_WORD_LEN})"
        )
    return None


def _check_count(count: object) -> str | None:
    if isinstance(count, bool) or not isinstance(count, numbers.Real):
        return f"must be a number, got {type(count).__name__}"
    if not MIN_COUNT <= float(count) <= MAX_COUNT:  # also false for NaN
        return f"must be between {MIN_COUNT:g} and {MAX_COUNT:g}, got {count!r}"
    return None


def _check_total(total: float, n_words: int) -> str | None:
    if n_words and not total >= 1:
        return f"the counts add up to {total!r}; they must add up to at least 1"
    return None


def _in_vocabulary(word: str) -> bool:
    """Is ``word`` a piece of tokenizers' vocabularies: text the rule layer hands to the
    lexicon as one learnable run (with single letters glued in: 维A酸), or one letter
    (a piece of such a run), and no number pattern."""
    if NUM in word:
        return False
    if len(word) == 1 and _letter().fullmatch(word):
        return True
    return learnable_view(word) == word


@functools.cache
def _letter() -> re.Pattern[str]:
    return re.compile(f"[{python_class(LETTER_RANGES)}]")


def _plainly_valid(counts: dict[str, float]) -> bool:
    """A fast check, in C loops, that every word and count is valid (no exception: a False
    may also come from counts of a numeric type other than int and float, which the slow
    check accepts)."""
    if not counts:
        return True
    if not {type(w) for w in counts} <= {str} or not {type(c) for c in counts.values()} <= {
        int,
        float,
    }:
        return False
    try:
        total = math.fsum(counts.values())
    except OverflowError:
        return False
    joined = "".join(counts)
    return (
        math.isfinite(total)
        and total >= 1
        and min(counts.values()) >= MIN_COUNT
        and max(counts.values()) <= MAX_COUNT
        and min(map(len, counts)) >= 1
        and max(map(len, counts)) <= MAX_WORD_LEN
        and "\t" not in joined
        and "\n" not in joined
        and "\r" not in joined
    )


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
        if not _plainly_valid(self.counts):
            self._explain_invalid()

    def _explain_invalid(self) -> None:
        """Raise the error that names the first invalid entry."""
        for word, count in self.counts.items():
            problem = _check_word(word) if isinstance(word, str) else "word that is no str"
            if problem:
                raise ModelFormatError(f"cannot put {problem} in a lexicon")
            problem = _check_count(count)
            if problem:
                raise ModelFormatError(f"the count of {escape(display(word))} {problem}")
        problem = _check_total(self.total, len(self.counts))
        if problem:
            raise ModelFormatError(f"cannot make a lexicon: {problem}")

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
        return log_probs_of(self.counts)

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
        words = [(w, log_probs[w]) for w, _ in self.sorted_items() if _in_vocabulary(w)]
        inner = {c for w, _ in words for c in w} - self.counts.keys()
        unk = self.unk_logp()
        return words + [(c, unk) for c in sorted(inner)]

    def decoder(self) -> Decoder:
        """The shared lattice decoder over this lexicon's unigram log-probabilities."""
        return Decoder.from_counts(self.counts, self.unk_logp())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the lexicon as a model file (format version 2), atomically.

        Raises:
            ModelFormatError: if the metadata cannot be written in a model file (not JSON,
                too long or too deeply nested); the file is then left untouched.
        """
        data = self.dumps()
        with atomic_write(path, "wb") as fh:
            fh.write(data)

    def dumps(self) -> bytes:
        """The bytes of the model file :meth:`save` writes (what :meth:`loads` reads).

        Raises:
            ModelFormatError: as :meth:`save`.
        """
        items = self.sorted_items()
        meta = dict(self.meta)
        meta["n_words"] = len(items)
        meta["total"] = _format_count(sum(c for _, c in items))
        try:
            meta_text = json.dumps(meta, ensure_ascii=False, sort_keys=True)
            meta_text.encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise ModelFormatError(f"cannot save the metadata in a model file: {exc}") from None
        if len(meta_text) > MAX_META_CHARS or json_depth(meta_text) > MAX_JSON_DEPTH:
            raise ModelFormatError(
                f"cannot save metadata of more than {MAX_META_CHARS:,} characters or "
                f"{MAX_JSON_DEPTH} levels of nesting in a model file"
            )
        lines = [f"#{FORMAT}\t{VERSION}\n", f"#meta\t{meta_text}\n"]
        lines += (f"{display(word)}\t{_format_count(count)}\n" for word, count in items)
        body = "".join(lines).encode("utf-8")
        return body + _CHECKSUM + hashlib.sha256(body).hexdigest().encode("ascii") + b"\n"

    @classmethod
    def loads(cls, data: bytes, name: str = "<model>") -> Lexicon:
        """Read and validate the bytes of a model file, as :meth:`load` reads a file
        (``name`` is what messages call it).

        Raises:
            ModelFormatError: naming the line of the first problem.
        """
        return _Parser(io.BufferedReader(io.BytesIO(data)), escape(name)).lexicon()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Lexicon:
        """Read and validate a model file written by :meth:`save` (format version 1 or 2).

        Raises:
            ModelFormatError: naming the file and line of the first problem, and how to
                fix it.
        """
        name = os.fspath(path)
        shown = escape(name)
        try:
            with open(name, "rb") as fh:
                return _Parser(fh, shown).lexicon()
        except FileNotFoundError:
            raise ModelFormatError(
                f"{shown}: no such model file; train one with `ciyu train`"
            ) from None
        except IsADirectoryError:
            raise ModelFormatError(f"{shown}: is a directory, not a model file") from None
        except PermissionError:
            raise ModelFormatError(
                f"{shown}: permission denied; check the file's permissions"
            ) from None
        except OSError as exc:
            raise ModelFormatError(
                f"{shown}: cannot read the model file ({escape(exc.strerror or str(exc))})"
            ) from None


class _Parser:
    """Reads a model file line by line, each line bounded in length, hashing as it goes."""

    def __init__(self, fh: io.BufferedReader, name: str, fast: bool = True) -> None:
        self.fh = fh
        self.name = name
        self.fast = fast  # try fast_entries first (tests compare the two paths)
        self.lineno = 0
        self.offset = 0  # byte offset of the current line's text in the file
        self.end = 0  # byte offset just after the current line
        self.digest = hashlib.sha256()

    def fail(self, message: str) -> ModelFormatError:
        return ModelFormatError(f"{self.name}:{self.lineno}: {message}")

    def read(self, limit: int, what: str = "") -> bytes | None:
        """The next line without its line end (``\n`` or ``\r\n``), or None at the end.

        Raises:
            ModelFormatError: if the line is longer than ``limit`` bytes, has no line end
                (the file is truncated) or is not UTF-8.
        """
        raw = self.fh.readline(limit + 2)
        if not raw:
            return None
        self.lineno += 1
        self.offset, self.end = self.end, self.end + len(raw)
        if self.lineno == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
            self.offset += len(_BOM)
        ended = raw.endswith(b"\n")
        body = raw[:-1] if ended else raw
        if body.endswith(b"\r"):
            body = body[:-1]
        if len(body) > limit:
            raise self.fail(
                f"line is longer than {limit:,} bytes{what}; the file is damaged or not a "
                "ciyu model"
            )
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            at = self.offset + exc.start
            if not ended and exc.reason == "unexpected end of data":
                raise self.fail(
                    f"file is truncated (it ends inside a character, at byte offset {at}); "
                    "restore the model from a copy or train it again"
                ) from None
            raise self.fail(
                f"invalid UTF-8 byte 0x{body[exc.start]:02x} at byte offset {at} of the file; "
                "the model is damaged: restore it from a copy or train it again"
            ) from None
        if not ended:
            raise self.fail(
                "file is truncated (no final newline); restore the model from a copy or "
                "train it again"
            )
        return body

    def hashed(self, limit: int) -> bytes | None:
        """:meth:`read`, adding the line to the checksum."""
        body = self.read(limit)
        if body is not None:
            self.digest.update(body + b"\n")
        return body

    def lexicon(self) -> Lexicon:
        """Parse the whole file (see the module doc for what is checked)."""
        version = self.header()
        meta = self.meta(version)
        counts = self.fast_entries(version) if self.fast else None
        if counts is None:
            counts = self.entries(version)
        expected = meta.pop("n_words", None)
        meta.pop("total", None)
        if expected is not None and expected != len(counts):
            raise ModelFormatError(
                f"{self.name}: metadata announces {expected} words but {len(counts)} were "
                "read; the file is truncated or was edited without updating n_words"
            )
        problem = _check_total(math.fsum(counts.values()), len(counts))
        if problem:
            raise ModelFormatError(f"{self.name}: {problem}; fix the counts")
        # every word and count was checked as it was read, and the total just now: not
        # again (Lexicon() would check them all once more, a fifth of loading a model)
        lexicon = Lexicon.__new__(Lexicon)
        lexicon.counts, lexicon.meta = counts, meta
        return lexicon

    def fast_entries(self, version: int) -> dict[str, float] | None:
        """The word lines of a file in which nothing is wrong, read at once; None if
        anything at all is unusual (CRLF, a damaged line, a mismatched checksum, a file
        that cannot seek back), and then the file is rewound for :meth:`entries`, which
        reads line by line and names the problem. Both accept exactly the same files; this
        one is about ten times as fast (a model of 350,000 words)."""
        fh = self.fh
        try:
            start = fh.tell()
        except OSError:
            return None
        state = (self.lineno, self.offset, self.end, self.digest.copy())
        counts = self._parse_rest(fh.read(), version)
        if counts is None:
            fh.seek(start)
            self.lineno, self.offset, self.end, digest = state
            self.digest = digest
        return counts

    def _parse_rest(self, rest: bytes, version: int) -> dict[str, float] | None:
        if not rest:
            return {}
        if not rest.endswith(b"\n") or b"\r" in rest:
            return None
        lines = rest[:-1].split(b"\n")
        recorded = None
        if version >= 2 and lines[-1].startswith(_CHECKSUM):
            match = _CHECKSUM_LINE.fullmatch(lines.pop())
            if match is None:
                return None
            recorded = match.group(1).decode("ascii")
        body = rest[: sum(map(len, lines)) + len(lines)]
        if lines and max(map(len, lines)) > _MAX_WORD_LINE:
            return None
        if (b"\n" + body).find(b"\n" + _CHECKSUM) >= 0:
            return None  # a checksum line that is not the last: entries() says what it is
        digest = self.digest.copy()
        digest.update(body)
        if recorded is not None and recorded != digest.hexdigest():
            return None
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        # every line is a word, a tab and a count: splitting at both gives words and counts
        # alternately (a regular expression over the lines is four times as slow)
        parts = undisplay(text).replace("\n", "\t").split("\t")
        if len(parts) != 2 * len(lines) + 1 or parts[-1]:
            return None  # a line without a tab, or with two
        words, numbers = parts[0:-1:2], parts[1::2]
        if "" in words:
            return None
        # the counts as entry() reads them (_COUNT), checked at once; a regular
        # expression over every count would take most of the time of loading a model
        joined = "\n".join(numbers)
        if (
            joined.encode().translate(None, _COUNT_BYTES + b"\n")
            or joined.startswith(("+", "-"))
            or "\n+" in joined
            or "\n-" in joined
        ):
            return None
        try:
            values = list(map(float, numbers))
        except ValueError:
            return None
        if words and (
            max(map(len, words)) > MAX_WORD_LEN
            or not min(values) >= MIN_COUNT
            or not max(values) <= MAX_COUNT
        ):
            return None
        counts = dict(zip(words, values, strict=True))
        if len(counts) != len(words):
            return None  # a duplicate word
        return counts

    def entries(self, version: int) -> dict[str, float]:
        """The word lines, read and checked one by one (and the checksum line)."""
        counts: dict[str, float] = {}
        while True:
            line = self.read(_MAX_WORD_LINE, f" (a word has at most {MAX_WORD_LEN} characters)")
            if line is None:
                break  # no checksum line (version 1, or deleted to keep a hand edit)
            match = _CHECKSUM_LINE.fullmatch(line) if version >= 2 else None
            if match:
                self.check_sum(match.group(1).decode("ascii"))
                break
            self.digest.update(line + b"\n")
            word, count = self.entry(line.decode("utf-8"))
            if word in counts:
                raise self.fail(f"duplicate word {escape(display(word))!r}")
            counts[word] = count
        return counts

    def header(self) -> int:
        start = self.fh.peek(len(_BOM) + len(FORMAT) + 2)
        if not start:
            raise ModelFormatError(f"{self.name}: the file is empty, not a ciyu model file")
        start = start[len(_BOM) :] if start.startswith(_BOM) else start
        if not start.startswith(f"#{FORMAT}\t".encode()):
            hint = " (it is gzip-compressed: gunzip it first)" if start[:2] == b"\x1f\x8b" else ""
            raise ModelFormatError(
                f"{self.name}:1: not a ciyu model file (no '#{FORMAT}' header){hint}"
            )
        line = self.hashed(_MAX_HEADER_LINE)
        assert line is not None
        version = line[len(FORMAT) + 2 :].decode("utf-8")
        if version not in {str(v) for v in READS}:
            raise self.fail(
                f"model format version {escape(version)[:40]} is not supported by this ciyu "
                f"(reads versions {', '.join(map(str, READS))}); retrain the model or "
                "upgrade ciyu"
            )
        return int(version)

    def meta(self, version: int) -> dict[str, Any]:
        line = self.hashed(4 * MAX_META_CHARS)
        if line is None or not line.startswith(b"#meta\t"):
            self.lineno = 2
            raise self.fail("missing '#meta' line")
        try:
            meta = load_json_object(line[6:].decode("utf-8"), MAX_META_CHARS)
        except ValueError as exc:
            raise self.fail(str(exc)) from None
        n_words = meta.get("n_words")
        if (n_words is not None or version >= 2) and (type(n_words) is not int or n_words < 0):
            raise self.fail(
                "metadata field 'n_words' must be the number of words, got "
                f"{escape(repr(n_words))[:40]}"
            )
        return meta

    def entry(self, line: str) -> tuple[str, float]:
        parts = line.split("\t")
        if len(parts) != 2:
            raise self.fail("expected 'word<TAB>count'")
        word, value = undisplay(parts[0]), parts[1]
        problem = _check_word(word)
        if problem:
            raise self.fail(problem)
        try:
            count = float(value)
        except ValueError:
            raise self.fail(f"count {value!r} is not a number") from None
        if not MIN_COUNT <= count <= MAX_COUNT:
            raise self.fail(
                f"count {value!r} is out of range: counts are numbers from {MIN_COUNT:g} to "
                f"{MAX_COUNT:g}; fix it or train the model again"
            )
        if not _COUNT.fullmatch(value):
            raise self.fail(
                f"count {value!r} is not written as a plain decimal number (like 12, 2.5 or 1e-05)"
            )
        return word, count

    def check_sum(self, recorded: str) -> None:
        if recorded != self.digest.hexdigest():
            raise self.fail(
                "checksum mismatch: the model is damaged (restore it from a copy or train it "
                "again), or was edited by hand: to keep your edits, delete this last line"
            )
        if self.fh.read(1):
            self.lineno += 1
            raise self.fail("text after the checksum line; the file is damaged")
