"""The lattice decoder: hand-checked best paths, unknown characters, losslessness."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu.decoder import HAVE_COMPILED, Decoder, boundaries_from_tables


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


lexicons = st.dictionaries(
    st.text(alphabet="甲乙丙丁𠀋ab", min_size=1, max_size=5),
    st.sampled_from([-1.0, -2.0, -2.5, -3.0, -7.25]),  # few values: many exact ties
    max_size=25,
)


@pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled decoder is not built")
@settings(max_examples=300)
@given(lexicons, st.text(alphabet="甲乙丙丁𠀋abc", max_size=40))
def test_compiled_twin_equals_reference(lexicon: dict[str, float], text: str) -> None:
    reference = Decoder(lexicon, -9.0, compiled=False)
    compiled = Decoder(lexicon, -9.0, compiled=True)
    assert compiled.boundaries(text) == reference.boundaries(text)


@pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled decoder is not built")
def test_compiled_twin_on_a_learned_lexicon(sample_model: ciyu.Model) -> None:
    import gzip

    from conftest import SAMPLE

    log_probs = sample_model.lexicon.log_probs()
    unk = sample_model.lexicon.unk_logp()
    reference = Decoder(log_probs, unk, compiled=False)
    compiled = Decoder(log_probs, unk, compiled=True)
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(3000)]
    for line in lines:
        for frag in line.split("，"):
            assert compiled.boundaries(frag) == reference.boundaries(frag)


def test_compiled_decoder_is_built_in_ci() -> None:
    import os

    if os.environ.get("CI"):
        assert HAVE_COMPILED, "CI must build ciyu._lattice (pip install -e . compiles it)"


@settings(max_examples=300)
@given(lexicons, st.text(alphabet="甲乙丙丁𠀋abc", max_size=40))
def test_decoder_from_numpy_tables(lexicon: dict[str, float], text: str) -> None:
    # words of each length as "<Uk" arrays, straight into the trie (nvbe's path)
    by_len: dict[int, list[tuple[str, float]]] = {}
    for word, score in sorted(lexicon.items()):
        by_len.setdefault(len(word), []).append((word, score))
    tables = [
        (np.array([w for w, _ in items], dtype=f"<U{k}"), np.array([s for _, s in items]))
        for k, items in sorted(by_len.items())
    ]
    expected = Decoder(lexicon, -9.0, compiled=False).boundaries(text)
    assert boundaries_from_tables(tables, -9.0)(text) == expected
