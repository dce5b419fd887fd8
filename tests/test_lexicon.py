"""The model file: round trip, atomic writes, validation with file and line."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ciyu.cli import main
from ciyu.decoder import Decoder
from ciyu.errors import ConfigError, ModelFormatError
from ciyu.export import export
from ciyu.learners import MinentConfig
from ciyu.learners.base import count_segmentation, make_context
from ciyu.lexicon import MAX_WORD_LEN, Lexicon
from ciyu.model import Model
from ciyu.text import NUM


def test_round_trip_is_exact_and_readable(tmp_path: Path) -> None:
    lex = Lexicon({"中文": 3, "分词": 3, NUM + "年": 2.5, "的": 7}, {"method": "test"})
    path = tmp_path / "m.ciyu"
    lex.save(path)
    text = path.read_text(encoding="utf-8")
    assert text.splitlines()[0] == "#ciyu-model\t2"
    assert text.splitlines()[2:-1] == ["的\t7", "中文\t3", "分词\t3", "<num>年\t2.5"]
    body, _, last = text.rstrip("\n").rpartition("\n")
    assert last == "#sha256\t" + hashlib.sha256((body + "\n").encode("utf-8")).hexdigest()
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
        ("#ciyu-model\t1\n#meta\t{}\n甲\t-1\n", "m.ciyu:3: count '-1' is out of range"),
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


# --- damaged and hostile model files (issue 11, item 6) -------------------------------


@contextlib.contextmanager
def _unreadable(path: Path) -> Iterator[None]:
    """Make ``path`` unreadable for the duration: by its mode, or, as root (whom modes do
    not stop), by dropping the effective user id to nobody's."""
    if os.geteuid() == 0:
        os.seteuid(65534)
        try:
            yield
        finally:
            os.seteuid(0)
    else:
        mode = path.stat().st_mode
        path.chmod(0)
        try:
            yield
        finally:
            path.chmod(mode)


def _model(tmp_path: Path, name: str = "m.ciyu") -> tuple[Lexicon, Path]:
    lex = Lexicon({"中文": 5, "分词": 3, "中": 1, "文": 1, "分": 1, "词": 1.5, NUM + "年": 2})
    path = tmp_path / name
    lex.save(path)
    return lex, path


def _segment_error(path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """The CLI's stderr when segmenting with the model at ``path``: exactly one line."""
    corpus = path.parent / "text.txt"
    corpus.write_text("中文分词\n", encoding="utf-8")
    return _cli_error(["segment", "-m", str(path), str(corpus)], capsys)


def _cli_error(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("ciyu: error: ") and err.count("\n") == 1, err
    return err


def test_unreadable_model_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, path = _model(tmp_path)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("中文".encode())))
    with _unreadable(path):
        with pytest.raises(ModelFormatError, match="m.ciyu: permission denied"):
            Lexicon.load(path)
        assert "m.ciyu: permission denied" in _cli_error(["segment", "-m", str(path)], capsys)
    with pytest.raises(ModelFormatError, match="is a directory"):
        Model.load(tmp_path)


