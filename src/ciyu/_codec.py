"""The format in which partial results, partitions of a corpus and the state of a pass
travel between processes and machines: versioned, compact, and loadable without
executing code (no pickle).

A message is a JSON object of metadata and a set of named numpy arrays::

    b"ciyu-part" · version (1 byte) · flags (1 byte) · header length (8 bytes, little-endian)
    · header: UTF-8 JSON {"meta": {...}, "arrays": [[name, dtype, shape], ...]}
    · body: the arrays' bytes, in C order, one after the other

The dtypes are limited to unsigned bytes, ``uint32``, ``int64``, ``float64`` (little-endian)
and fixed-width unicode ``<Uk`` (whose code points are checked to be at most U+10FFFF).
With flag bit 0 the body is compressed with zlib (level 1): worth it over a network, where
count tables shrink to about a fifth, not between processes of one machine. Decoding
checks every size against the message before it reads the arrays, which are read-only
views of the message's bytes (no copy).

>>> data = pack({"what": "test"}, {"n": np.arange(3, dtype=np.int64)})
>>> meta, arrays = unpack(data)
>>> meta, arrays["n"].tolist()
({'what': 'test'}, [0, 1, 2])
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ._untrusted import load_json_object

MAGIC = b"ciyu-part"
VERSION = 1
#: Flag: the body is zlib-compressed.
COMPRESSED = 1
#: Largest header accepted, in bytes.
MAX_HEADER = 1 << 24
#: The compression level: fast (about 200 MB/s), and enough to shrink count tables to
#: about a fifth.
ZLIB_LEVEL = 1
_PLAIN_DTYPES = {name: np.dtype(name) for name in ("|u1", "<u4", "<i8", "<f8")}
_PREFIX = struct.Struct("<BBQ")

Arrays = dict[str, npt.NDArray[Any]]


class CodecError(ValueError):
    """A message is damaged or not a message of this format."""


def _dtype_name(array: npt.NDArray[Any]) -> str:
    """The little-endian name of an array's dtype, one of those a message may hold."""
    dtype = array.dtype
    if dtype.kind == "U":
        return f"<U{max(dtype.itemsize // 4, 1)}"
    name: str = dtype.newbyteorder("<").str
    if name not in _PLAIN_DTYPES:
        raise TypeError(f"cannot pack arrays of dtype {dtype}")
    return name


def pack(
    meta: Mapping[str, Any], arrays: Mapping[str, npt.NDArray[Any]], *, compress: bool = False
) -> bytearray:
    """Encode ``meta`` (JSON-serialisable) and ``arrays`` as one message.

    The arrays are copied once, into the message. With ``compress``, the body is
    zlib-compressed when that makes it at least 10% smaller.
    """
    specs = []
    sized = []
    for name, array in arrays.items():
        dtype = np.dtype(_dtype_name(array))
        specs.append([name, dtype.str, list(array.shape)])
        sized.append((np.ascontiguousarray(array, dtype=dtype), array.size * dtype.itemsize))
    header = json.dumps({"meta": dict(meta), "arrays": specs}, ensure_ascii=False).encode()
    start = len(MAGIC) + _PREFIX.size + len(header)
    out = bytearray(start + sum(size for _, size in sized))
    view = memoryview(out)
    offset = start
    for array, size in sized:
        view[offset : offset + size] = array.reshape(-1).view(np.uint8).data
        offset += size
    view.release()
    flags = 0
    if compress and len(out) > start:
        squeezed = zlib.compress(memoryview(out)[start:], ZLIB_LEVEL)
        if len(squeezed) < 0.9 * (len(out) - start):
            del out[start:]
            out += squeezed
            flags = COMPRESSED
    out[: len(MAGIC)] = MAGIC
    out[len(MAGIC) : len(MAGIC) + _PREFIX.size] = _PREFIX.pack(VERSION, flags, len(header))
    out[len(MAGIC) + _PREFIX.size : start] = header
    return out


