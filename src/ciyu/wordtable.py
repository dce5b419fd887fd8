"""The word table of a discovery, and its TSV file: written by ``ciyu discover -o``, read
back by ``ciyu report --discovery``. This module alone knows the format.

The file is UTF-8 text with a header row, then one row per word, tab-separated:

``word  count  cohesion  left_entropy  right_entropy  score  [in_reference]``

The number class is written ``<num>`` (:func:`ciyu.text.display`); cohesion and
entropies (nats) have four decimals and are ``nan`` where undefined (the cohesion of a
single character); the score has two decimals. ``in_reference`` (``yes``/``no``) is
there only when a reference lexicon was given.

>>> import io
>>> out = io.StringIO()
>>> write_discovery_tsv(out, [WordRow("中文", 12, 5.25, 2.0, 1.5, 33.0)])
1
>>> print(out.getvalue().replace("\\t", " | "), end="")
word | count | cohesion | left_entropy | right_entropy | score
中文 | 12 | 5.2500 | 2.0000 | 1.5000 | 33.00
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from .errors import CiyuError
from .learners.cohesion import Discovery
from .reader import Corpus
from .text import display, undisplay

#: The columns every table has, in order.
COLUMNS = ("word", "count", "cohesion", "left_entropy", "right_entropy", "score")
#: The column added when a reference lexicon was given.
REFERENCE_COLUMN = "in_reference"


@dataclass(frozen=True)
class WordRow:
    """One discovered word and its statistics (entropies and cohesion in nats; None where
    undefined). ``in_reference`` is None when no reference lexicon was given."""

    word: str
    count: int
    cohesion: float | None
    left_entropy: float | None
    right_entropy: float | None
    score: float
    in_reference: bool | None = None


def rows_from_discovery(disc: Discovery, reference: set[str] | None = None) -> list[WordRow]:
    """The rows of a discovery, in its ranking.

    Args:
        disc: the discovery.
        reference: a reference lexicon; when given, each row says whether it holds the
            word.

    Returns:
        One :class:`WordRow` per discovered word.
    """

    def finite(x: float) -> float | None:
        return x if math.isfinite(x) else None

    return [
        WordRow(
            w.word,
            w.count,
            finite(w.cohesion),
            finite(w.left_entropy),
            finite(w.right_entropy),
            w.score,
            None if reference is None else w.word in reference,
        )
        for w in disc.words
    ]


def _number(x: float | None) -> str:
    return "nan" if x is None or x != x else f"{x:.4f}"


def write_discovery_tsv(
    out: IO[str],
    rows: Iterable[WordRow],
    *,
    with_reference: bool = False,
    new_only: bool = False,
    top: int | None = None,
) -> int:
    """Write the table of ``rows`` (in their order) to ``out``.

    Args:
        out: the text stream to write to.
        rows: the words, best first.
        with_reference: add the ``in_reference`` column.
        new_only: leave out the words the reference holds.
        top: write at most this many words.

    Returns:
        The number of words written.
    """
    header = [*COLUMNS, REFERENCE_COLUMN] if with_reference else list(COLUMNS)
    out.write("\t".join(header) + "\n")
    written = 0
    for row in rows:
        if new_only and row.in_reference:
            continue
        if top is not None and written >= top:
            break
        fields = [
            display(row.word),
            str(row.count),
            _number(row.cohesion),
            _number(row.left_entropy),
            _number(row.right_entropy),
            f"{row.score:.2f}",
        ]
        if with_reference:
            fields.append("yes" if row.in_reference else "no")
        out.write("\t".join(fields) + "\n")
        written += 1
    return written


def read_discovery_tsv(path: str | os.PathLike[str]) -> list[WordRow]:
    """Read a table written by :func:`write_discovery_tsv` (``ciyu discover -o``).

    Args:
        path: the TSV file.

    Returns:
        Its rows, in file order.

    Raises:
        CiyuError: naming the file and line when it is not such a file.
        InputError: when the file cannot be read.
    """
    rows: list[WordRow] = []
    has_reference = False

    def number(text: str) -> float | None:
        value = float(text)
        return value if math.isfinite(value) else None

    for piece in Corpus([path], spool_stdin=False).pieces():  # one pass: no copy
        fields = piece.text.split("\t")
        if piece.lineno == 1:
            if tuple(fields[:6]) != COLUMNS:
                raise CiyuError(
                    f"{path}:1: not a `ciyu discover` table (expected the columns "
                    f"{' '.join(COLUMNS)}); write one with `ciyu discover -o FILE`"
                )
            has_reference = fields[6:7] == [REFERENCE_COLUMN]
            continue
        if not piece.text:
            continue
        try:
            if len(fields) != 6 + has_reference:
                raise ValueError
            cohesion, left, right = (number(x) for x in fields[2:5])
            count, score = int(fields[1]), float(fields[5])
            if not fields[0] or count < 0 or not math.isfinite(score):
                raise ValueError
            rows.append(
                WordRow(
                    undisplay(fields[0]),
                    count,
                    cohesion,
                    left,
                    right,
                    score,
                    (fields[6] == "yes") if has_reference else None,
                )
            )
        except ValueError:
            raise CiyuError(
                f"{path}:{piece.lineno}: malformed row; expected {6 + has_reference} "
                "tab-separated fields as written by `ciyu discover`"
            ) from None
    return rows
