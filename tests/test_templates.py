"""Templates: mining on made-up corpora whose templates are known by construction, the
parser (nesting, no crossing, lossless), the TSV format, and the passes' map / merge."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu.errors import CiyuError, ConfigError
from ciyu.passes import LocalEngine, TextBatch, run_here
from ciyu.template import Parser, Template, brackets, fill_right, leaves, to_json, to_text
from ciyu.template.evidence import Evidence, EvidencePass, EvidenceTable, _hash64
from ciyu.template.jobs import CandidateJob, EvidenceJob, PairJob, TemplateJob, WordJob
from ciyu.template.mining import TemplatePass, TemplateTable
from ciyu.template.occurrences import occurrence, trivial_occurrence
from ciyu.template.options import DISTINCT_EXACT, TemplateConfig
from ciyu.template.pairs import PairCounts, PairPass, WordCounts, WordPass
from ciyu.template.parser import Match, TemplateTrie, _Node, best_cover
from ciyu.template.passes import run_pass
from ciyu.template.sentences import (
    CLOSER,
    OPENER,
    PUNCT,
    SLOT,
    Sentence,
    chunk_sentences,
    model_words,
    sentences,
    split_words,
)
from ciyu.template.tsv import format_rows, parse_rows
from ciyu.text import compiled_rules

# --- a corpus made from known frames --------------------------------------------------

FRAMES = {
    "在 <X> 中": ("在", None, "中"),
    "对 <X> 来说": ("对", None, "来说"),
    "不仅 <X> ， 而且 <X>": ("不仅", None, "，", "而且", None),
    "虽然 <X> ， 但 <X>": ("虽然", None, "，", "但", None),
}
# frames that may appear inside another frame's slot (they hold no comma)
INNER = ("在 <X> 中", "对 <X> 来说")


def filler_words(n: int = 400, seed: int = 1) -> list[str]:
    """Two-character words made of characters that no frame word uses."""
    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in rng.sample(range(20000), 2 * n)]
    frame_chars = {ch for f in FRAMES.values() for w in f if w for ch in w}
    chars = [c for c in chars if c not in frame_chars]
    return ["".join(chars[2 * i : 2 * i + 2]) for i in range(len(chars) // 2)]


class Made:
    """A generated sentence: its words, its tree, and the frames it holds."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.counts: dict[str, int] = dict.fromkeys(FRAMES, 0)


def _slot(rng: random.Random, vocab: list[str], made: Made, depth: int) -> ciyu.template.Tree:
    nodes: list[ciyu.template.Tree] = []
    for _ in range(rng.randint(1, 3)):
        if depth == 0 and rng.random() < 0.2:
            nodes.append(_frame(rng, vocab, made, rng.choice(INNER), depth + 1))
        else:
            word = rng.choice(vocab)
            made.words.append(word)
            nodes.append(word)
    return nodes[0] if len(nodes) == 1 else nodes


def _frame(
    rng: random.Random, vocab: list[str], made: Made, name: str, depth: int
) -> ciyu.template.Tree:
    made.counts[name] += 1
    node: list[ciyu.template.Tree] = []
    for item in FRAMES[name]:
        if item is None:
            node.append(_slot(rng, vocab, made, depth))
        else:
            made.words.append(item)
            node.append(item)
    return node


def made_corpus(
    n: int = 3000, seed: int = 7
) -> tuple[list[str], list[ciyu.template.Tree], dict[str, int]]:
    """Sentences of random filler words around (and inside) the frames, with the tree each
    should parse to and the number of times each frame was used."""
    rng = random.Random(seed)
    vocab = filler_words()
    lines: list[str] = []
    trees: list[ciyu.template.Tree] = []
    counts = dict.fromkeys(FRAMES, 0)
    for _ in range(n):
        made = Made()
        top: list[ciyu.template.Tree] = []
        for _ in range(rng.randint(0, 2)):
            made.words.append(rng.choice(vocab))
            top.append(made.words[-1])
        trailing = 1
        if rng.random() < 0.7:
            name = rng.choice(list(FRAMES))
            top.append(_frame(rng, vocab, made, name, 0))
            # a frame across two clauses takes the rest of its last clause as its slot
            trailing = 0 if FRAMES[name][-1] is None else 1
        for _ in range(rng.randint(trailing, 2 * trailing)):
            made.words.append(rng.choice(vocab))
            top.append(made.words[-1])
        made.words.append("。")
        top.append("。")
        lines.append(" ".join(made.words))
        trees.append(top)
        for name, c in made.counts.items():
            counts[name] += c
    return lines, trees, counts


@pytest.fixture(scope="module")
def made() -> tuple[list[str], list[ciyu.template.Tree], dict[str, int]]:
    return made_corpus()


@pytest.fixture(scope="module")
def mined(made: tuple[list[str], list[ciyu.template.Tree], dict[str, int]]) -> ciyu.template.Mined:
    return ciyu.templates(texts=made[0], pre_segmented=True)


def test_the_frames_are_found_and_counted(
    made: tuple[list[str], list[ciyu.template.Tree], dict[str, int]],
    mined: ciyu.template.Mined,
) -> None:
    _, _, counts = made
    found = {t.template: t for t in mined}
    # exactly the frames: nothing made of filler words, no variant of a frame
    assert set(found) == set(FRAMES)
    for name, t in found.items():
        assert t.count == counts[name]
        assert t.gain > 0 and t.score == pytest.approx(t.count * t.gain, rel=1e-4)
        assert t.weakest_pmi > 1
        assert t.fillers > 0.8 * t.count  # random fillers: nearly all distinct
        assert len(t.top_fillers) == 5
        # the example holds the template's fixed words with its slots in brackets
        assert t.example.endswith("。") and "[" in t.example
    # best first: the frames that save the most (rare words, two clauses) lead
    assert [t.score for t in mined] == sorted((t.score for t in mined), reverse=True)
    assert mined.meta["words"] == sum(len(line.split()) for line in made[0])
    assert mined.meta["approximate"] is False


