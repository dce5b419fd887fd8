"""The compiled template counts of pass 3 (``ciyu._tparse.template_counts``) against their
Python reference (:meth:`TemplatePass.reference_counts`: ``occurrences()`` then
``TemplateCounts.add``): the same stats rows, filler sketches and word count for every
chunk, and the same mining output."""

from __future__ import annotations

import itertools
import pickle
import random
from array import array
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu._compiled import HAVE_COMPILED_TEMPLATES
from ciyu._compiled import tparse as _tparse
from ciyu.cli import main
from ciyu.template.jobs import CandidateJob
from ciyu.template.mining import OPEN, TemplateCounts, TemplatePass
from ciyu.template.options import MAX_PATHS, TemplateConfig, bucket
from ciyu.template.pairs import PairTable, Vocabulary, chunk_pairs
from ciyu.template.run import mine
from ciyu.template.sentences import (
    BOUNDARY,
    CLOSER,
    OPENER,
    PUNCT,
    SLOT,
    is_sentence_end,
    word_key,
)
from ciyu.template.tsv import format_rows

pytestmark = pytest.mark.skipif(
    not HAVE_COMPILED_TEMPLATES, reason="the compiled template extension is not built"
)

# plain words, clause ends (， ；), brackets and quotes that open and close, other
# punctuation (、), numbers (their key is the number class, so two differ as words but
# not as fillers), and sentence ends
WORDS = ["甲", "乙", "丙", "丁", "戊", "，", "；", "（", "）", "“", "”", "、", "2021年", "3年"]
WORDS.append("。")


def make_pass(lines: list[str], config: TemplateConfig, rnd: random.Random) -> TemplatePass:
    """A template pass over the keys of ``lines``: a random part of them fixed-word
    candidates, and a random part (often all) of their pairs at every distance kept."""
    keys = sorted(
        {word_key(w) for line in lines for w in line.split()} - {SLOT}
        if rnd.random() < 0.5
        else {word_key(w) for line in lines for w in line.split() if not is_sentence_end(w)}
    )
    words = [k for k in keys if rnd.random() < 0.9]
    vocab = Vocabulary(words, np.ones(len(words), dtype=np.int64), 100, 100, 1)
    nb = bucket(config.max_distance) + 1
    density = rnd.choice([1.0, 1.0, 0.8, 0.4])
    v = len(words)
    edges = [
        (a * v + b) * nb + k
        for a, b, k in itertools.product(range(v), range(v), range(nb))
        if rnd.random() < density
    ]
    pairs = PairTable(vocab, nb, np.array(edges, dtype=np.int64), {}, False)
    return TemplatePass(config, pairs)


def both(tp: TemplatePass, lines: list[str]) -> tuple[TemplateCounts, TemplateCounts]:
    cp = chunk_pairs(lines, str.split, tp.index, tp.config.max_distance)
    return tp.reference_counts(cp), tp.compiled_counts(cp)


def assert_same(ref: TemplateCounts, fast: TemplateCounts) -> None:
    assert fast.n_words == ref.n_words
    assert fast.n_buckets == ref.n_buckets
    assert fast.stats == ref.stats
    assert fast.fillers == ref.fillers
    # and first seen in the same order (not needed, but it is so)
    assert list(fast.stats) == list(ref.stats)


@st.composite
def chunks(draw: st.DrawFn) -> tuple[list[str], TemplateConfig, random.Random]:
    alphabet = WORDS[: draw(st.integers(4, len(WORDS)))]
    lines = draw(
        st.lists(
            st.lists(st.sampled_from(alphabet), min_size=1, max_size=40).map(" ".join),
            min_size=1,
            max_size=6,
        )
    )
    config = TemplateConfig(
        max_distance=draw(st.integers(1, 20)),
        max_fixed=draw(st.integers(2, 6)),
        trivial=draw(st.booleans()),
    )
    return lines, config, draw(st.randoms(use_true_random=False))


@settings(max_examples=400, deadline=None)
@given(chunks())
def test_compiled_counts_are_the_reference(
    case: tuple[list[str], TemplateConfig, random.Random],
) -> None:
    lines, config, rnd = case
    assert_same(*both(make_pass(lines, config, rnd), lines))


