"""The rule layer: tokens, learnable view, losslessness on hostile Unicode."""

from __future__ import annotations

import re
import shutil
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu import _gen_tables
from ciyu._compiled import HAVE_COMPILED
from ciyu._grammar import (
    PYTHON,
    AnyChar,
    Rule,
    chars,
    opt,
    plus,
    render_pattern,
    seq,
)
from ciyu.lexicon import Lexicon
from ciyu.text import (
    LEARNABLE_RANGES,
    NUM,
    RULES,
    automaton_key,
    automaton_tables,
    character_sets,
    compile_rule_layer,
    compiled_rules,
    display,
    fragments,
    learnable_view,
    learnable_view_reference,
    tokenize,
    tokenize_reference,
    undisplay,
    unicode_tables,
)

needs_compiled = pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled layer is not built")


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
    assert fragments("1998年，abc好x") == [NUM + "年", "好x"]  # a lone letter joins the run
    assert fragments("维A酸，AB型，维生素A1，CD4+T细胞") == ["维A酸", "型", "维生素", "T细胞"]
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
    assert list(tokenize(text)) == list(tokenize_reference(text))


# -- one rule layer, two engines: long inputs ------------------------------------------

RUN_CHARS = list("\u0301\u200d-－−.．%％—🇨中a1 \u3099\ufdd0🏽\t年〇")
RUN_UNITS = [
    *["👨\u200d", "a\u0301", "-1", "1.", ".1", "－5", "x-5", "中1", "1年", "a\u200d"],
    *["\u200d\u200d ", "🇨🇳", "1998－2000", "1.5%", "5a", "-\u0301", "\u0301-1", "\n"],
]
long_text = st.lists(
    st.one_of(
        # a number with thousands of decimal parts, then what may end it or glue it
        st.builds(
            lambda n, point, tail: "1" + (point + "5") * n + tail,
            st.integers(0, 3000),
            st.sampled_from([".", "．"]),
            st.sampled_from(["", "%", "％", "a", "\u0301", ".", "年", "5a", "-", "\n"]),
        ),
        # long runs of one character (marks, joiners, signs, points, flags, ...)
        st.builds(lambda n, ch: ch * n, st.integers(1, 3000), st.sampled_from(RUN_CHARS)),
        # long repetitions of short hostile sequences
        st.builds(lambda n, unit: unit * n, st.integers(1, 1000), st.sampled_from(RUN_UNITS)),
        hostile,
    ),
    max_size=8,
).map("".join)


@settings(max_examples=60)
@given(long_text)
def test_long_text_same_tokens_and_view_in_both_engines(text: str) -> None:
    assert list(tokenize(text)) == list(tokenize_reference(text))
    assert learnable_view(text) == learnable_view_reference(text)


LONG_LEX = Lexicon({"中文": 5, "中": 2, "文": 2, NUM + "年": 4, "年": 3, NUM: 2, "〇年": 1})


@settings(max_examples=60)
@given(long_text, st.sampled_from([" ", "|", ""]))
def test_long_text_bulk_segment_equals_cut(text: str, sep: str) -> None:
    model = ciyu.Model(LONG_LEX)
    lines = model.segment(text, sep).split("\n")
    assert lines == [sep.join(model.cut(line)) for line in text.split("\n")]


def test_a_number_of_any_length_is_one_number() -> None:
    # the old compiled scanner gave up after 64 decimal parts and made it an atom
    for n in (63, 64, 65, 100, 5000):
        number = "1" + ".5" * n
        assert kinds("年" + number + "年") == [("learn", "年"), ("num", number), ("learn", "年")]
        assert learnable_view("年" + number + "年") == "年" + NUM + "年"
        assert learnable_view(number + "a") == NUM + "\0\0"  # 1.5...5 . 5a
        model = ciyu.Model(LONG_LEX)
        assert model.segment(number + "年") == " ".join(model.cut(number + "年"))


def test_the_engines_backtrack_alike() -> None:
    # a run of one character comes before the joiner sequences after it: the greedy run
    # of three joiners is the token, not the longer "joiner + any" reading
    assert kinds("\u200d\u200d\u200d a") == [
        ("other", "\u200d\u200d\u200d"),
        ("space", " "),
        ("atom", "a"),
    ]
    assert kinds("-5a") == [("other", "-"), ("atom", "5a")]
    assert kinds("a-5") == [("atom", "a"), ("other", "-"), ("num", "5")]
    assert kinds("1.5.5a") == [("num", "1.5"), ("other", "."), ("atom", "5a")]


