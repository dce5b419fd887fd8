"""Writing outputs: atomic for files, direct for devices and pipes, never a traceback.

Devices and FIFOs are made inside the test's temporary directory: no test aims at the
machine's own /dev/null or /dev/full.
"""

from __future__ import annotations

import itertools
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ciyu._atomic import atomic_write, check_output, remove_stale_temporaries
from ciyu.errors import OutputError

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def temporaries(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


def make_device(path: Path, major: int, minor: int) -> Path:
    """A character device node like /dev/null (1, 3) or /dev/full (1, 7), inside the
    test's own directory."""
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
    except (PermissionError, AttributeError) as exc:
        pytest.skip(f"mknod is not permitted here ({exc}): cannot make a test device")
    return path


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


def drain(path: Path) -> tuple[threading.Thread, list[bytes]]:
    """Read the FIFO ``path`` in a thread, as the other end of a pipe would."""
    got: list[bytes] = []

    def read() -> None:
        with open(path, "rb") as fh:
            got.append(fh.read())

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    return thread, got


@pytest.fixture
def umask() -> Iterator[None]:
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def test_write_replaces_atomically_and_leaves_no_temporary(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("old\n", encoding="utf-8")
    with atomic_write(out) as fh:
        fh.write("new\n")
        assert out.read_text(encoding="utf-8") == "old\n"  # not visible before the end
    assert out.read_text(encoding="utf-8") == "new\n"
    with pytest.raises(KeyError), atomic_write(out) as fh:
        fh.write("half")
        raise KeyError
    assert out.read_text(encoding="utf-8") == "new\n"
    assert temporaries(tmp_path) == []


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing/out.txt", "{d}/missing/out.txt: cannot write: the directory {d}/missing does "
         "not exist; create it first, or choose another output path"),
        ("file/out.txt", "{d}/file/out.txt: cannot write: {d}/file is not a directory; "
         "choose another output path"),
        ("file/deeper/out.txt", "{d}/file/deeper/out.txt: cannot write: {d}/file is not a "
         "directory; choose another output path"),
        ("dir", "{d}/dir: is a directory; give the output a file name"),
        ("new/", "{d}/new/: names a directory; give the output a file name"),
    ],
)  # fmt: skip
def test_bad_locations_are_one_line_errors(tmp_path: Path, where: str, message: str) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    (tmp_path / "dir").mkdir()
    target = f"{tmp_path}/{where}"
    expected = message.format(d=tmp_path)
    with pytest.raises(OutputError) as exc:
        check_output(target)
    assert str(exc.value) == expected
    with pytest.raises(OutputError) as exc, atomic_write(target) as fh:
        fh.write("never")
    assert str(exc.value) == expected
    assert (tmp_path / "dir").is_dir() and (tmp_path / "file").read_text() == "x"


def test_empty_path(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="the output path is empty"):
        check_output("")


