"""Reading text: files, gzip files, directories, standard input and in-memory strings.

Text is streamed, never loaded whole: files are read in pieces of at most
``max_piece_bytes`` bytes, so that even a single multi-gigabyte line without a newline is
read in bounded memory (it arrives as several :class:`Piece` objects of the same line).

Only UTF-8 is accepted. Invalid bytes stop reading with an :class:`~ciyu.errors.InputError`
naming the file, the line and the byte offset, unless ``errors="replace"`` is given, in
which case each invalid byte becomes U+FFFD.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from ._strings import check_errors, valid_text
from .errors import InputError

Errors = Literal["strict", "replace"]
DEFAULT_PIECE_BYTES = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_DIR_SUFFIXES = (".txt", ".gz", ".utf8", ".text")


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of one input line: usually the whole line, without its newline.

    ``eol`` is true when the line ends after this piece (the last piece of a file that
    has no final newline also has ``eol`` true).
    """

    source: str
    lineno: int
    text: str
    eol: bool


def _open_binary(path: Path) -> BinaryIO:
    try:
        fh: BinaryIO = open(path, "rb")  # noqa: SIM115 - returned to the caller
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied; check the file's permissions") from None
    head = fh.read(2)
    if head == _GZIP_MAGIC:
        fh.close()
        return gzip.open(path, "rb")  # type: ignore[return-value]
    fh.seek(0)
    return fh


def _utf8_tail_len(data: bytes) -> int:
    """Number of trailing bytes of ``data`` that start an incomplete UTF-8 sequence."""
    n = len(data)
    for back in range(1, min(4, n) + 1):
        b = data[n - back]
        if b & 0xC0 == 0x80:  # continuation byte: keep looking for the lead byte
            continue
        if b & 0x80 == 0:
            return 0
        need = 2 if b & 0xE0 == 0xC0 else 3 if b & 0xF0 == 0xE0 else 4 if b & 0xF8 == 0xF0 else 1
        return back if back < need else 0
    return 0


def _decode(body: bytes, errors: Errors, name: str, lineno: int, offset: int) -> str:
    """Decode ``body`` (which starts at ``lineno`` and byte ``offset`` of ``name``).

    Raises:
        InputError: on invalid UTF-8 with ``errors="strict"``, naming the line and the
            byte offset of the first bad byte, and the fix.
    """
    try:
        return body.decode("utf-8", errors)
    except UnicodeDecodeError as exc:
        line = lineno + body.count(b"\n", 0, exc.start)
        raise InputError(
            f"{name}:{line}: invalid UTF-8 byte 0x{body[exc.start]:02x} at byte offset "
            f"{offset + exc.start} of the file; convert the file to UTF-8 "
            f"(e.g. `iconv -f GB18030 -t UTF-8`) or pass --errors replace"
        ) from None


def read_binary(
    fh: BinaryIO,
    name: str,
    errors: Errors = "strict",
    max_piece_bytes: int = DEFAULT_PIECE_BYTES,
) -> Iterator[Piece]:
    """Decode an open binary stream into :class:`Piece` objects.

    Raises:
        InputError: on invalid UTF-8 (with ``errors="strict"``) or an unreadable stream.
    """
    lineno = 1
    offset = 0  # byte offset of the start of ``carry`` in the stream
    carry = b""
    at_line_start = True
    while True:
        try:
            chunk = fh.readline(max_piece_bytes)
        except (OSError, EOFError) as exc:  # e.g. a truncated gzip file
            raise InputError(f"{name}: cannot read line {lineno}: {exc}") from None
        if not chunk and not carry:
            if offset and not at_line_start:  # the stream ended exactly after a piece
                yield Piece(name, lineno, "", True)
            return
        data = carry + chunk
        # readline() returns less than the limit without a newline only at end of stream
        eol = data.endswith(b"\n") or len(chunk) < max_piece_bytes
        if eol:
            body, carry = (data[:-1] if data.endswith(b"\n") else data), b""
        else:
            cut = len(data) - _utf8_tail_len(data)
            body, carry = data[:cut], data[cut:]
        text = _decode(body, errors, name, lineno, offset)
        yield Piece(name, lineno, text, eol)
        at_line_start = eol
        offset += len(body) + (1 if eol and data.endswith(b"\n") else 0)
        if eol:
            lineno += 1
            if len(chunk) < max_piece_bytes and not chunk.endswith(b"\n"):
                return


@dataclass(frozen=True, slots=True)
class Block:
    """Whole lines of one source, joined with their newlines (the bulk reading unit).

    ``lineno`` is the number of the first line. ``text`` ends with a newline unless the
    block is part of an over-long line (``complete`` false: the line goes on in the next
    block) or the source ends without one. ``nbytes`` is the size of the block in the
    source (for progress in bytes).
    """

    source: str
    lineno: int
    text: str
    complete: bool
    nbytes: int


def read_blocks(
    fh: BinaryIO, name: str, errors: Errors = "strict", block_bytes: int = DEFAULT_PIECE_BYTES
) -> Iterator[Block]:
    """Decode an open binary stream into :class:`Block` objects of about ``block_bytes``.

    Raises:
        InputError: on invalid UTF-8 (with ``errors="strict"``), naming the line and byte
            offset exactly as :func:`read_binary` does.
    """
    lineno = 1
    offset = 0
    carry = b""
    at_line_start = True
    while True:
        try:
            chunk = fh.read(block_bytes)
        except (OSError, EOFError) as exc:
            raise InputError(f"{name}: cannot read line {lineno}: {exc}") from None
        if not chunk and not carry:
            if not at_line_start:  # the stream ended right after a split line
                yield Block(name, lineno, "", True, 0)
            return
        data = carry + chunk
        if not chunk:  # end of stream
            cut = len(data)
        else:
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                if len(data) < block_bytes:  # a line in progress: read on
                    carry = data
                    continue
                cut = len(data) - _utf8_tail_len(data)  # an over-long line: split it
        body, carry = data[:cut], data[cut:]
        text = _decode(body, errors, name, lineno, offset)
        complete = body.endswith(b"\n") or not chunk
        yield Block(name, lineno, text, complete, len(body))
        at_line_start = complete
        lineno += body.count(b"\n")
        offset += len(body)