@needs_compiled
@settings(max_examples=200)
@given(st.text(alphabet="ab12中-. \u0301%\n", max_size=40))
def test_a_changed_rule_list_reaches_the_compiled_layer(text: str) -> None:
    # another rule layer, written only in Python: Latin words take part in learning as
    # one symbol class, digits join learnable runs as characters; C follows unchanged
    sets = {
        "latin": ((0x41, 0x5A), (0x61, 0x7A)),
        "digit": ((0x30, 0x39),),
        "learn": LEARNABLE_RANGES,
        "minus": ((0x2D, 0x2D),),
    }
    rules = (
        Rule("word", "atom", plus(chars("latin")), view="\ufdd1"),
        Rule("cjk", "learn", plus(chars("learn", "digit")), view=""),
        Rule("neg", "num", seq(chars("minus"), plus(chars("digit"))), view=NUM),
        Rule("dash", "other", seq(chars("minus"), opt(chars("minus"))), view=None),
        Rule("any", "other", AnyChar(), view=None),
    )
    compiled = compile_rule_layer(rules, sets)
    pattern = re.compile(render_pattern(rules, sets, PYTHON), re.DOTALL)
    names = [r.name for r in rules]
    assert [(names[k], end) for k, end in compiled.scan(text)] == [
        (m.lastgroup, m.end()) for m in pattern.finditer(text)
    ]
    views = {r.name: r.view for r in rules}

    def view_of(m: re.Match[str]) -> str:
        view = views[m.lastgroup or ""]
        return "\0" if view is None else view or m.group()

    assert compiled.learnable_view(text) == pattern.sub(view_of, text)


# -- the Unicode tables ----------------------------------------------------------------

SHIPPED = Path(ciyu.__file__).with_name("_unicode_tables.py")


def test_tables_are_shipped_for_every_supported_python() -> None:
    from ciyu._unicode_tables import TABLES

    # the Unicode versions of Python 3.11, 3.12 and 3.13: no start-up computation there
    assert {"14.0.0", "15.0.0", "15.1.0"} <= set(TABLES)
    if unicodedata.unidata_version in TABLES:
        assert unicode_tables() is TABLES[unicodedata.unidata_version]


def test_the_tables_in_use_match_this_python() -> None:
    alnum, marks = unicode_tables()
    ref_alnum, ref_marks = [], []
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if ch.isalnum():
            ref_alnum.append(cp)
        if unicodedata.category(ch) in ("Mn", "Mc", "Me"):
            ref_marks.append(cp)
    assert [cp for lo, hi in alnum for cp in range(lo, hi + 1)] == ref_alnum
    assert [cp for lo, hi in marks for cp in range(lo, hi + 1)] == ref_marks
    # the fast computation used for a version that is not shipped agrees too
    assert _gen_tables.alnum_ranges() == tuple(alnum)
    assert _gen_tables.mark_ranges() == tuple(marks)


def test_regenerating_the_tables_gives_the_same_file(tmp_path: Path) -> None:
    copy = tmp_path / "_unicode_tables.py"
    shutil.copyfile(SHIPPED, copy)
    _gen_tables.write_tables(copy)
    assert copy.read_bytes() == SHIPPED.read_bytes()
    # and from nothing, this version's entry alone
    fresh = tmp_path / "fresh.py"
    _gen_tables.write_tables(fresh)
    assert _gen_tables.read_tables(fresh) == {
        unicodedata.unidata_version: _gen_tables.read_tables(SHIPPED)[unicodedata.unidata_version]
    }


# -- the shipped rule automaton --------------------------------------------------------


def test_regenerating_the_automata_gives_the_same_file() -> None:
    from ciyu import _gen_automaton

    shipped = Path(ciyu.__file__).with_name("_rule_automaton.py")
    assert _gen_automaton.render(_gen_automaton.automata()) == shipped.read_text("utf-8"), (
        "the rules or character sets changed: run `python -m ciyu._gen_automaton`"
    )


@needs_compiled
def test_the_shipped_automaton_is_the_one_built_from_the_rules() -> None:
    from ciyu._rule_automaton import AUTOMATA

    sets = character_sets()
    key = automaton_key(RULES, sets)
    if unicodedata.unidata_version in {"14.0.0", "15.0.0", "15.1.0"} and sys.byteorder == "little":
        assert key in AUTOMATA  # no automaton is built at start-up on a supported Python
    assert AUTOMATA.get(key, automaton_tables(RULES, sets)) == automaton_tables(RULES, sets)
    # the runs of classes decode to every code point's class: the rule layer in use scans
    # as the one built here, on every kind of character
    built = compile_rule_layer(RULES, sets)
    text = (
        "".join(chr(cp) for cp in range(0, 0x110000, 7) if not 0xD800 <= cp <= 0xDFFF)
        + "维A酸 １２．５％ -3.5 ——🇨🇳👍🏽 e\u0301 X光"
    )
    assert list(compiled_rules().scan(text)) == list(built.scan(text))
    assert compiled_rules().learnable_view(text) == built.learnable_view(text)
