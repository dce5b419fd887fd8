"""The compiled template counts of pass 3 (``ciyu._tparse.template_counts``) against their
Python reference (:meth:`TemplatePass.reference_counts`: ``occurrences()`` then
``TemplateCounts.add``, as a table): the same table (stats rows, filler sketches as
hashes, word count) for every chunk, and the same mining output; and the table itself:
exact merges in any grouping, shards, pruning, messages."""

from __future__ import annotations

import hashlib
import itertools
import pickle
import random
from array import array
from collections import Counter
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ciyu
from ciyu._codec import CodecError
from ciyu._compiled import HAVE_COMPILED_TEMPLATES
from ciyu._compiled import tparse as _tparse
from ciyu.cli import main
from ciyu.template.jobs import CandidateHashJob, CandidateJob, Chunked
from ciyu.template.mining import (
    OPEN,
    PAD,
    SLOT_CODE,
    WORD,
    TemplateCounts,
    TemplateHashes,
    TemplateHashPass,
    TemplatePass,
    TemplateTable,
    filler_hash,
    template_hashes,
)
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


def both(tp: TemplatePass, lines: list[str]) -> tuple[TemplateTable, TemplateTable]:
    cp = chunk_pairs(lines, str.split, tp.index, tp.config.max_distance)
    return tp.reference_counts(cp), tp.compiled_counts(cp)


def dicts(tp: TemplatePass, lines: list[str]) -> TemplateCounts:
    """The reference's counts of ``lines`` as dicts, before they become a table."""
    cp = chunk_pairs(lines, str.split, tp.index, tp.config.max_distance)
    counts = TemplateCounts(tp.pairs.n_buckets, n_words=len(cp.ids))
    for sent, occ in tp.chunk_occurrences(cp):
        counts.add(sent, occ)
    return counts


Sketch = list[tuple[int, int] | None]


def rows(tp: TemplatePass, table: TemplateTable) -> dict[tuple[str, ...], tuple[list[int], Sketch]]:
    """A table as Python values: template → (stats row, each slot's filler hash or OPEN)."""
    words, nb = tp.pairs.vocab.words, tp.pairs.n_buckets
    out = {}
    for r in range(table.size()):
        codes = [c for c in table.items[r].tolist() if c != PAD]
        items = tuple(SLOT if c == SLOT_CODE else words[c - WORD] for c in codes)
        internal = codes[1:-1].count(SLOT_CODE)
        sketch: Sketch = [
            OPEN if table.opened[r, q] else (int(table.hashes[r, q, 0]), int(table.hashes[r, q, 1]))
            for q in range(codes.count(SLOT_CODE))
        ]
        out[items] = (table.stats[r, : 1 + internal * nb].tolist(), sketch)
    return out


def hashed(counts: TemplateCounts) -> dict[tuple[str, ...], tuple[list[int], Sketch]]:
    """The reference's dicts as :func:`rows` shows a table."""
    return {
        t: (row, [OPEN if f is OPEN else filler_hash(f) for f in counts.fillers[t]])
        for t, row in counts.stats.items()
    }


def assert_same(ref: TemplateTable, fast: TemplateTable) -> None:
    assert fast.n_words == ref.n_words
    assert fast.n_buckets == ref.n_buckets
    assert fast == ref
    # and in the one form of a table: sorted rows, widths as the rows need
    fast.check(1 << 20)
    keys = [tuple(r) for r in fast.items.tolist()]
    assert keys == sorted(set(keys))


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
        max_gaps=draw(st.integers(1, 4)),
        trivial=draw(st.booleans()),
    )
    return lines, config, draw(st.randoms(use_true_random=False))


