"""n-gram counting: exact counts, merging, pruning, the memory budget, the file format."""

from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu.counts import NgramCounts, count_chunk, count_ngrams, merge_reserve
from ciyu.errors import ModelFormatError
from ciyu.text import NUM, fragments


def brute_force(lines: list[str], order: int) -> dict[int, Counter[str]]:
    out: dict[int, Counter[str]] = {k: Counter() for k in range(1, order + 1)}
    for line in lines:
        for frag in fragments(line):
            for k in range(1, order + 1):
                for i in range(len(frag) - k + 1):
                    out[k][frag[i : i + k]] += 1
    return out


def as_dict(counts: NgramCounts) -> dict[int, Counter[str]]:
    return {k: Counter(dict(counts.items(k))) for k in range(1, counts.order + 1)}


def test_hand_checked_counts() -> None:
    c = count_chunk(["中文中文，文中", "12文"], order=3)
    assert c.items(1) == [("中", 3), ("文", 4), (NUM, 1)]  # sorted by code point
    assert dict(c.items(2)) == {"中文": 2, "文中": 2, NUM + "文": 1}
    assert dict(c.items(3)) == {"中文中": 1, "文中文": 1}
    assert c.n_chars == 8
    assert c.n_fragments == 3
    assert c.count("文中") == 2 and c.count("缺") == 0 and c.count("中文中文") == 0


lines_strategy = st.lists(
    st.text(alphabet=st.sampled_from(list("甲乙丙丁戊，a1 ")), max_size=30), max_size=20
)


@settings(max_examples=60, deadline=None)
@given(lines_strategy, lines_strategy)
def test_merge_of_parts_equals_counts_of_whole(a: list[str], b: list[str]) -> None:
    whole = count_chunk(a + b, order=4)
    merged = count_chunk(a, order=4).merge(count_chunk(b, order=4))
    assert merged == whole
    assert as_dict(whole) == brute_force(a + b, 4)


@settings(max_examples=30, deadline=None)
@given(lines_strategy, st.integers(min_value=1, max_value=40))
def test_chunked_streaming_equals_one_chunk(lines: list[str], chunk: int) -> None:
    assert count_ngrams(lines, 3, chunk_chars=chunk) == count_chunk(lines, 3)


@settings(max_examples=30, deadline=None)
@given(lines_strategy, st.integers(min_value=1, max_value=40), st.integers(2, 3))
def test_dropping_rare_ngrams_while_merging_equals_pruning(
    lines: list[str], chunk: int, min_count: int
) -> None:
    dropped = count_ngrams(lines, 3, chunk_chars=chunk, min_count=min_count)
    pruned = count_chunk(lines, 3).prune(min_count)
    assert dropped == pruned
    assert dropped.min_count == min_count


def test_prune_keeps_unigrams() -> None:
    c = count_chunk(["甲乙甲乙丙"], order=2).prune(2)
    assert dict(c.items(2)) == {"甲乙": 2}
    assert dict(c.items(1)) == {"甲": 2, "乙": 2, "丙": 1}
    assert c.min_count == 2


def test_table_budget_prunes_and_is_recorded() -> None:
    import random

    rng = random.Random(1)
    alphabet = [chr(0x4E00 + i) for i in range(3000)]
    lines = ["".join(rng.choice(alphabet) for _ in range(200)) for _ in range(2000)]
    exact = count_ngrams(lines, 4)
    budget = exact.nbytes // 2
    bounded = count_ngrams(lines, 4, table_bytes=budget, chunk_chars=20_000)
    assert bounded.approximate and bounded.prune_floor >= 2
    entries = [len(keys) for keys, _ in bounded.tables]
    assert bounded.nbytes + merge_reserve(entries) <= budget
    assert bounded.table(1)[0].tolist() == exact.table(1)[0].tolist()
    assert bounded.n_chars == exact.n_chars


def test_save_load_round_trip(tmp_path: Path) -> None:
    c = count_chunk(["中文分词，分词中文", "𠀋好"], order=3)
    path = tmp_path / "c.npz"
    c.save(path)
    loaded = NgramCounts.load(path)
    assert loaded == c
    assert loaded.meta() == c.meta()


