"""The templates file: TSV with a header row, one template per row, best first.

Columns:

``template``
    Fixed words and slots separated by single spaces, a slot written ``<X>`` and a number
    ``<num>``: ``在 <X> 中``, ``虽然 <X> ， 但 <X>``.
``count``
    How many times the parse of the corpus applies it.
``score``
    Nats saved over the corpus by coding those applications as units (``count · gain``);
    the ranking.
``gain``
    Nats saved per application; the parser's score of an application.
``weakest_pmi``
    PMI (nats) of its weakest pair of consecutive fixed words, at the distances where
    that pair is associated.
``fillers``
    Distinct slot fillers (exact up to 1,024, estimated above).
``top_fillers``
    The most frequent fillers, as a JSON list of strings: each filler is the words of
    every slot, words separated by spaces and slots by `` / ``.
``example``
    An example sentence, its words separated by spaces and its slots in brackets.

Floats are written with four decimals, which is how they are held, so that a file read
back gives the same records.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence

from ..errors import CiyuError
from .evidence import Template
from .sentences import SLOT

COLUMNS = (
    "template",
    "count",
    "score",
    "gain",
    "weakest_pmi",
    "fillers",
    "top_fillers",
    "example",
)


def format_rows(templates: Sequence[Template]) -> Iterator[str]:
    """The lines of a templates file (header first), each ending with a newline."""
    yield "\t".join(COLUMNS) + "\n"
    for t in templates:
        fields = [
            t.template,
            str(t.count),
            f"{t.score:.4f}",
            f"{t.gain:.4f}",
            f"{t.weakest_pmi:.4f}",
            str(t.fillers),
            json.dumps(list(t.top_fillers), ensure_ascii=False),
            t.example,
        ]
        yield "\t".join(fields) + "\n"


def parse_rows(lines: Iterable[tuple[int, str]], name: str) -> list[Template]:
    """Read the records of a templates file.

    Args:
        lines: ``(line number, text without its newline)`` pairs.
        name: the file's name, for error messages.

    Raises:
        CiyuError: naming the file and line when it is not a templates file.
    """
    out: list[Template] = []
    for lineno, text in lines:
        fields = text.split("\t")
        if lineno == 1:
            if tuple(fields) != COLUMNS:
                raise CiyuError(
                    f"{name}:1: not a templates file (expected the columns "
                    f"{' '.join(COLUMNS)}); write one with `ciyu templates -o FILE`"
                )
            continue
        if not text:
            continue
        try:
            if len(fields) != len(COLUMNS):
                raise ValueError
            fillers = json.loads(fields[6])
            if not isinstance(fillers, list) or not all(isinstance(f, str) for f in fillers):
                raise ValueError
            items = fields[0].split(" ")
            if any(not x for x in items) or all(x == SLOT for x in items):
                raise ValueError
            count, n_fillers = int(fields[1]), int(fields[5])
            scores = [float(f) for f in fields[2:5]]
            # the parser ranks and breaks ties by these: NaN or a negative count would make
            # its choices depend on the order of the rows
            if count < 0 or n_fillers < 0 or not all(math.isfinite(x) for x in scores):
                raise ValueError
            out.append(
                Template(
                    template=fields[0],
                    count=count,
                    score=scores[0],
                    gain=scores[1],
                    weakest_pmi=scores[2],
                    fillers=n_fillers,
                    top_fillers=tuple(fillers),
                    example=fields[7],
                )
            )
        except ValueError:
            raise CiyuError(
                f"{name}:{lineno}: malformed row; expected {len(COLUMNS)} tab-separated "
                "fields as written by `ciyu templates` (a template with a fixed word, counts "
                "of 0 or more, finite scores)"
            ) from None
    return out