def test_the_parser_recovers_the_nesting(
    made: tuple[list[str], list[ciyu.template.Tree], dict[str, int]],
    mined: ciyu.template.Mined,
) -> None:
    lines, trees, _ = made
    parser = Parser(mined.templates)
    for line, gold in zip(lines, trees, strict=True):
        words = line.split()
        tree = parser.parse(words)
        assert list(leaves(tree)) == words
        expected = gold[0] if len(gold) == 1 else gold
        assert tree == expected, line


def test_trees_as_text_and_json() -> None:
    t = Template("在 <X> 中", 10, 5.0, 0.5, 2.0, 8, (), "")
    tree = Parser([t]).parse(["他", "在", "大", "会议", "中", "发言", "。"])
    assert tree == ["他", ["在", ["大", "会议"], "中"], "发言", "。"]
    assert to_text(tree) == "他 [在 [大 会议] 中] 发言 。"
    assert to_json(tree) == '["他", ["在", ["大", "会议"], "中"], "发言", "。"]'
    assert brackets(tree) == [(2, 4), (1, 5), (0, 7)]
    # a line of two sentences holds one tree per sentence; a single word is a string
    two = Parser([t]).parse(["在", "家", "中", "。", "好", "。"])
    assert two == [[["在", "家", "中"], "。"], ["好", "。"]]
    assert Parser([t]).parse(["好"]) == "好"
    assert Parser([t]).parse([]) == []
    with pytest.raises(ConfigError, match="no model to segment text with"):
        Parser([t]).parse("在家中")


def test_clause_spanning_template_takes_the_rest_of_its_clause() -> None:
    t = Template("虽然 <X> ， 但 <X>", 10, 5.0, 2.0, 2.0, 8, (), "")
    words = ["虽然", "下", "雨", "，", "但", "他", "来", "了", "，", "好", "。"]
    assert Parser([t]).parse(words) == [
        ["虽然", ["下", "雨"], "，", "但", ["他", "来", "了"]],
        "，",
        "好",
        "。",
    ]
    # within one clause the trailing slot is not there: no match
    assert Parser([t]).parse(["虽然", "下", "雨", "但", "他", "。"]) == [
        "虽然",
        "下",
        "雨",
        "但",
        "他",
        "。",
    ]


def test_parse_with_a_model_segments_the_text(sample_model: ciyu.Model) -> None:
    t = Template("由 <X> 责令改正", 10, 5.0, 3.0, 2.0, 8, (), "")
    parser = Parser([t], sample_model)
    text = "由县级以上人民政府责令改正，处一万元罚款。"
    assert parser.words(text)[:5] == ["由", "县级以上", "人民", "政府", "责令改正"]
    tree = parser.parse(text)
    assert "".join(leaves(tree)) == text
    assert isinstance(tree, list)
    assert tree[0] == ["由", ["县级以上", "人民", "政府"], "责令改正"]


# --- the parser's search: the best nesting, never crossing -----------------------------


def _compatible(a: Match, b: Match) -> bool:
    """Two applications can be in one parse: apart, or one inside a slot of the other."""
    if a.end <= b.start or b.end <= a.start:
        return True
    return any(s <= b.start and b.end <= e for s, e in a.slots) or any(
        s <= a.start and a.end <= e for s, e in b.slots
    )


@st.composite
def sentences_and_templates(draw: st.DrawFn) -> tuple[list[str], list[Template]]:
    words = draw(st.lists(st.sampled_from("甲乙丙丁，。"), min_size=0, max_size=12))
    templates = []
    for _ in range(draw(st.integers(1, 4))):
        fixed = draw(st.lists(st.sampled_from("甲乙丙丁，"), min_size=1, max_size=3))
        items: list[str] = []
        for k, f in enumerate(fixed):
            if k and draw(st.booleans()):
                items.append("<X>")
            items.append(f)
        if len(items) == 1 or draw(st.booleans()):
            items.append("<X>")
        if draw(st.booleans()) and len(items) > 1:
            items.insert(0, "<X>")
        gain = draw(st.sampled_from([0.5, 1.0, 1.5, 2.0]))
        templates.append(Template(" ".join(items), 5, gain * 5, gain, 1.0, 3, (), ""))
    return words, templates


@given(sentences_and_templates())
def test_parse_is_lossless_and_best(case: tuple[list[str], list[Template]]) -> None:
    words, templates = case
    parser = Parser(templates, max_distance=32)
    tree = parser.parse(words)
    assert list(leaves(tree)) == words
    # brackets never cross
    spans = brackets(tree)
    for (a, b), (c, d) in itertools.combinations(spans, 2):
        assert b <= c or d <= a or (a <= c and d <= b) or (c <= a and b <= d)
    # the best parse: no compatible set of matches saves more (brute force)
    for sent_words in sentences(words):
        sent = Sentence.of(sent_words)
        matches = parser.trie.matches(sent, parser.gains)[:9]
        used, _ = best_cover(len(sent_words), matches)
        assert all(_compatible(a, b) for a, b in itertools.combinations(used, 2))
        best = 0.0
        for r in range(1, len(matches) + 1):
            for subset in itertools.combinations(matches, r):
                if all(_compatible(a, b) for a, b in itertools.combinations(subset, 2)):
                    best = max(best, sum(m.gain for m in subset))
        assert sum(m.gain for m in used) == pytest.approx(best)


