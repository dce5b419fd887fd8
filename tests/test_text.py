"""The rule layer: tokens, learnable view, losslessness on hostile Unicode."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu.text import (
    NUM,
    display,
    fragments,
    learnable_view,
    learnable_view_reference,
    tokenize,
    undisplay,
)


def kinds(text: str) -> list[tuple[str, str]]:
    return list(tokenize(text))


def test_hand_checked_tokens() -> None:
    assert kinds("共3.5斤，约１２．５％。") == [
        ("learn", "共"),
        ("num", "3.5"),
        ("learn", "斤"),
        ("other", "，"),
        ("learn", "约"),
        ("num", "１２．５％"),
        ("other", "。"),
    ]
    assert kinds("用Python和ddr5写——好…… ok") == [
        ("learn", "用"),
        ("atom", "Python"),
        ("learn", "和"),
        ("atom", "ddr5"),
        ("learn", "写"),
        ("other", "——"),
        ("learn", "好"),
        ("other", "……"),
        ("space", " "),
        ("atom", "ok"),
    ]


def test_a_minus_sign_belongs_to_its_number_unless_it_joins_two() -> None:
    assert kinds("晴－5℃／−1.5℃") == [
        ("learn", "晴"),
        ("num", "－5"),
        ("other", "℃"),
        ("other", "／"),
        ("num", "−1.5"),
        ("other", "℃"),
    ]
    # after a digit or letter the dash is a range or a hyphen; before no digit, a dash
    assert kinds("1998－2000") == [("num", "1998"), ("other", "－"), ("num", "2000")]
    assert kinds("x-5 --5 -5a") == [
        ("atom", "x"),
        ("other", "-"),
        ("num", "5"),
        ("space", " "),
        ("other", "--"),
        ("num", "5"),
        ("space", " "),
        ("other", "-"),
        ("atom", "5a"),
    ]
    assert learnable_view("零下-5度") == "零下" + NUM + "度"


def test_kana_and_extension_ideographs_are_learnable() -> None:
    assert kinds("ひらがなカタカナー𠀋") == [("learn", "ひらがなカタカナー𠀋")]
    assert kinds("・") == [("other", "・")]


def test_emoji_sequences_stay_whole() -> None:
    assert kinds("👍🏽👨\u200d👩\u200d👧🇨🇳é") == [
        ("other", "👍🏽"),
        ("other", "👨\u200d👩\u200d👧"),
        ("other", "🇨🇳"),
        ("atom", "é"),
    ]
    assert kinds("cafe\u0301s") == [("atom", "cafe\u0301s")]


def test_learnable_view_marks_numbers_and_boundaries() -> None:
    assert learnable_view("1998年，abc好") == NUM + "年\0\0好"
    assert fragments("1998年，abc好x") == [NUM + "年", "好"]
    # a literal noncharacter in the input is never mistaken for a number
    assert learnable_view("\ufdd0年") == "\0年"


def test_display_round_trip() -> None:
    assert display(NUM + "年") == "<num>年"
    assert undisplay("<num>年") == NUM + "年"


hostile = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(
            list("中文分词测试ひらカ０１２.．%％-－−a" + " 　\t\r\x00\u200d\u0301\ufdd0👍🏽🇨")
        ),
    ),
    max_size=60,
)


@given(hostile)
def test_tokens_are_lossless(text: str) -> None:
    assert "".join(tok for _, tok in tokenize(text)) == text


@settings(max_examples=500)
@given(hostile)
def test_view_agrees_with_tokens(text: str) -> None:
    view = learnable_view(text)
    assert view == learnable_view_reference(text)  # compiled twin (when built) = reference
    expected = "".join(
        tok if kind == "learn" else NUM if kind == "num" else "\0" for kind, tok in tokenize(text)
    )
    assert view == expected


def test_precomputed_tables_match_this_python() -> None:
    import unicodedata

    import pytest

    from ciyu import _unicode_tables as tables
    from ciyu.text import atom_ranges, mark_ranges

    if unicodedata.unidata_version != tables.UNIDATA_VERSION:
        pytest.skip("tables are for another Unicode version; they are computed at run time")
    assert list(tables.ATOM) == atom_ranges()
    assert list(tables.MARKS) == mark_ranges()
