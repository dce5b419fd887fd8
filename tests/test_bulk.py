"""Bulk segmentation: the same output for any number of threads, in input order, with a
bounded number of blocks in flight; one file segmented into another."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

from ciyu import bulk
from ciyu.bulk import BlockSegmenter, load_model
from ciyu.lexicon import Lexicon
from ciyu.model import Model
from ciyu.reader import Block, Corpus


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
        assert sum(n for _, n in chunks) == src.stat().st_size
        outputs.append(b"".join(c for c, _ in chunks).decode())
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].replace("|", "") == src.read_text(encoding="utf-8") + "\n"
    assert outputs[0].startswith("中文|分词|，|OK\n") and outputs[0].endswith("末|行|无|换|行\n")


def test_threads_keep_input_order_with_a_bounded_read_ahead(tmp_path: Path) -> None:
    path = save(tmp_path / "m.model", {"中文": 5, "分词": 3, "中": 1, "文": 1})
    model, fingerprint = load_model(str(path))
    segmenter = BlockSegmenter(model, "/", str(path), fingerprint)
    src = tmp_path / "in.txt"
    src.write_text("".join(f"中文分词{i}\n" for i in range(20000)), encoding="utf-8")
    expected = b"".join(c for c, _ in segmenter.run(Corpus([src], max_piece_bytes=1 << 12), 1))

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
        for chunk, _ in segmenter.run(corpus, threads):
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