def _first_walk_matches(trie: TemplateTrie, sent: Sentence, gains: list[float]) -> list[Match]:
    """The matches of a sentence as the first trie walk found them (tuple-keyed
    children, every position tried, clauses checked at each step): the twin the
    faster walk of :meth:`TemplateTrie.matches` must agree with, order included (the
    order breaks ties in :func:`best_cover`)."""
    keys = sent.keys
    where: dict[str, list[int]] = {}
    for i, k in enumerate(keys):
        where.setdefault(k, []).append(i)
    out: list[Match] = []

    def walk(node: _Node, path: list[int]) -> None:
        first, last = path[0], path[-1]
        if node.plain or node.trailing:
            begin, finish = sent.classes[first], sent.classes[last]
            if not (begin & PUNCT and not begin & OPENER) and not (
                finish & PUNCT and not finish & CLOSER
            ):
                clause_end = sent.clause_end[last]
                trailing = sent.clauses[last] > sent.clauses[first] and clause_end > last + 1
                indices = node.trailing if trailing else node.plain
                if indices and (trailing or node.gapped):
                    slots = [(p + 1, q) for p, q in itertools.pairwise(path) if q - p > 1]
                    if trailing:
                        slots.append((last + 1, clause_end))
                    end = clause_end if trailing else last + 1
                    for index in indices:
                        fixed, spans = tuple(path), tuple(slots)
                        out.append(Match(index, first, end, fixed, spans, gains[index]))
        n = len(keys)
        if not node.children:
            return
        if (
            last + 1 < n
            and last + 1 - first <= trie.max_distance
            and sent.clauses[last + 1] - sent.clauses[first] <= 1
        ):
            child = node.children.get((True, keys[last + 1]))
            if child is not None:
                walk(child, [*path, last + 1])
        limit = min(n, first + trie.max_distance + 1)
        clause = sent.clauses[first]
        if len(node.children) <= limit - last:
            for (adjacent, word), child in node.children.items():
                if adjacent:
                    continue
                for nxt in where.get(word, ()):
                    if nxt <= last + 1:
                        continue
                    if nxt >= limit or sent.clauses[nxt] - clause > 1:
                        break
                    walk(child, [*path, nxt])
            return
        for nxt in range(last + 2, limit):
            if sent.clauses[nxt] - clause > 1:
                break
            child = node.children.get((False, keys[nxt]))
            if child is not None:
                walk(child, [*path, nxt])

    for start, key in enumerate(keys):
        node = trie.root.children.get((False, key))
        if node is not None:
            walk(node, [start])
        for index in trie.trivial.get(key, ()):
            occ = trivial_occurrence(sent, start)
            if occ is not None:
                s, e = occ.slots[0][0], occ.slots[1][1]
                out.append(Match(index, s, e, occ.fixed, occ.slots, gains[index]))
    return out


@st.composite
def many_templates(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, ...]], int]:
    alphabet = draw(st.sampled_from(["甲乙，", "甲乙丙（），"]))
    words = draw(st.lists(st.sampled_from(alphabet + "。"), min_size=0, max_size=40))
    templates = []
    for _ in range(draw(st.integers(1, 40))):
        fixed = draw(st.lists(st.sampled_from(alphabet), min_size=1, max_size=4))
        items: list[str] = []
        for k, f in enumerate(fixed):
            if k and draw(st.booleans()):
                items.append(SLOT)
            items.append(f)
        if len(items) == 1 or draw(st.booleans()):
            items.append(SLOT)
        if draw(st.booleans()):
            items.insert(0, SLOT)
        templates.append(tuple(items))
    return words, templates, draw(st.sampled_from([2, 3, 4, 6, 8, 32]))


@settings(max_examples=300, deadline=None)
@given(many_templates())
def test_trie_matches_agree_with_the_reference_walk(
    case: tuple[list[str], list[tuple[str, ...]], int],
) -> None:
    words, templates, max_distance = case
    trie = TemplateTrie(templates, max_distance)
    gains = [0.5 + k for k in range(len(templates))]
    for sent_words in sentences(words):
        sent = Sentence.of(sent_words)
        assert trie.matches(sent, gains) == _first_walk_matches(trie, sent, gains)


def test_trie_matches_agree_with_the_reference_walk_on_random_cases() -> None:
    # larger cases than hypothesis draws: long sentences, many templates sharing prefixes
    rng = random.Random(7)
    found = applied = 0
    for _ in range(400):
        alphabet = rng.choice(["甲乙，", "甲乙丙（），", "甲乙丙丁，"])
        templates = []
        for _ in range(rng.randint(1, 60)):
            items = [rng.choice(alphabet)]
            for _ in range(rng.randint(0, 3)):
                if rng.random() < 0.5:
                    items.append(SLOT)
                items.append(rng.choice(alphabet))
            if rng.random() < 0.3:
                items.append(SLOT)
            templates.append(tuple(items))
        trie = TemplateTrie(templates, rng.choice([2, 3, 4, 6, 8, 32]))
        gains = [rng.choice([0.5, 1.0, 2.0]) for _ in templates]
        words = [rng.choice(alphabet + "。") for _ in range(rng.randint(0, 60))]
        for sent_words in sentences(words):
            sent = Sentence.of(sent_words)
            got = trie.matches(sent, gains)
            assert got == _first_walk_matches(trie, sent, gains)
            found += len(got)
            # the parse passes ask for the applications alone: the same, in the same order
            used, _ = best_cover(len(sent_words), got)
            assert best_cover(len(sent_words), got, tree=False) == (used, [])
            applied += len(used) > 1
    assert found > 1000 and applied > 50  # the cases do exercise the walk and the parse


