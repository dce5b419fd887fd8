"""Existing dictionaries: bases for --base, references for --new-only."""

from __future__ import annotations

from pathlib import Path

import pytest

from ciyu import dictionary
from ciyu.cli import main
from ciyu.errors import ConfigError, InputError
from conftest import SAMPLE

REFERENCE = {
    "的": 300000,
    "了": 200000,
    "是": 250000,
    "也": 150000,
    "不": 300000,
    "到": 100000,
    "一种": 20000,
    "示出": 300,
    "色素": 500,
    "沉着": 800,
    "韩": 600,
    "立": 900,
    "中国": 50000,
    "人民": 40000,
}


@pytest.fixture
def reference(tmp_path: Path) -> dictionary.Dictionary:
    # and 200 words of middling frequency, as a real dictionary has (about half of the
    # running words are in its most frequent words)
    middling = {chr(0x5000 + i) + chr(0x6000 + i): 6000 for i in range(200)}
    path = tmp_path / "ref.txt"
    lines = [f"{w} {f}\n" for w, f in {**REFERENCE, **middling}.items()]
    path.write_text("".join(lines), encoding="utf-8")
    return dictionary.load(path)


def test_common_threshold_is_the_median_running_word() -> None:
    # 90 + 60 = 150 of 200 running words: half is reached at the second word
    assert dictionary.common_threshold({"a": 90, "b": 60, "c": 30, "d": 20}) == 60


def test_function_phrases_are_told_from_new_words(reference: dictionary.Dictionary) -> None:
    phrase = dictionary.PhraseTest(reference)
    # a common one-character word (function word) with other words of the reference
    assert phrase("到了") and phrase("也不") and phrase("是一种") and phrase("示出了")
    # rare characters (a name), a compound of longer words (a term), strings with a
    # character the reference lacks, and the reference's own words are not phrases
    assert not phrase("韩立") and not phrase("色素沉着") and not phrase("伊曲康唑")
    assert not phrase("的") and not phrase("中国")


def test_a_plain_word_list_is_judged_with_the_corpus_frequencies(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("的\n了\n韩\n立\n中国\n", encoding="utf-8")
    plain = dictionary.load(path)
    assert not plain.has_frequencies
    corpus = {"的": 500.0, "了": 300.0, "韩": 5.0, "立": 5.0, "中国": 20.0}
    phrase = dictionary.PhraseTest(plain, corpus)
    assert phrase("中国的") and not phrase("韩立")


def test_jieba_names_the_installed_dictionary(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("jieba", reason="pip install -e '.[test]' for jieba")
    assert dictionary.resolve("jieba").name == "dict.txt"
    monkeypatch.setattr(dictionary, "default_jieba_dictionary", lambda: None)
    with pytest.raises(ConfigError, match="pip install jieba"):
        dictionary.resolve("jieba")
    with pytest.raises(InputError, match="no such dictionary file"):
        dictionary.resolve("/no/such/file.txt")


def test_discover_new_only_defaults_to_jieba_and_leaves_out_phrases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("jieba", reason="pip install -e '.[test]' for jieba")
    out = tmp_path / "new.tsv"
    assert main(["discover", str(SAMPLE), "--new-only", "--top", "300", "-o", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0][-1] == "in_reference" and all(r[-1] == "no" for r in rows[1:])
    found = {r[0] for r in rows[1:]}
    assert "慈善组织" in found  # a term of the laws that jieba 0.42 lacks
    phrase = dictionary.PhraseTest(dictionary.load("jieba"))
    assert not any(phrase(w) for w in found)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("中文 -5", "frequency -5 of '中文' must be positive"),
        ("中文 0", "frequency 0 of '中文' must be positive"),
        ("中文 1e400", "frequency 1e400 of '中文' must be positive"),
        ("中文 3x", "expected 'word \\[freq \\[tag\\]\\]'"),
        ("中文 n 3", "expected 'word \\[freq \\[tag\\]\\]'"),
        ("中文 3 n extra", "expected 'word \\[freq \\[tag\\]\\]'"),
    ],
)
def test_a_bad_dictionary_line_is_named(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "d.txt"
    path.write_text(f"法律 10 n\n{line}\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"^{path}:2: {message}"):
        dictionary.load(path)


def test_dictionary_lines_of_every_jieba_shape(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_text("中文 3 n\n分词 4\n法律 v\n刑法\n民法 2.5\n", encoding="utf-8")
    loaded = dictionary.load(path)
    # words without a frequency get the median of the given ones (3, 4, 2.5 → 3)
    assert loaded.counts == {"中文": 3, "分词": 4, "法律": 3, "刑法": 3, "民法": 2.5}


def test_a_dictionary_that_is_not_utf8_gets_the_conversion_fix(tmp_path: Path) -> None:
    path = tmp_path / "d.txt"
    path.write_bytes("中文 3\n".encode() + "分词 4\n".encode("gb18030"))
    with pytest.raises(InputError, match=r":2: invalid UTF-8 .* `iconv -f GB18030 -t UTF-8`\)$"):
        dictionary.load(path)
