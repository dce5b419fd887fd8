"""Fuzzing the model and counts loaders: whatever the bytes, loading gives a valid object or
a ModelFormatError, never another exception, and never an object that breaks later.

Damage is applied to real files (truncation, bit flips, inserted and deleted bytes, hostile
lines), and hostile content is built into otherwise well-formed files (JSON metadata of any
shape, ``.npy`` headers declaring any type and shape, arrays of any content), so that the
checks behind the checksum and the zip CRC are reached too.

Each test runs a bounded number of examples in CI; set ``CIYU_FUZZ_EXAMPLES`` to run more
(e.g. ``CIYU_FUZZ_EXAMPLES=200000 pytest tests/test_fuzz_loaders.py`` for a long run).
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ciyu.counts import MAX_CHARS, MAX_ORDER, NgramCounts, count_chunk
from ciyu.errors import ModelFormatError
from ciyu.lexicon import MAX_COUNT, MAX_WORD_LEN, MIN_COUNT, Lexicon
from ciyu.model import Model
from ciyu.text import NUM

EXAMPLES = int(os.environ.get("CIYU_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- shared strategies ----------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
json_texts = st.one_of(
    json_values.map(json.dumps),
    st.integers(min_value=1, max_value=300).map(lambda n: "[" * n + "]" * n),
    st.integers(min_value=1, max_value=300).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.integers(min_value=1, max_value=5000).map(lambda n: "9" * n),
    st.integers(min_value=1, max_value=20000).map(lambda n: '"' + '\\"' * n),
    st.sampled_from(["", "{", "}", '{"a": NaN}', '{"a": 1e999}', '"\\ud800"', '{"\\udfff": 1}']),
    st.text(max_size=30),
)
edits = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), st.integers(min_value=0), st.integers(0, 7)),
        st.tuples(st.just("truncate"), st.integers(min_value=0)),
        st.tuples(st.just("insert"), st.integers(min_value=0), st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("delete"), st.integers(min_value=0), st.integers(1, 40)),
    ),
    max_size=4,
)


def damage(data: bytes, changes: list[tuple[Any, ...]]) -> bytes:
    """Apply byte-level changes; positions wrap around the data."""
    out = bytearray(data)
    for change in changes:
        pos = change[1] % (len(out) + 1)
        if change[0] == "flip" and pos < len(out):
            out[pos] ^= 1 << change[2]
        elif change[0] == "truncate":
            del out[pos:]
        elif change[0] == "insert":
            out[pos:pos] = change[2]
        elif change[0] == "delete":
            del out[pos : pos + change[2]]
    return bytes(out)


def load_or_refuse(data: bytes, suffix: str, load: Callable[[Path], Any]) -> Any:
    """Load ``data`` from a file: the object, or None if it was refused properly. Any
    exception but ModelFormatError fails the test."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"fuzz{suffix}"
        path.write_bytes(data)
        try:
            loaded = load(path)
        except ModelFormatError as exc:
            message = str(exc)
            assert message.startswith(f"{path}"), message
            assert "\n" not in message and "\r" not in message, message
            # for --hypothesis-show-statistics: which checks the examples reach
            event("refused: " + re.sub(r"[0-9,.]+|'.*'|\(.*", "#", message[len(str(path)) :])[:60])
            return None
        event("loaded")
        return loaded


# --- model files ----------------------------------------------------------------------

words = st.text(alphabet="中文分词甲乙丙丁あア" + NUM, min_size=1, max_size=6)
lexicons = st.dictionaries(
    words,
    st.one_of(st.integers(1, 10**6), st.floats(min_value=1.0, max_value=1e9)),
    min_size=1,
    max_size=12,
).map(Lexicon)
hostile_lines = st.one_of(
    st.sampled_from(
        [
            "中\t1e308",
            "中\t1e-320",
            "中\tnan",
            "中\t-1",
            "中\t0",
            "中\t",
            "\t1",
            "中",
            "中\t1\t2",
            "中文\t1",
            "#sha256\t" + "0" * 64,
            "#meta\t{}",
            "#ciyu-model\t2",
            "中" * (MAX_WORD_LEN + 1) + "\t1",
            "<num>" * MAX_WORD_LEN + "\t1",
            "中\t1\r",
            "\ufeff中\t1",
        ]
    ),
    st.text(max_size=20).filter(lambda t: "\n" not in t),
)


def model_bytes(lex: Lexicon) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.ciyu"
        lex.save(path)
        return path.read_bytes()


def check_lexicon(lex: Lexicon) -> None:
    """What every loaded model must satisfy."""
    assert all(0 < len(w) <= MAX_WORD_LEN for w in lex.counts)
    assert all(MIN_COUNT <= c <= MAX_COUNT for c in lex.counts.values())
    if lex.counts:
        unk = lex.unk_logp()
        assert math.isfinite(unk) and unk < 0
        assert all(math.isfinite(lp) and lp <= 0 for lp in lex.log_probs().values())
    text = "中文分词，甲乙丙丁 2024年ア\n"
    model = Model(lex)
    assert "".join(model.cut(text)) == text
    assert model.segment(text, sep="") == text


