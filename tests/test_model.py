"""Model: cutting with rules and lexicon, numbers, encode/decode, losslessness."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu import Model
from ciyu.decoder import HAVE_COMPILED, Decoder
from ciyu.errors import ConfigError, InputError, ModelFormatError
from ciyu.lexicon import Lexicon
from ciyu.model import UNK_SURFACE
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
    # ids lose the text of unknown pieces, as in sentencepiece; they never raise
    assert m.decode(ids) == "中文分词 \u2047 " == "中文分词" + UNK_SURFACE
    # numpy ids too (accepted at run time; the signature names only Python ints)
    assert m.decode(np.array(ids)) == m.decode(ids)
    assert m.decode(1) == "中文" and m.decode(0) == UNK_SURFACE and m.decode("分词") == "分词"
    for bad in (-1, m.vocab_size, 10**20):
        with pytest.raises(
            ConfigError, match=r"is outside the vocabulary \(ids 0 \.\. 7, 0 = <unk>\)"
        ):
            m.decode([bad])
    with pytest.raises(ConfigError, match="a piece is a str and an id an int, got 1.0"):
        m.decode([1.0])  # type: ignore[arg-type]


def test_encode_validates_out_type() -> None:
    m = Model(LEX)
    with pytest.raises(ConfigError, match="out_type must be str .* or int .*; got <class 'float'>"):
        m.encode("中文", out_type=float)  # type: ignore[arg-type]
    assert m.encode("中文", int) == [1] and m.encode("中文", str) == ["中文"]


def test_number_words_encode_as_the_number_and_the_rest() -> None:
    # <num>年 is a word of the model but no piece of its vocabulary: encode gives the
    # number (unknown, as in the exports) and 年 (a piece), not one <unk>
    m = Model(LEX)
    assert m.cut("2024年中文") == ["2024年", "中文"]
    assert m.encode("2024年中文") == ["2024", "年", "中文"]
    assert m.encode("2024年中文", out_type=int) == [0, m.piece_to_id("年"), 1]
    assert m.piece_to_id("年") == 5  # 中文 5, 分词 3, then count 1 by code point: 中 分 年
    lex = Lexicon({NUM + "年" + NUM + "月": 5, "年": 3, "月": 2, "中文": 1})
    assert Model(lex).encode("2021年1月中文") == ["2021", "年", "1", "月", "中文"]
    assert Model(lex).cut("2021年1月中文") == ["2021年1月", "中文"]


def test_vocabulary_as_sentencepiece_has_it() -> None:
    m = Model(LEX)
    pieces = ["<unk>", "中文", "分词", "中", "分", "年", "文", "词"]  # by count, code point
    assert [m.id_to_piece(i) for i in range(len(m))] == pieces
    assert m.id_to_piece([1, 2]) == ["中文", "分词"]
    assert m.id_to_piece(np.int64(1)) == "中文"
    assert [m.piece_to_id(p) for p in pieces] == list(range(8))
    assert m.piece_to_id(["分词", "xyz", "<num>年"]) == [2, 0, 0]
    assert len(m) == m.vocab_size == m.get_piece_size() == 8  # <unk> included
    assert repr(m) == "<ciyu.Model method=? words=8>"  # the lexicon: 8 words, <num>年 one
    with pytest.raises(ConfigError, match="id 8 is outside the vocabulary"):
        m.id_to_piece(8)


def test_cut_is_a_list_and_lcut_the_same() -> None:
    m = Model(LEX)
    assert m.lcut("中文分词") == m.cut("中文分词") == ["中文", "分词"]
    assert Model.lcut is Model.cut
    assert list(m.cut_lines(["中文", "分词"])) == [["中文"], ["分词"]]


def test_the_model_keeps_its_own_lexicon() -> None:
    lex = Lexicon({"中文": 5, "分词": 3, "中": 1, "文": 1, "分": 1, "词": 1}, {"method": "x"})
    m = Model(lex)
    ids = m.encode("中文分词文分", out_type=int)
    lex.counts["文分"] = 100.0  # later changes to the lexicon do not reach the model
    lex.meta["method"] = "y"
    assert "文分" not in m.lexicon and m.meta["method"] == "x"
    assert m.cut("中文分词文分") == ["中文", "分词", "文", "分"]
    assert m.encode("中文分词文分", out_type=int) == ids
    assert m.lexicon == Lexicon(
        {"中文": 5, "分词": 3, "中": 1, "文": 1, "分": 1, "词": 1}, {"method": "x"}
    )
    # the model's lexicon is read-only, with a message that says what to do instead
    for change in (
        lambda: m.lexicon.counts.__setitem__("文分", 1.0),
        lambda: m.lexicon.counts.pop("中文"),
        lambda: m.lexicon.counts.update({"文分": 1.0}),
        lambda: m.lexicon.meta.clear(),
        lambda: setattr(m.lexicon, "counts", {}),
    ):
        with pytest.raises(ConfigError, match="a Model's lexicon is read-only"):
            change()
    assert m.cut("文分") == ["文", "分"]
    # copies of it are ordinary and changeable
    for counts in (dict(m.lexicon.counts), m.lexicon.counts.copy(), copy.copy(m.lexicon.counts)):
        counts["文分"] = 100.0
        assert Model(Lexicon(counts)).cut("文分") == ["文分"]
    assert type(pickle.loads(pickle.dumps(m.lexicon.counts))) is dict


def test_model_checks_what_it_is_given() -> None:
    with pytest.raises(ConfigError, match=r"Model\(\) takes a ciyu.Lexicon, got dict"):
        Model({"中文": 1})  # type: ignore[arg-type]
    lex = Lexicon({"中文": 1})
    lex.counts["分词"] = -1.0  # changed after the Lexicon checked it
    with pytest.raises(ModelFormatError, match="count of 分词 must be between"):
        Model(lex)


def test_lone_surrogates_follow_errors() -> None:
    m = Model(LEX)
    text = "中文\n分词\ud800"
    message = (
        "text: lone surrogate U+D800 at index 5 (line 2) is not Unicode text and cannot be "
        "written as UTF-8; fix the string, or pass errors='replace' to read it as U+FFFD"
    )
    for call in (m.cut, m.lcut, m.segment, m.encode):
        with pytest.raises(InputError) as err:
            call(text)
        assert str(err.value) == message
    assert m.cut(text, errors="replace") == ["中文", "\n", "分词", "\ufffd"]
    assert m.segment(text, errors="replace") == "中文\n分词 \ufffd"
    assert m.encode(text, out_type=int, errors="replace") == [1, 0, 2, 0]
    with pytest.raises(InputError, match=r"lines\[1\]: lone surrogate U\+DC80 at index 0"):
        list(m.cut_lines(["中文", "\udc80"]))
    with pytest.raises(InputError, match="sep: lone surrogate"):
        m.segment("中文", sep="\udfff")
    with pytest.raises(InputError, match="text is bytes, not str"):
        m.cut(b"abc")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="errors must be 'strict' or 'replace'"):
        m.cut("中文", errors="ignore")


@given(st.text(max_size=60), st.sampled_from([" ", "/"]))
def test_surrogates_replaced_everywhere(text: str, sep: str) -> None:
    m = Model(LEX)
    dirty = text + "\ud800"
    clean = text + "\ufffd"
    assert m.cut(dirty, errors="replace") == m.cut(clean)
    assert m.segment(dirty, sep, errors="replace") == m.segment(clean, sep)
    assert m.encode(dirty, int, errors="replace") == m.encode(clean, int)


def test_save_load(tmp_path: Path) -> None:
    m = Model(LEX)
    m.save(tmp_path / "m")
    m2 = Model.load(tmp_path / "m")
    assert m2.cut("2024年中文分词") == m.cut("2024年中文分词")


@given(st.text(max_size=80))
def test_lossless_on_any_text(text: str) -> None:
    model = Model(LEX)
    assert "".join(model.cut(text)) == text
    pieces = model.encode(text)
    assert model.decode(pieces) == "".join(pieces) == text
    ids = model.encode(text, out_type=int)
    assert all(0 <= i < len(model) for i in ids)
    assert model.decode(ids) == "".join(p if model.piece_to_id(p) else UNK_SURFACE for p in pieces)


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


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.decode(None), "decode takes a list of pieces .str. or of ids .int., got None"),
        (lambda m: m.decode(1.5), "decode takes a list of pieces"),
        (lambda m: m.id_to_piece("a"), "a piece is a str and an id an int, got 'a'"),
        (lambda m: m.id_to_piece(None), "a piece is a str and an id an int, got None"),
        (lambda m: m.piece_to_id(5), "piece_to_id takes a piece .str. or a list of pieces, got 5"),
        (lambda m: m.piece_to_id([1]), "piece_to_id takes a piece"),
        (lambda m: list(m.cut_lines(None)), "cut_lines takes an iterable of lines, got NoneType"),
        (lambda m: list(m.cut_lines("中文")), "cut_lines takes an iterable of lines, got str"),
        (
            lambda m: Model.load(None),  # type: ignore[arg-type]
            "Model.load takes a path .str or os.PathLike., got None",
        ),
    ],
)
def test_misuse_raises_config_errors(call: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call(Model(LEX))
