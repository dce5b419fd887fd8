"""Bulk segmentation: the same output for any number of processes, a model sent to
workers by file identity, never stale."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from ciyu import bulk
from ciyu.bulk import BlockSegmenter, load_model
from ciyu.errors import ModelFormatError
from ciyu.lexicon import Lexicon
from ciyu.model import Model
from ciyu.reader import Corpus


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
    for threads in (1, 2):
        corpus = Corpus([src], max_piece_bytes=1 << 12)
        chunks = list(segmenter.run(corpus, threads))
        assert sum(n for _, n in chunks) == src.stat().st_size
        outputs.append("".join(c for c, _ in chunks))
    assert outputs[0] == outputs[1]
    assert outputs[0].replace("|", "") == src.read_text(encoding="utf-8") + "\n"
    assert outputs[0].startswith("中文|分词|，|OK\n") and outputs[0].endswith("末|行|无|换|行\n")


def test_a_segmenter_travels_as_its_file_and_refuses_a_changed_one(tmp_path: Path) -> None:
    path = save(tmp_path / "m.model", {"中文": 5, "中": 1, "文": 1})
    model, fingerprint = load_model(str(path))
    segmenter = BlockSegmenter(model, " ", str(path), fingerprint)
    data = pickle.dumps(segmenter)
    assert len(data) < 500 and b"Lexicon" not in data  # not the model itself
    bulk._worker_model.cache_clear()
    try:
        copy = pickle.loads(data)  # what a worker process does
        assert copy.model.lexicon.counts == model.lexicon.counts
        save(path, {"分词": 5, "分": 1, "词": 1})  # a new model in the same file
        bulk._worker_model.cache_clear()
        with pytest.raises(ModelFormatError, match="changed while the text was being segmented"):
            pickle.loads(data)
    finally:
        bulk._worker_model.cache_clear()
    with pytest.raises(TypeError):
        pickle.dumps(BlockSegmenter(model))  # no file: cannot go to a worker