def test_compiled_counts_on_large_random_chunks() -> None:
    rnd = random.Random(13)
    for _ in range(30):
        lines = [
            " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 120)))
            for _ in range(rnd.randint(1, 30))
        ]
        config = TemplateConfig(
            max_distance=rnd.randint(1, 40),
            max_fixed=rnd.randint(2, 8),
            trivial=rnd.random() < 0.5,
        )
        assert_same(*both(make_pass(lines, config, rnd), lines))


def _all_pairs(words: list[str], max_distance: int, trivial: bool = False) -> TemplatePass:
    """A pass where every pair of ``words`` is kept at every distance."""
    keys = sorted(set(words))
    nb = bucket(max_distance) + 1
    v = len(keys)
    edges = np.arange(v * v * nb, dtype=np.int64)
    vocab = Vocabulary(keys, np.ones(v, dtype=np.int64), 100, 100, 1)
    config = TemplateConfig(max_distance=max_distance, max_fixed=4, trivial=trivial)
    return TemplatePass(config, PairTable(vocab, nb, edges, {}, False))


def test_the_path_budget_bites_the_same_way() -> None:
    # one sentence of 30 distinct words, all associated: far more paths from each start
    # than MAX_PATHS; the budget decides which templates are seen
    words = [f"w{k}" for k in range(30)]
    tp = _all_pairs(words, 8)
    ref, fast = both(tp, [" ".join(words)])
    assert_same(ref, fast)
    # from each start: at most MAX_PATHS paths, most of which make a template
    assert MAX_PATHS * 20 < ref.size() <= MAX_PATHS * 30
    # without the budget every path of up to 4 words within 8 of its start would count
    unbounded = sum(
        1
        for start in range(30)
        for k in (1, 2, 3)
        for rest in itertools.combinations(range(start + 1, min(start + 9, 30)), k)
        if rest[-1] - start > k  # not all adjacent: it holds a slot
    )
    assert ref.size() < unbounded


def test_counts_by_hand() -> None:
    # 甲 … 乙 twice in one sentence counts once there; the filler 丙 then 丁 opens the slot;
    # across the clause mark the trailing slot takes the rest of the clause
    tp = _all_pairs(["甲", "乙", "，", "丙", "丁"], 8)
    lines = ["甲 丙 乙 甲 丙 乙", "甲 丁 乙", "甲 丙 ， 乙 丁 丁 。"]
    ref, fast = both(tp, lines)
    assert_same(ref, fast)
    assert fast.n_words == 16
    x = SLOT
    assert fast.stats[("甲", x, "乙")] == [2, 0, 2, 0, 0]  # distance 2 (bucket 1), twice
    assert fast.fillers[("甲", x, "乙")] == [OPEN]
    assert fast.stats[("甲", "丙", x, "甲")] == [1, 0, 1, 0, 0]
    assert fast.fillers[("甲", "丙", x, "甲")] == [["乙"]]
    assert fast.stats[("甲", x, "乙", x)] == [1, 0, 0, 1, 0]  # distance 3 (bucket 2)
    assert fast.fillers[("甲", x, "乙", x)] == [["丙", "，"], ["丁", "丁"]]
    # with trivial templates: <X> w <X>, its slots running to the ends of its clause
    trivial = _all_pairs(["甲", "乙", "，", "丙", "丁"], 8, trivial=True)
    ref, fast = both(trivial, lines)
    assert_same(ref, fast)
    # 丙 has material on both sides in its clause in the first sentence only
    assert fast.stats[(x, "丙", x)] == [1]
    assert fast.fillers[(x, "丙", x)] == [["甲"], ["乙", "甲", "丙", "乙"]]
    # nothing to count
    for empty in ([], [""], ["。"], ["甲 乙"]):
        ref, fast = both(trivial, empty)
        assert_same(ref, fast)
        assert fast.size() == 0