@settings(max_examples=400, deadline=None)
@given(chunks())
def test_compiled_counts_are_the_reference(
    case: tuple[list[str], TemplateConfig, random.Random],
) -> None:
    lines, config, rnd = case
    tp = make_pass(lines, config, rnd)
    ref, fast = both(tp, lines)
    assert_same(ref, fast)
    # the table holds what the dicts of the reference hold
    assert rows(tp, fast) == hashed(dicts(tp, lines))


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
    got = rows(tp, fast)
    x = SLOT
    assert got[("甲", x, "乙")] == ([2, 0, 2, 0, 0], [OPEN])  # distance 2 (bucket 1), twice
    assert got[("甲", "丙", x, "甲")] == ([1, 0, 1, 0, 0], [filler_hash(["乙"])])
    # distance 3 (bucket 2); the trailing slot has no histogram
    assert got[("甲", x, "乙", x)] == (
        [1, 0, 0, 1, 0],
        [filler_hash(["丙", "，"]), filler_hash(["丁", "丁"])],
    )
    # rows in the order of their codes (a slot before any word, the words in vocabulary
    # order: 丙 乙 甲 ，), a template before the longer ones it begins
    order = list(rows(tp, fast))
    assert order[:3] == [("丙", x, "丁"), ("丙", x, "丁", x), ("丙", x, "丁", "丁")]
    assert order[-2:] == [("甲", "丙", "，", x, "丁", x), ("甲", "丙", "，", "乙", x)]
    # with trivial templates: <X> w <X>, its slots running to the ends of its clause
    trivial = _all_pairs(["甲", "乙", "，", "丙", "丁"], 8, trivial=True)
    ref, fast = both(trivial, lines)
    assert_same(ref, fast)
    # 丙 has material on both sides in its clause in the first sentence only
    assert rows(trivial, fast)[(x, "丙", x)] == (
        [1],
        [filler_hash(["甲"]), filler_hash(["乙", "甲", "丙", "乙"])],
    )
    # nothing to count
    for empty in ([], [""], ["。"], ["甲 乙"]):
        ref, fast = both(trivial, empty)
        assert_same(ref, fast)
        assert fast.size() == 0


def _kept(words: list[str], kept: list[tuple[str, str, int]], max_fixed: int = 4) -> TemplatePass:
    """A pass where only the pairs ``(a, b, distance)`` of ``kept`` are kept."""
    keys = sorted(set(words))
    index = {w: i for i, w in enumerate(keys)}
    nb = bucket(8) + 1
    edges = sorted((index[a] * len(keys) + index[b]) * nb + bucket(d) for a, b, d in kept)
    vocab = Vocabulary(keys, np.ones(len(keys), dtype=np.int64), 100, 100, 1)
    config = TemplateConfig(max_distance=8, max_fixed=max_fixed)
    return TemplatePass(config, PairTable(vocab, nb, np.array(edges, dtype=np.int64), {}, False))


def test_a_far_step_takes_the_word_before_its_target_when_the_two_are_a_kept_pair() -> None:
    # 一 … 方面 and 另一 方面 are kept pairs, no pair leads to 另一: a path goes on to
    # 另一 方面 together, adjacent fixed words being one unit from either side
    words = ["一", "方面", "甲", "乙", "另一", "丙"]
    kept = [("一", "方面", 1), ("一", "方面", 5), ("另一", "方面", 1)]
    line = ["一 方面 甲 乙 另一 方面 丙"]
    ref, fast = both(_kept(words, kept), line)
    assert_same(ref, fast)
    x = SLOT
    assert set(rows(_kept(words, kept), fast)) == {
        ("一", x, "方面"),
        ("一", x, "另一", "方面"),
        ("一", "方面", x, "方面"),
        ("一", "方面", x, "另一", "方面"),
    }
    # the slot is what lies between: 甲 乙
    counts = dicts(_kept(words, kept), line)
    assert counts.fillers[("一", "方面", x, "另一", "方面")] == [["甲", "乙"]]
    # four fixed words at most: with three, 另一 方面 is taken after 一 alone
    three = _kept(words, kept, max_fixed=3)
    ref, fast = both(three, line)
    assert_same(ref, fast)
    assert ("一", "方面", x, "另一", "方面") not in rows(three, fast)
    assert ("一", x, "另一", "方面") in rows(three, fast)
    # no slot would be left between 方面 and 另一 方面: 另一 stays in the slot
    close = [*kept, ("方面", "方面", 2)]
    ref, fast = both(_kept(words, close), ["一 方面 另一 方面 丙"])
    assert_same(ref, fast)
    assert set(rows(_kept(words, close), fast)) == {("一", "方面", x, "方面"), ("方面", x, "方面")}
    # the word before is reached by a kept pair of its own (一 … 另一): the paths go there
    # by that pair, and on to 方面 by the other
    reached = [*kept, ("一", "另一", 4)]
    ref, fast = both(_kept(words, reached), line)
    assert_same(ref, fast)
    assert set(rows(_kept(words, reached), fast)) == {
        ("一", x, "方面"),
        ("一", x, "另一"),
        ("一", x, "另一", "方面"),
        ("一", "方面", x, "方面"),
        ("一", "方面", x, "另一"),
        ("一", "方面", x, "另一", "方面"),
    }