def _expand(source: str | os.PathLike[str]) -> list[Path]:
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(_DIR_SUFFIXES))
        if not files:
            raise InputError(
                f"{path}: directory holds no text files (looked for {', '.join(_DIR_SUFFIXES)})"
            )
        return files
    if not path.exists():
        raise InputError(f"{path}: no such file or directory; check the path")
    return [path]


class Corpus:
    """A re-iterable collection of text sources.

    Sources are file paths, directory paths (every ``.txt``/``.gz``/``.utf8`` file below
    them, in sorted order), ``"-"`` for standard input, or in-memory strings given through
    :meth:`from_texts`. Standard input is spooled to a temporary file the first time it is
    read so that learners can make more than one pass (unless ``spool_stdin`` is false, for
    single-pass streaming such as segmentation); call :meth:`close` (or use the corpus as a
    context manager) to remove the spooled copy.
    """

    def __init__(
        self,
        sources: Sequence[str | os.PathLike[str]] = (),
        *,
        errors: Errors = "strict",
        max_piece_bytes: int = DEFAULT_PIECE_BYTES,
        stdin: BinaryIO | None = None,
        spool_stdin: bool = True,
    ) -> None:
        check_errors(errors)  # e.g. "ignore" would drop text silently
        self.errors: Errors = errors
        self.max_piece_bytes = max_piece_bytes
        self._paths: list[Path | None] = []  # None marks stdin
        self._texts: list[str] | None = None
        self._stdin = stdin
        self._spool: str | None = None
        self.spool_stdin = spool_stdin
        if isinstance(sources, str | os.PathLike):
            sources = [sources]
        for src in sources:
            if str(src) == "-":
                self._paths.append(None)
            else:
                self._paths.extend(_expand(src))

    @classmethod
    def from_texts(cls, texts: Iterable[str] | str, *, errors: Errors = "strict") -> Corpus:
        """A corpus over in-memory strings (each may hold several lines; a single ``str``
        is one text).

        Args:
            texts: the strings.
            errors: what to do with a lone surrogate (U+D800–U+DFFF), which no UTF-8 text
                can hold: ``"strict"`` raises, ``"replace"`` reads it as U+FFFD.

        Raises:
            InputError: on an item that is not a ``str``, or, with ``errors="strict"``, a
                lone surrogate, naming the item (``texts[i]``) and the index.
            ConfigError: on an invalid ``errors``.
        """
        corpus = cls(errors=errors)
        if isinstance(texts, str):
            texts = [texts]
        elif not isinstance(texts, Iterable):
            raise InputError(f"texts must be strings, got {type(texts).__name__}")
        corpus._texts = [valid_text(t, errors, f"texts[{i}]") for i, t in enumerate(texts)]
        return corpus

    @property
    def names(self) -> list[str]:
        """Names of the sources, in reading order."""
        if self._texts is not None:
            return [f"<text {i}>" for i in range(len(self._texts))]
        return ["<stdin>" if p is None else str(p) for p in self._paths]

    def size_bytes(self) -> int | None:
        """Total size of the sources in bytes, when known: every source is an
        uncompressed file (not standard input, not gzip, not in-memory text)."""
        if self._texts is not None or None in self._paths:
            return None
        total = 0
        for path in self._paths:
            assert path is not None
            try:
                with open(path, "rb") as fh:
                    if fh.read(2) == _GZIP_MAGIC:
                        return None
                total += path.stat().st_size
            except OSError:  # reported, with its fix, when the source is read
                return None
        return total

    def _stdin_path(self) -> str:
        if self._spool is None:
            src = self._stdin if self._stdin is not None else sys.stdin.buffer
            fd, name = tempfile.mkstemp(prefix="ciyu-stdin-", suffix=".txt")
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out)
            self._spool = name
        return self._spool

    def _streams(self) -> Iterator[tuple[str, BinaryIO]]:
        """Every source as ``(name, open binary stream)``, in order; each stream is closed
        when the next one is asked for."""
        if self._texts is not None:
            for i, text in enumerate(self._texts):
                yield f"<text {i}>", io.BytesIO(text.encode("utf-8", "surrogatepass"))
            return
        for path in self._paths:
            if path is None and not self.spool_stdin:
                yield "<stdin>", self._stdin if self._stdin is not None else sys.stdin.buffer
            elif path is None:
                with open(self._stdin_path(), "rb") as fh:
                    yield "<stdin>", fh
            else:
                with _open_binary(path) as fh:
                    yield str(path), fh

    def pieces(self) -> Iterator[Piece]:
        """Yield every :class:`Piece` of every source, in order."""
        for name, fh in self._streams():
            yield from read_binary(fh, name, self.errors, self.max_piece_bytes)

    def blocks(self) -> Iterator[Block]:
        """Yield every source as :class:`Block` objects (whole lines, about 1 MiB each)."""
        for name, fh in self._streams():
            yield from read_blocks(fh, name, self.errors, self.max_piece_bytes)

    def __iter__(self) -> Iterator[str]:
        """Yield the text of every piece (lines, or parts of over-long lines)."""
        for piece in self.pieces():
            yield piece.text

    def close(self) -> None:
        """Delete the spooled copy of standard input, if one was made."""
        if self._spool is not None:
            os.unlink(self._spool)
            self._spool = None

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
