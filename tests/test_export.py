"""Exports, loaded by the real libraries: jieba, Hugging Face tokenizers, sentencepiece."""

from __future__ import annotations

import functools
import io
import warnings
from pathlib import Path

import pytest
import sentencepiece as spm
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Regex, Tokenizer
from tokenizers.pre_tokenizers import Split

from ciyu import Model
from ciyu.cli import main
from ciyu.errors import ConfigError, ModelFormatError
from ciyu.export import FORMATS, export
from ciyu.export.jieba import default_jieba_dictionary, read_jieba_dictionary
from ciyu.export.spm import INSIDE_NUMBERS, LONGEST_RUN, character_pieces, symbol_chars
from ciyu.lexicon import MAX_COUNT, MIN_COUNT, Lexicon
from ciyu.text import NUM, is_learnable, rule_pattern, tokenize

with warnings.catch_warnings():  # jieba 0.42's sources have invalid escape sequences
    warnings.simplefilter("ignore")
    import jieba

# Counts chosen so that no two segmentations of the test strings tie.
LEX = Lexicon(
    {
        "中华人民共和国": 7,
        "中华": 23,
        "人民": 41,
        "共和国": 13,
        "共和": 3,
        "中": 17,
        "华": 5,
        "人": 53,
        "民": 11,
        "共": 19,
        "和": 61,
        "国": 29,
        "法律": 31,
        "法": 37,
        "律": 2,
        "と": 43,
        "ラーメン": 6,
        NUM + "年": 47,
        "年": 59,
    },
    {"method": "test"},
)
CHINESE = "中华人民共和国法律和"
LEARNABLE = CHINESE + "とラーメン年"
OTHER = "0１.%-－a ＡZé\u3000\t\x00\u200d\u0301，。！——👍🏽🇨🇳\ufdd0"


def pieces_hf(tok: Tokenizer, text: str) -> list[str]:
    return [text[a:b] for a, b in tok.encode(text, add_special_tokens=False).offsets]


@functools.cache
def hf() -> Tokenizer:
    """The hf export of LEX, loaded (not a fixture: hypothesis would print its repr)."""
    return Tokenizer.from_str(export(LEX, "hf").data.decode("utf-8"))


@functools.cache
def sp() -> spm.SentencePieceProcessor:
    """The sentencepiece export of LEX, loaded."""
    return spm.SentencePieceProcessor(model_proto=export(LEX, "sentencepiece").data)


def test_formats_registered() -> None:
    assert set(FORMATS) == {"jieba-user", "jieba-main", "hf", "sentencepiece", "sentencepiece-seed"}
    with pytest.raises(ConfigError, match="unknown export format 'xml'; choose from hf"):
        export(LEX, "xml")


def test_export_takes_a_model_and_checks_its_arguments() -> None:
    model = Model(LEX)
    for fmt in FORMATS:
        assert export(model, fmt).data == export(LEX, fmt).data
    with pytest.raises(ConfigError, match="format 'hf' has no option jieba_dict; it takes no"):
        export(model, "hf", jieba_dict="x")
    with pytest.raises(ConfigError, match="format 'jieba-user' has no option dict; its options: "):
        export(model, "jieba-user", dict="x")
    with pytest.raises(ConfigError, match="export.. takes a ciyu.Model or a ciyu.Lexicon, got str"):
        export("m.model", "hf")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_exports_of_extreme_counts(fmt: str) -> None:
    # the largest and smallest counts a lexicon accepts (ciyu.lexicon.MAX_COUNT, MIN_COUNT):
    # every export stays finite; jieba frequencies are exact integers
    huge = export(Lexicon({"中文": MAX_COUNT, "文": 1.0}), fmt)
    assert huge.entries == (3 if fmt in ("hf", "sentencepiece") else 2)  # and 中, inside 中文
    assert b"Infinity" not in huge.data and b"NaN" not in huge.data
    if fmt == "jieba-main":
        assert huge.data.decode().splitlines() == [f"中文 {2 * int(MAX_COUNT)}", "文 2"]
    tiny = export(Lexicon({"中文": 1.0, "文": MIN_COUNT}), fmt)
    assert b"Infinity" not in tiny.data and b"NaN" not in tiny.data
    # beyond them, the lexicon itself refuses the counts
    with pytest.raises(ModelFormatError, match="must be between"):
        Lexicon({"中文": 1e308, "文": 1.0})


