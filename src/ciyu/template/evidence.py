"""The last passes of template mining: parse the corpus with the candidate templates,
and keep the evidence a user needs to trust a template (how often the parse applies it,
its slot fillers, an example sentence); then the output records.

Parsing the corpus is what removes redundant templates, as de-redundancy removes words
(design memo §6.3) and BytePiece drops pieces its own tokenizer never uses (§8.2): where
several candidates match the same words, the parse applies the one that saves most, so a
variant (``新华社 <X> <num>月 <X> 电`` beside ``新华社 <X> <num>月 <num>日 电``) or a part
of a longer template is applied only where nothing better matches. A template is kept when
the parse applies it ``min_count`` times or more, and when every slot is open: no single
filler fills more than half of a slot's applications (otherwise the "slot" is a fixed
part of a longer phrase).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._compiled import HAVE_COMPILED_TEMPLATES, note_slow_templates
from ..text import display, undisplay
from .mining import Scored
from .occurrences import template_text
from .options import DISTINCT_EXACT, FILLER_BUDGET, TOP_FILLERS, TemplateConfig
from .parser import Application, CompiledApplications, Match, TemplateTrie, best_cover
from .sentences import SLOT, ChunkSentences, Sentence, Words

Slots = Sequence[tuple[int, int]]


def slot_texts(sent: Sentence, slots: Slots) -> list[str]:
    """The words of each slot, by key (numbers as the number class), separated by
    spaces."""
    return [" ".join(sent.keys[s:e]) for s, e in slots]


def example_text(sent: Sentence, slots: Slots) -> str:
    """The sentence with the slots in brackets."""
    # the words joined a run at a time between the slots' edges (a parse pass calls this
    # for every application in a sentence as short as the example so far): the same
    # tokens as joining word by word, "]" before "[" where a slot ends and one starts
    words = sent.words
    opens = {s for s, _ in slots}
    closes = {e for _, e in slots}
    out = []
    prev = 0
    for cut in sorted(opens | closes):
        if cut > prev:
            out.append(" ".join(words[prev:cut]))
        if cut in closes:
            out.append("]")
        if cut in opens:
            out.append("[")
        prev = cut
    if prev < len(words):
        out.append(" ".join(words[prev:]))
    return " ".join(out).replace("[ ", "[").replace(" ]", "]")


def _hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def _prune(counts: dict[str, int], floor: int) -> tuple[dict[str, int], int]:
    """Drop the rarest entries of ``counts`` until at most half of
    :data:`FILLER_BUDGET` remain (lossy counting; the floor only rises)."""
    while len(counts) > FILLER_BUDGET // 2:
        floor += 1
        counts = {f: c for f, c in counts.items() if c >= floor}
    return counts, floor


def _add_counts(mine: dict[str, int], theirs: dict[str, int]) -> None:
    """Add ``theirs`` to ``mine`` (new keys after the others, in their order): with the
    dictionaries' own loops, as most fillers of one partial are not in the other."""
    common = mine.keys() & theirs.keys()
    if not common:
        mine.update(theirs)
        return
    sums = {key: mine[key] + theirs[key] for key in common}
    mine.update(theirs)
    mine.update(sums)


@dataclass
class Evidence:
    """What a template's occurrences show.

    Attributes:
        n: occurrences seen.
        fillers: counts of whole fillers (the words of every slot).
        slots: counts of each slot's filler, per slot.
        hashes: the :data:`DISTINCT_EXACT` smallest hashes of the whole fillers (sorted),
            a sketch of how many distinct fillers there are (exact below that many).
        example: the example sentence: the shortest of at least six words, ties by text.
        floor: filler counts below this were pruned (at most :data:`FILLER_BUDGET` kept).
    """

    n: int = 0
    fillers: dict[str, int] = field(default_factory=dict)
    slots: list[dict[str, int]] = field(default_factory=list)
    hashes: list[int] = field(default_factory=list)
    example: tuple[bool, int, str] | None = None
    floor: int = 0

    def add(self, sent: Sentence, slots: Slots) -> str:
        """Record one application; returns its filler (the caller adds its hash)."""
        self.n += 1
        keys = sent.keys
        parts = [" ".join(keys[s:e]) for s, e in slots]  # slot_texts, inlined
        if not self.slots:
            self.slots = [{} for _ in parts]
        for counts, part in zip(self.slots, parts, strict=True):
            counts[part] = counts.get(part, 0) + 1
        filler = " / ".join(parts)
        self.fillers[filler] = self.fillers.get(filler, 0) + 1
        rank = (len(sent.words) < 6, len(sent.words))
        if self.example is None or rank <= self.example[:2]:
            key = (*rank, example_text(sent, slots))
            if self.example is None or key < self.example:
                self.example = key
        return filler

    def absorb(self, other: Evidence) -> None:
        """Add ``other``."""
        self.n += other.n
        _add_counts(self.fillers, other.fillers)
        if not self.slots:
            self.slots = other.slots
        else:
            for mine, theirs in zip(self.slots, other.slots, strict=True):
                _add_counts(mine, theirs)
        if not self.hashes:
            self.hashes = other.hashes
        elif other.hashes:
            self.hashes = sorted(set(self.hashes).union(other.hashes))[:DISTINCT_EXACT]
        if other.example is not None and (self.example is None or other.example < self.example):
            self.example = other.example
        self.floor = max(self.floor, other.floor)
        self.shrink()

    def shrink(self) -> None:
        """Keep the filler tables within :data:`FILLER_BUDGET` entries each."""
        floor = self.floor
        if len(self.fillers) > FILLER_BUDGET:
            self.fillers, floor = _prune(self.fillers, floor)
        for s, counts in enumerate(self.slots):
            if len(counts) > FILLER_BUDGET:
                self.slots[s], floor = _prune(counts, floor)
        self.floor = floor

    def distinct(self) -> int:
        """Distinct fillers: exact below :data:`DISTINCT_EXACT`, estimated above."""
        if len(self.hashes) < DISTINCT_EXACT:
            return len(self.hashes)
        kth = float(self.hashes[DISTINCT_EXACT - 1]) / 2.0**64
        return round((DISTINCT_EXACT - 1) / kth)

    def open_slots(self) -> bool:
        """True if no slot has one filler filling more than half of its occurrences."""
        return all(max(c.values(), default=0) * 2 <= self.n for c in self.slots)


