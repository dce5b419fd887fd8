"""The memory budget (``--max-memory``) bounds the peak resident memory of the whole
command: the process and every worker process it starts.

The command runs in a subprocess (``python -m ciyu``), so that its memory is its own.
Every Python process of the command (the parent, the spawned workers, multiprocessing's
resource tracker) writes its own peak, ``VmHWM`` of ``/proc/self/status``, when it exits:
a ``sitecustomize`` module on its ``PYTHONPATH`` registers the hook. While the command
runs, the test also polls ``/proc`` for the processes of the tree, so that a process that
skipped the hook would still be counted. The budget must bound the sum of the peaks, which
is at least the peak of the sum.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu._memory import MemoryBudgetError, MiB, peak_kib, plan_count, process_tree
from ciyu.counts import _SAFE_BEFORE, NgramCounts, chunked, split_long
from ciyu.text import fragments, is_learnable

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/status").exists(), reason="peak memory is read from /proc (Linux)"
)

_HOOK = """\
import atexit, os, sys

def _report_peak():
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    path = os.path.join(os.environ["CIYU_TEST_PEAKS"], str(os.getpid()))
    with open(path, "w") as out:
        out.write(f"{os.getppid()} {peak}")

if os.environ.get("CIYU_TEST_PEAKS"):
    atexit.register(_report_peak)
"""


def zipf_text(n_chars: int, seed: int = 0) -> str:
    """Random Chinese: 30,000 words of 1-4 of 4,000 characters, drawn with Zipfian
    frequencies, in lines of 5-40 words ending in punctuation. Its n-grams are far more
    varied than those of natural text, so its count tables are large."""
    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in rng.sample(range(20000), 4000)]
    vocab = ["".join(rng.choices(chars, k=rng.choice((1, 2, 2, 2, 3, 3, 4)))) for _ in range(30000)]
    cum = list(itertools.accumulate(1 / (rank + 10) for rank in range(len(vocab))))
    lines, size = [], 0
    while size < n_chars:
        words = rng.choices(vocab, cum_weights=cum, k=rng.randint(5, 40))
        lines.append("".join(words) + rng.choice("。，；！？"))
        size += len(lines[-1])
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2.4 MB of random Chinese (800,000 characters): before the budget was a bound,
    counting it under 96M or 128M peaked at 143 MiB in one process, 489 MiB with two."""
    path = tmp_path_factory.mktemp("memory") / "zipf.txt"
    path.write_text(zipf_text(800_000), encoding="utf-8")
    return path


@dataclass
class Run:
    returncode: int
    stderr: str
    peaks: dict[int, int]  # pid -> VmHWM in KiB

    @property
    def total(self) -> int:
        """Sum of the peaks of every process of the command, in bytes."""
        return sum(self.peaks.values()) * 1024


def _is_python(pid: int) -> bool:
    try:
        return os.path.samefile(f"/proc/{pid}/exe", sys.executable)
    except OSError:
        return True  # gone, or not ours to inspect: its report is required


def run_measured(args: list[str], tmp_path: Path) -> Run:
    """Run ``python -m ciyu ARGS`` and measure the peak of every process of the tree."""
    hook_dir = tmp_path / "hook"
    peaks_dir = tmp_path / "peaks"
    hook_dir.mkdir(exist_ok=True)
    peaks_dir.mkdir(exist_ok=True)
    for old in peaks_dir.iterdir():
        old.unlink()
    (hook_dir / "sitecustomize.py").write_text(_HOOK)
    path = [str(hook_dir), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(path), CIYU_TEST_PEAKS=str(peaks_dir))
    err = tmp_path / "stderr.txt"
    polled: dict[int, int] = {}
    python: dict[int, bool] = {}  # the hook reports the peaks of Python processes only
    with (
        err.open("w") as err_fh,
        subprocess.Popen(
            [sys.executable, "-m", "ciyu", *args], env=env, stdout=subprocess.DEVNULL, stderr=err_fh
        ) as proc,
    ):
        while proc.poll() is None:
            for pid in process_tree(proc.pid):
                peak = peak_kib(pid)
                if peak is not None:
                    polled[pid] = max(polled.get(pid, 0), peak)
                    if pid not in python:
                        python[pid] = _is_python(pid)
            time.sleep(0.01)
    stderr = err.read_text()
    # the resource tracker outlives the command by a moment: wait for every process seen
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in polled if pid != proc.pid):
        assert time.monotonic() < deadline, "a process of the command did not exit"
        time.sleep(0.01)
    reported = {int(p.name): int(p.read_text().split()[1]) for p in peaks_dir.iterdir()}
    assert proc.pid in reported, "the command's own peak was not reported"
    missing = set(polled) - set(reported)
    assert not missing, f"processes that did not report their peak: {missing}"
    peaks = {pid: max(peak, polled.get(pid, 0)) for pid, peak in reported.items()}
    return Run(proc.returncode, stderr, peaks)