def test_words_ciyu_never_produces_are_left_out() -> None:
    lex = Lexicon({"OK吧": 5, "中文": 3, "中": 1, "文": 1})
    assert Model(lex).cut("OK吧中文") == ["OK", "吧", "中文"]
    assert [w for w, _ in lex.vocabulary()] == ["中文", "中", "文"]
    for fmt in ("hf", "sentencepiece", "sentencepiece-seed"):
        result = export(lex, fmt)
        assert result.skipped == {
            "a character that is not learnable text: ciyu never produces it": ["OK吧"]
        }
    proto = spm.SentencePieceProcessor(model_proto=export(lex, "sentencepiece").data)
    assert proto.encode("OK吧中文", out_type=str) == ["OK", "吧", "中文"]


# -- Hugging Face -------------------------------------------------------------------


@settings(max_examples=300)
@given(
    st.text(
        alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from(list(LEARNABLE + OTHER))),
        max_size=60,
    )
)
def test_hf_pre_tokenizer_is_the_rule_layer(text: str) -> None:
    split = Split(Regex(rule_pattern("oniguruma")), "isolated")
    assert [p for p, _ in split.pre_tokenize_str(text)] == [t for _, t in tokenize(text)]


def test_hf_hand_checked() -> None:
    text = "中华人民共和国法律，OK 2024年ラーメンと👍🏽"
    assert pieces_hf(hf(), text) == [
        *["中华人民共和国", "法律", "，", "OK", " ", "2024", "年", "ラーメン", "と", "👍🏽"]
    ]
    # ids are ciyu's (<unk> = 0, then the words by rank)
    assert hf().encode("人民法律", add_special_tokens=False).ids == Model(LEX).encode(
        "人民法律", out_type=int
    )
    assert hf().decode(hf().encode("中华人民共和国").ids) == "中华人民共和国"


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list(LEARNABLE + OTHER)), max_size=50))
def test_hf_gives_ciyus_pieces(text: str) -> None:
    # ciyu joins a number to a following 年 (<num>年), the library cannot: it gives the
    # number and 年, as Model.encode does (LEX has no other word beginning with 年, so the
    # text after the number is segmented alone as it is with the number)
    model = Model(LEX)
    assert NUM + "年" in LEX
    expected = model.encode(text)
    # a zero-width joiner glues the next character to a symbol, even a known one: ciyu
    # keeps that one token, the library splits the known piece off (documented)
    if any(len(w) > 1 and "\u200d" in w and any(c in LEARNABLE for c in w) for w in expected):
        return
    assert pieces_hf(hf(), text) == expected


def test_hf_skips_the_number_class() -> None:
    result = export(LEX, "hf")
    assert result.skipped == {
        "the number class <num> has no equivalent in the library": [NUM + "年"]
    }
    assert result.entries == len(LEX.vocabulary())


# -- sentencepiece --------------------------------------------------------------------


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list(LEARNABLE)), max_size=50))
def test_sentencepiece_gives_ciyus_pieces_and_ids(text: str) -> None:
    model = Model(LEX)
    assert sp().encode(text, out_type=str) == model.cut(text)
    ids = sp().encode(text)
    assert ids == model.encode(text, out_type=int)
    assert sp().decode(ids) == text


