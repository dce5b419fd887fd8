"""Reading a file in pieces: the lines that start in a range of bytes, exactly as
:class:`~ciyu.reader.Corpus` reads them when it reads the whole file, so that several
processes (or machines) can read one large file. Also files named by URLs (``s3://``,
``gs://``, ``hdfs://``, ``file://``), read with pyarrow's file systems (``pip install
'ray[data]'``, or pyarrow alone).

A range owns the lines whose first byte lies in it: it skips the end of a line begun
before it, and reads on past its end to finish its last line. A gzip file cannot be
split: it is one range.
"""

from __future__ import annotations

import fnmatch
import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from ._memory import MiB
from .errors import ConfigError, InputError
from .reader import Errors, _decompressing, read_binary

#: A plain file is read in pieces of about this many bytes.
SPLIT_BYTES = 64 * MiB


def is_url(path: str | os.PathLike[str]) -> bool:
    """True for ``scheme://...`` inputs (``s3://``, ``gs://``, ``hdfs://``, ``file://``)."""
    text = os.fspath(path)
    return isinstance(text, str) and "://" in text


@dataclass(frozen=True)
class FileRange:
    """The lines of a file (or URL) that start in bytes ``start .. end`` (``end`` None:
    the whole file, which is how a gzip file is read)."""

    path: str
    start: int = 0
    end: int | None = None
    errors: Errors = "strict"


def _pyarrow_fs() -> Any:
    try:
        from pyarrow import fs
    except ImportError:
        raise ConfigError(
            "reading URLs (s3://, gs://, hdfs://) needs pyarrow: pip install 'ray[data]'"
        ) from None
    return fs


class _NativeFile(io.RawIOBase):
    """A pyarrow file as a Python binary stream (seekable), for the reader."""

    def __init__(self, native: Any) -> None:
        super().__init__()
        self._native = native

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._native.read(len(view))
        view[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return int(self._native.seek(offset, whence))

    def tell(self) -> int:
        return int(self._native.tell())

    def close(self) -> None:
        try:
            self._native.close()
        finally:
            super().close()


def _open_url(url: str) -> BinaryIO:
    fs = _pyarrow_fs()
    try:
        filesystem, path = fs.FileSystem.from_uri(url)
        native = filesystem.open_input_file(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{url}: cannot open: {exc}") from None
    return io.BufferedReader(_NativeFile(native), 1 << 16)


def expand_urls(patterns: Sequence[str]) -> list[str]:
    """The files that URLs name: a file, a directory (every ``.txt``/``.gz``/``.utf8``
    file below it, sorted) or a pattern with ``*``/``?`` in its last part.

    Raises:
        InputError: if a URL names nothing.
    """
    fs = _pyarrow_fs()
    out: list[str] = []
    for pattern in patterns:
        try:
            found = _expand_url(fs, pattern)
        except (OSError, ValueError) as exc:  # pyarrow: unknown scheme, network, access
            raise InputError(f"{pattern}: cannot read: {exc}") from None
        if not found:
            raise InputError(f"{pattern}: no such file, directory or matching file")
        out.extend(found)
    return out


def _expand_url(fs: Any, pattern: str) -> list[str]:
    """The URLs of the files one URL names (see :func:`expand_urls`)."""
    filesystem, path = fs.FileSystem.from_uri(pattern)
    scheme = pattern[: pattern.index("://") + 3]
    head, _, tail = path.rpartition("/")
    if any(c in tail for c in "*?["):
        infos = filesystem.get_file_info(fs.FileSelector(head, recursive=False))
        found = sorted(
            i.path for i in infos if i.is_file and fnmatch.fnmatchcase(i.base_name, tail)
        )
    else:
        info = filesystem.get_file_info(path)
        if info.type == fs.FileType.Directory:
            infos = filesystem.get_file_info(fs.FileSelector(path, recursive=True))
            found = sorted(
                i.path
                for i in infos
                if i.is_file and i.base_name.endswith((".txt", ".gz", ".utf8", ".text"))
            )
        elif info.type == fs.FileType.File:
            found = [path]
        else:
            found = []
    return [scheme + p.lstrip("/") if scheme != "file://" else scheme + p for p in found]


def _open_source(path: str) -> BinaryIO:
    if is_url(path):
        return _open_url(path)
    try:
        return open(path, "rb")
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None


def _is_gzip(path: str) -> bool:
    with _open_source(path) as fh:
        return fh.read(2) == b"\x1f\x8b"


def _size(path: str) -> int:
    with _open_source(path) as fh:
        return fh.seek(0, io.SEEK_END)


def file_ranges(
    paths: Sequence[str], errors: Errors, split_bytes: int = SPLIT_BYTES
) -> list[FileRange]:
    """The map tasks' pieces of the input files: plain files in ranges of about
    ``split_bytes``, gzip files whole."""
    out = []
    for path in paths:
        size = _size(path)
        if _is_gzip(path) or size <= split_bytes:
            out.append(FileRange(path, 0, None, errors))
            continue
        for start in range(0, size, split_bytes):
            out.append(FileRange(path, start, min(start + split_bytes, size), errors))
    return out


class _Range(io.RawIOBase):
    """The bytes of an open file from ``pos`` to the end of the line that holds byte
    ``end - 1``: the lines that start before ``end``."""

    def __init__(self, fh: BinaryIO, pos: int, end: int) -> None:
        super().__init__()
        self._fh = fh
        self._pos = pos
        self._end = end
        self._done = pos >= end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._done:
            return 0
        view = memoryview(buffer).cast("B")
        data = self._fh.read(len(view))
        if not data:
            self._done = True
            return 0
        if self._pos + len(data) >= self._end:
            newline = data.find(b"\n", max(self._end - 1 - self._pos, 0))
            if newline >= 0:
                data = data[: newline + 1]
                self._done = True
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _line_start(fh: BinaryIO, start: int) -> int:
    """The offset of the first line that starts at or after ``start``."""
    if start == 0:
        return 0
    fh.seek(start - 1)
    pos = start - 1
    while True:
        block = fh.read(1 << 16)
        if not block:
            return pos
        newline = block.find(b"\n")
        if newline >= 0:
            return pos + newline + 1
        pos += len(block)


def _lines_before(path: str, offset: int) -> int:
    with _open_source(path) as fh:
        count = 0
        left = offset
        while left > 0:
            block = fh.read(min(left, 1 << 20))
            if not block:
                break
            count += block.count(b"\n")
            left -= len(block)
        return count


def read_range(source: FileRange) -> Iterator[str]:
    """The texts (lines, or pieces of over-long lines) of a :class:`FileRange`, exactly
    as :class:`~ciyu.reader.Corpus` reads them.

    Raises:
        InputError: as the reader does, naming the file, the line and the byte offset.
    """
    with _open_source(source.path) as raw:
        if source.end is None:
            for piece in read_binary(_decompressing(raw), source.path, source.errors):
                yield piece.text
            return
        pos = _line_start(raw, source.start)
        raw.seek(pos)
        stream = io.BufferedReader(_Range(raw, pos, source.end), 1 << 16)
        try:
            for piece in read_binary(stream, source.path, source.errors, first_offset=pos):
                yield piece.text
        except InputError:
            # name the line as a whole-file reading would: read again from the right line
            first = _lines_before(source.path, pos) + 1
            raw.seek(pos)
            stream = io.BufferedReader(_Range(raw, pos, source.end), 1 << 16)
            for _ in read_binary(
                stream, source.path, source.errors, first_line=first, first_offset=pos
            ):
                pass
            raise
