"""The lattice decoder: hand-checked best paths, unknown characters, losslessness."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from ciyu.decoder import Decoder


def lp(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {w: math.log(c / total) for w, c in counts.items()}


def test_max_probability_path() -> None:
    d = Decoder(lp({"研究": 10, "研究生": 5, "生命": 10, "命": 2, "的": 20, "起源": 8}), -20.0)
    assert d.cut("研究生命的起源") == ["研究", "生命", "的", "起源"]
    assert d.cut("研究生") == ["研究生"]


def test_unknown_characters_are_single_words() -> None:
    d = Decoder(lp({"中文": 3}), -10.0)
    assert d.cut("中文㐀文") == ["中文", "㐀", "文"]
    assert d.cut("") == []


def test_ties_are_broken_deterministically() -> None:
    d = Decoder({"甲乙": -2.0, "乙丙": -2.0, "甲": -1.0, "乙": -1.0, "丙": -1.0}, -9.0)
    assert d.cut("甲乙丙") == d.cut("甲乙丙")
    assert d.cut("甲乙丙") in (["甲乙", "丙"], ["甲", "乙丙"])


@given(st.text(alphabet="甲乙丙丁戊", max_size=40))
def test_lossless(text: str) -> None:
    d = Decoder(lp({"甲乙": 3, "乙丙丁": 2, "丁": 5, "戊戊": 1}), -12.0)
    assert "".join(d.cut(text)) == text