@pytest.mark.skipif(IS_ROOT, reason="root may write into a read-only directory")
def test_read_only_directory(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(OutputError) as exc:
            check_output(ro / "out.txt")
        assert str(exc.value) == (
            f"{ro}/out.txt: cannot write: permission denied in {ro}; "
            "choose a directory you can write to"
        )
    finally:
        ro.chmod(0o755)


def test_check_output_creates_nothing(tmp_path: Path) -> None:
    check_output(tmp_path / "out.txt")
    assert list(tmp_path.iterdir()) == []


def test_fifo_is_written_directly(tmp_path: Path, fifo: Path) -> None:
    thread, got = drain(fifo)
    with atomic_write(fifo, "wb") as fh:
        fh.write(b"through the pipe\n")
    thread.join(10)
    assert got == [b"through the pipe\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a FIFO, not a regular file
    assert temporaries(tmp_path) == []


def test_character_devices_are_written_directly(tmp_path: Path) -> None:
    null = make_device(tmp_path / "null", 1, 3)
    check_output(null)
    with atomic_write(null) as fh:
        fh.write("discarded\n" * 1000)
    assert stat.S_ISCHR(null.stat().st_mode)
    assert temporaries(tmp_path) == []
    full = make_device(tmp_path / "full", 1, 7)
    for size in (10, 10_000_000):  # in the final flush, and in the caller's own writes
        with pytest.raises(OutputError) as exc, atomic_write(full) as fh:
            fh.write("x" * size)
        assert str(exc.value) == f"{full}: cannot write: No space left on device"
    assert stat.S_ISCHR(full.stat().st_mode)


def test_descriptor_alias_is_written_directly(tmp_path: Path) -> None:
    # what `-o /dev/stdout` or a shell's `>(...)` gives: /dev/fd/N of an open pipe
    read_end, write_end = os.pipe()
    try:
        with atomic_write(f"/dev/fd/{write_end}") as fh:
            fh.write("到管道\n")
        os.close(write_end)
        assert os.read(read_end, 100) == "到管道\n".encode()
    finally:
        os.close(read_end)
        with pytest.raises(OSError):
            os.close(write_end)


def test_symlink_target_is_replaced_and_link_kept(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.txt"
    target.write_text("old", encoding="utf-8")
    link = tmp_path / "link"
    link.symlink_to(target)
    chain = tmp_path / "chain"
    chain.symlink_to(link)
    with atomic_write(chain) as fh:
        fh.write("new")
    assert chain.is_symlink() and link.is_symlink()
    assert os.readlink(chain) == str(link)
    assert target.read_text(encoding="utf-8") == "new"
    assert temporaries(tmp_path) == [] and temporaries(tmp_path / "real") == []
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "real" / "created.txt")
    with atomic_write(dangling) as fh:
        fh.write("made")
    assert dangling.is_symlink()
    assert (tmp_path / "real" / "created.txt").read_text(encoding="utf-8") == "made"


def test_existing_mode_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "secret.model"
    out.write_text("old", encoding="utf-8")
    for mode in (0o600, 0o640, 0o444):
        out.chmod(mode)
        with atomic_write(out) as fh:
            fh.write("new")
        assert stat.S_IMODE(out.stat().st_mode) == mode
    out.chmod(0o600)


def test_new_file_gets_the_umask_mode(tmp_path: Path, umask: None) -> None:
    with atomic_write(tmp_path / "new.model") as fh:
        fh.write("x")
    assert stat.S_IMODE((tmp_path / "new.model").stat().st_mode) == 0o600
    os.umask(0o022)
    with atomic_write(tmp_path / "open.model") as fh:
        fh.write("x")
    assert stat.S_IMODE((tmp_path / "open.model").stat().st_mode) == 0o644


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    dead = dead_pid()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = [
            f".out.txt.{dead}.abcdefgh.tmp",  # a dead writer of this output: removed
            f".out.txt.{live.pid}.abcdefgh.tmp",  # a writer still running: kept
            f".other.txt.{dead}.abcdefgh.tmp",  # another output: kept
            ".out.txt.k2j4h5g6.tmp",  # no process id (older ciyu): kept
            "out.txt.1.abcdefgh.tmp",  # not ours
        ]
        for name in names:
            (tmp_path / name).write_text("partial", encoding="utf-8")
        with atomic_write(out) as fh:
            fh.write("done")
        assert temporaries(tmp_path) == sorted(names[1:])
        live.kill()
        live.wait()
        assert remove_stale_temporaries(out) == [str(tmp_path / names[1])]
    finally:
        live.kill()
        live.wait()


def test_kill_9_leaves_a_temporary_that_the_next_write_removes(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    out.write_text("previous", encoding="utf-8")
    code = (
        "import sys, time\n"
        "from ciyu._atomic import atomic_write\n"
        "with atomic_write(sys.argv[1]) as fh:\n"
        "    fh.write('partial'); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
    )
    with subprocess.Popen(
        [sys.executable, "-c", code, str(out)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
        left = temporaries(tmp_path)
        assert len(left) == 1 and left[0].startswith(f".out.txt.{proc.pid}.")
        proc.kill()
    assert out.read_text(encoding="utf-8") == "previous"
    assert temporaries(tmp_path) == left  # kill -9 cannot clean up...
    with atomic_write(out) as fh:
        fh.write("next")
    assert temporaries(tmp_path) == []  # ...the next successful write does
    assert out.read_text(encoding="utf-8") == "next"


def test_long_names_still_fit(tmp_path: Path) -> None:
    out = tmp_path / ("长" * 80 + ".txt")  # 244 bytes: a temporary adds to that
    with atomic_write(out) as fh:
        fh.write("x")
    assert out.read_text(encoding="utf-8") == "x"
    assert temporaries(tmp_path) == []


def test_concurrent_writer_of_the_same_output_is_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    with atomic_write(out) as first:
        first.write("first")
        with atomic_write(out) as second:  # the same process: its temporary is live
            second.write("second")
        assert len(temporaries(tmp_path)) == 1
    assert out.read_text(encoding="utf-8") == "first"
    assert temporaries(tmp_path) == []


def test_descriptor_alias_keeps_the_shells_append_mode(tmp_path: Path) -> None:
    # `ciyu ... -o /dev/stdout >> log`: the descriptor is used as the shell opened it
    log = tmp_path / "log.txt"
    log.write_text("earlier\n", encoding="utf-8")
    with (
        open(log, "a", encoding="utf-8") as appending,
        atomic_write(f"/dev/fd/{appending.fileno()}") as fh,
    ):
        fh.write("appended\n")
    assert log.read_text(encoding="utf-8") == "earlier\nappended\n"
    assert temporaries(tmp_path) == []
    with (
        pytest.raises(OutputError, match="no such file or descriptor"),
        atomic_write("/dev/fd/999") as fh,
    ):
        fh.write("x")


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_large_outputs_reach_the_disk_as_they_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel is asked to write each step of a large temporary file as it comes
    (contiguous ranges from the start), and the file holds exactly the bytes written,
    whatever the sizes of the writes."""
    from ciyu import _atomic

    step = _atomic.WRITEBACK_STEP
    requested: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        assert advice == os.POSIX_FADV_DONTNEED
        requested.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", spy)
    data = os.urandom(3 * step + 12_345)
    # cut points: writes shorter and longer than a step, and empty ones
    pieces = [0, 0, 1, step - 1, step + 7, step + 7, 2 * step + 999, len(data)]
    target = tmp_path / "big.bin"
    with atomic_write(target, "wb") as fh:
        for a, b in itertools.pairwise(pieces):
            fh.write(data[a:b])
    assert target.read_bytes() == data
    assert requested and requested[0][0] == 0
    assert all(length >= step for _, length in requested)
    assert all(o + n == o2 for (o, n), (o2, _) in itertools.pairwise(requested))
    assert requested[-1][0] + requested[-1][1] > len(data) - step
    # small files and direct outputs are not touched
    requested.clear()
    with atomic_write(tmp_path / "small.bin", "wb") as fh:
        fh.write(b"x" * 1000)
    assert requested == []
