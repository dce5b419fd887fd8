"""Hostile and unlucky uses of the command line: pipes as inputs, bad and special -o
targets, signals, options in odd places. Each broke once (issue 11); each must give the
right output or one line on standard error, never a traceback.

FIFOs and devices are made inside the test's temporary directory; no test aims at the
machine's own /dev/null or /dev/full.
"""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
import logging
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ciyu.cli import COMMANDS, build_parser, main
from ciyu.config import from_namespace
from ciyu.learners import METHODS
from ciyu.learners.cohesion import CohesionConfig
from conftest import SAMPLE
from test_atomic import IS_ROOT, make_device

ROOT = Path(__file__).resolve().parent.parent
HAS_PROC = Path("/proc/self/fd").is_dir()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 lines of the law sample (128 kB)."""
    path = tmp_path_factory.mktemp("hostile") / "small.txt"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        path.write_text("".join(next(fh) for _ in range(1500)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def model(small: Path) -> Path:
    path = small.parent / "small.model"
    assert main(["-q", "train", str(small), "--method", "cohesion", "-o", str(path)]) == 0
    return path


SMALL_CORPUS = re.compile(r"ciyu: the corpus has only [\d,]+ learnable characters: .*\n")


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the command; its exit status, standard output and standard error, without the
    warning that the corpus is small (the corpora here are, on purpose)."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, SMALL_CORPUS.sub("", out), SMALL_CORPUS.sub("", err)


def feed_fifo(path: Path, data: bytes) -> threading.Thread:
    """Make ``path`` a FIFO and write ``data`` into it from a thread (the writer blocks
    until a reader opens it, like a shell's producer)."""
    os.mkfifo(path)

    def write() -> None:
        with open(path, "wb") as fh:
            fh.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def feed_pipe(data: bytes) -> tuple[int, threading.Thread]:
    """An anonymous pipe holding ``data``; returns its read end (as ``<(...)`` gives)."""
    read_end, write_end = os.pipe()

    def write() -> None:
        with open(write_end, "wb") as fh:
            fh.write(data)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return read_end, thread


# --- 1. non-seekable inputs ---------------------------------------------------------------


def test_segment_reads_a_fifo_and_gzip_through_a_fifo(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "当事人应当按照约定履行义务。\n第二行\n"
    src = tmp_path / "plain.txt"
    src.write_text(text, encoding="utf-8")
    code, expected, _ = run(["-q", "segment", "-m", str(model), str(src)], capsys)
    assert code == 0 and expected.replace(" ", "") == text
    feed_fifo(tmp_path / "fifo", text.encode())
    code, out, err = run(["-q", "segment", "-m", str(model), str(tmp_path / "fifo")], capsys)
    assert (code, out, err) == (0, expected, "")
    feed_fifo(tmp_path / "gz", gzip.compress(text.encode()))
    code, out, err = run(["-q", "segment", "-m", str(model), str(tmp_path / "gz")], capsys)
    assert (code, out, err) == (0, expected, "")


@pytest.mark.parametrize("method", ["cohesion", "ensemble"])
def test_train_reads_a_fifo_in_several_passes(
    method: str, small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    direct, piped = tmp_path / "direct.model", tmp_path / "piped.model"
    args = ["-q", "train", "--method", method, "-o"]
    assert run([*args, str(direct), str(small)], capsys)[0] == 0
    feed_fifo(tmp_path / "fifo", small.read_bytes())
    assert run([*args, str(piped), str(tmp_path / "fifo")], capsys) == (0, "", "")
    assert piped.read_bytes() == direct.read_bytes()


def test_process_substitution_and_piped_stdin(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # `ciyu count <(cat small.txt)` and `cat small.txt | ciyu count -`: pipes, not files
    direct = tmp_path / "direct.npz"
    assert run(["-q", "count", str(small), "-o", str(direct)], capsys)[0] == 0
    read_end, _ = feed_pipe(small.read_bytes())
    substituted = tmp_path / "substituted.npz"
    code = run(["-q", "count", f"/dev/fd/{read_end}", "-o", str(substituted)], capsys)[0]
    os.close(read_end)
    assert code == 0 and substituted.read_bytes() == direct.read_bytes()
    read_end, _ = feed_pipe(small.read_bytes())
    with open(read_end, "rb") as stdin_pipe:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin_pipe, encoding="utf-8"))
        piped = tmp_path / "piped.npz"
        assert run(["-q", "count", "-", "-o", str(piped)], capsys)[0] == 0
    assert piped.read_bytes() == direct.read_bytes()


def test_train_from_piped_stdin(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    direct, piped = tmp_path / "direct.model", tmp_path / "piped.model"
    args = ["-q", "train", "--method", "cohesion", "-o"]
    assert run([*args, str(direct), str(small)], capsys)[0] == 0
    read_end, _ = feed_pipe(gzip.compress(small.read_bytes()))  # gzip on stdin, too
    with open(read_end, "rb") as stdin_pipe:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(stdin_pipe, encoding="utf-8"))
        assert run([*args, str(piped), "-"], capsys)[0] == 0
    assert piped.read_bytes() == direct.read_bytes()


def test_report_reads_a_fifo_once_for_both_passes(
    small: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_fifo(tmp_path / "fifo", small.read_bytes())
    page = tmp_path / "report.html"
    code, _, err = run(
        ["-q", "report", str(tmp_path / "fifo"), "-m", str(model), "-o", str(page)], capsys
    )
    assert (code, err) == (0, "")
    assert "Corpus coverage by the model" in page.read_text(encoding="utf-8")


# --- 2. -o checked before the work, one line for each kind of failure ---------------------


def bad_outputs(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Bad ``-o`` targets and the error each gives."""
    (tmp_path / "file").write_text("x", encoding="utf-8")
    (tmp_path / "dir").mkdir()
    d = tmp_path
    yield (
        f"{d}/missing/out",
        f"{d}/missing/out: cannot write: the directory {d}/missing does not exist; "
        "create it first, or choose another output path",
    )
    yield f"{d}/dir", f"{d}/dir: is a directory; give the output a file name"
    yield (
        f"{d}/file/out",
        f"{d}/file/out: cannot write: {d}/file is not a directory; choose another output path",
    )


def writing_commands(inp: str, model: Path) -> dict[str, list[str]]:
    return {
        "count": ["count", inp],
        "discover": ["discover", inp],
        "train": ["train", inp],
        "segment": ["segment", "-m", str(model), inp],
        "report": ["report", inp],
        "export": ["export", "-m", inp, "--format", "hf"],
    }


@pytest.mark.parametrize("command", ["count", "discover", "train", "segment", "report", "export"])
def test_bad_output_is_reported_before_any_work(
    command: str, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the input is bad too (invalid UTF-8, not a model): had the command started its work
    # before checking -o, the error would be about the input
    bad_input = tmp_path / "bad.txt"
    bad_input.write_bytes(b"\xff\xfe not text\n")
    argv = writing_commands(str(bad_input), model)[command]
    for target, message in bad_outputs(tmp_path):
        code, out, err = run([*argv, "-o", target], capsys)
        assert (code, out, err) == (2, "", f"ciyu: error: {message}\n")


def test_immutable_directory(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    if IS_ROOT:
        if subprocess.run(["chattr", "+i", str(locked)], capture_output=True).returncode:
            pytest.skip("chattr +i is not permitted here: cannot make a read-only directory")
    else:
        locked.chmod(0o555)
    try:
        code, _, err = run(["train", str(small), "-o", str(locked / "m.model")], capsys)
        assert code == 2
        assert err == (
            f"ciyu: error: {locked}/m.model: cannot write: permission denied in {locked}; "
            "choose a directory you can write to\n"
        )
    finally:
        if IS_ROOT:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
        locked.chmod(0o755)


# --- 3. special files as -o ---------------------------------------------------------------


def test_output_into_a_fifo_and_a_device(
    model: Path, small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as fh:
            got.append(fh.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert run(["-q", "export", "-m", str(model), "--format", "jieba-main", "-o", str(fifo)],
               capsys)[0] == 0  # fmt: skip
    reader.join(10)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert got and got[0].decode().count("\n") > 1000
    null = make_device(tmp_path / "null", 1, 3)
    assert run(["-q", "train", str(small), "--method", "cohesion", "-o", str(null)], capsys)[0] == 0
    assert stat.S_ISCHR(null.stat().st_mode)
    full = make_device(tmp_path / "full", 1, 7)
    code, _, err = run(["segment", "-m", str(model), str(small), "-o", str(full)], capsys)
    assert (code, err) == (2, f"ciyu: error: {full}: cannot write: No space left on device\n")
    assert stat.S_ISCHR(full.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full", "null", "out.fifo"]


def test_output_through_a_symlink_replaces_its_target(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "exports" / "dict.txt"
    target.parent.mkdir()
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "current.txt"
    link.symlink_to(target)
    argv = ["-q", "export", "-m", str(model), "--format", "jieba-main", "-o", str(link)]
    assert run(argv, capsys)[0] == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text(encoding="utf-8").count("\n") > 1000


def test_dash_output_is_standard_output(
    model: Path, capfd: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["-q", "export", "-m", str(model), "--format", "jieba-main", "-o", "-"]) == 0
    out, _ = capfd.readouterr()
    assert out.count("\n") > 1000 and not (tmp_path / "-").exists()


# --- 4. permissions -----------------------------------------------------------------------


def test_output_keeps_the_mode_or_follows_the_umask(
    model: Path, small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    existing = tmp_path / "private.txt"
    existing.write_text("", encoding="utf-8")
    existing.chmod(0o600)
    argv = ["-q", "segment", "-m", str(model), str(small), "-o"]
    assert run([*argv, str(existing)], capsys)[0] == 0
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600
    old = os.umask(0o077)
    try:
        assert run([*argv, str(tmp_path / "new.txt")], capsys)[0] == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o600


# --- 5. signals and temporaries -----------------------------------------------------------


def ciyu_process(args: list[str], **kw: typing.Any) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **kw.pop("env", {})}
    return subprocess.Popen(
        [sys.executable, "-m", "ciyu", *args], env=env, stderr=subprocess.PIPE, **kw
    )


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_signals_remove_the_temporary_output(
    signum: int, model: Path, small: Path, tmp_path: Path
) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)
    out = tmp_path / "out.txt"
    with ciyu_process(["segment", "-m", str(model), str(fifo), "-o", str(out)]) as proc:
        with open(fifo, "wb") as writer:  # the input stays open: segment is mid-run
            writer.write(small.read_bytes())
            writer.flush()
            wait_for(lambda: any(p.name.endswith(".tmp") for p in tmp_path.iterdir()),
                     "the temporary output")  # fmt: skip
            proc.send_signal(signum)
            assert proc.wait(60) == 128 + signum
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
    name = signal.Signals(signum).name
    assert err == f"ciyu: terminated by {name}; temporary files removed\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.fifo"]


@pytest.mark.skipif(not HAS_PROC, reason="needs /proc to see the spool file")
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_stdin_spool_leaves_nothing_even_after_kill_9(
    signum: int, small: Path, tmp_path: Path
) -> None:
    spool_dir = tmp_path / "tmp"
    spool_dir.mkdir()
    out = tmp_path / "m.model"
    with ciyu_process(
        ["train", "-", "-o", str(out)], stdin=subprocess.PIPE, env={"TMPDIR": str(spool_dir)}
    ) as proc:
        assert proc.stdin is not None
        proc.stdin.write(small.read_bytes())  # and no end of input: still spooling
        proc.stdin.flush()

        def spooling() -> bool:
            fds = Path(f"/proc/{proc.pid}/fd")
            return any(str(spool_dir) in os.readlink(fd) for fd in fds.iterdir())

        wait_for(spooling, "the spool file")
        proc.send_signal(signum)
        assert proc.wait(60) == (-9 if signum == signal.SIGKILL else 128 + signum)
        proc.stdin.close()
    assert list(spool_dir.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


def test_nohup_keeps_sighup_ignored() -> None:
    # `nohup ciyu ...` ignores SIGHUP; the command must not take that back
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        seen: list[object] = []
        original = COMMANDS[-1].run

        def spy(args: typing.Any, progress: typing.Any) -> int:
            seen.append(signal.getsignal(signal.SIGHUP))
            seen.append(signal.getsignal(signal.SIGTERM))
            return 0

        COMMANDS[-1] = dataclasses.replace(COMMANDS[-1], run=spy)
        try:
            assert main(["-q", "eval", "g", "p"]) == 0
        finally:
            COMMANDS[-1] = dataclasses.replace(COMMANDS[-1], run=original)
        assert seen[0] == signal.SIG_IGN and seen[1] not in (signal.SIG_DFL, signal.SIG_IGN)
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored after main
    finally:
        signal.signal(signal.SIGHUP, previous)


# --- 6. tuple options from the command line -----------------------------------------------


def tuple_options() -> Iterator[tuple[str, str, type]]:
    for name, spec in METHODS.items():
        hints = typing.get_type_hints(spec.config)
        for f in dataclasses.fields(spec.config):
            if typing.get_origin(hints[f.name]) is tuple:
                yield name, f.name, typing.get_args(hints[f.name])[0]


@pytest.mark.parametrize(("method", "field", "item"), list(tuple_options()))
def test_every_tuple_option_is_parsed_by_its_annotation(
    method: str, field: str, item: type
) -> None:
    config_cls = METHODS[method].config
    flag = "--" + field.replace("_", "-")
    value = {float: "2,4,6,8", int: "2,4,6,8", str: "cohesion,lm"}[item]
    args = build_parser(method).parse_args(
        ["train", "x", "-o", "m", "--method", method, flag, value]
    )
    parsed = getattr(args, field)
    assert all(type(x) is item for x in parsed)
    assert parsed == tuple(item(x) for x in value.split(","))
    extra = {"lm": ["--order", "4"]}.get(method, [])
    args = build_parser(method).parse_args(
        ["train", "x", "-o", "m", "--method", method, flag, value, *extra]
    )
    config = from_namespace(config_cls, args)
    assert getattr(config, field) == parsed


def test_readme_thresholds_example(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.model"
    argv = ["-q", "train", str(small), "--method", "cohesion", "--thresholds", "2,4,6"]
    assert run([*argv, "-o", str(path)], capsys) == (0, "", "")
    meta = json.loads(path.read_text(encoding="utf-8").splitlines()[1].split("\t", 1)[1])
    assert meta["config"]["thresholds"] == [2.0, 4.0, 6.0]
    code, out, _ = run(
        ["-q", "discover", str(small), "--thresholds", "2,4,6", "--top", "3"], capsys
    )
    assert code == 0 and len(out.splitlines()) == 4
    with pytest.raises(SystemExit):
        main(["train", str(small), "--method", "cohesion", "--thresholds", "2,nan", "-o", "m"])
    assert "expected comma-separated numbers, got '2,nan'" in capsys.readouterr().err
    assert CohesionConfig().thresholds == ()


# --- 7. unreadable parts of an input directory --------------------------------------------


def test_unreadable_subdirectory_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "locked").mkdir(parents=True)
    (corpus / "a.txt").write_text("中文\n", encoding="utf-8")
    (corpus / "locked" / "b.txt").write_text("分词\n", encoding="utf-8")
    locked = str(corpus / "locked")
    real_scandir = os.scandir

    def scandir(path: typing.Any = ".") -> typing.Any:
        if os.fspath(path) == locked:  # what chmod 000 does, even for root
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    code, out, err = run(["count", str(corpus), "-o", str(tmp_path / "c.npz")], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"ciyu: error: {locked}: cannot read this directory (permission denied) of the input "
        f"{corpus}; fix its permissions (chmod a+rx) or leave it out of the input\n"
    )


@pytest.mark.skipif(IS_ROOT, reason="root reads every file and directory")
def test_unreadable_file_and_directory_for_real(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "locked").mkdir(parents=True)
    (corpus / "a.txt").write_text("中文\n", encoding="utf-8")
    (corpus / "b.txt").write_text("分词\n", encoding="utf-8")
    (corpus / "b.txt").chmod(0)
    try:
        code, _, err = run(["count", str(corpus), "-o", str(tmp_path / "c.npz")], capsys)
        assert code == 2 and f"{corpus}/b.txt: permission denied" in err
        (corpus / "b.txt").chmod(0o644)
        (corpus / "locked").chmod(0)
        code, _, err = run(["count", str(corpus), "-o", str(tmp_path / "c.npz")], capsys)
        assert code == 2 and "cannot read this directory (permission denied)" in err
    finally:
        (corpus / "b.txt").chmod(0o644)
        (corpus / "locked").chmod(0o755)


# --- 8. eval of nothing -------------------------------------------------------------------


def test_eval_of_empty_files_and_word_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    code, out, err = run(["eval", str(empty), str(empty)], capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"ciyu: error: {empty} and {empty} hold no words, so there is nothing to score "
        "(precision, recall and F1 would be 0/0); check that you gave the right files\n"
    )
    gold = tmp_path / "gold.txt"
    gold.write_text("中文 分词\n", encoding="utf-8")
    code, out, err = run(["-q", "eval", str(gold), str(gold), "--words", str(empty)], capsys)
    assert code == 0
    assert out.splitlines()[3:6] == [
        "OOV rate   1.0000",
        "OOV recall 1.0000",
        "IV recall  undefined (the gold has no IV word)",
    ]
    assert err == f"ciyu: {empty} holds no words: every gold word counts as OOV\n"
    words = tmp_path / "words.txt"
    words.write_text("中文\n分词\n", encoding="utf-8")
    code, out, _ = run(
        ["-q", "eval", str(gold), str(gold), "--words", str(words), "--json"], capsys
    )
    scores = json.loads(out)
    assert scores["oov_recall"] is None and scores["iv_recall"] == 1.0 and scores["oov_rate"] == 0


# --- 9. -q and -v anywhere ----------------------------------------------------------------


def test_quiet_and_verbose_after_the_command(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "m.model"
    train = ["train", str(small), "--method", "cohesion", "-o", str(path)]
    for argv in ([*train, "-q"], ["--quiet", *train], [*train[:2], "-q", *train[2:]]):
        assert run(argv, capsys) == (0, "", "")
    code, _, err = run(train, capsys)
    normal = err.splitlines()
    assert code == 0 and len(normal) == 1 and normal[0].startswith("ciyu: train: ")
    for argv in ([*train, "-v"], ["-v", *train], [*train[:2], "--verbose", *train[2:]]):
        code, _, err = run(argv, capsys)
        assert code == 0 and len(err.splitlines()) > 1  # the learner's info lines too


# --- 10. one summary line per command -----------------------------------------------------


def test_every_command_ends_with_a_summary_line(
    small: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = tmp_path
    gold = d / "gold.txt"
    gold.write_text("中文 分词\n", encoding="utf-8")
    s = str(small)
    cases = {
        "count": (["count", s, "-o", f"{d}/c.npz"],
                  rf"[\d,]+ n-grams of orders 1\.\.6 over [\d,]+ characters written to {d}/c\.npz"),
        "discover": (["discover", s, "--top", "5", "-o", f"{d}/w.tsv"],
                     rf"5 words written to {d}/w\.tsv"),
        "explain": (["explain", "应当", s], r"应当 explained from [\d,]+ characters"),
        "train": (["train", s, "--method", "nvbe", "-o", f"{d}/m.model"],
                  rf"model of [\d,]+ words \(nvbe\) written to {d}/m\.model"),
        "segment": (["segment", "-m", str(model), str(gold)],
                    r"1 line \(14 bytes\) segmented into standard output"),
        "export": (["export", "-m", str(model), "--format", "hf", "-o", f"{d}/t.json"],
                   rf"[\d,]+ entries \(hf\) written to {d}/t\.json"),
        "templates": (["templates", "--pre-segmented", s, "-o", f"{d}/t.tsv"],
                      rf"[\d,]+ templates? from [\d,]+ words? written to {d}/t\.tsv"),
        "parse": (["parse", "-m", str(model), "--templates", f"{d}/t.tsv", str(gold)],
                  r"1 line parsed into standard output"),
        "report": (["report", "--discovery", f"{d}/w.tsv", "-o", f"{d}/r.html"],
                   rf"report on 5 words written to {d}/r\.html"),
        "eval": (["eval", str(gold), str(gold)], r"2 gold words against 2 predicted, F1 1\.0000"),
    }  # fmt: skip
    assert sorted(cases) == sorted(c.name for c in COMMANDS)
    for name, (argv, summary) in cases.items():
        code, _, err = run(argv, capsys)
        assert code == 0, err
        last = err.splitlines()[-1]
        assert re.fullmatch(rf"ciyu: {name}: {summary} in \d+\.\d s", last), last
        quiet = run(["-q", *argv], capsys)[2]  # warnings only
        assert f"ciyu: {name}:" not in quiet
        assert quiet == "" or name == "export"  # export warns of the words it leaves out


# --- 11. no state left behind by main() ---------------------------------------------------


def test_main_restores_the_library_logger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = logging.getLogger("ciyu")
    mine = logging.NullHandler()
    saved = (log.handlers[:], log.level, log.propagate)
    log.handlers[:] = [mine]
    log.setLevel(logging.ERROR)
    log.propagate = True
    try:
        gold = tmp_path / "g.txt"
        gold.write_text("中文\n", encoding="utf-8")
        assert main(["-v", "eval", str(gold), str(gold)]) == 0
        assert main(["eval", str(gold), str(tmp_path / "missing")]) == 2
        assert (log.handlers, log.level, log.propagate) == ([mine], logging.ERROR, True)
    finally:
        log.handlers[:], level, log.propagate = saved
        log.setLevel(level)
    capsys.readouterr()


def test_segment_uses_the_model_file_as_it_is_now(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # two runs in one process with the same model path but a new model in it
    path = tmp_path / "m.model"
    text = tmp_path / "t.txt"
    text.write_text("当事人应当按照约定全面履行自己的义务。\n", encoding="utf-8")
    outputs = []
    for words in (["当事人", "应当"], ["约定", "全面", "履行"]):
        corpus = tmp_path / "words.txt"
        corpus.write_text("".join(w + "，" for w in words) * 50 + "\n", encoding="utf-8")
        assert run(["-q", "train", str(corpus), "--method", "cohesion", "-o", str(path)],
                   capsys)[0] == 0  # fmt: skip
        for threads in ("1", "2"):
            code, out, _ = run(["-q", "segment", "-j", threads, "-m", str(path), str(text)], capsys)
            assert code == 0
            outputs.append(out)
    assert outputs[0] == outputs[1] and outputs[2] == outputs[3]
    assert outputs[0] != outputs[2]
    assert "当事人 应当" in outputs[0] and "约定 全面 履行" in outputs[2]


def test_nul_in_a_path_is_one_line(
    small: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "m.model")
    assert run(["train", "a\x00b", "-o", out], capsys) == (
        2,
        "",
        "ciyu: error: 'a\\x00b': not a valid file name\n",
    )
    assert run(["train", str(small), "-o", "x\x00y"], capsys) == (
        2,
        "",
        "ciyu: error: 'x\\x00y': not a valid file name\n",
    )
