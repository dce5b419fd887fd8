"""Scale benchmark: from one core to a cluster (issue 12), measured in one run.

``train``
    Training time and peak memory of the whole process tree (every process the command
    starts: worker processes, Ray's GCS, raylet and workers) on the law corpus at 1×, 2×
    and 10× (the corpus written again and again: repeated text) and on its deduplicated
    variant (every distinct line once), for ciyu's default learner with ``-j 1``, ``-j 2``
    and ``--engine ray`` (Ray started on this machine with 2 CPUs), and sentencepiece's
    unigram trainer (vocabulary 32k, 2 threads). ciyu's three model files are compared
    byte for byte. Peak memory is the sum of the peaks (``VmHWM``) of the processes of the
    tree, polled every 0.1 s: at least the peak of the sum (pages shared between processes,
    such as Ray's object store, count once per process that maps them).
``segment``
    ``ciyu segment`` file to file with ``-j 1`` and ``-j 2`` (threads) on 50 MB of the law
    corpus, MB/s of UTF-8 input, best of five alternating runs (one run of ``-j 1`` varies
    by up to 40% on a shared 2-core machine), the start of the command included (with
    compiled bytecode, as pip installs it), with the model trained on 1×. Then this
    machine's ceiling for two threads: the work two independent processes (a pure-Python
    loop) do in the time one does its own, best of five. And the part that does not
    divide between threads: ``segment -j 2`` of an empty file (best of five), with the
    ratio two threads would reach if they halved the rest of ``-j 1``'s time.
``model``
    Each pass of the default learner is run in this process with a recording engine on
    1/4, 1/2 and all of the law corpus: the time of every map over a batch, the size of
    every partial (zlib-compressed, as it would travel), of the merged result (what comes
    back to the driver) and of the pass's state (what goes out to every worker), and the
    time of the driver's serial work. From these, a model of a job on 10, 100 and 1000
    machines: what is serial, what ships over the network, and from what corpus size the
    driver is the bottleneck (see :func:`cluster_time` for the assumptions).

Results go to ``benchmarks/out/scale.json`` and the plot to ``benchmarks/scale.png``.
``--quick`` runs everything on a small prefix of the corpus (for trying the script, not
for figures). Timing needs an idle machine.

Usage::

    python benchmarks/scale.py [--parts train,segment,model] [--data ../shared/data]
                               [--out benchmarks/out] [--quick]
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import json
import math
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import ciyu
from _common import have_data, peak_rss_mb, train_sentencepiece
from ciyu._memory import peak_kib, process_tree
from ciyu.learners.base import make_context
from ciyu.learners.ensemble import EnsembleConfig, learn
from ciyu.passes import Batch, LocalEngine, Pass, Stack

ROOT = Path(__file__).resolve().parent.parent
LAW = Path("raw") / "zh_laws_lawrefbook.md.txt.gz"
MB = 1e6


# --- corpora -----------------------------------------------------------------------------


def law_bytes(data: Path, limit: int | None) -> bytes:
    with gzip.open(data / LAW, "rb") as fh:
        raw = fh.read()
    if limit is not None and limit < len(raw):
        raw = raw[: raw.rfind(b"\n", 0, limit) + 1]
    return raw


def corpora(data: Path, out: Path, limit: int | None) -> dict[str, Path]:
    """The law corpus ×1, ×2, ×10 and deduplicated (each distinct line once, in order)."""
    raw = law_bytes(data, limit)
    tag = "quick" if limit else "full"
    paths = {}
    for name, times in (("x1", 1), ("x2", 2), ("x10", 10)):
        path = out / f"law_{tag}_{name}.txt"
        if not path.exists():
            with open(path, "wb") as fh:
                for _ in range(times):
                    fh.write(raw)
        paths[name] = path
    dedup = out / f"law_{tag}_dedup.txt"
    if not dedup.exists():
        seen: set[bytes] = set()
        with open(dedup, "wb") as fh:
            for line in raw.splitlines(keepends=True):
                if line not in seen:
                    seen.add(line)
                    fh.write(line)
    paths["dedup"] = dedup
    return paths


# --- the process tree ---------------------------------------------------------------------


def measured(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd``; its wall time and the sum of the peak memory of its process tree."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peaks: dict[int, int] = {}
    while proc.poll() is None:
        for pid in process_tree(proc.pid):
            peaks[pid] = max(peaks.get(pid, 0), peak_kib(pid) or 0)
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    _, err = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {err.decode(errors='replace').strip()}")
    return {
        "seconds": round(seconds, 1),
        "peak_mib": round(sum(peaks.values()) / 1024),
        "processes": len(peaks),
    }


# --- part 1: training ---------------------------------------------------------------------

SYSTEMS = {
    "ciyu -j 1": ["-j", "1"],
    "ciyu -j 2": ["-j", "2"],
    "ciyu --engine ray": ["-j", "2", "--engine", "ray"],
}


def part_train(paths: dict[str, Path], out: Path) -> list[dict[str, Any]]:
    rows = []
    for name, path in paths.items():
        mb = path.stat().st_size / MB
        models = {}
        for system, flags in SYSTEMS.items():
            model = out / f"{path.stem}.{system.split()[-1].strip('-')}.model"
            cmd = [sys.executable, "-m", "ciyu", "-q", "train", str(path), "-o", str(model)]
            cost = measured([*cmd, *flags])
            models[system] = model.read_bytes()
            rows.append({"corpus": name, "mb": round(mb, 1), "system": system, **cost})
            print(
                f"{name:>6} {mb:8.1f} MB  {system:<18} {cost['seconds']:8.1f} s "
                f"{cost['peak_mib']:7d} MiB ({cost['processes']} processes)",
                flush=True,
            )
        same = len(set(models.values())) == 1
        print(f"{name:>6}  ciyu model files identical for -j 1, -j 2 and Ray: {same}")
        cmd = [sys.executable, __file__, "--worker", "spm", str(path), "--out", str(out)]
        cost = measured(cmd)
        rows.append({"corpus": name, "mb": round(mb, 1), "system": "sentencepiece", **cost})
        print(
            f"{name:>6} {mb:8.1f} MB  {'sentencepiece':<18} {cost['seconds']:8.1f} s "
            f"{cost['peak_mib']:7d} MiB",
            flush=True,
        )
        rows[-1]["ciyu_models_identical"] = same
    by = {(r["corpus"], r["system"]): r for r in rows}
    for name in paths:
        one, two = by[(name, "ciyu -j 1")], by[(name, "ciyu -j 2")]
        ray, spm = by[(name, "ciyu --engine ray")], by[(name, "sentencepiece")]
        print(
            f"{name:>6}  -j 2 / -j 1 time {two['seconds'] / one['seconds']:.2f} (target <= 0.65); "
            f"-j 2 / spm time {two['seconds'] / spm['seconds']:.2f}, memory "
            f"{two['peak_mib'] / spm['peak_mib']:.2f}; Ray / -j 2 memory "
            f"{ray['peak_mib'] / two['peak_mib']:.2f} (target <= 3)"
        )
    return rows


def spm_worker(path: Path, out: Path) -> None:
    # the --quick prefix has too few distinct pieces for 32k (sentencepiece refuses)
    vocab = 8000 if "quick" in path.stem else 32000
    train_sentencepiece(path, out / f"{path.stem}.spm", vocab)


# --- part 2: segmentation -----------------------------------------------------------------


def part_segment(data: Path, out: Path, model: Path, limit: int) -> dict[str, Any]:
    path = out / f"law_{limit}b.txt"
    if not path.exists():
        path.write_bytes(law_bytes(data, limit))
    n = path.stat().st_size
    # the timings include starting the command, as a user runs it: with the bytecode a
    # pip install compiles (an editable install under PYTHONDONTWRITEBYTECODE would
    # compile every module at every start instead)
    compileall.compile_dir(Path(ciyu.__file__).parent, quiet=1)

    def segment(source: Path, target: str, threads: int) -> list[str]:
        return [sys.executable, "-m", "ciyu", "-q", "segment", "-m", str(model), str(source),
                "-o", str(out / target), "-j", str(threads)]  # fmt: skip

    best = {1: math.inf, 2: math.inf}
    for _ in range(5):  # alternating, best of five: the machine is noisy
        for threads in (1, 2):
            best[threads] = min(best[threads], seconds(segment(path, "seg.txt", threads)))
    rows = []
    for threads in (1, 2):
        rate = n / MB / best[threads]
        rows.append({"threads": threads, "mb": round(n / MB, 1), "mb_per_s": round(rate, 1)})
        print(f"segment -j {threads}: {rate:6.1f} MB/s on {n / MB:.1f} MB", flush=True)
    print(f"segment -j 2 / -j 1: {rows[1]['mb_per_s'] / rows[0]['mb_per_s']:.2f} (target >= 1.7)")
    # what does not divide between threads: the same command on an empty input (the
    # interpreter, the imports, the model, the rule layer, the output file, the exit)
    empty = out / "empty.txt"
    empty.write_bytes(b"")
    fixed = min(seconds(segment(empty, "seg-empty.txt", 2)) for _ in range(5))
    at_most = best[1] / (fixed + (best[1] - fixed) / 2)
    print(
        f"start-up and exit (segment -j 2 of an empty file): {fixed * 1000:.0f} ms; with them, "
        f"two threads that halve the rest of -j 1's time would give {at_most:.2f}"
    )
    ceiling = two_core_ceiling()
    print(
        f"this machine's ceiling: two independent processes do {ceiling:.2f} times the work "
        "of one in the same time (2.00 on two cores that do not slow each other down)"
    )
    return {
        "runs": rows,
        "startup_and_exit_ms": round(fixed * 1000),
        "ratio_if_the_rest_halved": round(at_most, 2),
        "two_independent_processes": round(ceiling, 2),
    }


#: A pure-Python loop of about a second, alone and twice at once: how much two cores of
#: this machine give together (a shared physical core, or a clock that drops when both
#: are busy, keeps it below 2, whatever the program).
_BUSY = "x = 0\nfor i in range(8_000_000):\n    x += i * i\n"


def seconds(cmd: list[str]) -> float:
    """The wall time of one run of ``cmd`` (which must succeed)."""
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    return time.perf_counter() - start


def two_core_ceiling(rounds: int = 5) -> float:
    """The work two independent processes do in the time one does its own, best of
    ``rounds`` alternating rounds."""
    cmd = [sys.executable, "-c", _BUSY]
    alone, together = math.inf, math.inf
    for _ in range(rounds):
        alone = min(alone, seconds(cmd))
        start = time.perf_counter()
        both = [subprocess.Popen(cmd) for _ in range(2)]
        for proc in both:
            if proc.wait():
                raise SystemExit("the busy loop failed")
        together = min(together, time.perf_counter() - start)
    return 2 * alone / together


# --- part 3: the scaling model ------------------------------------------------------------


class Recorder(LocalEngine):
    """Runs every pass in this process and records, per pass, what a cluster would do."""

    def __init__(self) -> None:
        super().__init__(1)
        self.passes: list[dict[str, Any]] = []

    def run(
        self,
        job: Pass[Any, Any],
        batches: Iterable[Batch],
        *,
        progress: Any = None,
        **_: Any,
    ) -> Any:
        state = job.encode_state()
        record: dict[str, Any] = {
            "pass": job.kind,
            "state_bytes": len(state) if state is not None else 0,
            "maps": [],
        }
        # merged as a cluster's map task merges: nothing pruned before the whole is merged
        acc = Stack(job.merge, job.size, job.empty)
        for batch in batches:
            start = time.perf_counter()
            partial = job.map(batch)
            seconds = time.perf_counter() - start
            chars = job.chars(partial)
            sent = len(job.encode(partial, compress=True))
            record["maps"].append([seconds, chars, sent])
            acc.add(partial)
        start = time.perf_counter()
        merged = acc.result()
        record["merge_s"] = time.perf_counter() - start
        # what one map task that read this whole corpus would send, compressed
        record["merged_bytes"] = len(job.encode(merged, compress=True))
        start = time.perf_counter()
        merged = job.trim(merged)
        record["merge_s"] += time.perf_counter() - start
        record["result_bytes"] = len(job.encode(merged, compress=True))
        start = time.perf_counter()
        result = job.finish(merged)
        record["finish_s"] = time.perf_counter() - start
        self.passes.append(record)
        return result


def record_job(path: Path) -> dict[str, Any]:
    """One instrumented training run of the default learner."""
    engine = Recorder()
    start = time.perf_counter()
    corpus = ciyu.Corpus([path])
    config = EnsembleConfig()
    with make_context(
        lambda: corpus, config.count_order(), drop_singletons=True, engine=engine
    ) as ctx:
        learn(ctx, config)
    total = time.perf_counter() - start
    mapped = sum(m[0] for p in engine.passes for m in p["maps"])
    merged = sum(p["merge_s"] for p in engine.passes)
    return {
        "mb": path.stat().st_size / MB,
        "total_s": total,
        "map_s": mapped,
        "merge_s": merged,
        # what only the driver can do: the learner between its passes (calibration,
        # building the segmenters, choosing the merges), and finishing each pass
        "serial_s": total - mapped - merged,
        "passes": engine.passes,
        "peak_rss_mb": peak_rss_mb(),
    }


def fit_power(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """``y = a·x^b`` by least squares in logs."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(max(y, 1e-9)) for y in ys]
    n = len(xs)
    mx, my = sum(lx) / n, sum(ly) / n
    var = sum((x - mx) ** 2 for x in lx)
    b = sum((x - mx) * (y - my) for x, y in zip(lx, ly, strict=True)) / var if var else 1.0
    return math.exp(my - b * mx), b


