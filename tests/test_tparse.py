"""The compiled template parser (``ciyu._tparse``) against its Python reference:
``TemplateTrie.matches`` then ``best_cover(..., tree=False)``, application for application,
in the same order; and mining with and without it."""

from __future__ import annotations

import os
import pickle
import random
from array import array
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu._compiled import HAVE_COMPILED_TEMPLATES
from ciyu.cli import main
from ciyu.template.evidence import EvidencePass, example_text
from ciyu.template.mining import Scored
from ciyu.template.options import TemplateConfig
from ciyu.template.parser import (
    Application,
    CompiledApplications,
    TemplateTrie,
    _Node,
    best_cover,
)
from ciyu.template.run import mine
from ciyu.template.sentences import (
    SLOT,
    Sentence,
    clause_ids,
    is_boundary,
    sentences,
    word_key,
)
from ciyu.template.tsv import format_rows

pytestmark = pytest.mark.skipif(
    not HAVE_COMPILED_TEMPLATES, reason="the compiled template parser is not built"
)


def test_compiled_template_parser_is_built_in_ci() -> None:
    if os.environ.get("CI"):
        assert HAVE_COMPILED_TEMPLATES, "CI must build ciyu._tparse (pip install -e .)"


def reference(trie: TemplateTrie, gains: list[float], sents: list[Sentence]) -> list[Application]:
    """The applications of the parse passes' Python path, as the compiled parser gives
    them: (sentence, template, slots), sentence after sentence, in best_cover's order."""
    out: list[Application] = []
    for s, sent in enumerate(sents):
        matches = trie.matches(sent, gains)
        if matches:
            used, _ = best_cover(len(sent.words), matches, tree=False)
            out.extend((s, m.template, m.slots) for m in used)
    return out


def compiled(trie: TemplateTrie, gains: list[float]) -> CompiledApplications:
    fast = CompiledApplications.make(trie, gains)
    assert fast is not None
    return fast


# words: plain ones, clause ends (， ；), brackets and quotes that open and close, other
# punctuation (、 is punctuation but no boundary), and numbers (their key is the class)
WORDS = ["甲", "乙", "丙", "丁", "戊", "，", "；", "（", "）", "“", "”", "、", "2021年", "3年"]


@st.composite
def chunks_and_templates(
    draw: st.DrawFn,
) -> tuple[list[Sentence], list[tuple[str, ...]], list[float], int]:
    alphabet = draw(st.sampled_from([[*WORDS[:3], "，"], [*WORDS[:5], "，"], WORDS]))
    keys = sorted({word_key(w) for w in alphabet})
    words = draw(st.lists(st.sampled_from([*alphabet, "。"]), max_size=50))
    sents = [Sentence.of(s) for s in sentences(words)]
    templates: list[tuple[str, ...]] = []
    for _ in range(draw(st.integers(1, 50))):
        if draw(st.integers(0, 9)) == 0:  # trivial: <X> w <X>
            templates.append((SLOT, draw(st.sampled_from(keys)), SLOT))
            continue
        items: list[str] = []
        for k, f in enumerate(draw(st.lists(st.sampled_from(keys), min_size=1, max_size=4))):
            if k and draw(st.booleans()):
                items.append(SLOT)
            items.append(f)
        if draw(st.booleans()):  # a trailing slot
            items.append(SLOT)
        if draw(st.integers(0, 9)) == 0:  # a leading slot: matches nowhere
            items.insert(0, SLOT)
        templates.append(tuple(items))
    # few gain values make ties (decided by the order of the matches); any float tests
    # that the sums are made in the same order
    gain = st.sampled_from([0.5, 1.0, 2.0]) | st.floats(0.01, 10.0)
    gains = draw(st.lists(gain, min_size=len(templates), max_size=len(templates)))
    max_distance = draw(st.sampled_from([1, 2, 3, 4, 6, 8, 32]))
    return sents, templates, gains, max_distance


@settings(max_examples=500)
@given(chunks_and_templates())
def test_compiled_parse_is_the_reference(
    case: tuple[list[Sentence], list[tuple[str, ...]], list[float], int],
) -> None:
    sents, templates, gains, max_distance = case
    trie = TemplateTrie(templates, max_distance)
    assert compiled(trie, gains).applications(sents) == reference(trie, gains, sents)


