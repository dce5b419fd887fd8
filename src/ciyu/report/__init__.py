"""The HTML report: one self-contained page to judge what was learned.

``ciyu report`` writes a single HTML file (no network, no CDN: its content security
policy forbids any fetch) with:

- the ranked word table, sortable by any column and filterable by length, count,
  cohesion, presence in a reference lexicon and substring;
- charts, drawn as inline SVG: rank–frequency (log–log), cohesion against boundary
  entropy, the word-length distribution and, for a trained model, how much of the corpus
  the model's most frequent words cover.

The page's words come from a discovery (``ciyu discover``), run on the spot or read back
from its TSV file.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from .. import __version__
from ..model import Model
from ..text import display, fragments
from ..wordtable import WordRow, read_discovery_tsv, rows_from_discovery
from . import svg
from .page import CSS, PAGE, SCRIPT

# the discovery table belongs to ciyu.wordtable; these names stay importable from here
__all__ = ["Coverage", "Report", "WordRow", "coverage", "read_discovery_tsv", "rows_from_discovery"]

#: Rows shown at first, and added by each "show more".
PAGE_ROWS = 500
#: Most points drawn in the cohesion/entropy scatter (the best-scored words).
SCATTER_POINTS = 2500


@dataclass(frozen=True)
class Coverage:
    """How a model's words cover a corpus, from segmenting its learnable text.

    Attributes:
        token_counts: count of each word in the segmentation, most frequent first.
        n_chars: learnable characters segmented (a number counts as one).
        multi_char_chars: those inside words of two characters or more.
        known_chars: those inside words of the model's lexicon.
    """

    token_counts: list[int]
    n_chars: int
    multi_char_chars: int
    known_chars: int


def coverage(
    model: Model, lines: Iterable[str], progress: Callable[[str, int], None] | None = None
) -> Coverage:
    """Segment the learnable text of ``lines`` with ``model`` and measure the coverage.

    ``progress`` is called as ``progress("coverage", learnable_characters_done)``.
    """
    tokens: Counter[str] = Counter()
    cut = model.decoder.cut
    done = reported = 0
    for line in lines:
        for fragment in fragments(line):
            tokens.update(cut(fragment))
            done += len(fragment)
        if progress is not None and done - reported >= 1 << 18:
            progress("coverage", done)
            reported = done
    lexicon = model.lexicon
    n_chars = multi = known = 0
    for word, n in tokens.items():
        size = len(word) * n
        n_chars += size
        multi += size if len(word) > 1 else 0
        known += size if word in lexicon else 0
    return Coverage(sorted(tokens.values(), reverse=True), n_chars, multi, known)


@dataclass
class Report:
    """Everything the page shows; :meth:`html` renders it.

    Attributes:
        title: the page title.
        words: discovered words, in their ranking.
        sources: the input files, as named on the command line.
        facts: extra ``(label, value)`` lines for the header.
        coverage: coverage of the corpus by a model, when one was given.
    """

    title: str
    words: list[WordRow]
    sources: Sequence[str] = ()
    facts: list[tuple[str, str]] = field(default_factory=list)
    coverage: Coverage | None = None

    def charts(self) -> list[str]:
        """The SVG charts of the page."""
        charts = [self._rank_frequency(), self._cohesion_entropy(), self._lengths()]
        if self.coverage is not None:
            charts.append(self._coverage(self.coverage))
        return charts

    def _rank_frequency(self) -> str:
        xs, ys = _by_rank(sorted((float(w.count) for w in self.words), reverse=True))
        return svg.line_chart(
            "chart-rank-frequency",
            "Rank–frequency of the discovered words",
            xs,
            ys,
            svg.axis(xs, "rank", log=True),
            svg.axis(ys, "count", log=True),
        )

    def _cohesion_entropy(self) -> str:
        best = sorted(self.words, key=lambda w: -w.score)[:SCATTER_POINTS]
        points = []
        for w in best:
            if w.cohesion is None or w.left_entropy is None or w.right_entropy is None:
                continue
            freedom = min(w.left_entropy, w.right_entropy)
            css = {None: "ref-unknown", True: "ref-yes", False: "ref-no"}[w.in_reference]
            tip = f"{display(w.word)}: count {w.count}, cohesion {w.cohesion:.2f}, "
            tip += f"entropy {freedom:.2f}"
            points.append((w.cohesion, freedom, css, tip))
        legend: list[tuple[str, str]] = []
        if any(w.in_reference is not None for w in best):
            legend = [("ref-yes", "in reference"), ("ref-no", "new word")]
        return svg.scatter(
            "chart-cohesion-entropy",
            f"Cohesion against boundary entropy ({len(points)} best words)",
            points,
            svg.axis([p[0] for p in points], "cohesion: weakest split PMI (nats)", zero=True),
            svg.axis([p[1] for p in points], "min(left, right) entropy (nats)", zero=True),
            legend,
        )

    def _lengths(self) -> str:
        lengths = Counter(min(len(w.word), 8) for w in self.words)
        labels = [str(n) if n < 8 else "8+" for n in range(1, 9)]
        values = [float(lengths.get(n, 0)) for n in range(1, 9)]
        return svg.bar_chart(
            "chart-lengths",
            "Word lengths (characters)",
            labels,
            values,
            svg.axis(values, "words", zero=True),
            "length",
        )

    def _coverage(self, cov: Coverage) -> str:
        counts = cov.token_counts
        total = sum(counts) or 1
        cumulative = [100.0 * n / total for n in itertools.accumulate(counts)]
        xs, ys = _by_rank(cumulative)
        return svg.line_chart(
            "chart-coverage",
            "Corpus coverage by the model's most frequent words",
            xs,
            ys,
            svg.axis(xs, "top words used", log=True),
            svg.Axis(0.0, 100.0, False, "% of word tokens"),
        )

    def data(self) -> dict[str, Any]:
        """The table as JSON-ready columns and rows (for the page's script)."""
        columns: list[dict[str, Any]] = [
            {"key": "word", "label": "word", "type": "text"},
            {"key": "count", "label": "count", "type": "int"},
            {"key": "cohesion", "label": "cohesion", "type": "float", "digits": 2},
            {"key": "left_entropy", "label": "left entropy", "type": "float", "digits": 2},
            {"key": "right_entropy", "label": "right entropy", "type": "float", "digits": 2},
            {"key": "score", "label": "score", "type": "float", "digits": 1},
        ]
        with_reference = any(w.in_reference is not None for w in self.words)
        if with_reference:
            columns.append({"key": "in_reference", "label": "in reference", "type": "bool"})
        rows = []
        for w in self.words:
            row: list[Any] = [
                display(w.word),
                w.count,
                w.cohesion,
                w.left_entropy,
                w.right_entropy,
                w.score,
            ]
            if with_reference:
                row.append(w.in_reference)
            rows.append(row)
        # lengths in characters, a number counting as one (<num>年 has length 2)
        lengths = [len(w.word) for w in self.words]
        return {"columns": columns, "rows": rows, "lengths": lengths, "page": PAGE_ROWS}

    def html(self) -> str:
        """The whole page, self-contained."""
        data = self.data()
        keys = [c["key"] for c in data["columns"]]
        labels = {c["key"]: c["label"] for c in data["columns"]}
        order = [keys[0], "length", *keys[1:], "rank"]
        labels.update(length="length", rank="rank")
        headers = "".join(f'<th data-key="{k}">{escape(labels[k])}</th>' for k in order)
        facts = [("words", f"{len(self.words):,}"), *self.facts]
        if self.coverage is not None:
            cov = self.coverage
            share = 100.0 * cov.multi_char_chars / cov.n_chars if cov.n_chars else 0.0
            known = 100.0 * cov.known_chars / cov.n_chars if cov.n_chars else 0.0
            facts += [
                ("segmented characters", f"{cov.n_chars:,}"),
                ("in words of 2+ characters", f"{share:.1f}%"),
                ("covered by the model's words", f"{known:.1f}%"),
            ]
        payload = json.dumps(data, ensure_ascii=False, allow_nan=False)
        # inside <script>, "<" could close the element: JSON allows it escaped
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        sources = ", ".join(self.sources) or "–"
        return PAGE.format(
            version=escape(__version__),
            title=escape(self.title),
            css=CSS,
            facts="".join(f"<span>{escape(k)}: <b>{escape(v)}</b></span>" for k, v in facts),
            charts="".join(self.charts()),
            headers=headers,
            reference_disabled="" if "in_reference" in keys else " disabled",
            footer=f"Made by ciyu {escape(__version__)} from {escape(sources)}. Cohesion is the "
            "PMI of a word's weakest split; entropies are those of the characters "
            "seen left and right of it (nats).",
            data=payload,
            script=SCRIPT,
        )


def _by_rank(values: list[float]) -> tuple[list[float], list[float]]:
    """Ranks (1-based) and the values at those ranks, about 300 points evenly spaced on a
    log scale: what a rank curve with a log x axis needs."""
    ranks = _log_samples(len(values))
    return [float(r) for r in ranks], [values[r - 1] for r in ranks]


def _log_samples(n: int, points: int = 300) -> list[int]:
    """About ``points`` ranks in 1..n, evenly spaced on a log scale (always 1 and n)."""
    if n <= points:
        return list(range(1, n + 1))
    step = math.log(n) / (points - 1)
    ranks = sorted({min(n, max(1, round(math.exp(i * step)))) for i in range(points)})
    if ranks[-1] != n:
        ranks.append(n)
    return ranks


__all__ = ["Coverage", "Report", "WordRow", "coverage", "read_discovery_tsv", "rows_from_discovery"]
