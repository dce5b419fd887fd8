"""Model: cutting with rules and lexicon, numbers, encode/decode, losslessness."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu import Model
from ciyu.decoder import HAVE_COMPILED, Decoder
from ciyu.lexicon import Lexicon
from ciyu.text import NUM

LEX = Lexicon({"中文": 5, "分词": 3, "中": 1, "文": 1, "分": 1, "词": 1, NUM + "年": 4, "年": 1})


def test_hand_checked_cut() -> None:
    m = Model(LEX)
    assert m.cut("中文分词，OK 好") == ["中文", "分词", "，", "OK", " ", "好"]
    assert m.cut("2024年中文") == ["2024年", "中文"]
    assert m.cut("２０２４年") == ["２０２４年"]
    assert m.cut("12.5%中文") == ["12.5%", "中文"]
    assert m.cut("") == []


def test_encode_decode() -> None:
    m = Model(LEX)
    ids = m.encode("中文分词，", out_type=int)
    assert ids == [1, 2, 0]  # ranks: 中文 5, 分词 3 (<num>年 has none); ， is unknown
    assert m.decode(m.encode("中文分词，")) == "中文分词，"
    assert m.decode(ids[:2]) == "中文分词"


def test_save_load(tmp_path: Path) -> None:
    m = Model(LEX)
    m.save(tmp_path / "m")
    m2 = Model.load(tmp_path / "m")
    assert m2.cut("2024年中文分词") == m.cut("2024年中文分词")


@given(st.text(max_size=80))
def test_lossless_on_any_text(text: str) -> None:
    assert "".join(Model(LEX).cut(text)) == text


@given(
    st.text(alphabet=st.sampled_from(list("中文分词年0１.%％ 　\t👍🏽\u0301\ufdd0x")), max_size=60)
)
def test_lossless_on_mixed_text(text: str) -> None:
    assert "".join(Model(LEX).cut(text)) == text


hostile_lines = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(
            list(
                "中文分词年个0１9.．%％‰-－−abcＡé \u3000\t\r\n\x00\u200d\u0301\u3099\ufdd0"
                "——……👍🏽🇨🇳〇○々かカ"
            )
        ),
    ),
    max_size=80,
)


@pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled decoder is not built")
@settings(max_examples=500)
@given(hostile_lines, st.sampled_from([" ", "|", "  ", ""]))
def test_bulk_segment_equals_cut(text: str, sep: str) -> None:
    model = Model(LEX)
    expected = "\n".join(sep.join(model.cut(line)) for line in text.split("\n"))
    assert model.segment(text, sep) == expected
    reference = Model(LEX)
    reference.decoder = Decoder(LEX.log_probs(), LEX.unk_logp(), compiled=False)
    assert reference.segment(text, sep) == expected