def test_fixed_words_must_be_vocabulary_words() -> None:
    counts = TemplateCounts(3)
    counts.stats[("甲", SLOT, "乙")] = [1, 1, 0, 0]
    counts.fillers[("甲", SLOT, "乙")] = [["丙"]]
    assert counts.table({"甲": 0, "乙": 1}).size() == 1
    with pytest.raises(RuntimeError, match="not a vocabulary word"):
        counts.table({"甲": 0})


def test_the_filler_hash() -> None:
    # BLAKE2b-128 of the keys' UTF-8 joined by 0xFF, as two little-endian lanes
    digest = hashlib.blake2b("中国".encode() + b"\xff" + "人民".encode(), digest_size=16).digest()
    lanes = (int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little"))
    assert filler_hash(["中国", "人民"]) == lanes
    # the separator keeps apart what plain concatenation would not
    assert filler_hash(["中国", "人民"]) != filler_hash(["中国人民"])
    assert filler_hash(["a", "bc"]) != filler_hash(["ab", "c"])
    assert filler_hash(["\ud800"]) != filler_hash(["\ud801"])  # lone surrogates too


# words of any length (BLAKE2b hashes 128-byte blocks), lone surrogates, anything but
# whitespace and the marks that end a clause or a sentence
_WORDS = st.text(
    st.characters(
        blacklist_categories=("Zs", "Zl", "Zp", "Cc"), blacklist_characters="。！？!?｡，,；;：:"
    ),
    min_size=1,
    max_size=90,
)


def _hash_of(filler: list[str]) -> tuple[int, int] | None:
    """The filler hash the compiled counts give the slot of 甲 <filler> 乙."""
    tp = _all_pairs(["甲", "乙"], 8)
    ref, fast = both(tp, [" ".join(["甲", *filler, "乙"])])
    assert_same(ref, fast)
    return rows(tp, fast)[("甲", SLOT, "乙")][1][0]


@settings(max_examples=300, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=7))
def test_the_compiled_filler_hash_is_the_reference(filler: list[str]) -> None:
    # hashed in C by the compiled counts, in Python (hashlib) by the reference
    keys = [word_key(w) for w in filler]
    assume("甲" not in keys and "乙" not in keys)
    assert _hash_of(filler) == filler_hash(keys)