def test_load_rejects_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFormatError, match="not a ciyu counts file"):
        NgramCounts.load(bad)
    c = count_chunk(["甲乙丙"], order=2)
    arrays = {"meta": np.frombuffer(b'{"format": "ciyu-counts", "version": 99}', np.uint8)}
    np.savez(tmp_path / "v.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(ModelFormatError, match="version 99 is not supported"):
        NgramCounts.load(tmp_path / "v.npz")
    keys, counts = c.table(2)
    meta = np.frombuffer(
        b'{"format": "ciyu-counts", "version": 1, "order": 2, "n_chars": 3, '
        b'"n_fragments": 1, "min_count": 1, "approximate": false, "prune_floor": 0}',
        np.uint8,
    )
    np.savez(
        tmp_path / "u.npz",
        meta=meta,
        keys_1=c.table(1)[0][::-1].copy(),
        counts_1=c.table(1)[1],
        keys_2=keys,
        counts_2=counts,
    )
    with pytest.raises(ModelFormatError, match="order 1 keys are not sorted"):
        NgramCounts.load(tmp_path / "u.npz")


def test_parallel_counting_equals_sequential() -> None:
    import random

    rng = random.Random(3)
    lines = ["".join(rng.choice("甲乙丙丁戊己庚辛壬癸子丑") for _ in range(50)) for _ in range(400)]
    sequential = count_ngrams(lines, 4, chunk_chars=2000)
    parallel = count_ngrams(lines, 4, chunk_chars=2000, threads=2)
    assert parallel == sequential
    budget = sequential.nbytes // 2
    assert count_ngrams(lines, 4, chunk_chars=2000, table_bytes=budget, threads=2) == count_ngrams(
        lines, 4, chunk_chars=2000, table_bytes=budget
    )


# --- damaged and hostile counts files (issue 11, item 7) ------------------------------


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


def _saved(tmp_path: Path) -> tuple[NgramCounts, Path]:
    c = count_chunk(["中文分词，分词中文", "𠀋好", "中文"], order=3)
    path = tmp_path / "c.npz"
    c.save(path)
    return c, path


def _write_npz(path: Path, meta: object, arrays: dict[str, np.ndarray]) -> Path:
    """An uncompressed npz like ciyu's, with the given metadata and arrays."""
    raw = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(path, meta=raw, **arrays)  # type: ignore[arg-type]
    return path


def _good_meta(c: NgramCounts) -> dict[str, object]:
    return dict(c.meta())


def _arrays(c: NgramCounts) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for k in range(1, c.order + 1):
        out[f"keys_{k}"], out[f"counts_{k}"] = c.table(k)
    return out


def test_damaged_archives_are_reported(tmp_path: Path) -> None:
    _, path = _saved(tmp_path)
    data = path.read_bytes()
    cases = {
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "truncated_end": data[:-10],
        "no_directory": data[: data.rfind(b"PK\x01\x02")],
    }
    for name, content in cases.items():
        p = tmp_path / f"{name}.npz"
        p.write_bytes(content)
        with pytest.raises(ModelFormatError, match=f"{name}.npz: "):
            NgramCounts.load(p)
    # a .npy renamed to .npz
    npy = tmp_path / "array.npz"
    with npy.open("wb") as fh:
        np.lib.format.write_array(fh, np.arange(5))
    with pytest.raises(ModelFormatError, match="array.npz: not a ciyu counts file"):
        NgramCounts.load(npy)


def test_every_flipped_data_byte_is_detected(tmp_path: Path) -> None:
    """The zip's CRC-32 covers every array byte: a flipped byte anywhere is an error."""
    c, path = _saved(tmp_path)
    data = path.read_bytes()
    flipped = tmp_path / "f.npz"
    for pos in range(0, len(data), 7):
        damaged = bytearray(data)
        damaged[pos] ^= 0x10
        flipped.write_bytes(bytes(damaged))
        try:
            loaded = NgramCounts.load(flipped)
        except ModelFormatError as exc:
            assert str(exc).startswith(f"{flipped}: ")
        else:  # a flip in a field zipfile does not use (e.g. a timestamp) is harmless
            assert loaded == c and loaded.meta() == c.meta()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"order": None}, "'order' must be a whole number from 1 to 16, got null"),
        ({"n_chars": None}, "'n_chars' must be a whole number"),
        ({"order": "six"}, "'order' must be a whole number.*got \"six\""),
        ({"order": 6.7}, "'order' must be a whole number"),
        ({"order": 3.0}, "'order' must be a whole number"),
        ({"order": True}, "'order' must be a whole number"),
        ({"order": 17}, "'order' must be a whole number from 1 to 16"),
        ({"n_chars": float("nan")}, "'n_chars' must be a whole number.*NaN"),
        ({"n_chars": -5}, "'n_chars' must be a whole number from 0"),
        ({"n_chars": 2**62}, "'n_chars' must be a whole number from 0 to 9007199254740992"),
        ({"min_count": -3}, "'min_count' must be a whole number from 1"),
        ({"n_fragments": 10**6}, "'n_fragments' must be a whole number from 0 to 12"),
        ({"prune_floor": -1}, "'prune_floor' must be a whole number from 0"),
        ({"approximate": "no"}, "'approximate' must be true or false"),
        ({"version": "1"}, 'counts format version "1" is not supported'),
        ({"format": "ciyu-model"}, 'not a ciyu counts file \\(format="ciyu-model"\\)'),
        ({"n_chars": 13}, "order 1: the characters are counted 12 times, but the metadata says 13"),
        ({"n_fragments": 0}, "metadata counts 12 characters in 0 fragments"),
        ({"order": 2}, "unexpected member counts_3.npy in a counts file of order 2"),
    ],
)
def test_hostile_metadata_is_reported(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    c, _ = _saved(tmp_path)
    meta = _good_meta(c)
    for key, value in change.items():
        if value is None:
            del meta[key]
        else:
            meta[key] = value
    path = _write_npz(tmp_path / "h.npz", meta, _arrays(c))
    with pytest.raises(ModelFormatError, match=message):
        NgramCounts.load(path)


@pytest.mark.parametrize(
    "meta",
    [[1, 2, 3], "ciyu-counts", None, 7, "[" * 100_000 + "]" * 100_000],
)
def test_metadata_that_is_no_object_is_reported(tmp_path: Path, meta: object) -> None:
    c, _ = _saved(tmp_path)
    path = tmp_path / "h.npz"
    if isinstance(meta, str) and meta.startswith("["):
        raw = np.frombuffer(meta.encode("ascii"), dtype=np.uint8)
        np.savez(path, meta=raw, **_arrays(c))  # type: ignore[arg-type]
    else:
        _write_npz(path, meta, _arrays(c))
    with pytest.raises(ModelFormatError, match="h.npz: counts file has no readable metadata"):
        NgramCounts.load(path)


def test_hostile_arrays_are_reported(tmp_path: Path) -> None:
    c, _ = _saved(tmp_path)
    meta = _good_meta(c)
    keys1, counts1 = c.table(1)
    keys2, counts2 = c.table(2)

    def check(message: str, **changes: np.ndarray) -> None:
        arrays = _arrays(c)
        arrays.update(changes)
        path = _write_npz(tmp_path / "a.npz", meta, arrays)
        with pytest.raises(ModelFormatError, match=message):
            NgramCounts.load(path)

    check("order 2: member counts_2.npy is not a 1-D array", counts_2=counts2.reshape(1, -1))
    check("order 1: member keys_1.npy is not a 1-D array", keys_1=keys1.reshape(-1, 1))
    check("order 2: member counts_2.npy has type <i4", counts_2=counts2.astype(np.int32))
    check("order 2: member counts_2.npy has type >i8", counts_2=counts2.astype(">i8"))
    check("order 2: member keys_2.npy has type <U3", keys_2=keys2.astype("<U3"))
    check("order 2: member keys_2.npy has type \\|O", keys_2=keys2.astype(object))
    check("order 2 has 5 keys but 4 counts", counts_2=counts2[:-1])
    check(
        "order 3 has an n-gram whose prefix or suffix is missing from order 2",
        keys_2=np.empty(0, "<U2"),
        counts_2=np.empty(0, np.int64),
    )
    check("order 2 keys are not sorted", keys_2=keys2[::-1].copy(), counts_2=counts2[::-1].copy())
    check("order 2 has counts outside 1..12", counts_2=counts2 * 0)
    big = counts2.copy()
    big[0] = 2**62
    check("order 2 has counts outside 1..12", counts_2=big)
    many = counts1.copy()
    many[:2] = 2**62
    check("order 1 has counts outside 1..12", counts_1=many)
    check("order 2 counts more n-grams \\(13\\)", counts_2=counts2 + 1)
    more = counts2.copy()
    assert keys2.tolist() == ["中文", "分词", "文分", "词中", "𠀋好"]
    more[0] -= 1
    more[4] += 1  # 𠀋好 twice, 𠀋 once
    check("order 2 has an n-gram whose prefix or suffix is missing", counts_2=more)
    nul = keys2.copy()
    nul[0] = keys2[0][:1]  # a trailing NUL: the key shrinks to one character
    check("order 2 has keys with invalid characters", keys_2=nul)
    surrogate = keys1.copy()
    surrogate[-1] = "\udfff"
    check("order 1 has keys with invalid characters", keys_1=surrogate)


def test_missing_order_member_is_reported(tmp_path: Path) -> None:
    c, _ = _saved(tmp_path)
    arrays = _arrays(c)
    del arrays["counts_3"]
    path = _write_npz(tmp_path / "m.npz", _good_meta(c), arrays)
    with pytest.raises(ModelFormatError, match="m.npz: order 3 is missing"):
        NgramCounts.load(path)


def _patch_header(data: bytes, member: str, **fields: str) -> bytes:
    """Rewrite the .npy (1.0) header of ``member`` in a stored zip: ``fields`` replace the
    source text of ``descr``, ``fortran_order`` or ``shape``. The header keeps its length
    (the padding absorbs the change) and the member its CRC-32 (recomputed)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == member:
                hlen = int.from_bytes(body[8:10], "little")
                header = ast.literal_eval(body[10 : 10 + hlen].decode("latin-1"))
                text = {k: repr(v) for k, v in header.items()} | fields
                new = "{" + "".join(f"'{k}': {v}, " for k, v in text.items()) + "}"
                assert len(new) < hlen
                body = body[:10] + new.ljust(hlen - 1).encode("latin-1") + b"\n" + body[10 + hlen :]
            dst.writestr(info, body)
    return out.getvalue()


def test_declared_size_is_checked_before_allocating(tmp_path: Path) -> None:
    """A small file declaring a 2 GiB array is refused from its header: the peak memory
    stays far below the declared size."""
    c, _ = _saved(tmp_path)
    arrays = _arrays(c)
    arrays["counts_1"] = np.ones(300_000, dtype=np.int64)  # 2.4 MB of data
    keys = np.array([chr(0x4E00 + i) for i in range(len(arrays["counts_1"]))], dtype="<U1")
    arrays["keys_1"] = keys[np.argsort(keys)]
    hostile = _write_npz(tmp_path / "big.npz", _good_meta(c), arrays)
    data = _patch_header(hostile.read_bytes(), "counts_1.npy", shape=f"({2**28},)")
    hostile.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFormatError, match="counts_1.npy declares 268,435,456 items"):
            NgramCounts.load(hostile)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 2**20


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("descr", "'|O'", "counts_1.npy has type \\|O"),
        ("descr", "'<i4'", "counts_1.npy has type <i4"),
        ("descr", "[('a', '<i8')]", "counts_1.npy has type \\|V8"),
        ("shape", "(-1,)", "counts_1.npy is not a 1-D array"),
        ("shape", "(1e9,)", "counts_1.npy: shape is not valid"),
        ("shape", "(7,)", "counts_1.npy declares 7 items of 8 bytes but holds 48 bytes"),
        ("shape", "(5,)", "counts_1.npy declares 5 items of 8 bytes but holds 48 bytes"),
        ("shape", "(6, 1)", "counts_1.npy is not a 1-D array"),
        ("shape", "()", "counts_1.npy is not a 1-D array"),
        ("fortran_order", "True", "counts_1.npy is not a 1-D array"),
        ("shape", "(" * 30 + ")" * 30, "counts_1.npy"),
    ],
)
def test_hostile_npy_headers_are_reported(
    tmp_path: Path, field: str, value: str, message: str
) -> None:
    _, path = _saved(tmp_path)
    path.write_bytes(_patch_header(path.read_bytes(), "counts_1.npy", **{field: value}))
    with pytest.raises(ModelFormatError, match=f"c.npz: order 1: member {message}"):
        NgramCounts.load(path)


def test_compressed_and_overlapping_members_are_refused(tmp_path: Path) -> None:
    c, _ = _saved(tmp_path)
    raw = np.frombuffer(json.dumps(_good_meta(c)).encode("utf-8"), dtype=np.uint8)
    np.savez_compressed(tmp_path / "z.npz", meta=raw, **_arrays(c))  # type: ignore[arg-type]
    with pytest.raises(ModelFormatError, match="z.npz: .*meta.npy is compressed"):
        NgramCounts.load(tmp_path / "z.npz")


def test_unreadable_counts_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(ModelFormatError, match=f"{tmp_path}: is a directory"):
        NgramCounts.load(tmp_path)
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    with pytest.raises(ModelFormatError, match="fifo.npz: not a regular file"):
        NgramCounts.load(fifo)
    _, path = _saved(tmp_path)
    with _unreadable(path), pytest.raises(ModelFormatError, match="c.npz: permission denied"):
        NgramCounts.load(path)


def test_hostile_counts_file_fails_cli_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ciyu.cli import main

    _, path = _saved(tmp_path)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(path.read_bytes()[:-100])  # zipfile.BadZipFile before the fix
    corpus = tmp_path / "c.txt"
    corpus.write_text("中文分词\n", encoding="utf-8")
    assert main(["train", str(corpus), "--counts", str(bad), "-o", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ciyu: error: {bad}: ") and err.count("\n") == 1
