"""Reading files, gzip, directories, stdin; UTF-8 errors name file, line and offset."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu.errors import InputError
from ciyu.reader import Corpus, read_binary, read_blocks


def pieces(data: bytes, **kw: int) -> list[tuple[int, str, bool]]:
    return [(p.lineno, p.text, p.eol) for p in read_binary(io.BytesIO(data), "f", **kw)]


def test_lines_and_final_newline() -> None:
    assert pieces(b"") == []
    assert pieces(b"a\n\nb") == [(1, "a", True), (2, "", True), (3, "b", True)]
    assert pieces(b"a\r\n") == [(1, "a\r", True)]


def test_long_lines_are_split_on_character_boundaries() -> None:
    data = ("中文" * 5 + "\nx").encode()
    got = pieces(data, max_piece_bytes=4)
    assert "".join(t for ln, t, _ in got if ln == 1) == "中文" * 5
    assert all(len(t.encode()) <= 6 for _, t, _ in got)  # a carried partial char at most
    assert [eol for ln, _, eol in got if ln == 1][-1] is True
    assert got[-1] == (2, "x", True)


def test_invalid_utf8_names_file_line_and_offset() -> None:
    with pytest.raises(InputError) as exc:
        pieces(b"ok\n\xe4\xb8\xadbad\xff\n")
    assert str(exc.value) == (
        "f:2: invalid UTF-8 byte 0xff at byte offset 9 of the file; convert the file to "
        "UTF-8 (e.g. `iconv -f GB18030 -t UTF-8`) or pass --errors replace"
    )


def test_errors_replace() -> None:
    got = [p.text for p in read_binary(io.BytesIO(b"a\xffb\n"), "f", "replace")]
    assert got == ["a\ufffdb"]


def test_gzip_directory_and_order(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("乙\n", encoding="utf-8")
    with gzip.open(tmp_path / "a.gz", "wt", encoding="utf-8") as fh:
        fh.write("甲\n")
    (tmp_path / "skip.bin").write_bytes(b"\xff")
    assert list(Corpus([tmp_path])) == ["甲", "乙"]
    # gzip is recognised by content, whatever the name
    (tmp_path / "c.dat").write_bytes(gzip.compress("丙\n".encode()))
    assert list(Corpus([tmp_path / "c.dat"])) == ["丙"]


def test_missing_file_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="nope.txt: no such file or directory; check the path"):
        Corpus([tmp_path / "nope.txt"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="directory holds no text files"):
        Corpus([tmp_path / "empty"])


def test_stdin_is_spooled_for_several_passes() -> None:
    with Corpus(["-"], stdin=io.BytesIO("一\n二\n".encode())) as corpus:
        assert list(corpus) == ["一", "二"]
        assert list(corpus) == ["一", "二"]


def test_truncated_gzip_is_an_input_error(tmp_path: Path) -> None:
    data = gzip.compress(("中文\n" * 1000).encode())
    bad = tmp_path / "bad.gz"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="bad.gz: cannot read line"):
        list(Corpus([bad]))


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("中文a\n\r 😀é")), max_size=60),
    st.integers(min_value=4, max_value=16),
    st.integers(min_value=0, max_value=200),
)
def test_blocks_equal_lines(text: str, block: int, corrupt_at: int) -> None:
    data = text.encode()
    blocks = [
        (b.lineno, b.text, b.complete)
        for b in read_blocks(io.BytesIO(data), "f", block_bytes=block)
    ]
    assert "".join(t for _, t, _ in blocks) == text
    pos = 0
    for lineno, t, _ in blocks:
        assert lineno == text[:pos].count("\n") + 1
        pos += len(t)
    assert not blocks or blocks[-1][2]
    if data and corrupt_at < len(data):
        bad = data[:corrupt_at] + b"\xff" + data[corrupt_at:]
        errors = []
        for reader in (read_binary, read_blocks):
            with pytest.raises(InputError) as exc:
                list(reader(io.BytesIO(bad), "f"))
            errors.append(str(exc.value))
        assert errors[0] == errors[1]