def _branches(trie: TemplateTrie, sent: Sentence) -> set[str]:
    """Which ways of finding gapped children the walk of a sentence takes: "few" (each
    child's word looked up) and "many" (each word of the window looked up)."""
    taken: set[str] = set()
    n = len(sent.words)

    def visit(node: _Node, first: int, last: int) -> None:
        if node.next_adjacent and last + 1 < n and sent.keys[last + 1] in node.next_adjacent:
            visit(node.next_adjacent[sent.keys[last + 1]], first, last + 1)
        if not node.next_gapped:
            return
        few = len(node.children) <= min(n, first + trie.max_distance + 1) - last
        taken.add("few" if few else "many")
        for nxt in range(last + 2, min(n, first + trie.max_distance + 1)):
            child = node.next_gapped.get(sent.keys[nxt])
            if child is not None:
                visit(child, first, nxt)

    for start, key in enumerate(sent.keys):
        if key in trie.root.next_gapped:
            visit(trie.root.next_gapped[key], start, start)
    return taken


def test_compiled_parse_is_the_reference_on_large_random_cases() -> None:
    # more and longer than hypothesis draws: long sentences, many templates sharing
    # prefixes (nodes with many children), chunks of many sentences
    rng = random.Random(11)
    applied = ties = 0
    branches: set[str] = set()
    for _ in range(800):
        alphabet = rng.choice([[*WORDS[:3], "，"], WORDS[:6], WORDS])
        keys = sorted({word_key(w) for w in alphabet})
        templates = []
        for _ in range(rng.randint(1, 80)):
            items = [rng.choice(keys)]
            for _ in range(rng.randint(0, 3)):
                if rng.random() < 0.5:
                    items.append(SLOT)
                items.append(rng.choice(keys))
            if rng.random() < 0.3:
                items.append(SLOT)
            if rng.random() < 0.1:
                items = [SLOT, rng.choice(keys), SLOT]
            templates.append(tuple(items))
        trie = TemplateTrie(templates, rng.choice([2, 3, 4, 6, 8, 32]))
        gains = [rng.choice([0.5, 1.0, 2.0, rng.uniform(0.1, 5.0)]) for _ in templates]
        words = [rng.choice([*alphabet, "。"]) for _ in range(rng.randint(0, 300))]
        sents = [Sentence.of(s) for s in sentences(words)]
        want = reference(trie, gains, sents)
        assert compiled(trie, gains).applications(sents) == want
        applied += len(want)
        ties += len(gains) - len(set(gains))
        for sent in sents:
            branches |= _branches(trie, sent)
    # the cases do exercise the parse, ties, and both ways of finding children
    assert applied > 8000 and ties > 10000 and branches == {"few", "many"}


def test_ties_go_to_the_first_match_found_in_either_walk() -> None:
    # 在 … 中 … 了 and 在 … 里 … 了 cover the same words with the same gain and as many
    # fixed words: the first match found wins. With few children, the node of 在 looks
    # its children up in their order (中 first); with many (eight more templates under
    # 在), it scans the sentence (里 first)
    both = [("在", SLOT, "中", SLOT, "了"), ("在", SLOT, "里", SLOT, "了")]
    sent = Sentence.of(["在", "会", "里", "说", "中", "的", "了"])
    few = TemplateTrie(both, 32)
    many = TemplateTrie(both + [("在", SLOT, w) for w in "甲乙丙丁戊己庚辛"], 32)
    assert compiled(few, [1.0] * 2).applications([sent]) == [(0, 0, ((1, 4), (5, 6)))]
    assert compiled(many, [1.0] * 10).applications([sent]) == [(0, 1, ((1, 2), (3, 6)))]
    # as many children (7) as the window holds words: still by the children's words
    seven = TemplateTrie(both + [("在", SLOT, w) for w in "甲乙丙丁戊"], 32)
    assert compiled(seven, [1.0] * 7).applications([sent]) == [(0, 0, ((1, 4), (5, 6)))]
    for trie, gains in ((few, [1.0] * 2), (many, [1.0] * 10), (seven, [1.0] * 7)):
        assert compiled(trie, gains).applications([sent]) == reference(trie, gains, [sent])
    # more fixed words win a tie in nats
    trie = TemplateTrie([("在", SLOT, "中"), ("在", SLOT, "里", SLOT, "中")], 32)
    sent = Sentence.of(["在", "会", "里", "说", "中", "。"])
    assert compiled(trie, [2.0, 2.0]).applications([sent]) == [(0, 1, ((1, 2), (3, 4)))]