def test_the_compiled_filler_hash_at_block_ends() -> None:
    # fillers of 1 to 3 blocks of 128 bytes, and a byte or two on either side of the ends
    for n in (1, 126, 127, 128, 129, 255, 256, 257, 383, 384, 385):
        assert _hash_of(["a" * n]) == filler_hash(["a" * n]), n
        split = ["b" * (n // 2), "c" * (n - n // 2 - 1)] if n > 2 else ["b"]
        assert _hash_of(split) == filler_hash(split), n


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


def _arrays(tp: TemplatePass, lines: list[str]) -> tuple[list[Any], bytes, array[int]]:
    """The chunk arrays of template_counts, the keys' bytes and their offsets."""
    cp = chunk_pairs(lines, str.split, tp.index, tp.config.max_distance)
    table = list(dict.fromkeys(cp.chunk.keys))
    key_id = {k: i for i, k in enumerate(table)}
    encoded = [k.encode() for k in table]
    chunk = [
        array("i", [key_id[k] for k in cp.chunk.keys]),
        cp.ids.astype(np.int32),
        cp.chunk.classes,
        cp.clauses.astype(np.int32),
        np.append(cp.starts, len(cp.chunk.keys)).astype(np.int32),
    ]
    return chunk, b"".join(encoded), array("i", itertools.accumulate(map(len, encoded), initial=0))


def test_the_compiled_counts_check_what_they_are_given() -> None:
    assert _tparse is not None
    tp = _all_pairs(["甲", "乙", "丙"], 4)
    arrays, key_bytes, key_off = _arrays(tp, ["甲 丙 乙 ， 甲 乙 丙", "乙 丙 甲"])
    marks = (PUNCT, OPENER, CLOSER, BOUNDARY)
    edges = (tp.pairs.edges, key_bytes, key_off, len(tp.pairs.vocab.words))
    options = (*edges, 3, 2, 4, MAX_PATHS, False, tp.pairs.n_buckets, *marks)
    assert _tparse.template_counts(*arrays, *options)[0]  # fine as they are

    def broken(k: int, values: list[int]) -> list[Any]:
        out = list(arrays)
        out[k] = array("i", values)
        return out

    n = len(arrays[0])
    bad = [
        broken(0, [-1] * n),  # a negative key id
        broken(0, [len(key_off) - 1] * n),  # a key id beyond the keys
        broken(1, [3] * n),  # a vocabulary id out of range
        broken(4, [0, 2, 1, n]),  # offsets decrease
        broken(4, [0, n - 1]),  # offsets do not reach the end
        broken(1, [0]),  # too short
    ]
    for args in bad:
        with pytest.raises(ValueError, match="template_counts"):
            _tparse.template_counts(*args, *options)
    with pytest.raises(ValueError, match="key_off"):  # the keys' bytes do not fit
        _tparse.template_counts(*arrays, tp.pairs.edges, key_bytes[1:], *options[2:])
    with pytest.raises(ValueError, match="key_off"):
        reversed_off = array("i", [0, key_off[2], key_off[1], *key_off[3:]])
        _tparse.template_counts(*arrays, tp.pairs.edges, key_bytes, reversed_off, *options[3:])
    with pytest.raises(ValueError, match="n_buckets"):
        _tparse.template_counts(*arrays, *edges, 3, 2, 40, MAX_PATHS, False, 2, *marks)
    with pytest.raises(ValueError, match="max_fixed"):
        _tparse.template_counts(*arrays, *edges, 0, 2, 4, MAX_PATHS, False, 3, *marks)
    with pytest.raises(ValueError, match="max_gaps"):
        _tparse.template_counts(*arrays, *edges, 3, -1, 4, MAX_PATHS, False, 3, *marks)
    with pytest.raises(ValueError, match="frequent"):  # not sorted
        frequent = np.array([5, 3], dtype=np.uint64)
        _tparse.template_counts(*arrays, *options, frequent, False)
    with pytest.raises(ValueError, match="int64"):
        _tparse.template_counts(*arrays, array("i", [1, 2, 3]), *options[1:])


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


# --- the table: merges, shards, pruning, scoring, messages ------------------------------


@st.composite
def partitions(
    draw: st.DrawFn,
) -> tuple[TemplatePass, list[str], list[int], random.Random]:
    lines, config, rnd = draw(chunks())
    cuts = sorted(draw(st.lists(st.integers(0, len(lines)), max_size=5)))
    return make_pass(lines, config, rnd), lines, cuts, rnd


def _parts(tp: TemplatePass, lines: list[str], cuts: list[int]) -> list[TemplateTable]:
    bounds = [0, *cuts, len(lines)]
    return [tp.map(str.split, lines[a:b]) for a, b in itertools.pairwise(bounds)]


Mergeable = TypeVar("Mergeable", TemplateTable, TemplateHashes)


def _merge_any(tables: list[Mergeable], rnd: random.Random) -> Mergeable:
    """The tables merged two at a time, any two, in any order."""
    tables = list(tables)
    while len(tables) > 1:
        i, j = rnd.sample(range(len(tables)), 2)
        tables[i].absorb(tables[j])
        del tables[j]
    return tables[0]


@settings(max_examples=200, deadline=None)
@given(partitions())
def test_merging_the_parts_in_any_grouping_is_the_whole(
    case: tuple[TemplatePass, list[str], list[int], random.Random],
) -> None:
    tp, lines, cuts, rnd = case
    whole = tp.map(str.split, lines)
    merged = _merge_any(_parts(tp, lines, cuts), rnd)
    assert merged == whole
    merged.check(len(tp.pairs.vocab.words))
    # a slot of the merge is open when its fillers differ in any part or across parts
    cp = chunk_pairs(lines, str.split, tp.index, tp.config.max_distance)
    reference = tp.reference_counts(cp)
    assert merged == reference


def _from_rows(tables: list[TemplateTable], rnd: random.Random) -> TemplateTable:
    """The rows of all the tables, shuffled, made into one table by from_runs (which merges
    the rows of a template, however many)."""
    nb = tables[0].n_buckets
    taken = []
    for t in tables:
        for r in range(t.size()):
            codes = [c for c in t.items[r].tolist() if c != PAD]
            n_slots = codes.count(SLOT_CODE)
            stats = t.stats[r, : 1 + codes[1:-1].count(SLOT_CODE) * nb].tolist()
            hashes = t.hashes[r, :n_slots].tolist()
            taken.append((codes, stats, t.opened[r, :n_slots].tolist(), hashes))
    rnd.shuffle(taken)
    return TemplateTable.from_runs(
        nb,
        np.array([c for codes, *_ in taken for c in codes], dtype=np.uint32),
        np.array([len(row[0]) for row in taken], dtype=np.int64),
        np.array([x for _, stats, *_ in taken for x in stats], dtype=np.int64),
        np.array([len(row[1]) for row in taken], dtype=np.int64),
        np.array([o for *_, opened, _ in taken for o in opened], dtype=np.bool_),
        np.array([h for *_, hashes in taken for h in hashes], dtype=np.uint64).reshape(-1, 2),
        np.array([len(row[2]) for row in taken], dtype=np.int64),
        n_words=sum(t.n_words for t in tables),
    )


@settings(max_examples=150, deadline=None)
@given(partitions())
def test_the_rows_of_a_template_merge_however_many(
    case: tuple[TemplatePass, list[str], list[int], random.Random],
) -> None:
    # a template in every part: its rows (up to one per part) merge in one step
    tp, lines, cuts, rnd = case
    parts = _parts(tp, lines, cuts) + _parts(tp, lines, cuts[::2])
    at_once = _from_rows(parts, rnd)
    assert at_once == _merge_any([tp.empty(), *parts], rnd)  # (which absorbs into parts)


@settings(max_examples=100, deadline=None)
@given(partitions(), st.integers(1, 6))
def test_shards_merge_back_to_the_table(
    case: tuple[TemplatePass, list[str], list[int], random.Random], n: int
) -> None:
    tp, lines, cuts, rnd = case
    table = tp.map(str.split, lines)
    table.floor = rnd.randint(0, 3)
    shards = table.split(n)
    assert len(shards) == n and sum(s.size() for s in shards) == table.size()
    seen: set[tuple[int, ...]] = set()
    for shard in shards:
        shard.check(len(tp.pairs.vocab.words))  # sorted, and as narrow as its rows
        assert shard.floor == table.floor
        rows_of = {tuple(c for c in r if c != PAD) for r in shard.items.tolist()}
        assert not rows_of & seen
        seen |= rows_of
    assert _merge_any(shards, rnd) == table
    # the shard of a template depends on its items only: shard i of a merge is the
    # merge of the shards i
    parts = _parts(tp, lines, cuts)
    by_part = [p.split(n) for p in parts]
    whole_shards = _merge_any([tp.empty(), *parts], rnd).split(n)
    for i in range(n):
        merged = _merge_any([tp.empty(), *(s[i] for s in by_part)], rnd)
        merged.floor = whole_shards[i].floor
        assert merged.items.tolist() == whole_shards[i].items.tolist()


def _old_floor(counts: list[int], floor: int, max_entries: int) -> int:
    """The pruning rule of the dict-based counts (before the table), step by step."""
    by_count = Counter(counts)
    remaining = len(counts)
    floor += 1
    for c in sorted(by_count):
        if remaining <= max_entries:
            break
        remaining -= by_count[c]
        floor = max(floor, c + 1)
    return max(floor, 2)


@settings(max_examples=150, deadline=None)
@given(partitions(), st.integers(0, 80), st.integers(0, 4))
def test_shrink_keeps_the_rule_of_the_dicts(
    case: tuple[TemplatePass, list[str], list[int], random.Random],
    max_entries: int,
    floor: int,
) -> None:
    tp, lines, _, _ = case
    table = tp.map(str.split, lines * 3)  # counts of 3 and more too
    table.floor = floor
    before = rows(tp, table)
    table.shrink(max_entries)
    table.check(len(tp.pairs.vocab.words))
    if len(before) <= max_entries:
        assert rows(tp, table) == before and table.floor == floor
        return
    expected = _old_floor([stats[0] for stats, _ in before.values()], floor, max_entries)
    assert table.floor == expected
    assert rows(tp, table) == {t: r for t, r in before.items() if r[0][0] >= expected}


def _dict_finish(tp: TemplatePass, counts: TemplateCounts) -> list[tuple[Any, ...]]:
    """The scoring of the dict-based counts (before the table), step by step."""
    import math

    from ciyu.template.mining import _slot_entropy

    vocab = tp.pairs.vocab
    n_words = max(vocab.n_words, 1)
    log_n = math.log(n_words)
    seen = max(counts.n_words, 1)
    scale = n_words / seen if counts.n_words else 1.0
    count_of = dict(zip(vocab.words, vocab.counts.tolist(), strict=True))
    v, nb = len(vocab.words), tp.pairs.n_buckets
    out = []
    for items, row in counts.stats.items():
        n = row[0] * scale
        if n < vocab.min_count or not all(f is OPEN for f in counts.fillers[items]):
            continue
        fixed = [x for x in items if x != SLOT]
        logp = [math.log(count_of[f] / n_words) for f in fixed]
        cost = -sum(logp) + 0.5 * log_n
        if len(fixed) == 1:
            out.append((items, round(n), 0.0, 0.0, 0.0, n))
            continue
        slot_h = sum(
            _slot_entropy(row[1 + s * nb : 1 + (s + 1) * nb]) for s in range((len(row) - 1) // nb)
        )
        gain = math.log(row[0] / seen) - sum(logp) - slot_h - (len(fixed) - 1)
        if n * gain <= cost:
            continue
        weakest = min(
            tp.pairs.pmi.get(tp.index[x] * v + tp.index[y], 0.0)
            for x, y in itertools.pairwise(fixed)
        )
        out.append((items, round(n), gain, weakest, cost, n))

    # a fixed word at either end must earn its entry beyond the template without it
    def scored(items: tuple[str, ...]) -> bool:  # not trivial: two fixed words or more
        return sum(x != SLOT for x in items) > 1

    gain_of = {c[0]: c[2] for c in out if scored(c[0])}
    kept = []
    for items, count, gain, weakest, cost, n in out:
        subs = [
            gain_of[sub]
            for sub, edge in ((items[1:], items[0]), (items[:-1], items[-1]))
            if edge != SLOT and sub in gain_of
        ]
        if scored(items) and subs and not n * (gain - max(subs)) > cost:
            continue
        kept.append((items, count, gain, weakest, cost))
    kept.sort(key=lambda c: (-(c[1] * c[2]), -c[1], c[0]))  # by score = count · gain
    return kept


def _scored_pairs(tp: TemplatePass, rnd: random.Random, min_count: int, n_words: int) -> PairTable:
    """``tp``'s pairs with word counts, PMIs and a corpus size (a sample's counts are
    scaled) of any kind, for scoring."""
    vocab = tp.pairs.vocab
    counts = np.array([rnd.randint(1, 50) for _ in vocab.words], dtype=np.int64)
    vocab = Vocabulary(vocab.words, counts, n_words, n_words, min_count)
    v = len(vocab.words)
    pmi = {a * v + b: rnd.uniform(0, 5) for a in range(v) for b in range(v) if rnd.random() < 0.7}
    return PairTable(vocab, tp.pairs.n_buckets, tp.pairs.edges, pmi, False)


@settings(max_examples=150, deadline=None)
@given(chunks(), st.integers(1, 4), st.integers(1, 400))
def test_finish_scores_as_the_dicts_did(
    case: tuple[list[str], TemplateConfig, random.Random], min_count: int, n_words: int
) -> None:
    lines, config, rnd = case
    lines = lines * rnd.randint(1, 4)
    tp = TemplatePass(config, _scored_pairs(make_pass(lines, config, rnd), rnd, min_count, n_words))
    got = [
        (c.items, c.count, c.gain, c.weakest_pmi, c.cost)
        for c in tp.finish(tp.map(str.split, lines))
    ]
    assert got == _dict_finish(tp, dicts(tp, lines))


def _message(
    tp: TemplatePass, lines: list[str]
) -> tuple[CandidateJob, dict[str, Any], dict[str, Any]]:
    job = CandidateJob(tp.config, tp.pairs, None)
    meta, arrays = job.to_message(Chunked(tp.map(str.split, lines), 7))
    return job, meta, {k: np.array(a) for k, a in arrays.items()}


def test_tables_travel_as_messages() -> None:
    rnd = random.Random(3)
    lines = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 40))) for _ in range(30)]
    tp = make_pass(lines, TemplateConfig(max_distance=9, trivial=True), rnd)
    table = tp.map(str.split, lines)
    table.floor = 2
    job = CandidateJob(tp.config, tp.pairs, None)
    for compress in (False, True):
        got = job.decode(job.encode(Chunked(table, 7), compress=compress))
        assert got.part == table and got.chars == 7
    empty = job.decode(job.encode(job.empty()))
    assert empty.part == tp.empty() and empty.part.size() == 0


