"""The HTML report: one self-contained page to judge what was learned.

``ciyu report`` writes a single HTML file (no network, no CDN: its content security
policy forbids any fetch) with:

- the ranked word table, sortable by any column and filterable by length, count,
  cohesion, presence in a reference lexicon and substring;
- charts, drawn as inline SVG, each with one sentence on how to read it: rank–frequency
  (log–log), cohesion against boundary entropy, the word-length distribution and, for a
  trained model, how much of the corpus the model's most frequent words cover;
- with a model, a sample of the corpus's sentences as the model segments them;
- with a templates file (``ciyu templates``), the templates table: fixed words with slots,
  their counts, slot fillers and example sentences, filterable like the word table.

With a reference lexicon, the word table opens on the words the reference lacks: the
corpus's own terms, not the general words (或者, 应当) every text is full of.

The page's words come from a discovery (``ciyu discover``), run on the spot or read back
from its TSV file.
"""

from __future__ import annotations

import itertools
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from .. import __version__
from ..model import Model
from ..template import SLOT, Template
from ..template.sentences import sentences
from ..text import display, fragments
from ..wordtable import WordRow, read_discovery_tsv, rows_from_discovery
from . import svg
from .page import CSS, PAGE, SCRIPT, TEMPLATES_SECTION

# the discovery table belongs to ciyu.wordtable; these names stay importable from here
__all__ = ["Coverage", "Report", "WordRow", "coverage", "read_discovery_tsv", "rows_from_discovery"]

#: Rows shown at first, and added by each "show more".
PAGE_ROWS = 500
#: Most points drawn in the cohesion/entropy scatter (the best-scored words).
SCATTER_POINTS = 2500
#: Sentences in the sample of segmented text.
SAMPLE_SENTENCES = 12


@dataclass(frozen=True)
class Coverage:
    """How a model's words cover a corpus, from segmenting its learnable text.

    Attributes:
        token_counts: count of each word in the segmentation, most frequent first.
        n_chars: learnable characters segmented (a number counts as one).
        multi_char_chars: those inside words of two characters or more.
        known_chars: those inside words of the model's lexicon.
        sample: a few sentences of the corpus as the model segments them (their words).
    """

    token_counts: list[int]
    n_chars: int
    multi_char_chars: int
    known_chars: int
    sample: list[list[str]] = field(default_factory=list)


def coverage(
    model: Model, lines: Iterable[str], progress: Callable[[str, int], None] | None = None
) -> Coverage:
    """Segment the learnable text of ``lines`` with ``model`` and measure the coverage;
    keep a sample of sentences from lines spread over the whole corpus (a reservoir sample
    with a fixed seed, so the same corpus always gives the same sample).

    ``progress`` is called as ``progress("coverage", learnable_characters_done)``.
    """
    tokens: Counter[str] = Counter()
    cut = model.decoder.cut
    done = reported = 0
    rng = random.Random(0)
    reservoir: list[tuple[int, str]] = []
    seen = 0
    for number, line in enumerate(lines):
        frags = fragments(line)
        for fragment in frags:
            tokens.update(cut(fragment))
        learnable = sum(map(len, frags))
        done += learnable
        if learnable >= 10:
            seen += 1
            if len(reservoir) < SAMPLE_SENTENCES:
                reservoir.append((number, line))
            else:
                k = rng.randrange(seen)
                if k < SAMPLE_SENTENCES:
                    reservoir[k] = (number, line)
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
    sample = [_sample_sentence(model, line) for _, line in sorted(reservoir)]
    return Coverage(sorted(tokens.values(), reverse=True), n_chars, multi, known, sample)


def _sample_sentence(model: Model, line: str) -> list[str]:
    """The first sentence of ``line`` with six words or more (at most 60 words)."""
    words = [w for w in model.cut(line) if not w.isspace()]
    best: list[str] = []
    for sent in sentences(words):
        if len(sent) >= 6:
            return sent[:60]
        if len(sent) > len(best):
            best = sent
    return best[:60]


