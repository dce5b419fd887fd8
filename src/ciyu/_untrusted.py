"""Reading untrusted bytes in bounded time and memory: JSON metadata and the ``.npy``
members of a zip archive.

Model and counts files come from disk, where anything can happen to them (truncation, bit
rot, hand edits, a hostile sender). The readers here check every size *before* they
allocate or parse: a JSON text's length and nesting depth before :func:`json.loads` (whose
recursion would otherwise overflow the stack), and an array's declared shape against its
zip member's real size before a byte of data is read. Problems are reported as
:class:`ValueError` with a message for people; the callers add the file name and turn it
into a :class:`~ciyu.errors.ModelFormatError`.
"""

from __future__ import annotations

import json
import re
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import zipfile  # imported where used: model files are no zip archives

    import numpy.typing as npt

#: Deepest nesting of JSON arrays and objects accepted in metadata (ciyu writes 3 levels).
MAX_JSON_DEPTH = 32
#: The longest ``.npy`` header accepted (numpy writes about 128 bytes).
MAX_NPY_HEADER = 4096
_READ_CHUNK = 1 << 22
_JSON_TOKENS = re.compile(r'\\.|["\[\]{}]', re.DOTALL)


def escape(text: str) -> str:
    """``text`` as it may appear in a one-line message: unchanged when printable, else
    with the control characters (``\\r``, ``\\n``, ``\\t``, ...) and unpaired surrogates
    written as Python escapes."""
    if text.isprintable():
        return text
    return repr(text)[1:-1]


def json_depth(text: str, limit: int = MAX_JSON_DEPTH) -> int:
    """The deepest nesting of ``[`` and ``{`` in the JSON ``text``, in linear time and
    without recursion (brackets inside strings do not count); the scan stops once the
    depth is beyond ``limit``.

    One scan for the only characters that matter (an escape, a quote, a bracket); a
    regular expression matching whole strings would backtrack quadratically on texts
    like ``"\\"\\"\\"...``.
    """
    depth = deepest = 0
    in_string = False
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token == '"':
            in_string = not in_string
        elif in_string or len(token) == 2:
            continue
        elif token in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        else:
            depth -= 1
    return deepest


def load_json_object(text: str, max_chars: int) -> dict[str, Any]:
    """Parse a JSON object of at most ``max_chars`` characters and :data:`MAX_JSON_DEPTH`
    levels.

    Raises:
        ValueError: with the reason, if the text is too long, too deep, not JSON, not an
            object, or holds a string that is not valid Unicode (an unpaired surrogate).
    """
    if len(text) > max_chars:
        raise ValueError(f"metadata is {len(text):,} characters long (at most {max_chars:,})")
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ValueError(f"metadata is nested more than {MAX_JSON_DEPTH} levels deep")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"metadata is not valid JSON ({escape(str(exc))})") from None
    if not isinstance(value, dict):
        raise ValueError(f"metadata must be a JSON object, not {type(value).__name__}")
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("metadata holds a string that is not valid Unicode") from None
    return value


class _Counting:
    """A read-only file wrapper that counts the bytes read (numpy's header readers only
    call ``read``)."""

    def __init__(self, fh: IO[bytes]) -> None:
        self.fh = fh
        self.n = 0

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.n += len(data)
        return data


class NpzReader:
    """Reads 1-D arrays from the ``.npy`` members of a zip archive, checking sizes first.

    Only stored (uncompressed), unencrypted members are read, so an array can never be
    larger than the archive holding it; members may not overlap (the non-recursive zip
    bomb), and an array's declared shape must match its member's size exactly.

    Args:
        archive: the open archive.
        size: the archive's size in bytes.
    """

    def __init__(self, archive: zipfile.ZipFile, size: int) -> None:
        self.archive = archive
        self.size = size
        self.used = 0  # bytes of members read so far

    def member(self, name: str) -> zipfile.ZipInfo:
        """The checked zip entry of ``name``.

        Raises:
            KeyError: if there is no such member.
            ValueError: if it is compressed, encrypted or larger than the archive.
        """
        import zipfile

        info = self.archive.getinfo(name)
        if info.flag_bits & 0x1:
            raise ValueError(f"member {name} is encrypted")
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"member {name} is compressed (ciyu stores arrays uncompressed)")
        if info.file_size != info.compress_size:
            raise ValueError(f"member {name} declares two different sizes")
        if info.header_offset + info.compress_size > self.size:
            raise ValueError(f"member {name} extends past the end of the file")
        self.used += info.compress_size
        if self.used > self.size:
            raise ValueError("members overlap (together they are larger than the file)")
        return info

    def array(self, name: str, dtype: str, max_items: int | None = None) -> npt.NDArray[Any]:
        """Read member ``name`` as a 1-D array of exactly ``dtype`` (e.g. ``"<i8"``).

        The header is read and checked first; memory for the data is allocated only once
        the declared size is known to match the member's.

        Raises:
            KeyError: if there is no such member.
            ValueError: if the member is not a plain 1-D ``.npy`` array of ``dtype`` (and
                at most ``max_items`` items) whose size matches its header, or its data
                is shorter than declared or fails the zip's CRC-32 check.
        """
        import numpy as np  # not at the top: loading a model file needs no numpy (startup)

        info = self.member(name)
        with self.archive.open(info) as raw:
            fh = _Counting(raw)
            try:
                version = np.lib.format.read_magic(fh)
                if version not in ((1, 0), (2, 0)):
                    raise ValueError(f".npy version {version} (1.0 or 2.0 expected)")
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, fortran, found = read_header(fh, max_header_size=MAX_NPY_HEADER)
            except ValueError as exc:
                raise ValueError(f"member {name}: {escape(str(exc))}") from None
            if not isinstance(found, np.dtype) or found.str != dtype or found.hasobject:
                shown = found.str if isinstance(found, np.dtype) else escape(repr(found))
                raise ValueError(f"member {name} has type {shown} ({dtype} expected)")
            if fortran or len(shape) != 1 or not isinstance(shape[0], int) or shape[0] < 0:
                raise ValueError(f"member {name} is not a 1-D array (shape {shape})")
            n = shape[0]
            if fh.n + n * found.itemsize != info.file_size:
                raise ValueError(
                    f"member {name} declares {n:,} items of {found.itemsize} bytes but holds "
                    f"{max(info.file_size - fh.n, 0):,} bytes"
                )
            if max_items is not None and n > max_items:
                raise ValueError(f"member {name} has {n:,} items (at most {max_items:,})")
            out = np.empty(n, dtype=found)
            buf = out.view(np.uint8)
            done = 0
            while done < len(buf):
                chunk = raw.read(min(_READ_CHUNK, len(buf) - done))
                if not chunk:
                    raise ValueError(f"member {name} is truncated")
                buf[done : done + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
                done += len(chunk)
            raw.read(1)  # reach the end, where zipfile checks the member's CRC-32
        return out