def test_deeply_nested_metadata_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.ciyu"
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(f'#ciyu-model\t1\n#meta\t{{"x": {deep}}}\n甲\t1\n', encoding="utf-8")
    for load in (Lexicon.load, Model.load):
        with pytest.raises(ModelFormatError, match="m.ciyu:2: metadata is nested more than 32"):
            load(path)
    # a text on which a regular expression for JSON strings would backtrack for hours
    path.write_text('#ciyu-model\t1\n#meta\t"' + '\\"' * 400_000 + "\n", encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(ModelFormatError, match="m.ciyu:2: metadata is not valid JSON"):
        Lexicon.load(path)
    assert time.perf_counter() - start < 10
    strings = '"' + "[[[[" * 1000 + '"'  # brackets inside strings do not count
    path.write_text(f'#ciyu-model\t1\n#meta\t{{"x": {strings}}}\n甲\t1\n', encoding="utf-8")
    assert Lexicon.load(path).meta == {"x": "[[[[" * 1000}
    path.write_text("#ciyu-model\t1\n#meta\t" + " " * (1 << 21) + "{}\n甲\t1\n", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="m.ciyu:2: metadata is 2,097,154 characters"):
        Lexicon.load(path)
    with pytest.raises(ModelFormatError, match="cannot save metadata of more than .* 32 levels"):
        Lexicon({"甲": 1}, {"x": json.loads("[" * 40 + "]" * 40)}).save(path)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["中\t1e308", "文\t1e308"], "m.ciyu:3: count '1e308' is out of range"),
        (["中\t1e308"], "count '1e308' is out of range"),
        (["中\t1e-320", "文\t1e-320"], "count '1e-320' is out of range"),
        (["中\t1e16"], "count '1e16' is out of range: counts are numbers from 1e-06 to 1e\\+15"),
        (["中\tnan"], "count 'nan' is out of range"),
        (["中\tinf"], "count 'inf' is out of range"),
        (["中\t1_000"], "count '1_000' is not written as a plain decimal number"),
        (["中\t 5"], "count ' 5' is not written as a plain decimal number"),
        (["中\t0.25", "文\t0.5"], "m.ciyu: the counts add up to 0.75; they must add up to at"),
    ],
)
def test_counts_out_of_range_are_refused(
    tmp_path: Path, lines: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.ciyu"
    path.write_text("#ciyu-model\t1\n#meta\t{}\n" + "".join(f"{x}\n" for x in lines), "utf-8")
    with pytest.raises(ModelFormatError, match=message):
        Lexicon.load(path)
    _segment_error(path, capsys)


@pytest.mark.parametrize("counts", [{"中": 1e308, "文": 1e308}, {"中": 1e-320}, {"中": 0.5}])
def test_lexicon_refuses_counts_out_of_range(counts: dict[str, float]) -> None:
    with pytest.raises(ModelFormatError, match="must be between 1e-06 and 1e\\+15|at least 1"):
        Lexicon(counts)


@given(
    st.dictionaries(
        st.text(alphabet="中文分词甲乙丙丁", min_size=1, max_size=4),
        st.one_of(
            st.floats(min_value=1e-6, max_value=1e15), st.integers(min_value=1, max_value=10**15)
        ),
        min_size=1,
    )
)
def test_every_accepted_lexicon_has_finite_scores(counts: dict[str, float]) -> None:
    """The accepted range of counts is exactly what keeps every score finite and sane."""
    try:
        lex = Lexicon(counts)
    except ModelFormatError as exc:
        assert "must add up to at least 1" in str(exc)
        assert math.fsum(counts.values()) < 1
        return
    unk = lex.unk_logp()
    assert math.isfinite(lex.total) and math.isfinite(unk) and unk < 0
    assert all(math.isfinite(lp) and lp <= 0 for lp in lex.log_probs().values())
    assert all(math.isfinite(lp) for _, lp in lex.vocabulary())
    assert len(main_export_bytes(lex)) > 0


def main_export_bytes(lex: Lexicon) -> bytes:
    """Every export of the lexicon but ``jieba-user`` (which reads jieba's dictionary),
    concatenated: none may overflow or hold an infinite number."""
    data = b"".join(
        export(lex, fmt).data for fmt in ("jieba-main", "hf", "sentencepiece", "sentencepiece-seed")
    )
    assert b"Infinity" not in data and b"NaN" not in data
    return data


def test_crlf_and_bom_models_load(tmp_path: Path) -> None:
    """Windows line ends and a byte order mark are accepted: the checksum is over the
    lines, not their ends."""
    lex, path = _model(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data.replace(b"\n", b"\r\n"))
    assert Lexicon.load(path).counts == lex.counts
    path.write_bytes(b"\xef\xbb\xbf" + data)
    assert Lexicon.load(path).counts == lex.counts


def test_control_characters_are_escaped_in_messages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.ciyu"
    path.write_bytes(b"#ciyu-model\t1\r\n#meta\t{}\r\n\xe7\x94\xb2\t1\r\r\n")
    with pytest.raises(ModelFormatError) as info:
        Lexicon.load(path)
    assert "\r" not in str(info.value) and "'1\\r'" in str(info.value)
    path.write_bytes(b"#ciyu-model\t1\r\r\n#meta\t{}\n")
    with pytest.raises(ModelFormatError, match="version 1\\\\r is not supported"):
        Lexicon.load(path)
    odd = tmp_path / "a\rb\n.ciyu"
    with pytest.raises(ModelFormatError, match="a\\\\rb\\\\n.ciyu: no such model file"):
        Lexicon.load(odd)
    err = _segment_error(path, capsys)
    assert "\r" not in err


def test_invalid_utf8_is_reported_with_line_and_offset(tmp_path: Path) -> None:
    _, path = _model(tmp_path)
    data = path.read_bytes()
    cut = data.index("分词".encode()) + 1  # inside 分
    path.write_bytes(data[:cut])
    lineno = data[:cut].count(b"\n") + 1
    with pytest.raises(
        ModelFormatError,
        match=f"m.ciyu:{lineno}: file is truncated \\(it ends inside a character, "
        f"at byte offset {cut - 1}\\)",
    ):
        Lexicon.load(path)
    damaged = bytearray(data)
    damaged[cut - 1] = 0xFF
    path.write_bytes(bytes(damaged))
    with pytest.raises(
        ModelFormatError,
        match=f"m.ciyu:{lineno}: invalid UTF-8 byte 0xff at byte offset {cut - 1}",
    ):
        Lexicon.load(path)


def test_every_bit_flip_is_detected(tmp_path: Path) -> None:
    _, path = _model(tmp_path)
    data = path.read_bytes()
    fd = os.open(path, os.O_WRONLY)
    try:
        for pos in range(len(data)):
            for bit in range(8):
                os.pwrite(fd, bytes([data[pos] ^ (1 << bit)]), pos)
                with pytest.raises(ModelFormatError, match="m.ciyu"):
                    Lexicon.load(path)
            os.pwrite(fd, data[pos : pos + 1], pos)
    finally:
        os.close(fd)
    assert path.read_bytes() == data


def test_hand_edited_model_and_how_to_keep_it(tmp_path: Path) -> None:
    lex, path = _model(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("中文\t5\n", "中文\t50\n"), encoding="utf-8")
    lines = text.count("\n")
    with pytest.raises(
        ModelFormatError,
        match=f"m.ciyu:{lines}: checksum mismatch: the model is damaged .* "
        "to keep your edits, delete this last line",
    ):
        Lexicon.load(path)
    edited = path.read_text(encoding="utf-8")
    path.write_text(edited[: edited.rindex("#sha256")], encoding="utf-8")
    loaded = Lexicon.load(path)
    assert loaded.counts == {**lex.counts, "中文": 50}
    loaded.save(path)  # saving again writes a new checksum
    assert path.read_text(encoding="utf-8").splitlines()[-1].startswith("#sha256\t")
    assert Lexicon.load(path).counts == loaded.counts
    path.write_text(path.read_text(encoding="utf-8") + "甲\t1\n", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="text after the checksum line"):
        Lexicon.load(path)


def test_version_1_models_still_load(tmp_path: Path) -> None:
    path = tmp_path / "old.ciyu"
    path.write_text(
        '#ciyu-model\t1\n#meta\t{"method": "cohesion", "n_words": 2, "total": "4"}\n'
        "中文\t3\n<num>年\t1\n",
        encoding="utf-8",
    )
    loaded = Lexicon.load(path)
    assert loaded.counts == {"中文": 3, NUM + "年": 1}
    assert loaded.meta == {"method": "cohesion"}
    path.write_text("#ciyu-model\t1\n#meta\t{}\n中文\t3\n", encoding="utf-8")
    assert Lexicon.load(path).counts == {"中文": 3}
    path.write_text("#ciyu-model\t2\n#meta\t{}\n中文\t3\n", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="m.ciyu:2: metadata field 'n_words' must be"):
        Lexicon.load(path.rename(tmp_path / "m.ciyu"))


def test_long_words_are_refused(tmp_path: Path) -> None:
    word = "中" * (MAX_WORD_LEN + 1)
    with pytest.raises(ModelFormatError, match=f"is {MAX_WORD_LEN + 1} characters long"):
        Lexicon({word: 1})
    path = tmp_path / "m.ciyu"
    path.write_text(f"#ciyu-model\t1\n#meta\t{{}}\n{word}\t1\n", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="m.ciyu:3: word 中中中.*257 characters long"):
        Lexicon.load(path)
    path.write_text(f"#ciyu-model\t1\n#meta\t{{}}\n{'中' * 5_000_000}\t1\n", encoding="utf-8")
    with pytest.raises(ModelFormatError, match="m.ciyu:3: line is longer than .* at most 256"):
        Lexicon.load(path)
    assert Lexicon({NUM * MAX_WORD_LEN: 1}).counts  # the longest line there can be
    Lexicon({NUM * MAX_WORD_LEN: 1}).save(path)
    assert Lexicon.load(path).counts == {NUM * MAX_WORD_LEN: 1}


def test_segmentation_is_linear_with_the_longest_words() -> None:
    """With every word as long as allowed (all prefixes of a run of 中 are words), the
    decoder's work per character is bounded: 100,000 characters take well under a
    second (a 5,000,000-character word made 20,000 take 12 s)."""
    lex = Lexicon({"中" * n: 1 for n in range(1, MAX_WORD_LEN + 1)})
    model = Model(lex)
    text = "中" * 100_000
    start = time.perf_counter()
    assert model.segment(text).replace(" ", "") == text
    assert time.perf_counter() - start < 5
    short = "中" * 4000
    reference = Decoder(lex.log_probs(), lex.unk_logp(), compiled=False)
    start = time.perf_counter()
    assert "".join(reference.cut(short)) == short
    assert time.perf_counter() - start < 5


def test_learners_never_make_words_a_model_cannot_hold() -> None:
    """A segmenter that leaves a 1,000-character fragment whole gives words of at most
    MAX_WORD_LEN characters, and minent's --max-length stops there."""
    text = "甲乙丙丁" * 250 + "，中文"
    ctx = make_context(lambda: [text], 2)
    words = count_segmentation(ctx, lambda frags: [[len(f)] for f in frags])
    assert max(map(len, words)) == MAX_WORD_LEN
    assert sum(len(w) * n for w, n in words.items()) == len(text) - 1
    assert Lexicon(dict(words)).counts
    with pytest.raises(ConfigError, match="--max-length must be between 1 and 256"):
        MinentConfig(max_length=MAX_WORD_LEN + 1)
