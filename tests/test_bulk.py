"""Bulk segmentation: the same output for any number of threads, in input order, with a
bounded number of blocks in flight; one file segmented into another."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu import bulk
from ciyu._compiled import HAVE_COMPILED
from ciyu.bulk import BlockSegmenter, load_model
from ciyu.cli import main
from ciyu.lexicon import Lexicon
from ciyu.model import Model
from ciyu.reader import Block, Corpus
from ciyu.text import compiled_rules


def save(path: Path, words: dict[str, float]) -> Path:
    Model(Lexicon(words)).save(path)
    return path


def test_output_is_the_same_for_any_thread_count(tmp_path: Path) -> None:
    path = save(tmp_path / "m.model", {"中文": 5, "分词": 3, "中": 1, "文": 1, "分": 1, "词": 1})
    src = tmp_path / "in.txt"
    # several blocks, and a line longer than a block (its blocks join with the separator)
    src.write_text("中文分词，OK\n" * 3000 + "中文" * 1000 + "\n\n末行无换行", encoding="utf-8")
    model, fingerprint = load_model(str(path))
    segmenter = BlockSegmenter(model, "|", str(path), fingerprint)
    outputs = []
    for threads in (1, 2, 4):
        corpus = Corpus([src], max_piece_bytes=1 << 12)
        chunks = list(segmenter.run(corpus, threads))
        assert sum(n for _, n, _ in chunks) == src.stat().st_size
        # the lines each block's output ends, as the CLI's summary counts them
        assert [lines for _, _, lines in chunks] == [c.count(b"\n") for c, _, _ in chunks]
        outputs.append(b"".join(c for c, _, _ in chunks).decode())
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].replace("|", "") == src.read_text(encoding="utf-8") + "\n"
    assert outputs[0].startswith("中文|分词|，|OK\n") and outputs[0].endswith("末|行|无|换|行\n")


def test_threads_keep_input_order_with_a_bounded_read_ahead(tmp_path: Path) -> None:
    path = save(tmp_path / "m.model", {"中文": 5, "分词": 3, "中": 1, "文": 1})
    model, fingerprint = load_model(str(path))
    segmenter = BlockSegmenter(model, "/", str(path), fingerprint)
    src = tmp_path / "in.txt"
    src.write_text("".join(f"中文分词{i}\n" for i in range(20000)), encoding="utf-8")
    expected = b"".join(c for c, _, _ in segmenter.run(Corpus([src], max_piece_bytes=1 << 12), 1))

    class Counting(Corpus):
        read = 0

        def blocks(self) -> Iterator[Block]:
            for block in super().blocks():
                Counting.read += 1
                yield block

    for threads in (2, 3):
        Counting.read = 0
        corpus = Counting([src], max_piece_bytes=1 << 12)
        out = []
        for chunk, _, _ in segmenter.run(corpus, threads):
            out.append(chunk)
            # blocks read but not yet written: a few per thread, and the one in hand
            assert Counting.read - len(out) <= bulk.IN_FLIGHT_PER_THREAD * threads
        assert len(out) > 20 * threads and b"".join(out) == expected


def test_segment_file_writes_one_output_per_input(tmp_path: Path) -> None:
    path = save(tmp_path / "m.model", {"中文": 5, "分词": 3, "中": 1, "文": 1})
    model, _ = load_model(str(path))
    src = tmp_path / "in.txt.gz"
    with gzip.open(src, "wt", encoding="utf-8") as fh:
        fh.write("中文分词\n第二行")
    target = tmp_path / "out" / "sub" / "in.txt"
    n = bulk.segment_file(BlockSegmenter(model, " "), str(src), str(target))
    assert target.read_text(encoding="utf-8") == "中文 分词\n第 二 行\n"
    assert n == len("中文分词\n第二行".encode())


# --- the compiled segmenter decodes UTF-8 itself -----------------------------------------

needs_compiled = pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled decoder is not built")
_MODEL = Model(Lexicon({"中文": 5, "分词": 3, "中": 1, "文": 1, "😀": 1}))
_EDGES = [
    b"\xc0\x80",  # overlong
    b"\xe0\x80\x80",
    b"\xf0\x80\x80\x80",
    b"\xf4\x90\x80\x80",  # above U+10FFFF
    b"\xed\xa0\x80",  # a surrogate
    b"\xe4\xb8",  # truncated
    b"\xff",
    b"\x80",
    "\U0010ffff\ud7ff\ue000\u0800\x7f中😀\u0301".encode(),
]


@needs_compiled
@settings(max_examples=400)
@given(
    st.lists(
        st.one_of(
            st.binary(max_size=8),
            st.sampled_from(_EDGES),
            st.text(max_size=12).map(lambda t: t.encode("utf-8", "surrogatepass")),
        ),
        max_size=8,
    ).map(b"".join)
)
def test_compiled_segmenter_decodes_utf8_as_python_does(data: bytes) -> None:
    # what it accepts, Python's strict decoder accepts, with the same text; what it
    # refuses (None), Python refuses
    fast, rules = _MODEL.decoder.fast, compiled_rules()
    assert fast is not None
    _MODEL.segment("", "|")
    got = fast.segment(data, rules, "|", True)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        assert got is None
        return
    assert got == fast.segment(text, rules, "|", True)


def test_invalid_utf8_in_a_later_block_is_named_by_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the threads decode the blocks; the error still names the file, line and offset
    path = save(tmp_path / "m.model", {"中文": 5, "分词": 3})
    src = tmp_path / "in.txt"
    good = "中文分词\n".encode() * 300_000
    src.write_bytes(good + b"\xe4\xb8\xadbad\xff\n" + "中文\n".encode() * 10)
    out = tmp_path / "out.txt"
    for threads in ("1", "2"):
        code = main(["-q", "segment", "-m", str(path), str(src), "-o", str(out), "-j", threads])
        assert code == 2
        assert capsys.readouterr().err == (
            f"ciyu: error: {src}:300001: invalid UTF-8 byte 0xff at byte offset "
            f"{len(good) + 6} of the file; convert the file to UTF-8 (e.g. `iconv -f "
            "GB18030 -t UTF-8`) or pass --errors replace\n"
        )
        assert not out.exists()