def test_trie_matches_in_the_order_of_the_walk() -> None:
    # 在 … 中 (gapped), 在 … 中 … 的 , 在 的 and a trailing slot across a comma, by hand
    templates = [("在", SLOT, "中"), ("在", SLOT, "中", SLOT, "的"), ("在", SLOT, "，", "的", SLOT)]
    trie = TemplateTrie(templates, 32)
    sent = Sentence.of(["在", "会议", "中", "说", "的", "，", "的", "话", "。"])
    got = [(m.template, m.start, m.end, m.fixed, m.slots) for m in trie.matches(sent, [1, 2, 3])]
    assert got == [
        (0, 0, 3, (0, 2), ((1, 2),)),
        (1, 0, 5, (0, 2, 4), ((1, 2), (3, 4))),
        (2, 0, 8, (0, 5, 6), ((1, 5), (7, 8))),
    ]


def _no_crossing(spans: list[tuple[int, int]]) -> bool:
    return all(
        b <= c or d <= a or (a <= c and d <= b) or (c <= a and b <= d)
        for (a, b), (c, d) in itertools.combinations(spans, 2)
    )


def _full_binary(tree: ciyu.template.Tree) -> bool:
    """Every list node holds exactly two children (iteratively); nothing parses to []."""
    stack = [tree] if tree != [] else []
    while stack:
        t = stack.pop()
        if isinstance(t, list):
            if len(t) != 2:
                return False
            stack.extend(t)
    return True


def test_fill_right_on_a_hand_checked_example() -> None:
    frame = Template("在 <X> 中", 10, 5.0, 0.5, 2.0, 8, (), "")
    but = Template("虽然 <X> ， 但 <X>", 10, 5.0, 2.0, 2.0, 8, (), "")
    words = split_words("虽然 他 在 大 会议 中 发言 ， 但 没 人 听 ， 好 。")
    plain = Parser([frame, but]).parse(words)
    assert plain == [
        ["虽然", ["他", ["在", ["大", "会议"], "中"], "发言"], "，", "但", ["没", "人", "听"]],
        "，",
        "好",
        "。",
    ]
    filled = Parser([frame, but], fill="right").parse(words)
    assert filled == [
        [
            "虽然",
            [
                ["他", [["在", [["大", "会议"], "中"]], "发言"]],
                ["，", ["但", ["没", ["人", "听"]]]],
            ],
        ],
        ["，", ["好", "。"]],
    ]
    text = "[虽然 [[他 [[在 [[大 会议] 中]] 发言]] [， [但 [没 [人 听]]]]]] [， [好 。]]"
    assert to_text(filled) == text
    # every bracket of the templates-only parse is kept
    assert set(brackets(plain)) <= set(brackets(filled))
    assert fill_right(plain) == filled
    # a line of sentences, a word, nothing
    t = Parser([frame], fill="right")
    assert t.parse(["在", "家", "中", "。", "好", "。", "走", "。"]) == [
        [["在", ["家", "中"]], "。"],
        [["好", "。"], ["走", "。"]],
    ]
    assert t.parse(["好"]) == "好" and t.parse([]) == []
    assert t.join([["a", "b"], "c", "d"]) == [["a", "b"], ["c", "d"]]
    assert Parser([frame]).join([["a", "b"], "c", "d"]) == [["a", "b"], "c", "d"]
    with pytest.raises(ConfigError, match="unknown fill 'left'"):
        Parser([frame], fill="left")


@given(sentences_and_templates())
def test_filled_parse_is_lossless_binary_and_keeps_the_templates(
    case: tuple[list[str], list[Template]],
) -> None:
    words, templates = case
    plain = Parser(templates).parse(words)
    tree = Parser(templates, fill="right").parse(words)
    assert list(leaves(tree)) == words
    spans = brackets(tree)
    assert _no_crossing(spans)
    assert set(brackets(plain)) <= set(spans)
    assert _full_binary(tree)
    if len(words) > 1:
        # a full binary tree over n words has n - 1 brackets
        assert len(spans) == len(words) - 1
    # text and JSON as json.dumps and the recursive definitions write them
    assert to_json(tree) == json.dumps(tree, ensure_ascii=False)
    assert json.loads(to_json(plain)) == plain


def test_filled_trees_as_deep_as_a_long_sentence() -> None:
    frame = Template("在 <X> 中", 10, 5.0, 0.5, 2.0, 8, (), "")
    words = ["在", "家", "中", *(["字"] * 20_000), "。"]
    tree = Parser([frame], fill="right").parse(words)  # 20,000 levels deep: no recursion
    assert list(leaves(tree)) == words
    assert len(brackets(tree)) == len(words) - 1
    text = to_text(tree)
    assert text.replace("[", "").replace("]", "").split() == words
    assert text.startswith("[在 [家 中]] [字 [字 [字 ") and text.endswith(" [字 。]" + "]" * 19_999)
    assert to_json(tree).startswith('[["在", ["家", "中"]], ["字", [')


def _reference_matches(
    sent: Sentence, templates: list[Template], max_distance: int
) -> set[tuple[int, int, int, tuple[int, ...], tuple[tuple[int, int], ...]]]:
    """Every match, by brute force over all paths of positions, as :func:`occurrence`
    makes them (the reference the trie's walk must agree with)."""
    n = len(sent.words)
    out = set()
    for index, t in enumerate(templates):
        items = t.items
        fixed = [x for x in items if x != "<X>"]
        if len(items) == 3 and items[0] == items[2] == "<X>":
            continue  # trivial templates are matched apart
        for path in itertools.combinations(range(n), len(fixed)):
            if any(sent.keys[p] != f for p, f in zip(path, fixed, strict=True)):
                continue
            if path[-1] - path[0] > max_distance:
                continue
            if any(sent.clauses[p] - sent.clauses[path[0]] > 1 for p in path):
                continue
            occ = occurrence(sent, list(path))
            if occ is None or occ.items != items:
                continue
            end = occ.slots[-1][1] if occ.slots[-1][0] > path[-1] else path[-1] + 1
            out.add((index, path[0], end, occ.fixed, occ.slots))
    return out