def _damaged() -> list[tuple[str, Any]]:
    """Ways to damage a table's message: (what, how) with how(arrays) in place."""

    def swap_rows(a: dict[str, Any]) -> None:
        for name in ("items", "stats", "hashes", "opened"):
            a[name][[0, 1]] = a[name][[1, 0]]

    def first_twice(a: dict[str, Any]) -> None:
        for name in ("items", "stats", "hashes", "opened"):
            a[name][1] = a[name][0]

    def shut_slot(a: dict[str, Any]) -> None:
        at = np.argwhere(a["opened"] == 1)[0]
        a["hashes"][tuple(at)] = [5, 6]

    def pad_inside(a: dict[str, Any]) -> None:
        a["items"][0, 1] = PAD

    def wider(a: dict[str, Any]) -> None:
        a["items"] = np.concatenate([a["items"], np.zeros((len(a["items"]), 1), np.uint32)], 1)

    return [
        ("unsorted", swap_rows),
        ("twice", first_twice),
        ("beyond the vocabulary", lambda a: a["items"].__setitem__((0, 0), 1 << 30)),
        ("a count changed", lambda a: a["stats"].__setitem__((0, 0), a["stats"][0, 0] + 1)),
        ("a histogram changed", lambda a: a["stats"].__setitem__((0, 1), a["stats"][0, 1] + 1)),
        ("a negative count", lambda a: a["stats"].__setitem__((0, 0), -1)),
        ("a hash of an open slot", shut_slot),
        ("an open flag of 2", lambda a: a["opened"].__setitem__((0, 0), 2)),
        ("padding inside", pad_inside),
        ("wider than its rows", wider),
        ("items as int64", lambda a: a.__setitem__("items", a["items"].astype(np.int64))),
        ("stats of a row short", lambda a: a.__setitem__("stats", a["stats"][1:])),
        ("hashes of another shape", lambda a: a.__setitem__("hashes", a["hashes"][:, :, :1])),
        ("no stats", lambda a: a.pop("stats")),
    ]


