"""The model file: round trip, atomic writes, validation with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ciyu.errors import ModelFormatError
from ciyu.lexicon import Lexicon
from ciyu.text import NUM


def test_round_trip_is_exact_and_readable(tmp_path: Path) -> None:
    lex = Lexicon({"中文": 3, "分词": 3, NUM + "年": 2.5, "的": 7}, {"method": "test"})
    path = tmp_path / "m.ciyu"
    lex.save(path)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "#ciyu-model\t1"
    assert text.splitlines()[2:] == ["的\t7", "中文\t3", "分词\t3", "<num>年\t2.5"]
    loaded = Lexicon.load(path)
    assert loaded.counts == lex.counts
    assert loaded.meta == {"method": "test"}


def test_failed_write_leaves_old_file(tmp_path: Path) -> None:
    path = tmp_path / "m.ciyu"
    Lexicon({"甲": 1}).save(path)
    before = path.read_bytes()

    class Boom(Lexicon):
        def sorted_items(self) -> list[tuple[str, float]]:
            return [("乙", 1.0), ("丙", "not a number")]  # type: ignore[list-item]

    with pytest.raises((TypeError, ValueError)):
        Boom({"乙": 1}).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.ciyu"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("hello\n", "m.ciyu:1: not a ciyu model file"),
        ("#ciyu-model\t9\n#meta\t{}\n", "m.ciyu:1: model format version 9 is not supported"),
        ("#ciyu-model\t1\n#meta\t{oops\n", "m.ciyu:2: metadata is not valid JSON"),
        ("#ciyu-model\t1\n#meta\t{}\n甲\tx\n", "m.ciyu:3: count 'x' is not a number"),
        ("#ciyu-model\t1\n#meta\t{}\n甲\t-1\n", "m.ciyu:3: count must be positive"),
        ("#ciyu-model\t1\n#meta\t{}\n甲\t1\n甲\t2\n", "m.ciyu:4: duplicate word '甲'"),
        ("#ciyu-model\t1\n#meta\t{}\n甲 1\n", "m.ciyu:3: expected 'word<TAB>count'"),
        ("#ciyu-model\t1\n#meta\t{}\n甲\t1", "m.ciyu:3: file is truncated"),
        ('#ciyu-model\t1\n#meta\t{"n_words": 3}\n甲\t1\n', "announces 3 words but 1 were read"),
    ],
)
def test_validation(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "m.ciyu"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ModelFormatError, match=message):
        Lexicon.load(path)


def test_words_with_tabs_are_refused() -> None:
    with pytest.raises(ModelFormatError, match="contains a tab or line break"):
        Lexicon({"a\tb": 1})