@given(sentences_and_templates(), st.integers(1, 6))
def test_the_trie_finds_every_match_and_no_other(
    case: tuple[list[str], list[Template]], max_distance: int
) -> None:
    words, templates = case
    parser = Parser(templates, max_distance=max_distance)
    for sent_words in sentences(words):
        sent = Sentence.of(sent_words)
        found = parser.trie.matches(sent, parser.gains)
        got = [(m.template, m.start, m.end, m.fixed, m.slots) for m in found]
        assert len(got) == len(set(got))
        assert {g for g in got if len(g[3]) > 1 or templates[g[0]].items[0] != "<X>"} == (
            _reference_matches(sent, templates, max_distance)
        )


# --- the TSV file ----------------------------------------------------------------------


def test_tsv_round_trip(mined: ciyu.template.Mined, tmp_path: Path) -> None:
    odd = Template(
        "第 <X> 条 <num>年",
        3,
        12.3457,
        4.1152,
        2.5,
        2,
        ('a | b / "c"', "\\", "<num>个"),
        "第 [三] 条 [x] 2021年 。",
    )
    records = [*mined.templates, odd]
    path = tmp_path / "t.tsv"
    ciyu.save_templates(records, path)
    assert ciyu.load_templates(path) == records
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0].split("\t") == [
        "template",
        "count",
        "score",
        "gain",
        "weakest_pmi",
        "fillers",
        "top_fillers",
        "example",
    ]
    assert text == "".join(format_rows(records))
    assert odd.items == ("第", "<X>", "条", "\ufdd0年")


def test_tsv_errors() -> None:
    with pytest.raises(CiyuError, match=r"^t.tsv:1: not a templates file"):
        parse_rows([(1, "word\tcount")], "t.tsv")
    header = "\t".join(
        ["template", "count", "score", "gain", "weakest_pmi", "fillers", "top_fillers", "example"]
    )
    for bad in (
        "在 <X> 中\t3\t1\t1\t1\t2\tnot json\tx",
        "<X>\t3\t1\t1\t1\t2\t[]\tx",
        "在\t3",
        "在 <X> 中\t-3\t1\t1\t1\t2\t[]\tx",
        "在 <X> 中\t3\tnan\t1\t1\t2\t[]\tx",
        "在 <X> 中\t3\t1\tinf\t1\t2\t[]\tx",
        "在 <X> 中\t3\t1\t1\t1\t-2\t[]\tx",
    ):
        with pytest.raises(CiyuError, match=r"^t.tsv:2: malformed row; expected 8"):
            parse_rows([(1, header), (2, bad)], "t.tsv")


# --- the passes: map over any partition, exact merge, same result ----------------------


def _map_all(corpus_pass: object, lines: list[str], cuts: list[int]) -> object:
    parts = []
    bounds = [0, *sorted(cuts), len(lines)]
    for a, b in itertools.pairwise(bounds):
        parts.append(corpus_pass.map(split_words, lines[a:b]))  # type: ignore[attr-defined]
    first = parts[0]
    for p in parts[1:]:
        first.absorb(p)
    return first


@given(st.lists(st.integers(0, 400), max_size=4), st.randoms(use_true_random=False))
def test_passes_merge_exactly_on_any_partition(cuts: list[int], rnd: random.Random) -> None:
    lines = made_corpus(400, seed=3)[0]
    cfg = TemplateConfig(min_count=3)
    word_pass = WordPass(cfg)
    whole_words = word_pass.map(split_words, lines)
    split_words_counts = _map_all(word_pass, lines, cuts)
    assert isinstance(split_words_counts, WordCounts)
    assert split_words_counts.counts == whole_words.counts
    vocab = word_pass.finish(whole_words)
    pair_pass = PairPass(cfg, vocab)
    whole = pair_pass.map(split_words, lines)
    parts = _map_all(pair_pass, lines, cuts)
    assert isinstance(parts, PairCounts)
    for name in ("keys", "counts", "left", "right", "slots"):
        assert (getattr(parts, name) == getattr(whole, name)).all(), name
    pairs = pair_pass.finish(whole)
    template_pass = TemplatePass(cfg, pairs)
    t_whole = template_pass.map(split_words, lines)
    t_parts = _map_all(template_pass, lines, cuts)
    assert isinstance(t_parts, TemplateTable)
    assert t_parts == t_whole and t_whole.size() > 0
    candidates = template_pass.finish(t_whole)
    evidence_pass = EvidencePass(cfg, candidates)
    e_whole = evidence_pass.map(split_words, lines)
    e_parts = _map_all(evidence_pass, lines, cuts)
    assert isinstance(e_parts, EvidenceTable)
    assert {k: (v.n, v.fillers, v.example) for k, v in e_parts.rows.items()} == {
        k: (v.n, v.fillers, v.example) for k, v in e_whole.rows.items()
    }
    # run_pass merges in a balanced order: same result
    job = PairJob(cfg, vocab, None)
    ran = run_pass(job, lines, LocalEngine(1), chunk_chars=rnd.randint(50, 3000))
    assert (ran.edges == pairs.edges).all() and ran.pmi == pairs.pmi


S = TypeVar("S")
R = TypeVar("R")


def _through_messages(job: TemplateJob[S, R], lines: list[str], n: int) -> R:
    """The job's result over ``lines`` mapped in a rebuilt copy of the job (its state as a
    message), each partial split into ``n`` shards that travel as messages and merge."""
    twin = type(job).decode_state(job.encode_state() or b"")
    shards = twin.shard(twin.map(TextBatch(lines)), n)
    arrived = [job.decode(twin.encode(shard, compress=True)) for shard in shards]
    merged = arrived[0]
    for shard in arrived[1:]:
        merged = job.merge(merged, shard)
    return job.finish(merged)