@FUZZ
@given(lexicons, edits, st.booleans())
def test_damaged_models(lex: Lexicon, changes: list[tuple[Any, ...]], unchecked: bool) -> None:
    data = model_bytes(lex)
    if unchecked:  # without the checksum line, damage reaches the checks behind it
        data = data[: data.rindex(b"#sha256\t")]
    loaded = load_or_refuse(damage(data, changes), ".ciyu", Lexicon.load)
    if loaded is not None:
        check_lexicon(loaded)
    if not changes:
        assert loaded is not None and loaded.counts == lex.counts


hostile_metas = st.one_of(
    json_texts,
    st.dictionaries(st.text(max_size=8), json_values, max_size=4).map(json.dumps),
)


@FUZZ
@given(
    lexicons,
    hostile_metas,
    st.lists(st.tuples(st.integers(min_value=0), hostile_lines), max_size=3),
)
def test_hostile_models(lex: Lexicon, meta: str, lines: list[tuple[int, str]]) -> None:
    """Hostile metadata and lines in a version 1 file (no checksum, ``n_words`` optional),
    so that every check behind them is reached."""
    text = model_bytes(lex).decode("utf-8").splitlines(keepends=True)
    body = ["#ciyu-model\t1\n", f"#meta\t{meta}\n", *text[2:-1]]
    for pos, line in lines:
        body.insert(2 + pos % (len(body) - 1), line + "\n")
    data = "".join(body).encode("utf-8", "surrogatepass")
    loaded = load_or_refuse(data, ".ciyu", Lexicon.load)
    if loaded is not None:
        check_lexicon(loaded)
        json.dumps(loaded.meta)
        model_bytes(loaded)  # a loaded model can be saved again


# --- counts files ---------------------------------------------------------------------

texts = st.lists(st.text(alphabet="中文分词甲乙丙丁，1 ", max_size=15), min_size=1, max_size=4)


def counts_bytes(counts: NgramCounts) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.npz"
        counts.save(path)
        return path.read_bytes()


def npy(array: np.ndarray[Any, Any]) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, array, allow_pickle=False)
    return out.getvalue()


def stored_zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return out.getvalue()


def members_of(counts: NgramCounts) -> dict[str, bytes]:
    out = {"meta.npy": npy(np.frombuffer(json.dumps(counts.meta()).encode(), np.uint8))}
    for k in range(1, counts.order + 1):
        keys, values = counts.table(k)
        out[f"keys_{k}.npy"] = npy(keys)
        out[f"counts_{k}.npy"] = npy(values)
    return out


def check_counts(counts: NgramCounts) -> None:
    """What every loaded counts file must satisfy."""
    assert 1 <= counts.order <= MAX_ORDER and 0 <= counts.n_chars <= MAX_CHARS
    assert counts.n_fragments <= counts.n_chars
    for k in range(1, counts.order + 1):
        keys, values = counts.table(k)
        assert keys.dtype == np.dtype(f"<U{k}") and values.dtype == np.int64
        assert keys.ndim == 1 and values.shape == keys.shape
        assert all(len(key) == k for key in keys.tolist())
        assert np.all(keys[1:] > keys[:-1])
        assert not len(values) or (values.min() >= 1 and values.max() <= counts.n_chars)
    assert int(counts.table(1)[1].sum()) == counts.n_chars
    for key in counts.table(counts.order)[0].tolist()[:3]:
        assert all(
            counts.count(key[i:j]) > 0 for i in range(len(key)) for j in range(i + 1, len(key) + 1)
        )


@FUZZ
@given(texts, st.integers(1, 4), edits)
def test_damaged_counts(lines: list[str], order: int, changes: list[tuple[Any, ...]]) -> None:
    counts = count_chunk(lines, order)
    loaded = load_or_refuse(damage(counts_bytes(counts), changes), ".npz", NgramCounts.load)
    if loaded is not None:
        check_counts(loaded)
    if not changes:
        assert loaded == counts


header_fields = st.fixed_dictionaries(
    {},
    optional={
        "descr": st.sampled_from(
            [
                "'<i8'",
                "'<U1'",
                "'<U2'",
                "'|O'",
                "'<f8'",
                "'>i8'",
                "'<U0'",
                "'|V0'",
                "'|u1'",
                "[('a', '<i8')]",
                "'x'",
                "None",
                "'<U99999999999'",
            ]
        ),
        "shape": st.one_of(
            st.sampled_from(
                [
                    "()",
                    "(-1,)",
                    "(0,)",
                    "(1e3,)",
                    "[1]",
                    "(2**40,)",
                    "(1, 1)",
                    "(9999999999999999999999,)",
                    "((),)",
                    "'a'",
                ]
            ),
            st.integers(min_value=0, max_value=10**12).map(lambda n: f"({n},)"),
        ),
        "fortran_order": st.sampled_from(["True", "False", "1", "None"]),
    },
)