#: The machines of the model: cores each, network bandwidth per machine (bytes/s), and
#: the driver's bandwidth.
CORES = 8
BANDWIDTH = 1.25e9  # 10 Gbit/s
TASK_MB = 64  # input per map task (a piece of a file)


def fit_line(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """``y = a + b·x`` by least squares, with ``a, b >= 0``."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    var = sum((x - mx) ** 2 for x in xs)
    b = (
        max(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var, 0.0)
        if var
        else 0.0
    )
    a = my - b * mx
    if a < 0:
        a, b = 0.0, sum(ys) / sum(xs)
    return a, b


def cluster_model(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Fit what each part of a job costs against the corpus size, from the recorded runs.

    Map work grows in proportion to the corpus. Each map task reads :data:`TASK_MB` of
    text and sends its merged partials, whose size grows with the vocabulary of a task's
    text: fitted as a power of the text's size from the merged partials of the three
    prefixes of the law corpus. What the driver receives (the merged results, pruned) and
    sends (the states) grows with the vocabulary of the whole corpus, fitted the same way
    (sizes do not depend on the machine's load). The driver's serial time is a fixed part
    (the calibration on a sample of the corpus) plus a part in proportion to the merged
    results it works on.
    """
    sizes = [r["mb"] * MB for r in records]
    last = records[-1]
    per_byte_map = last["map_s"] / sizes[-1]
    sent = sum(m[2] for p in last["passes"] for m in p["maps"])
    merge_per_sent = last["merge_s"] / max(sent, 1)
    task = fit_power(sizes, [sum(p["merged_bytes"] for p in r["passes"]) for r in records])
    results = [sum(p["result_bytes"] for p in r["passes"]) for r in records]
    serial = fit_line(results, [r["serial_s"] for r in records])
    result = fit_power(sizes, results)
    state = fit_power(sizes, [sum(p["state_bytes"] for p in r["passes"]) for r in records])
    return {
        "map_s_per_byte": per_byte_map,
        "task_sent_bytes": task,
        "sent_bytes_per_byte": task[0] * (TASK_MB * MB) ** task[1] / (TASK_MB * MB),
        "merge_s_per_sent_byte": merge_per_sent,
        "serial_s": serial,
        "result_bytes": result,
        "state_bytes": state,
        "passes": len(last["passes"]),
    }


def cluster_time(model: dict[str, Any], size: float, machines: int) -> dict[str, float]:
    """The modelled time of a job on ``size`` bytes of text and ``machines`` machines of
    :data:`CORES` cores and :data:`BANDWIDTH`:

    - map: all the map work spread over every core, but at least one task's worth;
    - shuffle: the compressed partials of every task (each has read :data:`TASK_MB`),
      sent all to all (each machine sends and receives its share), and merged by the
      reduce tasks on every core;
    - driver: its serial work, receiving the merged results, and sending each pass's
      state to every machine (Ray's object store: every node pulls it from the driver).
    """
    cores = machines * CORES
    task = TASK_MB * MB * model["map_s_per_byte"]
    mapping = max(size * model["map_s_per_byte"] / cores, task)
    sent = size * model["sent_bytes_per_byte"]
    shuffle = sent / (machines * BANDWIDTH) + sent * model["merge_s_per_sent_byte"] / cores
    ra, rb = model["result_bytes"]
    fixed, per_result = model["serial_s"]
    serial = fixed + per_result * ra * size**rb
    sa, sb = model["state_bytes"]
    gather = ra * size**rb / BANDWIDTH
    broadcast = sa * size**sb * machines / BANDWIDTH
    driver = serial + gather + broadcast
    return {
        "map": mapping,
        "shuffle": shuffle,
        "driver": driver,
        "broadcast": broadcast,
        "total": mapping + shuffle + driver,
        "state_mb": sa * size**sb / MB,
        "result_mb": ra * size**rb / MB,
    }


def driver_bound_size(model: dict[str, Any], machines: int) -> float:
    """The corpus size below which the driver's part of a job on ``machines`` machines is
    larger than the rest (so that more machines no longer make it faster): the driver's
    work grows more slowly than the corpus, the rest in proportion to it."""
    lo, hi = 1e6, 1e16
    if (
        cluster_time(model, hi, machines)["driver"]
        > 0.5 * cluster_time(model, hi, machines)["total"]
    ):
        return math.inf
    for _ in range(100):
        mid = math.sqrt(lo * hi)
        t = cluster_time(model, mid, machines)
        if t["driver"] > t["map"] + t["shuffle"]:
            lo = mid
        else:
            hi = mid
    return hi


def part_model(data: Path, out: Path, limit: int | None) -> dict[str, Any]:
    raw = law_bytes(data, limit)
    records = []
    for share in (0.25, 0.5, 1.0):
        path = out / f"law_model_{share:g}_{len(raw)}.txt"
        if not path.exists():
            cut = raw.rfind(b"\n", 0, int(len(raw) * share)) + 1 if share < 1 else len(raw)
            path.write_bytes(raw[:cut])
        rec = record_job(path)
        records.append(rec)
        print(
            f"recorded {rec['mb']:6.1f} MB: {rec['total_s']:6.1f} s, map {rec['map_s']:6.1f} s, "
            f"merge {rec['merge_s']:5.1f} s, serial {rec['serial_s']:5.1f} s",
            flush=True,
        )
    last = records[-1]
    print(f"{'pass':<8}{'batches':>8}{'map s':>8}{'sent MB':>9}{'result MB':>10}{'state MB':>9}")
    for p in last["passes"]:
        print(
            f"{p['pass']:<8}{len(p['maps']):>8}{sum(m[0] for m in p['maps']):>8.1f}"
            f"{sum(m[2] for m in p['maps']) / MB:>9.1f}{p['result_bytes'] / MB:>10.1f}"
            f"{p['state_bytes'] / MB:>9.1f}"
        )
    model = cluster_model(records)
    print(
        f"per MB of text: map {model['map_s_per_byte'] * MB:.2f} s, partials sent "
        f"{model['sent_bytes_per_byte']:.2f} MB (compressed); serial driver time "
        f"{model['serial_s'][0]:.1f} s + {model['serial_s'][1] * MB:.2f} s per MB of merged "
        f"results, which grow as size^{model['result_bytes'][1]:.2f}"
    )
    table = []
    print(f"modelled job time ({CORES} cores and {BANDWIDTH * 8 / 1e9:g} Gbit/s a machine):")
    print(f"{'corpus':>8}" + "".join(f"{m:>14}" for m in (1, 10, 100, 1000)))
    for gb in (1, 10, 100, 1000):
        cells = []
        for machines in (1, 10, 100, 1000):
            t = cluster_time(model, gb * 1e9, machines)
            table.append({"gb": gb, "machines": machines, **t})
            top = max(("map", "shuffle", "driver"), key=lambda k: t[k])
            cells.append(f"{t['total'] / 60:8.1f} min {top[0]}")
        print(f"{gb:>6} GB" + "".join(f"{c:>14}" for c in cells))
    bound = {m: driver_bound_size(model, m) for m in (10, 100, 1000)}
    for machines, size in bound.items():
        if math.isinf(size):
            where = "at every size up to 10 PB"
        elif size <= 1.01e6:
            where = "at no size from 1 MB on"
        else:
            where = f"below {size / 1e9:,.1f} GB"
        print(f"{machines:>5} machines: the driver's share is over half {where}")
    return {"records": records, "model": model, "table": table, "driver_bound_bytes": bound}


# --- the plot -----------------------------------------------------------------------------


def plot(results: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib
    except ImportError:
        print("no plot: matplotlib is not installed (pip install -e '.[bench]')")
        return

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [p for p in ("train", "model") if results.get(p)]
    if not panels:
        return
    fig, axes = plt.subplots(1, len(panels) + (1 if "train" in panels else 0), figsize=(14, 4))
    axes = list(axes) if hasattr(axes, "__len__") else [axes]
    ax_iter: Iterator[Any] = iter(axes)
    if "train" in panels:
        rows = results["train"]
        ax_t, ax_m = next(ax_iter), next(ax_iter)
        for system in [*SYSTEMS, "sentencepiece"]:
            pts = sorted(
                (r for r in rows if r["system"] == system and r["corpus"] != "dedup"),
                key=lambda r: r["mb"],
            )
            ax_t.plot([r["mb"] for r in pts], [r["seconds"] for r in pts], "o-", label=system)
            ax_m.plot([r["mb"] for r in pts], [r["peak_mib"] for r in pts], "o-", label=system)
        for ax, title, unit in ((ax_t, "Training time", "s"), (ax_m, "Peak memory", "MiB")):
            ax.set(
                xscale="log",
                yscale="log",
                xlabel="law corpus ×1, ×2, ×10 (MB)",
                ylabel=unit,
                title=title,
            )
            ax.grid(alpha=0.3, which="both")
            ax.legend(fontsize=8)
    if "model" in panels:
        ax = next(ax_iter)
        model = results["model"]["model"]
        machines = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
        for gb in (1, 10, 100, 1000):
            ax.plot(
                machines,
                [cluster_time(model, gb * 1e9, m)["total"] / 60 for m in machines],
                "o-",
                label=f"{gb} GB",
            )
        ax.set(
            xscale="log",
            yscale="log",
            xlabel=f"machines ({CORES} cores each)",
            ylabel="modelled job time (min)",
            title="A job on a cluster (model)",
        )
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--parts", default="train,segment,model")
    parser.add_argument("--quick", action="store_true", help="a small prefix of the corpus")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        spm_worker(Path(args.worker[1]), args.out)
        return 0
    if not have_data(args.data / LAW, args.data):
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    limit = 1_500_000 if args.quick else None
    results: dict[str, Any] = {}
    saved = args.out / ("scale_quick.json" if args.quick else "scale.json")
    if saved.exists():  # keep the parts of an earlier run for the plot
        results = json.loads(saved.read_text())
    paths = corpora(args.data, args.out, limit)
    if "train" in parts:
        print("== training: law corpus ×1, ×2, ×10 and deduplicated")
        results["train"] = part_train(paths, args.out)
    if "segment" in parts:
        print("== segmentation throughput")
        model = args.out / f"{paths['x1'].stem}.1.model"
        if not model.exists():
            corpus = ciyu.Corpus([paths["x1"]])
            ciyu.train(corpus, threads=2).save(model)
        results["segment"] = part_segment(
            args.data, args.out, model, 3_000_000 if args.quick else 50_000_000
        )
    if "model" in parts:
        print("== the passes, recorded, and a model of a cluster")
        results["model"] = part_model(args.data, args.out, limit)
    saved.write_text(json.dumps(results, indent=1))
    if not args.quick:
        plot(results, ROOT / "benchmarks" / "scale.png")
    else:
        plot(results, args.out / "scale_quick.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
