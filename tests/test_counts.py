"""n-gram counting: exact counts, merging, pruning, the memory budget, the file format."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu.counts import NgramCounts, count_chunk, count_ngrams, merge_reserve
from ciyu.errors import ModelFormatError
from ciyu.text import NUM, fragments


def brute_force(lines: list[str], order: int) -> dict[int, Counter[str]]:
    out: dict[int, Counter[str]] = {k: Counter() for k in range(1, order + 1)}
    for line in lines:
        for frag in fragments(line):
            for k in range(1, order + 1):
                for i in range(len(frag) - k + 1):
                    out[k][frag[i : i + k]] += 1
    return out


def as_dict(counts: NgramCounts) -> dict[int, Counter[str]]:
    return {k: Counter(dict(counts.items(k))) for k in range(1, counts.order + 1)}


def test_hand_checked_counts() -> None:
    c = count_chunk(["中文中文，文中", "12文"], order=3)
    assert c.items(1) == [("中", 3), ("文", 4), (NUM, 1)]  # sorted by code point
    assert dict(c.items(2)) == {"中文": 2, "文中": 2, NUM + "文": 1}
    assert dict(c.items(3)) == {"中文中": 1, "文中文": 1}
    assert c.n_chars == 8
    assert c.n_fragments == 3
    assert c.count("文中") == 2 and c.count("缺") == 0 and c.count("中文中文") == 0


lines_strategy = st.lists(
    st.text(alphabet=st.sampled_from(list("甲乙丙丁戊，a1 ")), max_size=30), max_size=20
)


@settings(max_examples=60, deadline=None)
@given(lines_strategy, lines_strategy)
def test_merge_of_parts_equals_counts_of_whole(a: list[str], b: list[str]) -> None:
    whole = count_chunk(a + b, order=4)
    merged = count_chunk(a, order=4).merge(count_chunk(b, order=4))
    assert merged == whole
    assert as_dict(whole) == brute_force(a + b, 4)


@settings(max_examples=30, deadline=None)
@given(lines_strategy, st.integers(min_value=1, max_value=40))
def test_chunked_streaming_equals_one_chunk(lines: list[str], chunk: int) -> None:
    assert count_ngrams(lines, 3, chunk_chars=chunk) == count_chunk(lines, 3)


@settings(max_examples=30, deadline=None)
@given(lines_strategy, st.integers(min_value=1, max_value=40), st.integers(2, 3))
def test_dropping_rare_ngrams_while_merging_equals_pruning(
    lines: list[str], chunk: int, min_count: int
) -> None:
    dropped = count_ngrams(lines, 3, chunk_chars=chunk, min_count=min_count)
    pruned = count_chunk(lines, 3).prune(min_count)
    assert dropped == pruned
    assert dropped.min_count == min_count


def test_prune_keeps_unigrams() -> None:
    c = count_chunk(["甲乙甲乙丙"], order=2).prune(2)
    assert dict(c.items(2)) == {"甲乙": 2}
    assert dict(c.items(1)) == {"甲": 2, "乙": 2, "丙": 1}
    assert c.min_count == 2


def test_table_budget_prunes_and_is_recorded() -> None:
    import random

    rng = random.Random(1)
    alphabet = [chr(0x4E00 + i) for i in range(3000)]
    lines = ["".join(rng.choice(alphabet) for _ in range(200)) for _ in range(2000)]
    exact = count_ngrams(lines, 4)
    budget = exact.nbytes // 2
    bounded = count_ngrams(lines, 4, table_bytes=budget, chunk_chars=20_000)
    assert bounded.approximate and bounded.prune_floor >= 2
    entries = [len(keys) for keys, _ in bounded.tables]
    assert bounded.nbytes + merge_reserve(entries) <= budget
    assert bounded.table(1)[0].tolist() == exact.table(1)[0].tolist()
    assert bounded.n_chars == exact.n_chars


def test_save_load_round_trip(tmp_path: Path) -> None:
    c = count_chunk(["中文分词，分词中文", "𠀋好"], order=3)
    path = tmp_path / "c.npz"
    c.save(path)
    loaded = NgramCounts.load(path)
    assert loaded == c
    assert loaded.meta() == c.meta()


def test_load_rejects_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFormatError, match="not a ciyu counts file"):
        NgramCounts.load(bad)
    c = count_chunk(["甲乙丙"], order=2)
    arrays = {"meta": np.frombuffer(b'{"format": "ciyu-counts", "version": 99}', np.uint8)}
    np.savez(tmp_path / "v.npz", **arrays)
    with pytest.raises(ModelFormatError, match="version 99 is not supported"):
        NgramCounts.load(tmp_path / "v.npz")
    keys, counts = c.table(2)
    meta = np.frombuffer(
        b'{"format": "ciyu-counts", "version": 1, "order": 2, "n_chars": 3, '
        b'"n_fragments": 1, "min_count": 1, "approximate": false, "prune_floor": 0}',
        np.uint8,
    )
    np.savez(
        tmp_path / "u.npz",
        meta=meta,
        keys_1=c.table(1)[0][::-1].copy(),
        counts_1=c.table(1)[1],
        keys_2=keys,
        counts_2=counts,
    )
    with pytest.raises(ModelFormatError, match="order 1 keys are not sorted"):
        NgramCounts.load(tmp_path / "u.npz")


def test_parallel_counting_equals_sequential() -> None:
    import random

    rng = random.Random(3)
    lines = ["".join(rng.choice("甲乙丙丁戊己庚辛壬癸子丑") for _ in range(50)) for _ in range(400)]
    sequential = count_ngrams(lines, 4, chunk_chars=2000)
    parallel = count_ngrams(lines, 4, chunk_chars=2000, threads=2)
    assert parallel == sequential
    budget = sequential.nbytes // 2
    assert count_ngrams(lines, 4, chunk_chars=2000, table_bytes=budget, threads=2) == count_ngrams(
        lines, 4, chunk_chars=2000, table_bytes=budget
    )