def test_sentencepiece_vocabulary() -> None:
    # <unk>, every word but <num>年, then ラ ー メ ン (only inside ラーメン): Model's ids
    model = Model(LEX)
    assert model.vocab_size == 1 + len(LEX.vocabulary()) == len(LEX) + 4
    assert [sp().id_to_piece(i) for i in range(model.vocab_size)] == [
        model.id_to_piece(i) for i in range(model.vocab_size)
    ]
    assert [sp().id_to_piece(i) for i in range(19, 23)] == ["メ", "ラ", "ン", "ー"]  # code points
    assert sp().id_to_piece(0) == "<unk>" and sp().is_unknown(0)
    assert sp().id_to_piece(1) == "和"  # the most frequent word
    assert sp().bos_id() == sp().eos_id() == sp().pad_id() == -1
    # then the character pieces: the other learnable characters at ciyu's unknown score,
    # the symbols, and the symbols doubled
    extra = character_pieces(LEX, LEX.vocabulary())
    assert sp().get_piece_size() == model.vocab_size + len(extra)
    assert sp().id_to_piece(model.vocab_size) == "々"  # the first learnable code point
    assert sp().get_score(model.vocab_size) == pytest.approx(LEX.unk_logp(), rel=1e-6)
    pieces = set(dict(extra))
    assert {"，", "“", " ", "\u3000", "——", "……", "###", "\t", "\u200d", "-"} <= pieces
    assert not {"a", "0", "．", "%", "\u0301", "\U0001f3fd", "\U0001f1e8", "\x00"} & pieces
    assert "々" not in symbol_chars() and "，" in symbol_chars()


def test_sentencepiece_hand_checked() -> None:
    # the PKU example of issue 11: two punctuation marks, each its own piece as in ciyu
    for text, pieces in [
        ("人民：“法律”", ["人民", "：", "“", "法律", "”"]),
        ("人民 OK，", ["人民", " ", "OK", "，"]),
        ("中华——人民……", ["中华", "——", "人民", "……"]),
        ("１２．５％和12.5%和２０２４", ["１２．５％", "和", "12.5%", "和", "２０２４"]),
        ("龘龘人民𠀀", ["龘", "龘", "人民", "𠀀"]),  # unknown learnable characters
        ("🇨🇳人民😀！", ["🇨🇳", "人民", "😀", "！"]),
        ("人民－9℃／－2℃", ["人民", "－9", "℃", "／", "－2", "℃"]),  # PKU's temperatures
        ("e-mail和1998-2000", ["e", "-", "mail", "和", "1998", "-", "2000"]),
    ]:
        assert Model(LEX).cut(text) == pieces
        assert sp().encode(text, out_type=str) == pieces, text
        assert sp().decode(pieces) == text
    # the documented differences (see ciyu.export.spm)
    assert Model(LEX).cut("2024年法律") == ["2024年", "法律"]
    assert sp().encode("2024年法律", out_type=str) == ["2024", "年", "法律"]  # as Model.encode
    assert Model(LEX).cut("OK.人民") == ["OK", ".", "人民"]
    assert sp().encode("OK.人民", out_type=str) == ["OK.", "人民"]
    assert sp().encode("👍🏽", out_type=str) == ["👍", "🏽"]
    assert sp().encode("人………", out_type=str) == ["人", "………"]  # runs of up to 4
    assert [len(p) for p in sp().encode("人。。。。。。", out_type=str)] == [1, 2, 4]
    assert sp().encode("-5", out_type=str) == ["-", "5"]
    assert sp().encode("和1998－2000", out_type=str) == ["和", "1998－2000"]


def test_sentencepiece_leaves_out_what_numbers_hold() -> None:
    """INSIDE_NUMBERS is what the rule layer lets into a number or a letter/digit run,
    besides letters, digits and marks; every other symbol stands alone next to digits."""
    for char in symbol_chars():
        if char != "-":
            for text in ("1" + char + "2", char + "5", "12" + char, "a" + char + "1"):
                assert char in [t for _, t in tokenize(text)], text
        assert char not in INSIDE_NUMBERS
    for char in INSIDE_NUMBERS:
        texts = (char + "5", "1" + char + "2", "12" + char)
        assert any(len(list(tokenize(text))) == 1 for text in texts), char
    assert "-" in symbol_chars()  # a number's sign too, but mostly a hyphen