def test_scores_are_summed_in_the_order_of_the_reference() -> None:
    # 甲 … 丁 … 庚 (0.1) with 乙 … 丙 (0.2) and 戊 … 己 (0.3) in its slots scores
    # (0.1 + 0.2) + 0.3 = 0.6000000000000001, just more than the 0.6 of the long template
    # with more fixed words; summed in another order, (0.2 + 0.3) + 0.1 = 0.6 would tie,
    # and the fixed words would give the long one
    templates = [
        ("甲", SLOT, "丁", SLOT, "庚"),
        ("乙", SLOT, "丙"),
        ("戊", SLOT, "己"),
        ("甲", "乙", SLOT, "丙", "丁", "戊", "y", "己", "庚"),
    ]
    gains = [0.1, 0.2, 0.3, 0.6]
    trie = TemplateTrie(templates, 32)
    sent = Sentence.of(["甲", "乙", "x", "丙", "丁", "戊", "y", "己", "庚"])
    want = [(0, 0, ((1, 4), (5, 8))), (0, 1, ((2, 3),)), (0, 2, ((6, 7),))]
    assert reference(trie, gains, [sent]) == want
    assert compiled(trie, gains).applications([sent]) == want


def test_trailing_slots_clauses_and_trivial_templates_by_hand() -> None:
    templates = [("虽然", SLOT, "，", "但", SLOT), (SLOT, "的", SLOT), ("在", SLOT, "中")]
    trie = TemplateTrie(templates, 32)
    text = "虽然 下 雨 ， 但 他 在 会 中 说 。 好 的 人 在 家 中 。"
    sents = [Sentence.of(s) for s in sentences(text.split(" "))]
    got = compiled(trie, [3.0, 0.5, 1.0]).applications(sents)
    assert got == [
        (0, 0, ((1, 3), (5, 10))),  # the trailing slot: the rest of its clause
        (0, 2, ((7, 8),)),  # inside it
        (1, 1, ((0, 1), (2, 6))),  # trivial: to the ends of its clause
        (1, 2, ((4, 5),)),  # inside its second slot
    ]
    assert got == reference(trie, [3.0, 0.5, 1.0], sents)


def test_the_compiled_parser_checks_what_it_is_given() -> None:
    from ciyu import _tparse

    trie = TemplateTrie([("在", SLOT, "中"), (SLOT, "的", SLOT)], 32)
    flat = trie.flatten()
    assert flat.words == {"在": 0, "中": 1, "的": 2}

    def parser(gains: array[float] | None = None, **change: Any) -> _tparse.Parser:
        fields = flat._replace(**change)
        gains = array("d", [1.0, 1.0]) if gains is None else gains
        return _tparse.Parser(len(flat.words), *fields[1:14], gains, 32, 2, 4, 8)

    good = parser()
    with pytest.raises(ValueError, match="gapped children"):
        parser(gapped_child=array("i", [5, 2]))
    with pytest.raises(ValueError, match="a child before its parent"):
        parser(gapped_child=array("i", [1, 1]))
    with pytest.raises(ValueError, match="plain templates"):
        parser(plain=array("i", [7]))
    with pytest.raises(ValueError, match="finite"):
        parser(gains=array("d", [1.0, float("nan")]))
    # 在 x 中: ids, classes, clauses; then clause_end and offsets
    ok = (array("i", [0, -1, 1]), array("i", [0, 0, 0]), array("i", [0, 0, 0]))
    ends, offsets = array("i", [3, 3, 3]), array("i", [0, 3])
    assert good.applications(*ok, ends, offsets) == [(0, 0, ((1, 2),))]
    with pytest.raises(ValueError, match="clause_end"):
        good.applications(*ok, array("i", [3, 3, 4]), offsets)
    with pytest.raises(ValueError, match="word id"):
        good.applications(array("i", [0, 9, 1]), *ok[1:], ends, offsets)
    with pytest.raises(ValueError, match="as long as"):
        good.applications(*ok, ends, array("i", [0, 2]))
    # a gain the compiled parser refuses: the reference parses
    assert CompiledApplications.make(trie, [1.0, float("inf")]) is None


def _scored(templates: list[tuple[str, ...]]) -> list[Scored]:
    return [Scored(t, 10, 1.0 + k / 7, 1.0, 1.0) for k, t in enumerate(templates)]