def patch_header(body: bytes, fields: dict[str, str]) -> bytes:
    """Replace fields of a .npy 1.0 header by source text, keeping the header's length
    when it fits (else growing it)."""
    hlen = int.from_bytes(body[8:10], "little")
    header = body[10 : 10 + hlen].decode("latin-1")
    for key, value in fields.items():
        start = header.index(f"'{key}': ") + len(key) + 4
        end = header.index(", '", start) if key != "shape" else header.index("), ", start) + 1
        header = header[:start] + value + header[end:]
    header = header.rstrip()
    if len(header) + 1 > hlen:
        hlen = len(header) + 1
    raw = header.ljust(hlen - 1).encode("latin-1") + b"\n"
    return (
        body[:8]
        + len(raw).to_bytes(2, "little")
        + raw
        + body[10 + int.from_bytes(body[8:10], "little") :]
    )


any_arrays = st.one_of(
    st.lists(st.integers(-(2**63), 2**63 - 1), max_size=6).map(lambda v: np.array(v, np.int64)),
    st.lists(st.text(alphabet="中文分\x00\udfff", max_size=3), max_size=6).map(
        lambda v: np.array(v, dtype="<U3")
    ),
    st.lists(st.text(alphabet="中文分", min_size=1, max_size=2), max_size=6).map(
        lambda v: np.array(v, dtype="<U2")
    ),
    st.lists(st.floats(), max_size=4).map(lambda v: np.array(v, np.float64)),
    st.just(np.zeros((2, 2), np.int64)),
)


@FUZZ
@given(
    texts,
    st.integers(1, 3),
    st.one_of(
        st.tuples(st.just("meta"), json_texts),
        st.tuples(st.just("field"), st.sampled_from(list(NgramCounts(1).meta())), json_values),
        st.tuples(st.just("header"), st.integers(min_value=0), header_fields),
        st.tuples(st.just("array"), st.integers(min_value=0), any_arrays),
        st.tuples(st.just("drop"), st.integers(min_value=0)),
        st.tuples(
            st.just("extra"),
            # zipfile cuts a member's name at a NUL and cannot write an empty one
            st.text(max_size=10).map(lambda name: name.split("\x00")[0] or "x"),
            st.binary(max_size=20),
        ),
    ),
)
def test_hostile_counts(lines: list[str], order: int, change: tuple[Any, ...]) -> None:
    counts = count_chunk(lines, order)
    members = members_of(counts)
    names = sorted(members)
    kind = change[0]
    if kind == "meta":
        members["meta.npy"] = npy(
            np.frombuffer(change[1].encode("utf-8", "surrogatepass"), np.uint8)
        )
    elif kind == "field":
        meta = counts.meta()
        meta[change[1]] = change[2]
        members["meta.npy"] = npy(
            np.frombuffer(json.dumps(meta).encode("utf-8", "surrogatepass"), np.uint8)
        )
    elif kind == "header":
        name = names[change[1] % len(names)]
        members[name] = patch_header(members[name], change[2])
    elif kind == "array":
        members[names[change[1] % len(names)]] = npy(change[2])
    elif kind == "drop":
        del members[names[change[1] % len(names)]]
    else:
        members[change[1] or "x"] = change[2]
    loaded = load_or_refuse(stored_zip(members), ".npz", NgramCounts.load)
    if loaded is not None:
        check_counts(loaded)


def _outcome(data: bytes, fast: bool) -> object:
    """What reading ``data`` gives with or without the fast path: the counts and
    metadata, or the error message."""
    from ciyu.lexicon import _Parser

    try:
        lex = _Parser(io.BufferedReader(io.BytesIO(data)), "m", fast=fast).lexicon()
    except ModelFormatError as exc:
        return str(exc)
    return lex.counts, lex.meta


@FUZZ
@given(
    lexicons,
    edits,
    st.lists(st.tuples(st.integers(min_value=0), hostile_lines), max_size=3),
    st.sampled_from(["keep", "drop", "crlf"]),
)
def test_reading_at_once_equals_reading_line_by_line(
    lex: Lexicon, changes: list[tuple[Any, ...]], lines: list[tuple[int, str]], checksum: str
) -> None:
    data = model_bytes(lex)
    if checksum == "drop":
        data = data[: data.rindex(b"#sha256\t")]
    elif checksum == "crlf":
        data = data.replace(b"\n", b"\r\n")
    text = data.decode("utf-8").splitlines(keepends=True)
    for pos, line in lines:
        text.insert(2 + pos % (len(text) - 1), line + "\n")
    damaged = damage("".join(text).encode("utf-8", "surrogatepass"), changes)
    assert _outcome(damaged, fast=True) == _outcome(damaged, fast=False)
    if not changes and not lines:
        assert _outcome(damaged, fast=True)[0] == lex.counts  # type: ignore[index]


def test_a_sound_model_is_read_at_once() -> None:
    from ciyu.lexicon import _Parser

    lex = Lexicon({"中文": 3, NUM + "年": 2.5, "分词": 1e-05 * 1e6, "ア": 1})
    for data in (model_bytes(lex), model_bytes(lex)[: model_bytes(lex).rindex(b"#sha256")]):
        parser = _Parser(io.BufferedReader(io.BytesIO(data)), "m")
        version = parser.header()
        parser.meta(version)
        assert parser.fast_entries(version) == lex.counts