def test_map_compiled_and_not_and_in_a_worker() -> None:
    rnd = random.Random(5)
    lines = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 60))) for _ in range(40)]
    tp = make_pass(lines, TemplateConfig(max_distance=9, trivial=True), rnd)
    slow = TemplatePass(tp.config, tp.pairs, compiled=False)
    a, b = tp.map(str.split, lines), slow.map(str.split, lines)
    assert_same(b, a)
    assert a.size() > 50
    again = pickle.loads(pickle.dumps(tp))
    assert again.compiled and not pickle.loads(pickle.dumps(slow)).compiled
    assert_same(b, again.map(str.split, lines))
    # the job carries the flag in its state, to the workers that rebuild it
    for flag in (True, False):
        job = CandidateJob(tp.config, tp.pairs, None, compiled=flag)
        twin = type(job).decode_state(job.encode_state() or b"")
        assert isinstance(twin, CandidateJob) and twin.compiled is flag
        assert twin.inner.compiled is flag


def _arrays(tp: TemplatePass, lines: list[str]) -> list[array[int] | np.ndarray]:
    cp = chunk_pairs(lines, str.split, tp.index, tp.config.max_distance)
    key_id = {k: i for i, k in enumerate(dict.fromkeys(cp.keys))}
    return [
        array("i", [key_id[k] for k in cp.keys]),
        cp.ids.astype(np.int32),
        cp.classes.astype(np.int32),
        cp.clauses.astype(np.int32),
        np.append(cp.starts, len(cp.keys)).astype(np.int32),
    ]


def test_the_compiled_counts_check_what_they_are_given() -> None:
    assert _tparse is not None
    tp = _all_pairs(["甲", "乙", "丙"], 4)
    arrays = _arrays(tp, ["甲 丙 乙 ， 甲 乙 丙", "乙 丙 甲"])
    marks = (PUNCT, OPENER, CLOSER, BOUNDARY)
    edges = (tp.pairs.edges, len(tp.pairs.vocab.words))
    options = (*edges, 3, 4, MAX_PATHS, False, tp.pairs.n_buckets, *marks)
    assert _tparse.template_counts(*arrays, *options)[0]  # fine as they are

    def broken(k: int, values: list[int]) -> list[array[int] | np.ndarray]:
        out = list(arrays)
        out[k] = array("i", values)
        return out

    n = len(arrays[0])
    bad = [
        broken(0, [-1] * n),  # a negative key id
        broken(1, [3] * n),  # a vocabulary id out of range
        broken(4, [0, 2, 1, n]),  # offsets decrease
        broken(4, [0, n - 1]),  # offsets do not reach the end
        broken(1, [0]),  # too short
    ]
    for args in bad:
        with pytest.raises(ValueError, match="template_counts"):
            _tparse.template_counts(*args, *options)
    with pytest.raises(ValueError, match="n_buckets"):
        _tparse.template_counts(*arrays, *edges, 3, 40, MAX_PATHS, False, 2, *marks)
    with pytest.raises(ValueError, match="max_fixed"):
        _tparse.template_counts(*arrays, *edges, 0, 4, MAX_PATHS, False, 3, *marks)
    with pytest.raises(ValueError, match="int64"):
        _tparse.template_counts(*arrays, array("i", [1, 2, 3]), 3, *options[2:])


def test_templates_with_trivial_ones_on_the_sample_are_the_same_without_the_extension(
    sample_model: ciyu.Model, law_lines: list[str], tmp_path: Path
) -> None:
    # the CLI (compiled counts and parse) against mine() with the Python references, on
    # the first 1,500 lines of the bundled sample, trivial templates listed
    text = tmp_path / "law.txt"
    text.write_text("".join(line + "\n" for line in law_lines[:1500]), encoding="utf-8")
    model = tmp_path / "m.model"
    sample_model.save(model)
    tsv = tmp_path / "t.tsv"
    argv = ["-q", "templates", str(text), "-m", str(model), "-j", "1", "--trivial"]
    assert main([*argv, "-o", str(tsv)]) == 0
    with ciyu.Corpus([text]) as corpus:
        slow = mine(
            lambda: corpus, sample_model.lexicon, TemplateConfig(trivial=True), compiled=False
        )
    assert any(len(t.items) == 3 and t.items[0] == SLOT for t in slow.templates)
    assert tsv.read_text(encoding="utf-8") == "".join(format_rows(slow.templates))