def test_the_parse_pass_compiled_and_not_and_in_a_worker() -> None:
    templates = [("在", SLOT, "中"), ("对", SLOT, "来说"), ("虽然", SLOT, "，", "但", SLOT)]
    lines = ["他 在 会议 中 说 。 对 我 来说 ， 虽然 难 ， 但 好 。", "在 家 中 。 在 中"] * 3
    fast = EvidencePass(TemplateConfig(), _scored(templates))
    slow = EvidencePass(TemplateConfig(), _scored(templates), compiled=False)
    assert fast.fast is not None and slow.fast is None
    a, b = fast.map(str.split, lines), slow.map(str.split, lines)
    assert a.n_words == b.n_words == 66
    assert {k: (v.n, v.fillers, v.example) for k, v in a.rows.items()} == {
        k: (v.n, v.fillers, v.example) for k, v in b.rows.items()
    }
    assert a.rows[("在", SLOT, "中")].n == 6
    # a worker process gets the pass pickled: it rebuilds its compiled parser
    again = pickle.loads(pickle.dumps(fast))
    assert again.fast is not None and again.fast is not fast.fast
    assert pickle.loads(pickle.dumps(slow)).fast is None


def test_templates_on_the_sample_are_the_same_without_the_compiled_parser(
    sample_model: ciyu.Model, law_lines: list[str], tmp_path: Path
) -> None:
    # the first 5,000 lines of the bundled sample (all of it takes a minute in Python)
    text = tmp_path / "law.txt"
    text.write_text("".join(line + "\n" for line in law_lines), encoding="utf-8")
    model = tmp_path / "m.model"
    sample_model.save(model)
    tsv = tmp_path / "t.tsv"
    argv = ["-q", "templates", str(text), "-m", str(model), "-j", "1", "-o", str(tsv)]
    assert main(argv) == 0
    with ciyu.Corpus([text]) as corpus:
        slow = mine(lambda: corpus, sample_model.lexicon, TemplateConfig(), compiled=False)
    assert len(slow) > 100
    assert tsv.read_text(encoding="utf-8") == "".join(format_rows(slow.templates))


# --- the parse pass's Python helpers, made faster: the same results as before -----------


def _example_text_reference(words: list[str], slots: list[tuple[int, int]]) -> str:
    """example_text as it was first written: word by word."""
    opens = {s for s, _ in slots}
    closes = {e for _, e in slots}
    out = []
    for i, w in enumerate(words):
        if i in closes:
            out.append("]")
        if i in opens:
            out.append("[")
        out.append(w)
    if len(words) in closes:
        out.append("]")
    return " ".join(out).replace("[ ", "[").replace(" ]", "]")


@st.composite
def words_and_slots(draw: st.DrawFn) -> tuple[list[str], list[tuple[int, int]]]:
    words = draw(st.lists(st.sampled_from(["甲", "乙丙", "[", "]", "a ]", "[ b", "", "，"])))
    n = len(words)
    slots = []
    if n:
        for _ in range(draw(st.integers(0, 4))):
            s = draw(st.integers(0, n - 1))
            slots.append((s, draw(st.integers(s + 1, n))))
    return words, slots


@settings(max_examples=500)
@given(words_and_slots())
def test_example_text_is_the_word_by_word_text(
    case: tuple[list[str], list[tuple[int, int]]],
) -> None:
    words, slots = case
    assert example_text(Sentence.of(words), slots) == _example_text_reference(words, slots)


def test_example_text_by_hand() -> None:
    sent = Sentence.of(["他", "在", "会议", "中", "说", "。"])
    assert example_text(sent, [(2, 3), (4, 6)]) == "他 在 [会议] 中 [说 。]"


@given(st.lists(st.sampled_from(["甲", "，", "。", "；", "：", "！？", "”", "、", ","])))
def test_sentence_layout_is_as_defined(words: list[str]) -> None:
    sent = Sentence.of(words)
    assert sent.clauses == clause_ids(words)
    n = len(words)
    ends = [next((j for j in range(i + 1, n) if is_boundary(words[j])), n) for i in range(n)]
    assert sent.clause_end == ends
    assert sent.keys == [word_key(w) for w in words]


def test_templates_too_long_for_the_compiled_parser_are_left_to_the_reference() -> None:
    from ciyu import _tparse

    deep = _tparse.MAX_DEPTH
    # MAX_DEPTH fixed words: compiled, the walk as deep as the template
    longest = ("甲",) * (deep - 1) + (SLOT, "乙")
    trie = TemplateTrie([longest], 10 * deep)
    sent = Sentence.of(["甲"] * (deep - 1) + ["x", "乙"])
    assert compiled(trie, [1.0]).applications([sent]) == [(0, 0, ((deep - 1, deep),))]
    # one more: refused by the compiled parser, so parsed by the reference
    trie = TemplateTrie([("甲", *longest)], 10 * deep)
    assert CompiledApplications.make(trie, [1.0]) is None
    with pytest.raises(ValueError, match="too deep"):
        flat = trie.flatten()
        _tparse.Parser(len(flat.words), *flat[1:14], array("d", [1.0]), 32, 2, 4, 8)