SYMBOLS = frozenset(symbol_chars())


def sentencepiece_expected(text: str) -> list[str] | None:
    """What the sentencepiece export gives for ``text``: ciyu's pieces with the documented
    differences of :mod:`ciyu.export.spm` applied (None where difference 5 applies).

    ``Model.encode`` already splits number-pattern words into the number and the rest
    (difference 1; LEX has no word beginning with 年 but 年, so the rest is segmented
    alone as it is with the number). Outside learnable text, sentencepiece cuts by
    character: the characters that are no pieces merged, a run of one piece character
    whole (differences 2 to 4). A run longer than :data:`LONGEST_RUN` is left whole here:
    :func:`join_long_runs` joins the pieces sentencepiece cuts it into.
    """
    out: list[str] = []
    pieces = Model(LEX).encode(text)
    if any(any(is_learnable(c) for c in p) and not is_learnable(p[0]) for p in pieces):
        return None  # a learnable character inside a symbol token: difference 5
    rest = ""
    for piece in [*pieces, "人"]:  # a learnable piece at the end flushes the rest
        if not is_learnable(piece[0]):
            rest += piece
            continue
        i = 0
        while i < len(rest):
            j = i + 1
            if rest[i] in SYMBOLS:
                while j < len(rest) and rest[j] == rest[i]:
                    j += 1
            else:
                while j < len(rest) and rest[j] not in SYMBOLS:
                    j += 1
            out.append(rest[i:j])
            i = j
        out.append(piece)
        rest = ""
    return out[:-1]