def _mib(run: Run) -> str:
    return f"{run.total / MiB:.1f} MiB in {len(run.peaks)} processes"


@pytest.mark.parametrize("budget", ["96M", "128M"])
def test_count_stays_within_the_budget_for_any_number_of_workers(
    corpus: Path, tmp_path: Path, budget: str
) -> None:
    limit = int(budget[:-1]) * MiB
    outputs = []
    for threads in ("1", "2"):
        out = tmp_path / f"counts-{threads}.npz"
        run = run_measured(
            ["count", str(corpus), "-o", str(out), "-j", threads, "--max-memory", budget],
            tmp_path,
        )
        assert run.returncode == 0, run.stderr
        assert run.total <= limit, f"-j {threads}: {_mib(run)} over the budget of {budget}"
        outputs.append(out.read_bytes())
    # the budget, not the number of workers, decides what is pruned
    assert outputs[0] == outputs[1]
    counts = NgramCounts.load(tmp_path / "counts-1.npz")
    assert counts.approximate and counts.n_chars == sum(map(len, fragments_of_file(corpus)))


def test_one_long_line_is_counted_within_the_budget(corpus: Path, tmp_path: Path) -> None:
    """A line of 2.4 MB without a newline (read in pieces of 1 MiB): 157 MiB under 96M
    before the fix."""
    line = tmp_path / "line.txt"
    line.write_text(corpus.read_text(encoding="utf-8").replace("\n", ""), encoding="utf-8")
    out = tmp_path / "c.npz"
    run = run_measured(["count", str(line), "-o", str(out), "--max-memory", "96M"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.total <= 96 * MiB, _mib(run)
    assert NgramCounts.load(out).n_chars == sum(map(len, fragments_of_file(corpus)))


def fragments_of_file(path: Path) -> list[str]:
    return [f for line in path.read_text(encoding="utf-8").splitlines() for f in fragments(line)]


@pytest.mark.parametrize(("budget", "threads"), [("96M", ["1", "2"]), ("128M", ["2"])])
def test_train_stays_within_the_budget_for_any_number_of_workers(
    corpus: Path, tmp_path: Path, budget: str, threads: list[str]
) -> None:
    limit = int(budget[:-1]) * MiB
    models = []
    for j in threads:
        out = tmp_path / f"model-{j}.txt"
        run = run_measured(
            ["train", str(corpus), "-o", str(out), "-j", j, "--max-memory", budget], tmp_path
        )
        assert run.returncode == 0, run.stderr
        assert run.total <= limit, f"-j {j}: {_mib(run)} over the budget of {budget}"
        models.append(out.read_bytes())
    assert len(set(models)) == 1
    assert len(ciyu.Model.load(tmp_path / f"model-{threads[0]}.txt")) > 1000


def test_workers_count_against_the_budget(corpus: Path, tmp_path: Path) -> None:
    """A budget that can feed two workers gets them, and their memory is within it (this
    passed before the fix too: it guards the accounting of the workers)."""
    run = run_measured(
        ["count", str(corpus), "-o", str(tmp_path / "c.npz"), "-j", "2", "--max-memory", "1G"],
        tmp_path,
    )
    assert run.returncode == 0, run.stderr
    assert len(run.peaks) >= 3  # the command, two workers (and the resource tracker)
    assert run.total <= 1 << 30


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ciyu", *args], capture_output=True, text=True, check=False
    )


_REFUSAL = re.compile(
    r"^ciyu: error: --max-memory \S+ \S+ is too small: (counting|learning) needs at least "
    r"(\d+) MiB, because this Python process holds about \d+ MiB \(the interpreter with "
    r"numpy and ciyu\) before it reads its input; give --max-memory (\d+)M or more\n$"
)


@pytest.mark.parametrize(
    ("command", "size"),
    [("count", "0"), ("count", "1"), ("count", "1K"), ("count", "48M"), ("train", "80M")],
)
def test_budget_below_the_floor_is_refused_in_one_line(
    corpus: Path, tmp_path: Path, command: str, size: str
) -> None:
    proc = _run([command, str(corpus), "-o", str(tmp_path / "out"), "--max-memory", size])
    assert proc.returncode == 2
    match = _REFUSAL.match(proc.stderr)
    assert match, proc.stderr
    assert match.group(1) == ("counting" if command == "count" else "learning")
    assert match.group(2) == match.group(3)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["count", "train"])