@pytest.mark.parametrize("n_shards", [1, 3])
def test_jobs_travel_as_messages_and_shard_exactly(n_shards: int) -> None:
    # what a worker process or a Ray task does: rebuild the pass from its message, map,
    # split into shards, send them; merged, the result is the result of mapping here
    lines = made_corpus(400, seed=3)[0]
    cfg = TemplateConfig(min_count=3)
    word_job = WordJob(cfg, None)
    vocab = run_here(word_job, [TextBatch(lines)])
    there_words = _through_messages(word_job, lines, n_shards)
    assert there_words.words == vocab.words and (there_words.counts == vocab.counts).all()
    pair_job = PairJob(cfg, vocab, None)
    pairs = run_here(pair_job, [TextBatch(lines)])
    there_pairs = _through_messages(pair_job, lines, n_shards)
    assert (there_pairs.edges == pairs.edges).all() and there_pairs.pmi == pairs.pmi
    candidate_job = CandidateJob(cfg, pairs, None)
    candidates = run_here(candidate_job, [TextBatch(lines)])
    assert _through_messages(candidate_job, lines, n_shards) == candidates and candidates
    evidence_job = EvidenceJob(cfg, candidates, None)
    evidence = run_here(evidence_job, [TextBatch(lines)])
    there = _through_messages(evidence_job, lines, n_shards)
    assert isinstance(there, EvidenceTable) and there.n_words == evidence.n_words
    assert list(there.rows) == list(evidence.rows) and evidence.rows
    for items, ev in evidence.rows.items():
        got = there.rows[items]
        assert (got.n, got.fillers, got.slots, got.example, got.floor) == (
            ev.n,
            ev.fillers,
            ev.slots,
            ev.example,
            ev.floor,
        )
        assert got.hashes == ev.hashes and all(isinstance(h, int) for h in got.hashes)
    light = EvidenceJob(cfg, candidates, None, full=False)
    rows = _through_messages(light, lines, n_shards).rows
    assert list(rows) == list(evidence.rows)
    for items, ev in evidence.rows.items():
        got = rows[items]
        assert (got.n, got.slots, got.floor) == (ev.n, ev.slots, ev.floor)
        assert (got.fillers, got.hashes, got.example) == ({}, [], None)


def test_evidence_of_a_chunk_is_its_applications_recorded_one_by_one() -> None:
    # the parse pass gathers a chunk's evidence template by template, with the example's
    # text made only for the sentences that tie on length: the same as recording every
    # application in turn (Evidence.add), the hashes of the distinct fillers sorted
    lines = made_corpus(600, seed=11)[0]
    cfg = TemplateConfig(min_count=3)
    vocab = run_here(WordJob(cfg, None), [TextBatch(lines)])
    pairs = run_here(PairJob(cfg, vocab, None), [TextBatch(lines)])
    candidates = run_here(CandidateJob(cfg, pairs, None), [TextBatch(lines)])
    assert len(candidates) >= 3
    for compiled in (True, False):
        evidence_pass = EvidencePass(cfg, candidates, compiled=compiled)
        got = evidence_pass.map(split_words, lines)
        sents = list(chunk_sentences(lines, split_words))
        want: dict[tuple[str, ...], Evidence] = {}
        hashes: dict[tuple[str, ...], set[int]] = {}
        for sent in sents:
            for m in evidence_pass.applications(sent):
                items = candidates[m.template].items
                filler = want.setdefault(items, Evidence()).add(sent, m.slots)
                hashes.setdefault(items, set()).add(_hash64(filler))
        assert set(got.rows) == set(want) and got.n_words == sum(len(x.words) for x in sents)
        for items, ev in want.items():
            ev.hashes = sorted(hashes[items])[:DISTINCT_EXACT]
            ev.shrink()
            assert got.rows[items] == ev, items


def test_a_damaged_partial_is_refused() -> None:
    job = WordJob(TemplateConfig(), None)
    meta, arrays = job.to_message(job.map(TextBatch(["甲 乙 丙", "甲 乙"])))
    arrays["words_lengths"] = arrays["words_lengths"] + 1
    with pytest.raises(ValueError, match="do not match"):
        job.from_message(meta, arrays)


def test_same_output_for_any_number_of_processes() -> None:
    lines = made_corpus(6000, seed=5)[0] * 2
    one = ciyu.templates(texts=lines, pre_segmented=True, threads=1)
    two = ciyu.templates(texts=lines, pre_segmented=True, threads=2)
    assert one.templates == two.templates and len(one) == 4


def test_sampling_and_budget_keep_the_frames(
    made: tuple[list[str], list[ciyu.template.Tree], dict[str, int]],
    mined: ciyu.template.Mined,
) -> None:
    lines = made[0]
    sampled = ciyu.templates(texts=lines, pre_segmented=True, sample_words=6000)
    # sought in a sample, counted by parsing everything: the same counts
    assert [(t.template, t.count) for t in sampled] == [(t.template, t.count) for t in mined]
    tight = ciyu.templates(texts=lines, pre_segmented=True, max_memory=40_000)
    assert tight.meta["approximate"] is True
    assert {t.template for t in tight} == set(FRAMES)


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="--max-fixed must be between 2 and 16"):
        ciyu.templates(texts=["a b"], pre_segmented=True, max_fixed=1)
    with pytest.raises(ConfigError, match="unknown option"):
        ciyu.templates(texts=["a b"], pre_segmented=True, window=5)
    with pytest.raises(ConfigError, match="no words in the input"):
        ciyu.templates(texts=["", "  "], pre_segmented=True)