@dataclass
class Report:
    """Everything the page shows; :meth:`html` renders it.

    Attributes:
        title: the page title.
        words: discovered words, in their ranking.
        sources: the input files, as named on the command line.
        facts: extra ``(label, value)`` lines for the header.
        coverage: coverage of the corpus by a model, when one was given.
        model_words: the size of that model's lexicon.
        templates: templates of the corpus (``ciyu templates``), best first.
    """

    title: str
    words: list[WordRow]
    sources: Sequence[str] = ()
    facts: list[tuple[str, str]] = field(default_factory=list)
    coverage: Coverage | None = None
    model_words: int | None = None
    templates: list[Template] | None = None

    def charts(self) -> list[str]:
        """The SVG charts of the page, each in a figure with a sentence on how to read it."""
        charts = [
            (self._rank_frequency(), CAPTIONS["rank"]),
            (self._cohesion_entropy(), CAPTIONS["cohesion"]),
            (self._lengths(), CAPTIONS["lengths"]),
        ]
        if self.coverage is not None:
            charts.append((self._coverage(self.coverage), CAPTIONS["coverage"]))
        return [
            f"<figure>{chart}<figcaption>{escape(caption)}</figcaption></figure>"
            for chart, caption in charts
        ]

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
        """The tables as JSON-ready columns and rows (for the page's script): ``words``,
        and ``templates`` when there are templates."""
        data: dict[str, Any] = {"words": self._word_data()}
        if self.templates is not None:
            data["templates"] = self._template_data(self.templates)
        return data

    def _word_data(self) -> dict[str, Any]:
        columns: list[dict[str, Any]] = [
            {"key": "word", "label": "word", "type": "text"},
            {"key": "count", "label": "count", "type": "int"},
            {"key": "cohesion", "label": "cohesion", "type": "float", "digits": 2},
            {"key": "left_entropy", "label": "left entropy", "type": "float", "digits": 2},
            {"key": "right_entropy", "label": "right entropy", "type": "float", "digits": 2},
            {"key": "score", "label": "score", "type": "float", "digits": 1},
        ]
        if self._with_reference():
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
            if self._with_reference():
                row.append(w.in_reference)
            rows.append(row)
        # lengths in characters, a number counting as one (<num>年 has length 2)
        lengths = [len(w.word) for w in self.words]
        return {"columns": columns, "rows": rows, "lengths": lengths, "page": PAGE_ROWS}

    @staticmethod
    def _template_data(templates: Sequence[Template]) -> dict[str, Any]:
        columns: list[dict[str, Any]] = [
            {"key": "template", "label": "template", "type": "text"},
            {"key": "fixed", "label": "fixed words", "type": "int"},
            {"key": "count", "label": "count", "type": "int"},
            {"key": "score", "label": "score", "type": "float", "digits": 1},
            {"key": "gain", "label": "gain", "type": "float", "digits": 2},
            {"key": "weakest_pmi", "label": "weakest PMI", "type": "float", "digits": 2},
            {"key": "fillers", "label": "fillers", "type": "int"},
            {"key": "top_fillers", "label": "top fillers", "type": "list"},
            {"key": "example", "label": "example", "type": "text"},
        ]
        rows = [
            [
                t.template,
                sum(x != SLOT for x in t.template.split(" ")),
                t.count,
                t.score,
                t.gain,
                t.weakest_pmi,
                t.fillers,
                list(t.top_fillers),
                t.example,
            ]
            for t in templates
        ]
        return {"columns": columns, "rows": rows, "page": PAGE_ROWS}

    def _with_reference(self) -> bool:
        return any(w.in_reference is not None for w in self.words)

    def _intro(self) -> str:
        parts = [
            f"The word table lists the {len(self.words):,} words that discovery ranked: "
            "strings whose characters hold together (cohesion) and that combine freely with "
            "their neighbours (boundary entropy)."
        ]
        if self.model_words is not None:
            parts.append(
                f"The model segments with its own lexicon of {self.model_words:,} words, "
                "learned by its own method: it also holds single characters, rare words and "
                "number patterns, so the two counts differ."
            )
        return '<p class="note">' + escape(" ".join(parts)) + "</p>"

    def _sample(self) -> str:
        if self.coverage is None or not self.coverage.sample:
            return ""
        items = "".join(
            "<li>" + "".join(f'<span class="w">{escape(display(w))}</span>' for w in sent) + "</li>"
            for sent in self.coverage.sample
        )
        return (
            "<h2>Segmented sentences</h2>"
            '<p class="note">Sentences from lines spread over the corpus, as the model '
            "segments them: each underlined run is one word.</p>"
            f'<ol class="sample" id="sample">{items}</ol>'
        )

    def _templates_section(self) -> str:
        if self.templates is None:
            return ""
        data = self._template_data(self.templates)
        keys = [c["key"] for c in data["columns"]]
        labels = {c["key"]: c["label"] for c in data["columns"]}
        headers = "".join(
            f'<th data-key="{k}">{escape(labels.get(k, k))}</th>' for k in [*keys, "rank"]
        )
        note = (
            f"{len(self.templates):,} templates: fixed words with slots (<X>) that go together "
            "at a distance, best first by the code length they save (score = count × gain, "
            "in nats). count: how often the parse of the corpus applies the template; weakest "
            "PMI: the association of its weakest pair of consecutive fixed words; fillers: "
            "distinct slot fillers; the example shows the slots in brackets."
        )
        return TEMPLATES_SECTION.format(note=escape(note), headers=headers)

    def html(self) -> str:
        """The whole page, self-contained."""
        data = self.data()
        words = data["words"]
        keys = [c["key"] for c in words["columns"]]
        labels = {c["key"]: c["label"] for c in words["columns"]}
        order = [keys[0], "length", *keys[1:], "rank"]
        labels.update(length="length", rank="rank")
        headers = "".join(f'<th data-key="{k}">{escape(labels[k])}</th>' for k in order)
        facts = [("words", f"{len(self.words):,}"), *self.facts]
        if self.templates is not None:
            facts.append(("templates", f"{len(self.templates):,}"))
        if self.coverage is not None:
            cov = self.coverage
            share = 100.0 * cov.multi_char_chars / cov.n_chars if cov.n_chars else 0.0
            facts += [
                ("segmented characters", f"{cov.n_chars:,}"),
                ("in words of 2+ characters", f"{share:.1f}%"),
            ]
        payload = json.dumps(data, ensure_ascii=False, allow_nan=False)
        # inside <script>, "<" could close the element: JSON allows it escaped
        payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        sources = ", ".join(self.sources) or "–"
        with_reference = "in_reference" in keys
        # with a reference, the table opens on the words it lacks: the corpus's own terms
        options = [("any", "any"), ("yes", "yes"), ("no", "no")]
        selected = "no" if with_reference else "any"
        reference_options = "".join(
            f'<option value="{v}"{" selected" if v == selected else ""}>{t}</option>'
            for v, t in options
        )
        words_note = (
            "Sorted by score, the code length saved by making the string a word. Click a "
            "column to sort by it; the filters narrow the table."
        )
        if with_reference:
            words_note += (
                " It opens on the words the reference lacks, the corpus's own terms; choose "
                "“any” under “in reference” to see every word."
            )
        return PAGE.format(
            version=escape(__version__),
            title=escape(self.title),
            css=CSS,
            facts="".join(f"<span>{escape(k)}: <b>{escape(v)}</b></span>" for k, v in facts),
            intro=self._intro(),
            charts="".join(self.charts()),
            sample=self._sample(),
            words_note=escape(words_note),
            headers=headers,
            reference_disabled="" if with_reference else " disabled",
            reference_options=reference_options,
            templates=self._templates_section(),
            footer=f"Made by ciyu {escape(__version__)} from {escape(sources)}. Cohesion is the "
            "PMI of a word's weakest split; entropies are those of the characters "
            "seen left and right of it (nats).",
            data=payload,
            script=SCRIPT,
        )


#: One sentence under each chart on how to read it.
CAPTIONS = {
    "rank": "Each point is a word: its rank by count (x) against its count (y), both on log "
    "scales; a straight line is Zipf's law, and the long tail on the right is the rare words.",
    "cohesion": "Each point is a word: how strongly its characters hold together (x, the PMI "
    "of its weakest split) against how freely it combines with its neighbours (y, the smaller "
    "boundary entropy); words sit up and to the right, fragments of words sit low.",
    "lengths": "How many of the discovered words have each length, in characters (a number "
    "counts as one).",
    "coverage": "How much of the segmented text the model's most frequent words make up: read "
    "off the share of word tokens (y) that the top N words (x) account for.",
}


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
