"""Reading files, gzip, directories, stdin; UTF-8 errors name file, line and offset."""

from __future__ import annotations

import gzip
import io
import os
import pickle
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu.errors import InputError, InvalidUtf8Error
from ciyu.reader import DEFAULT_PIECE_BYTES, Corpus, read_binary, read_blocks, read_texts


def pieces(data: bytes, max_piece_bytes: int = DEFAULT_PIECE_BYTES) -> list[tuple[int, str, bool]]:
    got = read_binary(io.BytesIO(data), "f", max_piece_bytes=max_piece_bytes)
    return [(p.lineno, p.text, p.eol) for p in got]


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
    # the fields travel with the error (a worker's error is rebuilt in the parent), and a
    # caller reading another kind of file gives its own fix
    assert isinstance(exc.value, InvalidUtf8Error)
    again = pickle.loads(pickle.dumps(exc.value))
    assert str(again) == str(exc.value) and (again.line, again.offset) == (2, 9)
    assert str(exc.value.with_fix("restore it")).endswith("of the file; restore it")


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


def _texts(reader: Any, data: bytes, errors: Any, piece: int) -> tuple[list[str], str | None]:
    """What a reader yields before it stops, and the message of the error it stops with."""
    out: list[str] = []
    try:
        for item in reader(io.BytesIO(data), "f", errors, piece):
            out.append(item if isinstance(item, str) else item.text)
    except InputError as exc:
        return out, str(exc)
    return out, None


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [b"\xe4\xb8\xad", b"a", b"\n", b"\r", b" ", b"\xf0\x9f\x98\x80", b"\xff", b"\xe4"]
        ),
        max_size=80,
    ),
    st.integers(min_value=4, max_value=24),
    st.sampled_from(["strict", "replace", "surrogateescape", "ignore"]),
)
def test_texts_by_blocks_equal_pieces(parts: list[bytes], piece: int, errors: str) -> None:
    # read_texts (how files are iterated) gives exactly the texts of read_binary's pieces,
    # over-long lines, invalid UTF-8 and a last line without a newline included, and stops
    # at the same bad byte with the same message after the same lines
    data = b"".join(parts)
    assert _texts(read_texts, data, errors, piece) == _texts(read_binary, data, errors, piece)


@pytest.mark.parametrize(
    "data",
    [
        b"ab\nabcdefgh\nx\n",  # a line exactly as long as a piece: two pieces, "" last
        b"ab\nabcdefg\nx",  # one byte shorter: one piece
        b"abcdefgh",  # a last line without a newline, as long as a piece
        b"abcdefg",
        b"ab\n" + "中".encode() * 5 + b"\nx\n",  # cut at a character boundary
        b"ab\ncd\xff\nef\n",  # invalid UTF-8 after good lines
    ],
)
@pytest.mark.parametrize("errors", ["strict", "replace"])
def test_texts_by_blocks_at_the_edges(data: bytes, errors: str) -> None:
    assert _texts(read_texts, data, errors, 8) == _texts(read_binary, data, errors, 8)


def test_corpus_iterates_files_by_blocks_as_pieces(tmp_path: Path) -> None:
    text = "中文\n" * 50 + "长" * 40 + "\n\n末行"
    path = tmp_path / "in.txt.gz"
    path.write_bytes(gzip.compress(text.encode()))
    corpus = Corpus([path], max_piece_bytes=64)
    assert list(corpus) == [p.text for p in corpus.pieces()]
    assert "".join(corpus) == text.replace("\n", "")


def write_fifo(path: Path, data: bytes) -> threading.Thread:
    """Make ``path`` a FIFO fed with ``data`` by a thread (as a shell's producer)."""
    os.mkfifo(path)

    def write() -> None:
        with open(path, "wb") as fh:
            fh.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


class Trickle(io.RawIOBase):
    """A pipe that hands out one byte per read and cannot seek or peek."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.data:
            return 0
        buffer[0] = self.data[0]
        self.data = self.data[1:]
        return 1


def test_fifo_is_read_as_a_stream_and_spooled_for_more_passes(tmp_path: Path) -> None:
    write_fifo(tmp_path / "fifo", "一\n二\n".encode())
    with Corpus([tmp_path / "fifo"]) as corpus:
        assert corpus.size_bytes() is None  # a pipe: nothing may be read to size it
        assert list(corpus) == ["一", "二"]
        assert list(corpus) == ["一", "二"]  # the second pass reads the spooled copy
    write_fifo(tmp_path / "gz", gzip.compress("三\n".encode()))
    assert list(Corpus([tmp_path / "gz"], spool_stdin=False)) == ["三"]


def test_gzip_magic_split_over_two_reads_of_a_pipe() -> None:
    data = gzip.compress("中文\n分词\n".encode())
    for spool in (False, True):
        stdin = io.BufferedReader(Trickle(data), 1)  # its peek gives one byte
        with Corpus(["-"], stdin=stdin, spool_stdin=spool) as corpus:
            assert list(corpus) == ["中文", "分词"]
    assert list(Corpus(["-"], stdin=Trickle(b"\x1f"), spool_stdin=False)) == ["\x1f"]  # type: ignore[arg-type]


def test_stdin_spool_has_no_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # even kill -9 cannot leave a spool file behind: it is unlinked once created
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with Corpus(["-"], stdin=io.BytesIO("一\n二\n".encode())) as corpus:
        for _ in corpus:
            assert list(tmp_path.iterdir()) == []
        assert list(corpus) == ["一", "二"]


def test_nested_with_blocks_keep_the_spool(tmp_path: Path) -> None:
    # the CLI's `with` and the API's `with` around the same corpus: the inner one must
    # not drop the copy of a stream that cannot be read again
    corpus = Corpus(["-"], stdin=io.BytesIO("一\n".encode()))
    with corpus:
        with corpus:
            assert list(corpus) == ["一"]
        assert list(corpus) == ["一"]


def test_broken_link_in_a_directory_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("甲\n", encoding="utf-8")
    (tmp_path / "b.txt").symlink_to(tmp_path / "gone.txt")
    with pytest.raises(InputError) as exc:
        Corpus([tmp_path])
    assert str(exc.value) == (
        f"{tmp_path}/b.txt: broken symbolic link in the input directory {tmp_path}; "
        "fix or remove it"
    )


def test_unreadable_subdirectory_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("甲\n", encoding="utf-8")
    (tmp_path / "sub" / "b.txt").write_text("乙\n", encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path: Any = ".") -> Any:
        if os.fspath(path) == str(tmp_path / "sub"):  # what chmod 000 does, even to root
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(InputError, match=r"sub: cannot read this directory \(permission denied\)"):
        Corpus([tmp_path])


def test_directory_order_is_by_path_components(tmp_path: Path) -> None:
    # "a/b.txt" before "a.txt": the order of sorted Path objects, as before
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "b.txt").write_text("一\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("二\n", encoding="utf-8")
    (tmp_path / "a-c.txt").write_text("三\n", encoding="utf-8")
    assert list(Corpus([tmp_path])) == ["一", "三", "二"]  # a < a-c.txt < a.txt