def test_trivial_templates_only_when_asked(
    made: tuple[list[str], list[ciyu.template.Tree], dict[str, int]],
) -> None:
    lines = made[0][:1500]
    plain = ciyu.templates(texts=lines, pre_segmented=True)
    assert not any(t.trivial for t in plain)
    with_trivial = ciyu.templates(texts=lines, pre_segmented=True, trivial=True)
    trivial = [t for t in with_trivial if t.trivial]
    assert trivial and all(t.template.startswith("<X> ") for t in trivial)
    assert {t.template for t in with_trivial if not t.trivial} == {t.template for t in plain}


_TOKENS = st.sampled_from(
    ["虽然", "下", "，", "。", "？！", "”", "」", "好", "：", "；", "（", "a", "2021年"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_TOKENS, max_size=25).map(" ".join), max_size=6))
def test_chunk_sentences_lay_out_what_sentence_of_holds(lines: list[str]) -> None:
    from ciyu.template.sentences import ChunkSentences

    chunk = ChunkSentences.of(lines, split_words)
    want = [Sentence.of(s) for line in lines for s in sentences(line.split())]
    assert [chunk.sentence(k) for k in range(len(chunk))] == want
    assert chunk.words == [w for s in want for w in s.words]


def test_a_batch_is_mapped_chunk_by_chunk_as_its_state_says() -> None:
    # run_pass sends several chunks at once; the job cuts them back into chunks of
    # chunk_chars (a setting that travels with its state) and merges their partials
    from ciyu.counts import chunked

    lines = made_corpus(300, seed=5)[0]
    cfg = TemplateConfig(min_count=3)
    vocab = run_here(WordJob(cfg, None), [TextBatch(lines)])
    job = PairJob(cfg, vocab, None)
    job.chunk_chars = 400
    twin = PairJob.decode_state(job.encode_state() or b"")
    assert isinstance(twin, PairJob) and twin.chunk_chars == 400
    got = twin.map(TextBatch(lines)).part
    chunks = list(chunked(lines, 400))
    assert len(chunks) > 5
    want = job.inner.map(split_words, chunks[0])
    for chunk in chunks[1:]:
        want.absorb(job.inner.map(split_words, chunk))
    for name in ("keys", "counts", "left", "right", "slots"):
        assert (getattr(got, name) == getattr(want, name)).all(), name
    # and mapped as one chunk when no size is set
    whole = PairJob(cfg, vocab, None).map(TextBatch(lines)).part
    assert (whole.keys == want.keys).all() and (whole.counts == want.counts).all()


_SENTENCE_WORDS = ["甲", "乙", "丙", "丁", "，", "。", "；", "“", "”", "x"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(_SENTENCE_WORDS), max_size=50).map(" ".join),
        min_size=1,
        max_size=5,
    ),
    st.integers(1, 40),
    st.integers(1, 3),
)
def test_the_compiled_pair_counts_are_the_reference(
    lines: list[str], max_distance: int, min_count: int
) -> None:
    import numpy as np

    from ciyu._compiled import tparse

    if tparse is None:
        pytest.skip("the compiled extension is not installed")
    cfg = TemplateConfig(max_distance=max_distance, min_count=min_count)
    word_pass = WordPass(cfg)
    vocab = word_pass.finish(word_pass.map(split_words, lines))
    fast = PairPass(cfg, vocab, compiled=True)
    ref = PairPass(cfg, vocab, compiled=False)
    assert fast.compiled and not ref.compiled
    got, want = fast.map(split_words, lines), ref.map(split_words, lines)
    for name in ("keys", "counts", "left", "right", "slots"):
        a, b = getattr(got, name), getattr(want, name)
        assert a.dtype == b.dtype == np.int64 and a.tolist() == b.tolist(), name
    # every slot is counted once: the slots of a chunk are the pairs at most max_distance
    # apart in the same or the next clause of a sentence
    assert int(got.slots.sum()) == int(want.slots.sum())


def test_the_compiled_pair_counts_check_what_they_are_given() -> None:
    import numpy as np

    from ciyu._compiled import tparse

    if tparse is None:
        pytest.skip("the compiled extension is not installed")
    ids, clauses = np.array([0, 1, -1, 1], np.int64), np.array([0, 0, 1, 1], np.int64)

    def tables(v: int = 2, nb: int = 2) -> list[Any]:
        return [np.zeros(v * nb, np.int64), np.zeros(v * nb, np.int64), np.zeros(nb, np.int64)]

    left, right, slots = tables()
    keys = np.frombuffer(tparse.pair_counts(ids, clauses, 2, 2, 2, left, right, slots), np.int64)
    # slots (i, j): (0,1) (0,2) (1,2) (1,3) (2,3); keys (a·V + b)·B + bucket for both ids known
    assert keys.tolist() == [(0 * 2 + 1) * 2 + 0, (1 * 2 + 1) * 2 + 1]
    assert slots.tolist() == [3, 2] and left.tolist() == [1, 1, 1, 1]
    assert right.tolist() == [0, 0, 2, 1]
    with pytest.raises(ValueError, match="decrease"):
        tparse.pair_counts(ids, clauses[::-1].copy(), 2, 2, 2, *tables())
    with pytest.raises(ValueError, match="vocabulary"):
        tparse.pair_counts(ids + 1, clauses, 2, 2, 2, *tables())
    with pytest.raises(ValueError, match="long"):
        tparse.pair_counts(ids[:3], clauses, 2, 2, 2, *tables())
    with pytest.raises(ValueError, match="below n_buckets"):
        tparse.pair_counts(ids, clauses, 3, 2, 2, *tables())
    with pytest.raises(ValueError, match="int64"):
        tparse.pair_counts(ids.astype(np.int32), clauses, 2, 2, 2, *tables())