def unpack(data: bytes | bytearray | memoryview) -> tuple[dict[str, Any], Arrays]:
    """Decode a message made by :func:`pack`.

    Raises:
        CodecError: if the message is damaged or of another format or version.
    """
    start = len(MAGIC) + _PREFIX.size
    data = memoryview(data).cast("B") if not isinstance(data, bytes | bytearray) else data
    if len(data) < start or bytes(data[: len(MAGIC)]) != MAGIC:
        raise CodecError("not a ciyu message (wrong magic bytes)")
    version, flags, header_len = _PREFIX.unpack_from(data, len(MAGIC))
    if version != VERSION:
        raise CodecError(f"message version {version} (this ciyu reads version {VERSION})")
    if flags & ~COMPRESSED or header_len > min(MAX_HEADER, len(data) - start):
        raise CodecError("damaged message header")
    try:
        header = load_json_object(bytes(data[start : start + header_len]).decode(), MAX_HEADER)
    except (UnicodeDecodeError, ValueError) as exc:
        raise CodecError(f"damaged message header: {exc}") from None
    meta, specs = header.get("meta"), header.get("arrays")
    if not isinstance(meta, dict) or not isinstance(specs, list):
        raise CodecError("damaged message header: no meta or arrays")
    body: bytes | memoryview = memoryview(data)[start + header_len :]
    if flags & COMPRESSED:
        try:
            body = zlib.decompress(body)
        except zlib.error as exc:
            raise CodecError(f"damaged message body: {exc}") from None
    arrays: Arrays = {}
    offset = 0
    for spec in specs:
        name, dtype, shape = _check_spec(spec)
        size = dtype.itemsize * math.prod(shape)
        if offset + size > len(body):
            raise CodecError(f"message body too short for array {name!r}")
        array = np.frombuffer(body, dtype=dtype, count=math.prod(shape), offset=offset)
        array = array.reshape(shape)
        if dtype.kind == "U" and array.size and int(array.view(np.uint32).max()) > 0x10FFFF:
            raise CodecError(f"array {name!r} holds a code point beyond U+10FFFF")
        arrays[name] = array
        offset += size
    if offset != len(body):
        raise CodecError("message body longer than its arrays")
    return meta, arrays


def pack_strings(strings: Sequence[str], prefix: str = "") -> Arrays:
    """``strings`` as two arrays of a message: their code points one after the other
    (``{prefix}codes``, ``<u4``) and their lengths (``{prefix}lengths``, ``<i8``); lone
    surrogates travel too."""
    joined = "".join(strings).encode("utf-32-le", "surrogatepass")
    return {
        f"{prefix}codes": np.frombuffer(joined, dtype="<u4"),
        f"{prefix}lengths": np.fromiter(map(len, strings), dtype=np.int64, count=len(strings)),
    }


def unpack_strings(arrays: Arrays, prefix: str = "") -> list[str]:
    """The strings of :func:`pack_strings`.

    Raises:
        ValueError: if the arrays are missing, of the wrong type, or do not fit together.
    """
    codes, lengths = arrays.get(f"{prefix}codes"), arrays.get(f"{prefix}lengths")
    if codes is None or lengths is None:
        raise ValueError(f"no strings {prefix}codes / {prefix}lengths")
    if codes.dtype != np.dtype("<u4") or lengths.dtype != np.int64 or lengths.ndim != 1:
        raise ValueError(f"bad string arrays {prefix}codes / {prefix}lengths")
    if (len(lengths) and int(lengths.min()) < 0) or int(lengths.sum()) != len(codes):
        raise ValueError(f"string lengths {prefix}lengths do not match the code points")
    joined = codes.tobytes().decode("utf-32-le", "surrogatepass")
    ends = np.cumsum(lengths).tolist()
    return [joined[a:b] for a, b in zip([0, *ends], ends, strict=False)]


def _check_spec(spec: object) -> tuple[str, np.dtype[Any], tuple[int, ...]]:
    if not (isinstance(spec, list) and len(spec) == 3):
        raise CodecError("damaged message header: bad array entry")
    name, dtype_name, shape = spec
    if not isinstance(name, str) or not isinstance(dtype_name, str):
        raise CodecError("damaged message header: bad array entry")
    if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
        raise CodecError(f"damaged message header: bad shape of {name!r}")
    if dtype_name in _PLAIN_DTYPES:
        dtype = _PLAIN_DTYPES[dtype_name]
    elif (
        dtype_name.startswith("<U")
        and dtype_name[2:].isdigit()
        and 1 <= int(dtype_name[2:]) <= 1 << 24
    ):
        dtype = np.dtype(dtype_name)
    else:
        raise CodecError(f"damaged message header: dtype {dtype_name!r} is not allowed")
    return name, dtype, tuple(shape)
