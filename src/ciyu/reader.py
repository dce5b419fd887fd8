"""Reading text: files, gzip files, directories, standard input and in-memory strings.

Text is streamed, never loaded whole: files are read in pieces of at most
``max_piece_bytes`` bytes, so that even a single multi-gigabyte line without a newline is
read in bounded memory (it arrives as several :class:`Piece` objects of the same line).

Only UTF-8 is accepted. Invalid bytes stop reading with an :class:`~ciyu.errors.InputError`
naming the file, the line and the byte offset, unless ``errors="replace"`` is given, in
which case each invalid byte becomes U+FFFD.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

from ._strings import check_errors, valid_text
from .errors import InputError, InvalidUtf8Error

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


class _Prepended(io.RawIOBase):
    """A stream that yields ``head`` and then the rest of ``rest``: the bytes read from a
    pipe to recognise gzip, given back."""

    def __init__(self, head: bytes, rest: BinaryIO, close_rest: bool) -> None:
        super().__init__()
        self._head = head
        self._rest = rest
        self._close_rest = close_rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(view), len(self._head))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        # read1: what the pipe has now (at most one system call), not a full buffer,
        # so that a line typed into a pipe is not held back
        read = getattr(self._rest, "read1", self._rest.read)
        data = read(len(view))
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            if self._close_rest:
                self._rest.close()
        finally:
            super().close()


def _head(fh: BinaryIO, close_source: bool) -> tuple[bytes, BinaryIO]:
    """The first two bytes of ``fh`` (for the gzip magic), and a stream that still
    starts with them. A pipe cannot seek back: a buffered pipe is peeked, and in the
    rare case the peek is short, the bytes read are put back in front."""
    if fh.seekable():
        pos = fh.tell()
        head = fh.read(2)
        fh.seek(pos)
        return head, fh
    peek = getattr(fh, "peek", None)
    if peek is not None:
        head = peek(2)[:2]
        if len(head) != 1:  # two bytes, or the end of the stream
            return head, fh
    head = fh.read(2)
    raw = _Prepended(head, fh, close_source)
    return head, io.BufferedReader(raw, 1 << 16)


def _decompressing(fh: BinaryIO, close_source: bool = True) -> BinaryIO:
    """``fh`` itself, or a stream of its decompressed bytes when it holds gzip data.

    Only the first bytes are looked at, and never by seeking back to the start, so pipes,
    FIFOs and standard input are read as streams. Closing the returned stream closes
    ``fh`` unless ``close_source`` is false.
    """
    head, stream = _head(fh, close_source)
    if head != _GZIP_MAGIC:
        return stream
    from ._gzip import GzipStream  # not at the top: most text is not compressed

    return GzipStream(stream, close_source or stream is not fh)  # type: ignore[return-value]


def _open_raw(path: Path) -> BinaryIO:
    """Open a file, a FIFO or a device for reading its bytes as they are.

    Raises:
        InputError: naming the path and the fix, if it cannot be opened.
    """
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory; check the path") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied; check the file's permissions") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot open: {exc.strerror or exc}") from None


def _open_binary(path: Path) -> BinaryIO:
    """Open a file, a FIFO or a device for reading, decompressing gzip data.

    Raises:
        InputError: naming the path and the fix, if it cannot be opened or read.
    """
    fh = _open_raw(path)
    try:
        return _decompressing(fh)
    except OSError as exc:
        fh.close()
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


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
        raise InvalidUtf8Error(name, line, body[exc.start], offset + exc.start) from None


def read_binary(
    fh: BinaryIO,
    name: str,
    errors: Errors = "strict",
    max_piece_bytes: int = DEFAULT_PIECE_BYTES,
    *,
    first_line: int = 1,
    first_offset: int = 0,
) -> Iterator[Piece]:
    """Decode an open binary stream into :class:`Piece` objects.

    ``first_line`` and ``first_offset`` are the line number and the byte offset in the
    file of the stream's first byte (for a stream that starts inside a file), as errors
    name them.

    Raises:
        InputError: on invalid UTF-8 (with ``errors="strict"``) or an unreadable stream.
    """
    lineno = first_line
    offset = first_offset  # byte offset of the start of ``carry`` in the stream
    carry = b""
    at_line_start = True
    while True:
        try:
            chunk = fh.readline(max_piece_bytes)
        except (OSError, EOFError) as exc:  # e.g. a truncated gzip file
            raise InputError(f"{name}: cannot read line {lineno}: {exc}") from None
        if not chunk and not carry:
            if offset > first_offset and not at_line_start:  # it ended right after a piece
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


def read_texts(
    fh: BinaryIO, name: str, errors: Errors = "strict", max_piece_bytes: int = DEFAULT_PIECE_BYTES
) -> Iterator[str]:
    """The texts of the pieces :func:`read_binary` makes of ``fh``, exactly, read and
    decoded a block of whole lines at a time.

    Reading line by line costs a few microseconds a line (a gzip stream's ``readline`` is
    Python code, and so is making each piece): 2.4 s for the 730,000 lines of the 58 MB
    law corpus, against 0.4 s by blocks, and a learner or template mining reads its
    corpus several times. A block is read whole (it waits for a pipe to fill it): for
    streams read as they come, use :func:`read_binary`. A line longer than a piece, or a
    block that is not valid UTF-8 (with ``errors="strict"``), hands the rest of the
    stream to :func:`read_binary`, which cuts the line and names the bad byte as it
    always does.

    Raises:
        InputError: as :func:`read_binary`.
    """
    lineno, offset = 1, 0
    carry = b""
    while True:
        try:
            chunk = fh.read(max_piece_bytes)
        except (OSError, EOFError) as exc:  # e.g. a truncated gzip file
            raise InputError(f"{name}: cannot read line {lineno}: {exc}") from None
        data = carry + chunk if carry else chunk
        if not chunk:
            # the end: a last line without a newline, whole if it is shorter than a piece
            if data and len(data) < max_piece_bytes:
                yield _decode(data, errors, name, lineno, offset)
                return
            break
        cut = data.rfind(b"\n") + 1
        body, carry = data[:cut], data[cut:]
        if body:
            lines = body[:-1].split(b"\n")
            # a line is one piece when it fits in one with its newline (readline's limit)
            if max(map(len, lines)) >= max_piece_bytes:
                break
            try:
                text = body[:-1].decode("utf-8", errors)
            except UnicodeDecodeError:
                break
            yield from text.split("\n")
            lineno += len(lines)
            offset += len(body)
            data = carry
        if len(carry) >= max_piece_bytes:
            break
    # the rest, from the line that needs it, as read_binary reads it
    rest = io.BufferedReader(_Prepended(data, fh, False), max(max_piece_bytes, 1 << 16))
    yield from (
        piece.text
        for piece in read_binary(
            rest, name, errors, max_piece_bytes, first_line=lineno, first_offset=offset
        )
    )


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


@dataclass(frozen=True)
class RawBlock:
    """A :class:`Block` not decoded yet: its UTF-8 bytes and where they start in the
    source, so that whoever decodes them (a thread, or compiled code) reports invalid
    UTF-8 as :func:`read_blocks` does (:meth:`decode`)."""

    source: str
    lineno: int
    data: bytes
    offset: int
    complete: bool
    #: newlines in :attr:`data` (counted once, as the lines are numbered)
    newlines: int = 0

    def decode(self, errors: Errors = "strict") -> str:
        """The text of the block.

        Raises:
            InvalidUtf8Error: on invalid UTF-8 with ``errors="strict"``, naming the line
                and the byte offset in the source.
        """
        return _decode(self.data, errors, self.source, self.lineno, self.offset)


def read_raw_blocks(
    fh: BinaryIO, name: str, block_bytes: int = DEFAULT_PIECE_BYTES
) -> Iterator[RawBlock]:
    """Cut an open binary stream into :class:`RawBlock` objects of about ``block_bytes``:
    whole lines, but for a line longer than a block, which is cut at a character
    boundary."""
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
                yield RawBlock(name, lineno, b"", offset, True)
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
        complete = body.endswith(b"\n") or not chunk
        newlines = body.count(b"\n")
        yield RawBlock(name, lineno, body, offset, complete, newlines)
        at_line_start = complete
        lineno += newlines
        offset += len(body)


def read_blocks(
    fh: BinaryIO, name: str, errors: Errors = "strict", block_bytes: int = DEFAULT_PIECE_BYTES
) -> Iterator[Block]:
    """Decode an open binary stream into :class:`Block` objects of about ``block_bytes``.

    Raises:
        InputError: on invalid UTF-8 (with ``errors="strict"``), naming the line and byte
            offset exactly as :func:`read_binary` does.
    """
    for raw in read_raw_blocks(fh, name, block_bytes):
        yield Block(name, raw.lineno, raw.decode(errors), raw.complete, len(raw.data))


def _walk_error(top: Path) -> Callable[[OSError], None]:
    def fail(exc: OSError) -> None:
        where = exc.filename if exc.filename is not None else top
        reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
        raise InputError(
            f"{where}: cannot read this directory ({reason}) of the input {top}; "
            "fix its permissions (chmod a+rx) or leave it out of the input"
        )

    return fail


def _directory_files(top: Path) -> list[Path]:
    """The text files below the directory ``top``, in sorted order.

    Nothing is skipped silently: an unreadable directory, an unreadable file or a broken
    link among the text files stops with an :class:`InputError` naming it. Links to
    directories are not followed (they could loop).
    """
    files: list[Path] = []
    for root, _dirs, names in os.walk(top, onerror=_walk_error(top)):
        for name in names:
            if not name.endswith(_DIR_SUFFIXES):
                continue
            path = Path(root, name)
            try:
                mode = path.stat().st_mode  # follows links
            except FileNotFoundError:
                if not path.is_symlink():
                    continue  # removed while we looked
                raise InputError(
                    f"{path}: broken symbolic link in the input directory {top}; fix or remove it"
                ) from None
            except OSError as exc:
                raise InputError(
                    f"{path}: cannot read ({exc.strerror}) in the input directory {top}; "
                    "fix its permissions or leave it out of the input"
                ) from None
            if not stat.S_ISREG(mode):
                continue  # a FIFO or a device named like a text file: not a document
            if not os.access(path, os.R_OK):
                raise InputError(
                    f"{path}: permission denied (in the input directory {top}); "
                    "fix the file's permissions (chmod a+r) or leave it out of the input"
                )
            files.append(path)
    return sorted(files)


def _expand(source: str | os.PathLike[str]) -> list[Path]:
    path = Path(source)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise InputError(f"{path}: no such file or directory; check the path") from None
    except PermissionError:
        raise InputError(
            f"{path}: permission denied; check the permissions of its directories"
        ) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError:  # a NUL character: no file can have that name
        raise InputError(f"{str(path)!r}: not a valid file name") from None
    if stat.S_ISDIR(mode):
        files = _directory_files(path)
        if not files:
            raise InputError(
                f"{path}: directory holds no text files (looked for {', '.join(_DIR_SUFFIXES)})"
            )
        return files
    return [path]


def _is_stream(path: Path) -> bool:
    """True if ``path`` can be read only once (a FIFO, a device, a socket, a pipe
    reached through ``/dev/stdin`` or ``/dev/fd/N``): not a regular file."""
    try:
        return not stat.S_ISREG(path.stat().st_mode)
    except OSError:  # reported, with its fix, when the source is opened
        return False


class _SpoolReader(io.RawIOBase):
    """An independent reader of the spool file descriptor ``fd``: each pass has its own
    position (``pread``), so passes never disturb each other and the file needs no name."""

    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if hasattr(os, "pread"):
            data = os.pread(self._fd, len(view), self._pos)
        else:  # one reader at a time in this process: seek, then read
            os.lseek(self._fd, self._pos, os.SEEK_SET)
            data = os.read(self._fd, len(view))
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


class _Spool:
    """A copy of a stream that can be read only once (standard input, a pipe), for
    learners that make several passes.

    The copy is an anonymous temporary file: it is removed from the directory as soon as
    it is created (``tempfile.TemporaryFile``), so that nothing is left behind even if
    the process is killed; where the platform cannot do that (Windows), it is removed
    when closed.
    """

    def __init__(self, src: BinaryIO) -> None:
        # imported here: with shutil's compressors and random, they took a tenth of the
        # imports of `ciyu segment`, which never spools
        import shutil
        import tempfile

        self._file = tempfile.TemporaryFile(prefix="ciyu-spool-")  # noqa: SIM115 - closed by close()
        try:
            shutil.copyfileobj(src, self._file, 1 << 20)
            self._file.flush()
        except BaseException:
            self._file.close()
            raise

    def open(self) -> BinaryIO:
        """A new reader from the start of the copy."""
        return io.BufferedReader(_SpoolReader(self._file.fileno()), 1 << 16)

    def close(self) -> None:
        self._file.close()


class Corpus:
    """A re-iterable collection of text sources.

    Sources are file paths, directory paths (every ``.txt``/``.gz``/``.utf8`` file below
    them, in sorted order), ``"-"`` for standard input, or in-memory strings given through
    :meth:`from_texts`. Files may be regular files, or streams that can be read only once:
    FIFOs, devices, ``/dev/stdin``, the ``/dev/fd/N`` of a shell's process substitution.

    Standard input and the other streams are spooled to an anonymous temporary file the
    first time they are read so that learners can make more than one pass (unless
    ``spool_stdin`` is false, for single-pass streaming such as segmentation and
    counting); call :meth:`close` (or use the corpus as a context manager: nested
    ``with`` blocks release them when the outermost one ends) to release the copies.
    Every source is gzip-decompressed when it holds gzip data.

    Raises:
        InputError: if a source is missing or unreadable, or a directory holds no text
            file or an unreadable one.
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
        self._spools: dict[int, _Spool] = {}  # by position in ``_paths``
        self._depth = 0  # nesting of ``with`` blocks
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
    def files(self) -> list[Path] | None:
        """The regular files read, in order, or None when the sources include standard
        input, a stream (a pipe, a FIFO, a device) or in-memory text."""
        if self._texts is not None or None in self._paths:
            return None
        paths = [p for p in self._paths if p is not None]
        return None if any(_is_stream(p) for p in paths) else paths

    @property
    def names(self) -> list[str]:
        """Names of the sources, in reading order."""
        if self._texts is not None:
            return [f"<text {i}>" for i in range(len(self._texts))]
        return ["<stdin>" if p is None else str(p) for p in self._paths]

    def size_bytes(self) -> int | None:
        """Total size of the sources in bytes, when known: every source is an
        uncompressed regular file (not standard input, a pipe, gzip or in-memory text)."""
        if self._texts is not None or None in self._paths:
            return None
        total = 0
        for path in self._paths:
            assert path is not None
            try:
                st = path.stat()
                if not stat.S_ISREG(st.st_mode):
                    return None  # a pipe: peeking at it would consume its bytes
                with open(path, "rb") as fh:
                    if fh.read(2) == _GZIP_MAGIC:
                        return None
                total += st.st_size
            except OSError:  # reported, with its fix, when the source is read
                return None
        return total

    def _stdin_stream(self) -> BinaryIO:
        return self._stdin if self._stdin is not None else sys.stdin.buffer

    def _spooled(self, index: int, open_source: Callable[[], BinaryIO]) -> BinaryIO:
        """A fresh reader of the spooled copy of source ``index`` (made on first use)."""
        spool = self._spools.get(index)
        if spool is None:
            src = open_source()
            try:
                spool = _Spool(src)
            finally:
                if src is not self._stdin_stream():
                    src.close()
            self._spools[index] = spool
        return spool.open()

    def _streams(self) -> Iterator[tuple[str, BinaryIO]]:
        """Every source as ``(name, open binary stream)``, in order; each stream is closed
        when the next one is asked for."""
        if self._texts is not None:
            for i, text in enumerate(self._texts):
                yield f"<text {i}>", io.BytesIO(text.encode("utf-8", "surrogatepass"))
            return
        for index, path in enumerate(self._paths):
            if path is None and not self.spool_stdin:
                # read as it comes; standard input stays open for the caller
                stdin = self._stdin_stream()
                fh = _decompressing(stdin, close_source=False)
                with contextlib.ExitStack() as stack:
                    if fh is not stdin:
                        stack.enter_context(fh)
                    yield "<stdin>", fh
                continue
            if path is None:
                name = "<stdin>"
                fh = _decompressing(self._spooled(index, self._stdin_stream))
            elif self.spool_stdin and _is_stream(path):
                name = str(path)
                fh = _decompressing(self._spooled(index, functools.partial(_open_raw, path)))
            else:
                name = str(path)
                fh = _open_binary(path)
            with fh:
                yield name, fh

    def pieces(self) -> Iterator[Piece]:
        """Yield every :class:`Piece` of every source, in order."""
        for name, fh in self._streams():
            yield from read_binary(fh, name, self.errors, self.max_piece_bytes)

    def blocks(self) -> Iterator[Block]:
        """Yield every source as :class:`Block` objects (whole lines, about 1 MiB each)."""
        for name, fh in self._streams():
            yield from read_blocks(fh, name, self.errors, self.max_piece_bytes)

    def raw_blocks(self) -> Iterator[RawBlock]:
        """The blocks of :meth:`blocks`, not decoded (see :class:`RawBlock`)."""
        for name, fh in self._streams():
            yield from read_raw_blocks(fh, name, self.max_piece_bytes)

    def __iter__(self) -> Iterator[str]:
        """Yield the text of every piece (lines, or parts of over-long lines); files (and a
        spooled standard input) are read by blocks (:func:`read_texts`), standard input
        that is not spooled as it comes."""
        if not self.spool_stdin and None in self._paths:
            for piece in self.pieces():
                yield piece.text
            return
        for name, fh in self._streams():
            yield from read_texts(fh, name, self.errors, self.max_piece_bytes)

    def close(self) -> None:
        """Release the spooled copies of standard input and other streams."""
        spools, self._spools = self._spools, {}
        for spool in spools.values():
            spool.close()

    def __enter__(self) -> Corpus:
        self._depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        # nested ``with`` blocks (a caller's, then the API's) release the copies at the
        # end of the outermost one: a stream cannot be read again once they are gone
        self._depth -= 1
        if self._depth <= 0:
            self._depth = 0
            self.close()