def test_the_minimum_named_is_enough(tmp_path: Path, command: str) -> None:
    """The budget the refusal names is enough for a small corpus, and is kept."""
    small = tmp_path / "small.txt"
    small.write_text(zipf_text(20_000, seed=1), encoding="utf-8")
    proc = _run([command, str(small), "-o", str(tmp_path / "out"), "--max-memory", "1K"])
    match = _REFUSAL.match(proc.stderr)
    assert match, proc.stderr
    least = match.group(3) + "M"
    run = run_measured(
        [command, str(small), "-o", str(tmp_path / "out"), "--max-memory", least], tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.total <= int(match.group(3)) * MiB, _mib(run)


def test_a_corpus_too_large_for_the_learner_is_refused_with_the_budget_it_needs(
    corpus: Path, tmp_path: Path
) -> None:
    """The learner holds what grows with the corpus whatever the counts: at a budget that
    lets it start, this corpus is refused after counting, with a budget that works."""
    model = tmp_path / "model.txt"
    args = ["train", str(corpus), "-o", str(model), "--max-memory"]
    # the least budget that lets learning start (what the interpreter holds varies a little
    # with the modules ciyu imports), and just above it
    floor = _run([*args, "1K"])
    found = _REFUSAL.match(floor.stderr)
    assert found, floor.stderr
    budget = int(found.group(3)) + 2
    run = run_measured([*args, f"{budget}M"], tmp_path)
    assert run.returncode == 2
    assert run.total <= budget * MiB, _mib(run)
    match = re.match(
        rf"^ciyu: error: --max-memory {budget} MiB is too small to learn from this corpus of "
        r"[\d,]+ characters: .* give --max-memory (\d+)M or more\n$",
        run.stderr,
    )
    assert match, run.stderr
    assert not model.exists()
    least = int(match.group(1))
    run = run_measured([*args, f"{least}M"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.total <= least * MiB, _mib(run)


def test_the_api_refuses_a_budget_below_the_floor() -> None:
    with pytest.raises(MemoryBudgetError, match=r"^--max-memory 1\.0 KiB is too small"):
        ciyu.count(texts=["中文"], max_memory=1024)
    with pytest.raises(MemoryBudgetError, match="learning needs at least"):
        ciyu.train(texts=["中文"], max_memory=0)


@pytest.mark.parametrize("budget", [64, 96, 128, 256, 512, 1024, 4096])
def test_the_plan_does_not_depend_on_the_number_of_workers(budget: int) -> None:
    """What is pruned depends on the room of the tables and the chunk size: the same for
    any -j, so that the counts are too."""
    plans = [plan_count(budget * MiB, 6, threads, held=38 * MiB) for threads in range(1, 9)]
    assert len({(p.table_bytes, p.chunk_chars) for p in plans}) == 1
    assert all(p.workers <= t for p, t in zip(plans, range(1, 9), strict=True))


def test_plan_uses_workers_only_when_the_budget_feeds_them() -> None:
    assert plan_count(256 * MiB, 6, 8, held=38 * MiB).workers == 1
    assert plan_count(4096 * MiB, 6, 2, held=38 * MiB).workers == 2


def test_plan_floor_grows_with_what_the_process_holds() -> None:
    plan_count(100 * MiB, 6, 1, held=38 * MiB)
    with pytest.raises(MemoryBudgetError, match="holds about 80 MiB"):
        plan_count(100 * MiB, 6, 1, held=80 * MiB)


def test_chunks_are_bounded_even_for_empty_lines() -> None:
    lists = list(chunked([""] * 10_000, 100))
    assert all(len(x) <= 100 for x in lists)
    assert sum(map(len, lists)) == 10_000
    assert [len(x) for x in chunked(["甲" * 50, "乙" * 60, "丙" * 10], 100)] == [1, 2]


_SAFE = "".join(sorted(_SAFE_BEFORE))
_ALPHABET = st.sampled_from(list("甲乙丙丁々〇ア" + _SAFE + "12３.．-－a\u0301😀\n"))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_ALPHABET, max_size=300), st.integers(min_value=8, max_value=64))
def test_split_long_keeps_the_text_and_cuts_safely(text: str, max_chars: int) -> None:
    pieces = list(split_long(text, max_chars))
    assert "".join(pieces) == text
    assert all(len(p) <= max_chars for p in pieces)
    cuts = list(itertools.accumulate(map(len, pieces[:-1])))
    if all(text[c - 1] in _SAFE_BEFORE and is_learnable(text[c]) for c in cuts):
        assert [f for p in pieces for f in fragments(p)] == fragments(text)
    else:  # a hard cut: only where the second half of a piece has no safe place
        for c, piece in zip(cuts, pieces, strict=False):
            if not (text[c - 1] in _SAFE_BEFORE and is_learnable(text[c])):
                assert len(piece) == max_chars
                half = piece[max_chars // 2 + 1 :]
                starts = c - len(piece)
                assert not any(
                    text[starts + i - 1] in _SAFE_BEFORE and is_learnable(text[starts + i])
                    for i in range(max_chars // 2 + 1, max_chars)
                ), half
