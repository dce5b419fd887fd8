"""The discovery table: one module writes and reads it; what is written reads back."""

from __future__ import annotations

import dataclasses
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ciyu
from ciyu.text import NUM
from ciyu.wordtable import WordRow, read_discovery_tsv, rows_from_discovery, write_discovery_tsv

words = st.text(alphabet=st.sampled_from(list("中文分词人民法院" + NUM)), min_size=1, max_size=6)
# values the table's decimals hold exactly: four for statistics, two for the score
stat = st.none() | st.integers(-99999, 99999).map(lambda n: n / 16)
rows = st.builds(
    WordRow,
    words,
    st.integers(0, 10**12),
    stat,
    stat,
    stat,
    st.integers(-(10**8), 10**8).map(lambda n: n / 4),
    st.none(),
)


@given(st.lists(rows, max_size=20), st.booleans())
def test_what_is_written_reads_back(
    tmp_path_factory: pytest.TempPathFactory, table: list[WordRow], ref: bool
) -> None:
    if ref:
        table = [dataclasses.replace(r, in_reference=i % 2 == 0) for i, r in enumerate(table)]
    out = io.StringIO()
    assert write_discovery_tsv(out, table, with_reference=ref) == len(table)
    path = tmp_path_factory.mktemp("table") / "words.tsv"
    path.write_text(out.getvalue(), encoding="utf-8")
    assert read_discovery_tsv(path) == table


def test_new_only_and_top() -> None:
    table = [WordRow(w, 9, 1.0, 1.0, 1.0, 2.0, w in {"中文"}) for w in ("中文", "分词", "人民")]
    out = io.StringIO()
    assert write_discovery_tsv(out, table, with_reference=True, new_only=True, top=1) == 1
    assert out.getvalue().splitlines() == [
        "word\tcount\tcohesion\tleft_entropy\tright_entropy\tscore\tin_reference",
        "分词\t9\t1.0000\t1.0000\t1.0000\t2.00\tno",
    ]


def test_discovery_rows(sample_discovery: ciyu.Discovery) -> None:
    got = rows_from_discovery(sample_discovery, {"应当"})
    assert [r.word for r in got] == [w.word for w in sample_discovery.words]
    assert {r.word for r in got if r.in_reference} == {"应当"}