@dataclass
class EvidenceTable:
    """Evidence by template (pass 4's partial result)."""

    rows: dict[tuple[str, ...], Evidence] = field(default_factory=dict)
    n_words: int = 0

    def absorb(self, other: EvidenceTable) -> None:
        """Add ``other``."""
        self.n_words += other.n_words
        for items, ev in other.rows.items():
            mine = self.rows.get(items)
            if mine is None:
                self.rows[items] = ev
            else:
                mine.absorb(ev)

    def size(self) -> int:
        """Templates held (the candidates only: bounded)."""
        return len(self.rows)

    def shrink(self, max_entries: int) -> None:
        """Bounded by the candidates; each row bounds itself."""


class EvidencePass:
    """A parse pass: parse every sentence with the candidate templates; record the evidence of
    every application.

    Args:
        config: the options.
        candidates: the templates to parse with.
        compiled: parse with the compiled extension (``ciyu._tparse``) when it is
            installed; False parses with the pure-Python reference (the same evidence).
        full: gather all the evidence; False only what decides which templates are kept
            (the count and the slots' fillers), as the parses of a sample need: no whole
            fillers, no distinct-filler sketch, no example.
    """

    stage = "parse"

    def __init__(
        self,
        config: TemplateConfig,
        candidates: Sequence[Scored],
        compiled: bool = True,
        full: bool = True,
    ) -> None:
        self.full = full
        self.items = [c.items for c in candidates]
        self.gains = [c.gain for c in candidates]
        self.trie = TemplateTrie(self.items, config.max_distance)
        self.compiled = compiled
        self.fast = CompiledApplications.make(self.trie, self.gains) if compiled else None

    def __getstate__(self) -> dict[str, Any]:
        # the compiled parser cannot be pickled: a worker process builds its own
        state = self.__dict__.copy()
        state["fast"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        if self.compiled:
            self.fast = CompiledApplications.make(self.trie, self.gains)

    def empty(self) -> EvidenceTable:
        """No evidence."""
        return EvidenceTable()

    def applications(self, sent: Sentence) -> list[Match]:
        """The template applications of the best parse of a sentence (the pure-Python
        reference of the compiled parse)."""
        matches = self.trie.matches(sent, self.gains)
        if not matches:
            return []
        used, _ = best_cover(len(sent.words), matches, tree=False)
        return used

    def chunk_applications(self, sents: Sequence[Sentence] | ChunkSentences) -> list[Application]:
        """The applications of the best parse of every sentence, ``(sentence index,
        template index, slots)``, sentence after sentence: compiled when it can be, else
        by :meth:`applications` (the same, in the same order)."""
        if isinstance(sents, ChunkSentences):
            if self.fast is not None:
                return self.fast.chunk_applications(sents)
            sents = [sents.sentence(k) for k in range(len(sents))]
        if self.fast is not None:
            return self.fast.applications(sents)
        if self.compiled and not HAVE_COMPILED_TEMPLATES:
            note_slow_templates(sum(len(w) for sent in sents for w in sent.words))
        return [
            (s, m.template, m.slots)
            for s, sent in enumerate(sents)
            for m in self.applications(sent)
        ]

    def map(self, words_of: Words, lines: list[str]) -> EvidenceTable:
        """Gather the evidence of a chunk: the applications of its parse, template by
        template (in the order of each template's first application)."""
        chunk = ChunkSentences.of(lines, words_of)
        part = EvidenceTable(n_words=len(chunk.words))
        by_template: dict[int, list[tuple[int, Slots]]] = {}
        for s, template, slots in self.chunk_applications(chunk):
            apps = by_template.get(template)
            if apps is None:
                by_template[template] = [(s, slots)]
            else:
                apps.append((s, slots))
        for template, apps in by_template.items():
            part.rows[self.items[template]] = self._evidence(chunk, apps)
        return part

    def _evidence(self, chunk: ChunkSentences, apps: list[tuple[int, Slots]]) -> Evidence:
        """The evidence of one template's applications in a chunk (what :meth:`Evidence.add`
        records, application after application)."""
        keys, offsets = chunk.keys, chunk.offsets
        slot_counts: list[dict[str, int]] = [{} for _ in apps[0][1]]
        fillers: dict[str, int] = {}
        full = self.full
        for s, slots in apps:
            at = offsets[s]
            parts = [" ".join(keys[at + a : at + b]) for a, b in slots]
            for counts, part in zip(slot_counts, parts, strict=True):
                counts[part] = counts.get(part, 0) + 1
            if full:
                filler = " / ".join(parts)
                fillers[filler] = fillers.get(filler, 0) + 1
        ev = Evidence(len(apps), fillers, slot_counts, [], None, 0)
        if full:
            ev.hashes = sorted(map(_hash64, fillers))[:DISTINCT_EXACT]
            # the example: the shortest sentence of six words or more (else the shortest),
            # ties by its text; the text only of the sentences that tie on length
            sizes = [offsets[s + 1] - offsets[s] for s, _ in apps]
            rank = min((size < 6, size) for size in sizes)
            text = min(
                example_text(chunk.sentence(s), slots)
                for (s, slots), size in zip(apps, sizes, strict=True)
                if (size < 6, size) == rank
            )
            ev.example = (*rank, text)
        ev.shrink()
        return ev

    def finish(self, merged: EvidenceTable) -> EvidenceTable:
        """The merged evidence."""
        return merged


def keep(
    candidates: Sequence[Scored], evidence: EvidenceTable, min_count: int, scale: float = 1.0
) -> list[Scored]:
    """The candidates the parse applies ``min_count`` times or more, with open slots, their
    count now the number of applications (times ``scale`` when a sample was parsed); best
    first (most nats saved)."""
    kept = []
    for c in candidates:
        ev = evidence.rows.get(c.items)
        if ev is None or ev.n * scale < min_count or not ev.open_slots():
            continue
        kept.append(Scored(c.items, round(ev.n * scale), c.gain, c.weakest_pmi, c.cost))
    kept.sort(key=lambda c: (-c.score, -c.count, c.items))
    return kept


@dataclass(frozen=True)
class Template:
    """A mined template and the evidence for it.

    Attributes:
        template: fixed words and slots separated by single spaces, a slot as ``<X>``,
            numbers as ``<num>`` (``在 <X> 中``).
        count: how many times the parse of the corpus applies it.
        score: nats saved over the corpus by coding its occurrences as units
            (``count · gain``); the ranking.
        gain: nats saved per occurrence; what the parser scores an application with.
        weakest_pmi: PMI (nats) of the weakest pair of consecutive fixed words, at the
            distances where the pair is associated.
        fillers: distinct slot fillers (exact up to 1,024, estimated above).
        top_fillers: the most frequent fillers, each as its slots' words (`` / `` between
            slots).
        example: an example sentence, its slots in brackets.
    """

    template: str
    count: int
    score: float
    gain: float
    weakest_pmi: float
    fillers: int
    top_fillers: tuple[str, ...]
    example: str

    @property
    def items(self) -> tuple[str, ...]:
        """Fixed word keys and :data:`SLOT` markers (numbers as the number class)."""
        return tuple(x if x == SLOT else undisplay(x) for x in self.template.split(" "))

    @property
    def trivial(self) -> bool:
        """True if it has a single fixed word (``<X> 的 <X>``)."""
        return sum(x != SLOT for x in self.template.split(" ")) == 1


def make_templates(kept: Sequence[Scored], evidence: EvidenceTable) -> list[Template]:
    """The output records, in ranking order; numbers rounded to 4 decimals (so that the
    TSV file holds them exactly)."""
    out = []
    for s in kept:
        ev = evidence.rows.get(s.items, Evidence())
        top = sorted(ev.fillers.items(), key=lambda fc: (-fc[1], fc[0]))[:TOP_FILLERS]
        out.append(
            Template(
                template=template_text(s.items),
                count=s.count,
                score=round(s.score, 4),
                gain=round(s.gain, 4),
                weakest_pmi=round(s.weakest_pmi, 4),
                fillers=ev.distinct(),
                top_fillers=tuple(display(f) for f, _ in top),
                example=display(ev.example[2]) if ev.example else "",
            )
        )
    return out