@pytest.mark.parametrize(("what", "how"), _damaged(), ids=[w for w, _ in _damaged()])
def test_a_damaged_table_is_refused(what: str, how: Any) -> None:
    rnd = random.Random(11)
    lines = [" ".join(rnd.choice(WORDS[:6]) for _ in range(rnd.randint(1, 40))) for _ in range(30)]
    tp = _all_pairs(WORDS[:6], 6)
    job, meta, arrays = _message(tp, lines)
    assert job.from_message(meta, dict(arrays)).part.size() > 2  # fine as it is
    how(arrays)
    from ciyu import _codec

    data = _codec.pack({**meta, "pass": job.kind}, arrays)
    with pytest.raises(CodecError, match="damaged partial"):
        job.decode(data)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1 << 30), st.integers(1, 255))
def test_a_table_message_with_a_byte_changed_is_refused_or_a_table(at: int, xor: int) -> None:
    # whatever byte is changed, decoding refuses the message (CodecError) or gives a table
    # in its one form: never another error
    rnd = random.Random(2)
    lines = [" ".join(rnd.choice(WORDS[:6]) for _ in range(rnd.randint(1, 20))) for _ in range(8)]
    tp = _all_pairs(WORDS[:6], 6)
    job = CandidateJob(tp.config, tp.pairs, None)
    data = job.encode(Chunked(tp.map(str.split, lines), 7))
    data[at % len(data)] ^= xor
    try:
        got = job.decode(data)
    except CodecError:
        return
    got.part.check(len(tp.pairs.vocab.words))