_KEYS = st.lists(st.integers(-(2**62), 2**62), max_size=60, unique=True).map(sorted)


@settings(max_examples=300, deadline=None)
@given(_KEYS, _KEYS, st.data())
def test_pair_tables_merge_the_same_compiled_or_not(
    a_keys: list[int], b_keys: list[int], data: st.DataObject
) -> None:
    import numpy as np

    from ciyu._compiled import tparse
    from ciyu.template.pairs import _merge_sorted, _merge_sorted_reference

    if tparse is None:
        pytest.skip("the compiled extension is not installed")
    counts = st.integers(1, 2**40)
    a = (
        np.array(a_keys, np.int64),
        np.array(data.draw(st.lists(counts, min_size=len(a_keys), max_size=len(a_keys))), np.int64),
    )
    b = (
        np.array(b_keys, np.int64),
        np.array(data.draw(st.lists(counts, min_size=len(b_keys), max_size=len(b_keys))), np.int64),
    )
    want = _merge_sorted_reference(a, b)
    got = _merge_sorted(a, b)
    assert got[0].tolist() == want[0].tolist() and got[1].tolist() == want[1].tolist()
    assert got[0].tolist() == sorted(set(a_keys) | set(b_keys))


def test_the_compiled_pair_merge_refuses_unsorted_keys() -> None:
    import numpy as np

    from ciyu._compiled import tparse

    if tparse is None:
        pytest.skip("the compiled extension is not installed")
    keys, counts = np.array([1, 3, 2], np.int64), np.ones(3, np.int64)
    out = np.empty(6, np.int64), np.empty(6, np.int64)
    with pytest.raises(ValueError, match="strictly increasing"):
        tparse.merge_counts(keys, counts, keys[:1], counts[:1], *out)
    with pytest.raises(ValueError, match="as long"):
        tparse.merge_counts(keys[:1], counts, keys[:1], counts[:1], *out)
    with pytest.raises(ValueError, match="int64"):
        tparse.merge_counts(keys.astype(np.int32), counts, keys[:1], counts[:1], *out)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(st.characters(blacklist_categories=["Cs"]), max_size=30),
            st.sampled_from(
                [
                    "中华人民共和国 宪法",
                    "",
                    " ",
                    "甲\ufdd1乙",
                    "第3条\r",
                    "A股😀",
                    "甲\t乙\u3000 丙\x1c",
                ]
            ),
        ),
        max_size=12,
    )
)
def test_lines_segmented_together_give_the_words_of_each_line(
    sample_model: ciyu.Model, lines: list[str]
) -> None:
    # lines with the bulk separator or a line break inside fall back to one at a time
    words_of = model_words(sample_model)
    per_line = [words_of(line) for line in lines]
    assert words_of.lines(lines) == per_line
    # and the compiled segmenter lists the same words, with each line's count
    words, counts = words_of.flat(lines)
    assert words == [w for line in per_line for w in line]
    assert counts == [len(line) for line in per_line]
    if sample_model.decoder.fast is not None and lines and all("\n" not in x for x in lines):
        assert sample_model.decoder.fast.words("\n".join(lines), compiled_rules()) == (
            words,
            counts,
        )


def made_lines(seed: int, shapes: list[tuple[float, str]], n: int = 3000) -> list[str]:
    """``n`` sentences, each of the first shape ``(p, pattern)`` whose ``p`` exceeds a
    uniform draw; ``{k}`` in a pattern is 1 to ``k`` random filler words."""
    rng = random.Random(seed)
    vocab = filler_words()

    def item(token: str) -> str:
        if not (token.startswith("{") and token.endswith("}")):
            return token
        return " ".join(rng.choice(vocab) for _ in range(rng.randint(1, int(token[1:-1]))))

    lines = []
    for _ in range(n):
        r = rng.random()
        pattern = next(shape for p, shape in shapes if r < p)
        lines.append(" ".join(item(token) for token in pattern.split()))
    return lines


def mined_from(lines: list[str], **options: Any) -> list[str]:
    """The templates mined from pre-segmented ``lines``."""
    found = ciyu.templates(texts=lines, pre_segmented=True, threads=1, **options)
    return [t.template for t in found.templates]


def test_a_frame_of_two_two_word_runs_is_found_through_its_first_words() -> None:
    """不 是 <X> 而 是: the kept pair is 不 … 而 (是 is everywhere, so 是 … 而 is no pair):
    a path goes on from any word of its last run of adjacent fixed words, and a template
    holds up to four fixed words; with three, 是 falls into the slot."""
    shapes = [
        (0.25, "{2} 不 是 {3} 而 是 {3} 。"),
        (0.75, "{2} 是 {3} 。"),
        (1.0, "{3} ， 而 {3} 。"),
    ]
    lines = made_lines(3, shapes)
    assert mined_from(lines) == ["不 是 <X> 而 是"]
    assert mined_from(lines, max_fixed=3) == ["不 <X> 而 是"]


def test_a_frame_of_two_word_units_on_both_sides_is_found() -> None:
    """一 方面 <X> 另一 方面: four fixed words in two adjacent pairs, across a comma (the
    comma falls into the slot: commas are everywhere)."""
    shapes = [
        (0.2, "{2} 一 方面 {3} ， 另一 方面 {3} 。"),
        (0.6, "{3} ， {3} 。"),
        (0.7, "{2} 一 {3} 。"),
        (0.8, "{3} 方面 {3} 。"),
        (1.0, "{3} 另一 {2} 。"),
    ]
    lines = made_lines(5, shapes)
    assert mined_from(lines) == ["一 方面 <X> 另一 方面 <X>"]
    assert mined_from(lines, max_fixed=3) == ["一 方面 <X> 另一 <X>"]
