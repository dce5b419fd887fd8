"""The Ray engine: the same bytes as the local run (counts, discovery, model, segmented
files), input files read in pieces exactly as the reader reads them whole, a one-line
error without Ray, and no session files under /tmp/ray or ~/.ray.

Ray runs in local mode (on this machine). Where Ray is not installed the tests that need
it are skipped, except under CI (``CI`` set), where they must run."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu.cli import main
from ciyu.distributed import FileRange, file_ranges, read_range, segment_outputs
from ciyu.errors import ConfigError, InputError
from ciyu.reader import Corpus
from conftest import SAMPLE

ROOT = Path(__file__).resolve().parent.parent


def _ray() -> Any:
    if os.environ.get("CI"):
        return importlib.import_module("ray")  # CI installs it: never skip there
    return pytest.importorskip("ray")


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    _ray()
    from ciyu.distributed import RayEngine

    with RayEngine(num_cpus=2) as ray_engine:
        yield ray_engine


# --- reading files in pieces (no Ray needed) -----------------------------------------

lines = st.lists(
    st.text(alphabet="中文分词abc \t\r", max_size=40).map(lambda s: s.replace("\n", "")),
    max_size=30,
)


@settings(max_examples=80)
@given(lines, st.integers(1, 200), st.booleans())
def test_a_file_read_in_ranges_gives_the_lines_of_the_whole(
    tmp_path_factory: pytest.TempPathFactory, content: list[str], split: int, final: bool
) -> None:
    path = tmp_path_factory.mktemp("ranges") / "f.txt"
    path.write_bytes(("\n".join(content) + ("\n" if final else "")).encode())
    expected = list(Corpus([path]))
    ranges = file_ranges([str(path)], "strict", split)
    got = [text for r in ranges for text in read_range(r)]
    assert got == expected


def test_a_bad_byte_in_a_later_range_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"\xe4\xb8\xad\n" * 1000 + b"ok \xff\n" + b"x\n" * 10)
    ranges = file_ranges([str(path)], "strict", 1000)
    assert len(ranges) > 3
    with pytest.raises(InputError) as whole:
        list(Corpus([path]))
    with pytest.raises(InputError) as pieces:
        for r in ranges:
            list(read_range(r))
    assert str(pieces.value) == str(whole.value)
    assert ":1001: invalid UTF-8 byte 0xff" in str(pieces.value)


def test_gzip_files_are_read_whole(tmp_path: Path) -> None:
    ranges = file_ranges([str(SAMPLE)], "strict", 1000)
    assert ranges == [FileRange(str(SAMPLE), 0, None, "strict")]


def test_outputs_of_segment_files(tmp_path: Path) -> None:
    (tmp_path / "in" / "sub").mkdir(parents=True)
    for name in ("a.txt", "sub/b.txt.gz", "c.utf8"):
        (tmp_path / "in" / name).write_bytes(b"x")
    pairs = segment_outputs([str(tmp_path / "in")], str(tmp_path / "out"))
    assert sorted(os.path.relpath(dst, tmp_path) for _, dst in pairs) == [
        "out/a.txt",
        "out/c.utf8",
        "out/sub/b.txt",
    ]
    with pytest.raises(ConfigError, match="overwrite an input"):
        segment_outputs([str(tmp_path / "in" / "a.txt")], str(tmp_path / "in"))
    with pytest.raises(ConfigError, match="both be written"):
        segment_outputs(
            [str(tmp_path / "in" / "a.txt"), str(tmp_path / "in" / "a.txt")], str(tmp_path)
        )
    with pytest.raises(ConfigError, match="not standard input"):
        segment_outputs(["-"], str(tmp_path))


def test_without_ray_the_engine_is_one_line_that_says_how_to_install_it(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from ciyu.cli import main\n"
        f"sys.exit(main(['count', {str(SAMPLE)!r}, '-o', {str(tmp_path / 'c.npz')!r}, "
        "'--engine', 'ray']))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr == (
        "ciyu: error: --engine ray needs Ray, which is not installed: pip install 'ciyu[ray]'\n"
    )
    assert not (tmp_path / "c.npz").exists()


# --- the Ray engine (local mode) -----------------------------------------------------


def test_ray_trains_the_same_model_bytes_as_the_local_run(engine: Any, tmp_path: Path) -> None:
    local, remote = tmp_path / "local.model", tmp_path / "ray.model"
    assert main(["-q", "train", str(SAMPLE), "-o", str(local), "-j", "1"]) == 0
    assert main(["-q", "train", str(SAMPLE), "-o", str(remote), "--engine", "ray"]) == 0
    assert local.read_bytes() == remote.read_bytes()


def test_ray_counts_and_discovers_the_same(engine: Any, tmp_path: Path) -> None:
    for command, out in (("count", "c.npz"), ("discover", "d.tsv")):
        a, b = tmp_path / f"local-{out}", tmp_path / f"ray-{out}"
        assert main(["-q", command, str(SAMPLE), "-o", str(a)]) == 0
        assert main(["-q", command, str(SAMPLE), "-o", str(b), "--engine", "ray"]) == 0
        assert a.read_bytes() == b.read_bytes(), command


def test_ray_mines_the_same_templates(
    engine: Any, tmp_path: Path, law_lines: list[str], sample_model: ciyu.Model
) -> None:
    text, model = tmp_path / "law.txt", tmp_path / "law.model"
    text.write_text("\n".join(law_lines[:3000]) + "\n", encoding="utf-8")
    sample_model.save(model)
    outputs: list[bytes] = []
    for flags in (["-j", "1"], ["-j", "2"], ["--engine", "ray"]):
        out = tmp_path / f"t{len(outputs)}.tsv"
        assert main(["-q", "templates", str(text), "-m", str(model), "-o", str(out), *flags]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] == outputs[2]
    assert outputs[0].count(b"\n") > 20


def test_a_memory_budget_is_for_the_local_engine(
    engine: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "m.model"
    args = ["-q", "train", str(SAMPLE), "-o", str(out), "--engine", "ray", "--max-memory", "1G"]
    assert main(args) == 2
    assert capsys.readouterr().err == (
        "ciyu: error: --max-memory bounds the processes of this machine; with a cluster "
        "engine, size the memory of the cluster's nodes instead\n"
    )
    assert not out.exists()


def test_ray_reads_plain_files_in_pieces(engine: Any, tmp_path: Path, law_lines: list[str]) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(3):
        (corpus / f"{i}.txt").write_text("\n".join(law_lines[i * 400 : i * 400 + 900]))
    saved = engine.split_bytes
    engine.split_bytes = 20_000  # about ten pieces a file
    try:
        counts = ciyu.count(corpus, engine=engine)
        model = ciyu.train(corpus, method="nvbe", engine=engine)
    finally:
        engine.split_bytes = saved
    assert counts == ciyu.count(corpus)
    assert model.lexicon.counts == ciyu.train(corpus, method="nvbe").lexicon.counts


def test_ray_segments_many_files_into_many_files(engine: Any, tmp_path: Path) -> None:
    model = tmp_path / "m.model"
    ciyu.train(texts=["当事人应当按照约定全面履行自己的义务。"] * 30, method="cohesion").save(model)
    inputs = tmp_path / "in"
    inputs.mkdir()
    texts = {f"{i}.txt": "当事人应当履行义务，第{i}条。\n" * (i + 1) for i in range(5)}
    for name, text in texts.items():
        (inputs / name).write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    args = ["-q", "segment", "-m", str(model), str(inputs), "--engine", "ray"]
    assert main([*args, "--output-dir", str(out)]) == 0
    for name, text in texts.items():
        expected = ciyu.Model.load(model).segment(text.rstrip("\n"), " ") + "\n"
        assert (out / name).read_text(encoding="utf-8") == expected
    assert main(["-q", "segment", "-m", str(model), str(inputs), "--output-dir", str(out)]) == 2


def test_a_bad_input_is_one_line_from_the_cluster(
    engine: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes("中文\n".encode() * 10 + b"\xff\n")
    assert main(["-q", "count", str(bad), "-o", str(tmp_path / "c.npz"), "--engine", "ray"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"ciyu: error: {bad}:11: invalid UTF-8 byte 0xff at byte offset 70 of the file; "
        "convert the file to UTF-8 (e.g. `iconv -f GB18030 -t UTF-8`) or pass --errors "
        "replace\n"
    )


# Ray Data warns about its own deprecated settings whenever its context is read
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_ray_reads_a_dataset_column(engine: Any, law_lines: list[str]) -> None:
    data = pytest.importorskip("ray.data")
    pytest.importorskip("pyarrow")
    lines = law_lines[:1500]
    dataset = data.from_items([{"id": i, "body": line} for i, line in enumerate(lines)])
    model = ciyu.train(dataset, text_column="body", method="ensemble")
    assert model.lexicon == ciyu.train(texts=lines, method="ensemble").lexicon
    with pytest.raises(InputError, match="not text"):
        ciyu.count(dataset, text_column="id")
    with pytest.raises(ConfigError, match="no column 'text' \\(its columns: id, body\\)"):
        ciyu.count(dataset)


def test_urls_are_read_with_pyarrow(tmp_path: Path, law_lines: list[str]) -> None:
    pytest.importorskip("pyarrow")
    for i in range(2):
        (tmp_path / f"{i}.txt").write_text("\n".join(law_lines[i * 100 : i * 100 + 300]))
    url = f"file://{tmp_path}/*.txt"
    assert ciyu.count(paths=[url]) == ciyu.count(tmp_path)
    with pytest.raises(InputError, match="no such file"):
        ciyu.count(paths=[f"file://{tmp_path}/*.none"])


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("zz://bucket/x.txt", "zz://bucket/x.txt: cannot read: Unrecognized filesystem"),
        ("file:///nonexistent-ciyu/*.txt", "file:///nonexistent-ciyu/*.txt: cannot read"),
    ],
)
def test_an_unreadable_url_is_one_line(
    url: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("pyarrow")
    assert main(["train", url, "-q", "-o", str(tmp_path / "m.model")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_session_files_stay_out_of_tmp_ray_and_home(tmp_path: Path) -> None:
    _ray()
    home = tmp_path / "home"
    home.mkdir()
    # a short temporary directory (Ray's socket paths must stay within 107 bytes)
    tmp = Path(tempfile.mkdtemp(prefix="ciyu-t-", dir="/tmp"))
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(tmp)}
    for name in ("RAY_TMPDIR", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        env.pop(name, None)
    out = tmp_path / "c.npz"
    run = subprocess.run(
        [sys.executable, "-m", "ciyu", "count", str(SAMPLE), "-o", str(out), "--engine", "ray"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        assert run.returncode == 0, run.stderr
        assert run.stderr.startswith("ciyu: count: ") and run.stderr.count("\n") == 1
        assert out.exists()
        assert list(home.iterdir()) == []  # no ~/.ray
        assert list(tmp.iterdir()) == []  # no ray/ and no session left behind
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