# --- the hash pre-pass: which templates may be candidates ------------------------------


def _hashes(tp: TemplatePass, lines: list[str], compiled: bool) -> TemplateHashes:
    inner = TemplatePass(tp.config, tp.pairs, compiled=compiled)
    return TemplateHashPass(inner).map(str.split, lines)


@settings(max_examples=300, deadline=None)
@given(partitions())
def test_template_hashes_compiled_are_the_reference_and_merge_to_the_whole(
    case: tuple[TemplatePass, list[str], list[int], random.Random],
) -> None:
    tp, lines, cuts, rnd = case
    whole = _hashes(tp, lines, compiled=True)
    ref = _hashes(tp, lines, compiled=False)
    assert whole.keys.tolist() == ref.keys.tolist()
    assert whole.counts.tolist() == ref.counts.tolist()
    assert whole.n_words == ref.n_words
    # a template's hash is seen once per sentence it occurs in: as often as the template
    table = tp.map(str.split, lines)
    by_hash = dict(zip(whole.keys.tolist(), whole.counts.tolist(), strict=True))
    for code_hash, n in zip(
        template_hashes(table.items).view(np.int64).tolist(),
        table.stats[:, 0].tolist(),
        strict=True,
    ):
        assert by_hash[code_hash] >= n
    # parts merged in any grouping, and split into shards and merged back
    bounds = [0, *cuts, len(lines)]
    parts = [_hashes(tp, lines[a:b], True) for a, b in itertools.pairwise(bounds)]
    merged = _merge_any(parts, rnd)
    assert merged.keys.tolist() == whole.keys.tolist()
    assert merged.counts.tolist() == whole.counts.tolist()
    assert merged.n_words == whole.n_words
    shards = whole.split(3)
    back = shards[0]
    for other in shards[1:]:
        back.absorb(other)
    assert back.keys.tolist() == whole.keys.tolist() and back.n_words == whole.n_words