def join_long_runs(pieces: list[str]) -> list[str]:
    """``pieces`` with each run of one symbol longer than :data:`LONGEST_RUN` joined, after
    checking that it was cut into the fewest pieces (of at most LONGEST_RUN characters)."""
    out: list[str] = []
    parts = 1
    for piece in pieces:
        if out and piece[0] in SYMBOLS and set(out[-1] + piece) == {piece[0]}:
            out[-1] += piece
            parts += 1
            assert len(out[-1]) > LONGEST_RUN
        else:
            if out and parts > 1:
                assert parts == -(-len(out[-1]) // LONGEST_RUN)
            out.append(piece)
            parts = 1
    if out and parts > 1:
        assert parts == -(-len(out[-1]) // LONGEST_RUN)
    return out


@settings(max_examples=500)
@given(
    st.text(
        alphabet=st.one_of(
            st.characters(codec="utf-8"),
            st.sampled_from(list(LEARNABLE + OTHER + "：“”…（）《》、。\u3000\r\n龘𠀀々〇")),
        ),
        max_size=60,
    )
)
def test_sentencepiece_gives_ciyus_pieces_on_hostile_text(text: str) -> None:
    expected = sentencepiece_expected(text)
    if expected is None:
        return
    assert join_long_runs(sp().encode(text, out_type=str)) == expected


def test_sentencepiece_agrees_on_real_text(
    sample_model: Model, law_lines: list[str], tmp_path: Path
) -> None:
    """The law sample (punctuation, quotes, brackets), lines without digits: identical."""
    proto = spm.SentencePieceProcessor(model_proto=export(sample_model, "sentencepiece").data)
    lines = [line for line in law_lines[:2000] if not any(c.isdigit() for c in line)]
    assert len(lines) > 1000
    for line in lines:
        pieces = proto.encode(line, out_type=str)
        assert pieces == sample_model.cut(line), line
        ids = proto.encode(line)
        assert [i if i < len(sample_model) else 0 for i in ids] == sample_model.encode(
            line, out_type=int
        )


def test_sentencepiece_seed_file_trains(tmp_path: Path) -> None:
    seed = tmp_path / "seed.tsv"
    seed.write_bytes(export(LEX, "sentencepiece-seed").data)
    assert seed.read_text(encoding="utf-8").splitlines()[:2] == ["和\t61", "年\t59"]
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("中华人民共和国法律\n人民和法律\n共和国人民\n" * 50, encoding="utf-8")
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_writer=out,
        vocab_size=20,
        seed_sentencepieces_file=str(seed),
        minloglevel=2,
        hard_vocab_limit=False,
    )
    trained = spm.SentencePieceProcessor(model_proto=out.getvalue())
    assert "人民" in {trained.id_to_piece(i) for i in range(trained.get_piece_size())}


# -- jieba ----------------------------------------------------------------------------


def jieba_tokenizer(tmp_path: Path, **kw: Path) -> jieba.Tokenizer:
    tok = jieba.Tokenizer(**{k: str(v) for k, v in kw.items()})
    tok.tmp_dir = str(tmp_path)
    jieba.setLogLevel(60)
    return tok


def test_jieba_main_gives_ciyus_words(tmp_path: Path) -> None:
    path = tmp_path / "dict.txt"
    path.write_bytes(export(LEX, "jieba-main").data)
    tok = jieba_tokenizer(tmp_path, dictionary=path)
    model = Model(LEX)

    @settings(max_examples=300)
    @given(st.text(alphabet=st.sampled_from(list(CHINESE)), max_size=40))
    def check(text: str) -> None:
        assert list(tok.cut(text, HMM=False)) == model.cut(text)

    check()


def test_jieba_main_file(tmp_path: Path) -> None:
    result = export(LEX, "jieba-main")
    lines = result.data.decode("utf-8").splitlines()
    assert lines[:2] == ["和 122", "年 118"]  # counts ×2: unknown characters price as in ciyu
    assert sorted(result.skipped) == [
        "a character jieba's default cut never gives its dictionary",
        "jieba has no number class (<num>)",
    ]
    assert sorted(result.skipped["a character jieba's default cut never gives its dictionary"]) == [
        "と",
        "ラーメン",
    ]


def test_jieba_user_words_survive_jiebas_dictionary(tmp_path: Path) -> None:
    # 共和 is in jieba's dictionary with a high frequency; 和国 too. Words of the model
    # must still come out whole once the user dictionary is loaded
    lex = Lexicon({"人民共和": 3, "共和国法": 2, "的": 100, "律法": 1})
    user = tmp_path / "user.txt"
    result = export(lex, "jieba-user")
    user.write_bytes(result.data)
    assert "tuned to the jieba dictionary" in result.notes[0]
    tok = jieba_tokenizer(tmp_path)
    with open(user, "rb") as fh:  # jieba does not close a file it opens itself
        tok.load_userdict(fh)
    for word in ("人民共和", "共和国法", "律法"):
        assert list(tok.cut(word, HMM=False)) == [word]
    # a word's probability is kept: its count is scaled to jieba's total
    base = default_jieba_dictionary()
    assert base is not None
    jieba_total = sum(read_jieba_dictionary(base).values())
    assert read_jieba_dictionary(user)["的"] == round(100 / lex.total * jieba_total)


def test_export_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.model"
    LEX.save(model)
    out = tmp_path / "tokenizer.json"
    assert main(["export", "-m", str(model), "--format", "hf", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "ciyu: 1 word(s) skipped: the number class <num> has no equivalent" in err
    assert pieces_hf(Tokenizer.from_file(str(out)), "人民法律") == ["人民", "法律"]
    code = main(["export", "-m", str(model), "--format", "hf", "-o", str(out), "--jieba-dict", "x"])
    assert code == 2
    assert "--jieba-dict applies to --format jieba-user only" in capsys.readouterr().err
    code = main(["export", "-m", str(tmp_path / "none"), "--format", "hf", "-o", str(out)])
    assert code == 2
    assert "no such model file" in capsys.readouterr().err
