"""Passes as map / merge / finish: every pass gives the same result for any partition of
the corpus, any grouping of the merges, through the message format and through sharded
merges; the table of distinct fragments gives the same models as reading every copy."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu import _codec
from ciyu.counts import CountPass, FragmentsPass, count_ngrams
from ciyu.learners import METHODS
from ciyu.learners.base import make_context
from ciyu.learners.cohesion import CohesionConfig, covering_cut, solid_ngrams
from ciyu.learners.ensemble import EnsembleConfig, orphan_pairs
from ciyu.learners.passes import CoveringCutPass, OrphanPairsPass, WordCountPass
from ciyu.learners.segmenters import DecoderSegmenter, rebuild, spec_of
from ciyu.lexicon import Lexicon
from ciyu.passes import LocalEngine, Pass, TextBatch, decode_batch, encode_batch, run_here
from ciyu.tables import StringCounts, stable_hash
from ciyu.text import NUM, fragments

# a small alphabet, so that n-grams, fragments and words repeat; punctuation, digits and
# Latin letters cut fragments; NUM-producing numbers
ALPHABET = "甲乙丙丁戊己庚辛，。 7a\n"
texts = st.lists(st.text(alphabet=ALPHABET, max_size=30), max_size=25)

LEXICON = Lexicon({"甲乙": 5, "丙丁": 4, "乙丙": 2, "甲": 1, "乙": 1, "戊己庚": 3, NUM + "甲": 2})


def batches_of(lines: list[str], cuts: list[int]) -> list[TextBatch]:
    bounds = [0, *cuts, len(lines)]
    return [TextBatch(lines[a:b]) for a, b in itertools.pairwise(bounds)]


def run_split(
    job: Pass[Any, Any], batches: list[TextBatch], rng: random.Random, shards: int
) -> Any:
    """Map every batch, send the partials through messages, shard them, merge each shard
    in a random order and grouping, trim the shards, join them and finish: what an engine
    on a cluster does."""
    partials = [job.decode(job.encode(job.map(decode_batch(encode_batch(b))))) for b in batches]
    columns: list[list[Any]] = [[] for _ in range(shards)]
    for partial in partials:
        for i, shard in enumerate(job.shard(partial, shards)):
            columns[i].append(job.decode(job.encode(shard, compress=True)))
    merged_shards = []
    for column in columns:
        rng.shuffle(column)
        while len(column) > 1:  # random pairs, as a tree of merges would take them
            i = rng.randrange(len(column) - 1)
            column[i : i + 2] = [job.merge(column[i], column[i + 1])]
        merged_shards.append(job.trim(column[0] if column else job.empty()))
    total = merged_shards[0]
    for shard in merged_shards[1:]:
        total = job.merge(total, shard)
    return job.finish(total)


def whole(job: Pass[Any, Any], lines: list[str]) -> Any:
    return run_here(job, [TextBatch(lines)])


@settings(max_examples=60)
@given(st.data(), texts, st.integers(1, 4), st.integers(1, 3))
def test_counting_is_the_same_for_any_partition(
    data: st.DataObject, lines: list[str], shards: int, min_count: int
) -> None:
    points = sorted(data.draw(st.lists(st.integers(0, len(lines)), max_size=6)))
    rng = random.Random(data.draw(st.integers(0, 1000)))
    job = CountPass(4, min_count=min_count, fragments=True)
    expected = whole(job, lines)
    got = run_split(job, batches_of(lines, points), rng, shards)
    assert got.counts == expected.counts
    assert got.counts.min_count == expected.counts.min_count
    assert got.table.to_dict() == expected.table.to_dict()
    # the fragments, with how often each occurs, and the counts of reading every copy
    assert expected.table.to_dict() == Counter(f for t in lines for f in fragments(t))
    assert expected.counts == count_ngrams(lines, 4, min_count=min_count)


@settings(max_examples=60)
@given(st.data(), texts, st.integers(1, 4))
def test_segmenting_passes_are_the_same_for_any_partition(
    data: st.DataObject, lines: list[str], shards: int
) -> None:
    points = sorted(data.draw(st.lists(st.integers(0, len(lines)), max_size=6)))
    rng = random.Random(data.draw(st.integers(0, 1000)))
    segment = DecoderSegmenter(LEXICON.decoder().boundaries)
    for job in (WordCountPass(segment), OrphanPairsPass(segment)):
        expected = whole(job, lines)
        got = run_split(job, batches_of(lines, points), rng, shards)
        if isinstance(job, WordCountPass):
            assert got == expected
            words = Counter(
                w for t in lines for f in fragments(t) for w in LEXICON.decoder().cut(f)
            )
            assert expected == words
        else:
            assert got.names == expected.names
            for name in ("counts", "left", "right", "n"):
                assert np.array_equal(getattr(got, name), getattr(expected, name)), name


@settings(max_examples=40)
@given(st.data(), texts, st.integers(1, 4))
def test_the_covering_cut_is_the_same_for_any_partition(
    data: st.DataObject, lines: list[str], shards: int
) -> None:
    points = sorted(data.draw(st.lists(st.integers(0, len(lines)), max_size=6)))
    rng = random.Random(data.draw(st.integers(0, 1000)))
    solid = {2: np.array(["乙丙", "甲乙"], dtype="<U2"), 3: np.array(["丙丁戊"], dtype="<U3")}
    job = CoveringCutPass(solid, 3)
    expected = whole(job, lines)
    assert expected == covering_cut(lines, solid, 3)
    assert run_split(job, batches_of(lines, points), rng, shards) == expected


@settings(max_examples=40)
@given(texts, st.integers(1, 64))
def test_the_table_of_fragments_is_the_same_in_slices(lines: list[str], size: int) -> None:
    table = whole(FragmentsPass(), lines)
    pieces = list(table.slices(size))
    assert all(p.distinct_chars() <= size + max(p.tables, default=0) for p in pieces)
    joined = StringCounts()
    for piece in pieces:
        joined.absorb(piece)
    assert joined.to_dict() == table.to_dict() == Counter(f for t in lines for f in fragments(t))


def test_a_pass_over_the_table_sees_each_fragment_once() -> None:
    seen: list[str] = []

    def segment(frags: list[str]) -> list[list[int]]:
        seen.extend(frags)
        return [[len(f)] for f in frags]

    lines = ["甲乙丙，甲乙丙。甲乙", "甲乙丙"] * 50
    ctx = make_context(lambda: lines, 2)
    words = ctx.run(WordCountPass(segment))
    assert words == {"甲乙丙": 150, "甲乙": 50}
    assert sorted(seen) == ["甲乙", "甲乙丙"]
    # without the table every copy is segmented again, with the same result
    ctx = make_context(lambda: lines, 2, dedupe=False)
    seen.clear()
    assert ctx.run(WordCountPass(segment)) == words and len(seen) == 200


def test_every_learner_learns_the_same_from_the_table_and_from_every_copy(
    law_lines: list[str],
) -> None:
    rng = random.Random(4)
    # law text with repeats: a block of lines three times, and lines repeated here and there
    lines = law_lines[:1500] + law_lines[200:700] * 2 + rng.choices(law_lines[:1500], k=500)
    for name, method in METHODS.items():
        config = method.config(vocab_size=2000) if name == "unigram" else method.config()
        lexicons = []
        for dedupe in (True, False):
            with make_context(
                lambda: lines,
                config.count_order(),
                drop_singletons=config.singletons_unused(),
                dedupe=dedupe,
            ) as ctx:
                assert (ctx.table is not None) == dedupe
                lexicon = method.learn(ctx, config)
            lexicons.append((lexicon.counts, lexicon.meta))
        assert lexicons[0] == lexicons[1], name


def test_worker_processes_give_the_same_bytes(law_lines: list[str], tmp_path: Any) -> None:
    # batches of 32 K characters: the passes run in two worker processes
    lines = law_lines[:3000]
    paths = []
    for threads in (1, 2):
        with make_context(
            lambda: lines, 6, threads=threads, drop_singletons=True, chunk_chars=1 << 15
        ) as ctx:
            assert ctx.engine.workers == threads
            model = ciyu.Model(METHODS["ensemble"].learn(ctx, EnsembleConfig()))
        paths.append(tmp_path / f"{threads}.model")
        model.save(paths[-1])
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_a_pass_with_a_python_function_runs_in_this_process() -> None:
    lines = ["甲乙丙丁，" * 50] * 40
    ctx = make_context(lambda: lines, 2, threads=2, chunk_chars=64)
    cuts = {"甲乙丙丁": [2, 4]}
    tp = orphan_pairs(ctx, lambda frags: [cuts[f] for f in frags])  # cannot leave it
    assert tp.token_counts() == {"甲乙": 2000, "丙丁": 2000}
    ctx.close()


def test_segmenters_are_rebuilt_from_their_specs(law_lines: list[str]) -> None:
    ctx = make_context(lambda: law_lines[:800], 6, threads=2, drop_singletons=True)
    assert ctx.engine.ships
    frags = [f for t in law_lines[800:900] for f in fragments(t)]
    for name in ("cohesion", "nvbe", "lm", "ensemble"):
        segment = METHODS[name].segmenter(ctx, METHODS[name].config())
        spec = spec_of(segment)
        assert spec is not None, name
        meta, arrays = spec
        data = _codec.pack(meta, arrays)
        copy = rebuild(*_codec.unpack(data))
        assert copy(frags) == segment(frags), name
    assert spec_of(lambda frags: [[len(f)] for f in frags]) is None
    ctx.close()


def test_messages_are_checked() -> None:
    data = _codec.pack({"a": 1}, {"x": np.arange(5, dtype=np.int64)}, compress=True)
    assert _codec.unpack(data)[1]["x"].tolist() == [0, 1, 2, 3, 4]
    with pytest.raises(_codec.CodecError, match="magic"):
        _codec.unpack(b"pickle" + bytes(data))
    with pytest.raises(_codec.CodecError):
        _codec.unpack(data[:-3])
    broken = bytearray(data)
    broken[9] = 99  # the version
    with pytest.raises(_codec.CodecError, match="version"):
        _codec.unpack(broken)
    with pytest.raises(TypeError):
        _codec.pack({}, {"o": np.array([object()])})
    job = WordCountPass(DecoderSegmenter(LEXICON.decoder().boundaries))
    partial = job.map(TextBatch(["甲乙丙丁"]))
    with pytest.raises(_codec.CodecError, match="not of 'pairs'"):
        OrphanPairsPass(job.segment).decode(job.encode(partial))


def test_string_tables_hash_the_same_everywhere() -> None:
    keys = np.array(["中文", "分词", "甲乙"], dtype="<U2")
    # fixed values: a hash that changed between processes or versions would shard
    # differently on two machines of one cluster
    assert stable_hash(keys).tolist() == stable_hash(keys.copy()).tolist()
    assert len(set(stable_hash(keys).tolist())) == 3
    table = StringCounts.from_items(["中文", "分词", "中文", "词", "中文分词"])
    shards = table.shard(3)
    assert sum(len(s) for s in shards) == len(table)
    assert StringCounts.from_arrays(table.to_arrays()).to_dict() == table.to_dict()


def test_the_engine_closes_its_workers() -> None:
    engine = LocalEngine(2)
    lines = ["甲乙丙丁，" * 200] * 30
    job = WordCountPass(DecoderSegmenter(LEXICON.decoder().boundaries))
    batches = [TextBatch(lines[i : i + 5]) for i in range(0, 30, 5)]
    assert engine.run(job, batches) == run_here(job, batches)
    pool = engine._pool  # narrowed as a local: close() must leave engine._pool None
    assert pool is not None
    processes = list(pool._processes.values())
    engine.close()
    assert engine._pool is None and all(not p.is_alive() for p in processes)


def test_solid_cut_helpers_agree(law_lines: list[str]) -> None:
    ctx = make_context(lambda: law_lines[:500], 5)
    config = CohesionConfig()
    solid = solid_ngrams(ctx.counts, config, config.resolve_min_count(ctx.counts.n_chars))
    pieces, neighbours = ctx.run(CoveringCutPass(solid, 5), None)
    assert (pieces, neighbours) == covering_cut(law_lines[:500], solid, 5)


def test_workers_read_large_files_in_pieces(
    tmp_path: Any, law_lines: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ciyu import counts as counts_module
    from ciyu.counts import count_corpus

    path = tmp_path / "law.txt"
    path.write_text("\n".join(law_lines[:2000]), encoding="utf-8")
    monkeypatch.setattr(counts_module, "RANGE_BYTES", 20_000)  # about ten pieces
    one = count_corpus(ciyu.Corpus([path]), 6, threads=1, fragments=True)
    two = count_corpus(ciyu.Corpus([path]), 6, threads=2, fragments=True, chunk_chars=5000)
    assert one.counts == two.counts
    assert one.table is not None and two.table is not None
    assert one.table.to_dict() == two.table.to_dict()