@settings(max_examples=150, deadline=None)
@given(chunks(), st.integers(1, 4), st.integers(1, 400))
def test_counting_only_the_frequent_templates_gives_the_same_candidates(
    case: tuple[list[str], TemplateConfig, random.Random], min_count: int, n_words: int
) -> None:
    lines, config, rnd = case
    lines = lines * rnd.randint(1, 4)
    pairs = _scored_pairs(make_pass(lines, config, rnd), rnd, min_count, n_words)
    every = TemplatePass(config, pairs)
    hashes = TemplateHashPass(every)
    frequent = hashes.finish(hashes.map(str.split, lines))
    some = TemplatePass(config, pairs, frequent=frequent)
    assert some.finish(some.map(str.split, lines)) == every.finish(every.map(str.split, lines))
    assert some.map(str.split, lines).size() <= every.map(str.split, lines).size()


def test_template_hashes_travel_as_messages_and_bad_ones_are_refused() -> None:
    rnd = random.Random(5)
    lines = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 30))) for _ in range(20)]
    tp = make_pass(lines, TemplateConfig(max_distance=9), rnd)
    job = CandidateHashJob(tp.config, tp.pairs, None)
    part = Chunked(_hashes(tp, lines, True), 7)
    meta, arrays = job.to_message(part)
    back = job.from_message(meta, {k: np.array(a) for k, a in arrays.items()})
    assert back.part.keys.tolist() == part.part.keys.tolist()
    assert back.part.counts.tolist() == part.part.counts.tolist()
    assert back.chars == 7
    unsorted = {k: np.array(a) for k, a in arrays.items()}
    unsorted["keys"] = unsorted["keys"][::-1].copy()
    assert len(unsorted["keys"]) > 1
    with pytest.raises(ValueError, match="hash"):
        job.from_message(meta, unsorted)
    meta, arrays = job.state()
    again = CandidateHashJob.from_state(meta, {k: np.array(a) for k, a in arrays.items()})
    assert isinstance(again, CandidateHashJob) and again.pairs.pmi == job.pairs.pmi


def test_max_gaps_is_checked() -> None:
    with pytest.raises(ciyu.ConfigError, match="max-gaps"):
        TemplateConfig(max_gaps=0)
