"""Speed benchmark: segmentation throughput, and training time and memory, against peers,
measured in one run so that the ratios hold on a noisy machine.

Three parts are run by default; ``--parts`` selects among them.

``segment``
    Throughput in MB/s of UTF-8 input over the first 10 MB of the law corpus. It compares
    ciyu's bulk path (``Model.segment``), ciyu's per-line Python API (``Model.cut``), the
    ``ciyu segment`` command file to file with 1 and 2 processes (start-up, model loading
    and I/O included), jieba, rjieba (jieba-rs) and sentencepiece's ``encode``.
    ciyu segments with a model trained on that text; sentencepiece uses a unigram model
    trained on the same text.
``train``
    Training on the whole law corpus (about 58 MB), with wall time and peak RSS. It compares
    ciyu's default learner (one process, ``threads=1``) with sentencepiece's unigram
    trainer (two threads) at a vocabulary of 32,000, close to the size of ciyu's lexicon,
    and prints the ratios.
``scaling``
    The same two trainers on 1/4, 1/2 and all of the corpus. It writes
    ``benchmarks/speed_scaling.png`` (time and memory against corpus size, log-log).
``replicated``
    The same two trainers on the whole corpus written ten times over (about 580 MB), the
    scaling check of the issue; its point joins the plot.
``budget``
    Counting and training (default learner) on the whole corpus with ``--max-memory``
    budgets of 256 and 512 MiB. It reports the peak RSS of the process against the
    budget, and for counting how much of the count table the budget kept.

Each trainer runs in its own child process, so the memory figures are its own. The script
needs ``../shared/data``. sentencepiece, jieba and rjieba come from the bench extra, and
matplotlib is needed for the plot.

Usage::

    python benchmarks/speed.py [--parts segment,train,scaling,replicated,budget]
                               [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import ciyu
from _common import ChildFailed, have_data, peak_rss_mb, run_child, train_sentencepiece

ROOT = Path(__file__).resolve().parent.parent
LAW = Path("raw") / "zh_laws_lawrefbook.md.txt.gz"


def law_text(data: Path, out: Path, fraction: float, limit_bytes: int | None = None) -> Path:
    """Write a prefix of the law corpus (whole lines): a fraction of it, or limit_bytes."""
    suffix = f"{limit_bytes}b" if limit_bytes else f"{fraction:g}"
    path = out / f"law_{suffix}.txt"
    if path.exists():
        return path
    with gzip.open(data / LAW, "rb") as fh:
        raw = fh.read()
    size = limit_bytes or int(len(raw) * fraction)
    cut = raw.rfind(b"\n", 0, size) + 1 if size < len(raw) else len(raw)
    path.write_bytes(raw[:cut])
    return path


def worker(system: str, train: Path, out: Path) -> None:
    """Train one system on ``train`` in this child process; print its cost as JSON."""
    start = time.perf_counter()
    if system == "ciyu":
        model = ciyu.train(ciyu.Corpus([train]), threads=1)
        model.save(out / f"{train.stem}.ciyu")
        size = len(model.lexicon)
    else:
        train_sentencepiece(train, out / f"{train.stem}.spm", 32000)
        size = 32000
    print(
        json.dumps(
            {
                "seconds": round(time.perf_counter() - start, 1),
                "peak_rss_mb": round(peak_rss_mb()),
                "vocab": size,
            }
        )
    )


def train_child(system: str, train: Path, out: Path) -> dict[str, float]:
    try:
        return run_child(__file__, "--worker", system, str(train), "--out", str(out))
    except ChildFailed as exc:
        raise SystemExit(f"training {system} on {train} failed: {exc}") from None


def throughput(run: Callable[[], object], n_bytes: int, repeat: int = 2) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n_bytes / best / 1e6


def part_segment(data: Path, out: Path) -> None:
    path = law_text(data, out, 1.0, limit_bytes=10_000_000)
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    n_bytes = len(text.encode("utf-8"))
    print(f"== segmentation throughput on {path.name} ({n_bytes / 1e6:.1f} MB)")
    cost = train_child("ciyu", path, out)
    print(f"ciyu model trained on it in {cost['seconds']} s ({cost['vocab']} words)")
    model = ciyu.Model.load(out / f"{path.stem}.ciyu")
    rates: dict[str, float] = {}
    rates["ciyu bulk (Model.segment)"] = throughput(lambda: model.segment(text), n_bytes)
    rates["ciyu per line (Model.cut)"] = throughput(
        lambda: [model.cut(line) for line in lines], n_bytes, 1
    )
    try:
        import sentencepiece as spm

        train_child("spm", path, out)
        sp = spm.SentencePieceProcessor(model_file=str(out / f"{path.stem}.spm.model"))
        rates["sentencepiece encode"] = throughput(lambda: sp.encode(lines), n_bytes)
    except ImportError:
        print("sentencepiece not installed (pip install -e '.[bench]')")
    try:
        import rjieba

        rates["rjieba cut"] = throughput(lambda: [rjieba.cut(line) for line in lines], n_bytes)
    except ImportError:
        print("rjieba not installed (pip install -e '.[bench]')")
    try:
        import jieba

        jieba.setLogLevel(60)
        tok = jieba.Tokenizer()
        tok.initialize()
        rates["jieba lcut"] = throughput(lambda: [tok.lcut(line) for line in lines], n_bytes, 1)
    except ImportError:
        print("jieba not installed (pip install -e '.[bench]')")
    for threads in (1, 2):
        dest = out / f"{path.stem}.seg"
        cmd = [
            sys.executable,
            "-m",
            "ciyu",
            "-q",
            "segment",
            "-j",
            str(threads),
            "-m",
            str(out / f"{path.stem}.ciyu"),
            str(path),
            "-o",
            str(dest),
        ]
        rates[f"ciyu segment CLI -j {threads}"] = throughput(
            lambda cmd=cmd: subprocess.run(cmd, check=True), n_bytes
        )
    for name, rate in rates.items():
        print(f"{name:<28}{rate:8.2f} MB/s")
    ours = rates["ciyu bulk (Model.segment)"]
    for name, rate in rates.items():
        if not name.startswith("ciyu"):
            print(f"ratio ciyu bulk / {name}: {ours / rate:.2f}")


def replicated_law(data: Path, out: Path, times: int) -> Path:
    """The whole law corpus written ``times`` times over (the issue's scaling check)."""
    path = out / f"law_x{times}.txt"
    if not path.exists():
        one = law_text(data, out, 1.0).read_bytes()
        with open(path, "wb") as fh:
            for _ in range(times):
                fh.write(one)
    return path


def part_train(paths: list[Path], out: Path) -> list[dict[str, object]]:
    """Train both systems on each file; print time, peak memory and the ratios."""
    rows: list[dict[str, object]] = []
    for path in paths:
        mb = path.stat().st_size / 1e6
        costs = {}
        for system in ("ciyu", "spm"):
            cost = train_child(system, path, out)
            costs[system] = cost
            rows.append({"system": system, "mb": round(mb, 1), **cost})
            print(
                f"{system:<6}{mb:8.1f} MB {cost['seconds']:9.1f} s {cost['peak_rss_mb']:8.0f} MiB"
                f"  vocab {cost['vocab']}"
            )
        ciyu, spm = costs["ciyu"], costs["spm"]
        print(
            f"        ciyu / sentencepiece: time {ciyu['seconds'] / spm['seconds']:.2f}, "
            f"peak memory {ciyu['peak_rss_mb'] / spm['peak_rss_mb']:.2f}"
        )
    return rows


def part_budget(data: Path, out: Path) -> None:
    print("== counting and training on the whole law corpus under --max-memory")
    # the children measure their own peak as the trainers' workers do (_common.peak_rss_mb)
    peak = f"import sys, ciyu; sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
    peak += "from _common import peak_rss_mb; "
    count = (
        peak + "c = ciyu.count(sys.argv[1], 6, max_memory=int(sys.argv[2]), threads=1); "
        "print(peak_rss_mb(), c.nbytes / 2**20, c.prune_floor)"
    )
    train = (
        peak + "m = ciyu.train(sys.argv[1], max_memory=int(sys.argv[2]), threads=1); "
        "print(peak_rss_mb(), len(m.lexicon))"
    )
    tables = (
        "import sys, ciyu; from ciyu.counts import count_ngrams; "
        "full = ciyu.count(sys.argv[1], 6).nbytes; "
        "kept = count_ngrams(ciyu.Corpus([sys.argv[1]]), 6, min_count=2).nbytes; "
        "print(full / 2**20, kept / 2**20)"
    )
    sizes = subprocess.run(
        [sys.executable, "-c", tables, str(data / LAW)], capture_output=True, text=True, check=True
    )
    full, kept = (float(x) for x in sizes.stdout.split())
    print(
        f"no budget: count tables {full:6.1f} MiB; without the n-grams seen once (what "
        f"training keeps) {kept:6.1f} MiB ({kept / full:.0%})"
    )
    for budget_mib in (256, 512):
        args = [str(data / LAW), str(budget_mib << 20)]
        counted = subprocess.run(
            [sys.executable, "-c", count, *args], capture_output=True, text=True, check=True
        )
        peak, tables, floor = counted.stdout.split()
        print(
            f"budget {budget_mib:4d} MiB: count: peak RSS {float(peak):6.0f} MiB, "
            f"count tables {float(tables):6.1f} MiB, pruning floor {floor}"
        )
        trained = subprocess.run(
            [sys.executable, "-c", train, *args], capture_output=True, text=True, check=True
        )
        peak, words = trained.stdout.split()
        print(f"budget {budget_mib:4d} MiB: train: peak RSS {float(peak):6.0f} MiB, {words} words")


def plot(rows: list[dict[str, object]], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(10, 4))
    for system, label in (("ciyu", "ciyu (default learner)"), ("spm", "sentencepiece unigram")):
        pts = [r for r in rows if r["system"] == system]
        xs = [float(r["mb"]) for r in pts]  # type: ignore[arg-type]
        ax_t.plot(xs, [float(r["seconds"]) for r in pts], "o-", label=label)  # type: ignore[arg-type]
        ax_m.plot(xs, [float(r["peak_rss_mb"]) for r in pts], "o-", label=label)  # type: ignore[arg-type]
    ax_t.set(xlabel="corpus (MB of UTF-8)", ylabel="training time (s)", title="Time")
    ax_m.set(xlabel="corpus (MB of UTF-8)", ylabel="peak RSS (MiB)", title="Memory")
    sizes = sorted({float(r["mb"]) for r in rows})  # type: ignore[arg-type]
    for ax in (ax_t, ax_m):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sizes, [f"{x:g}" + (" (law ×10)" if x > 100 else "") for x in sizes])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.yaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.grid(alpha=0.3, which="both")
        ax.legend()
    for ax in (ax_t, ax_m):
        lo, hi = ax.get_ylim()
        ticks = [m * 10**e for e in range(0, 6) for m in (1, 2, 5) if lo <= m * 10**e <= hi]
        ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot written to {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--parts", default="segment,scaling,budget")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]), args.out)
        return 0
    if not have_data(args.data / LAW, args.data):
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    parts = args.parts.split(",")
    if "segment" in parts:
        part_segment(args.data, args.out)
    rows: list[dict[str, object]] = []
    if "scaling" in parts:
        print("== training time and peak memory against corpus size (law corpus)")
        paths = [law_text(args.data, args.out, f) for f in (0.25, 0.5, 1.0)]
        rows = part_train(paths, args.out)
    elif "train" in parts:
        print("== training on the whole law corpus")
        rows = part_train([law_text(args.data, args.out, 1.0)], args.out)
    if "replicated" in parts:
        print("== training on the law corpus replicated 10 times")
        rows += part_train([replicated_law(args.data, args.out, 10)], args.out)
    if rows:
        saved = args.out / "speed_train.json"
        if saved.exists():  # keep the other sizes of an earlier run for the plot
            sizes = {(r["system"], r["mb"]) for r in rows}
            old = json.loads(saved.read_text())
            rows = [r for r in old if (r["system"], r["mb"]) not in sizes] + rows
        rows.sort(key=lambda r: (str(r["system"]), float(r["mb"])))  # type: ignore[arg-type]
        saved.write_text(json.dumps(rows, indent=2))
        plot(rows, ROOT / "benchmarks" / "speed_scaling.png")
    if "budget" in parts:
        part_budget(args.data, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
