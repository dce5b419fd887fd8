"""Quality benchmark: unsupervised segmentation F1 on SIGHAN 2005 PKU and MSR.

Protocol (design memo §10, transductive): the training text is the raw text of People's
Daily 1998-01 (its segmentation and POS tags stripped) plus the raw PKU and MSR test
texts, about 2.3 M characters; nothing learned sees a gold segmentation or a training word
list. One model, with the default configuration, segments both test sets; scores are
word-span P/R/F1 over the whole file, with OOV/IV recall against each corpus's training
word list. jieba (default dictionary, a supervised lexicon) is measured in the same run
for comparison, when it is installed (``pip install -e '.[bench]'``).

Usage::

    python benchmarks/quality.py [--data ../shared/data] [--out benchmarks/out]

Needs ``../shared/data`` (not shipped with ciyu: the SIGHAN and People's Daily corpora
are research-only); says so and exits with status 2 when it is absent.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import ciyu
from ciyu.model import Model

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ("pku", "msr")


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_training_text(data: Path, out: Path) -> Path:
    """Write the benchmark's raw training text (one paragraph per line) and return it."""
    path = out / "train_raw.txt"
    lines = []
    with open(data / "gold" / "pku_peoples_daily_199801_pos.utf8", encoding="utf-8") as fh:
        for line in fh:
            lines.append("".join(tok.rsplit("/", 1)[0] for tok in line.split()))
    for corpus in CORPORA:
        test = data / "sighan2005" / f"{corpus}_test.utf8"
        lines.extend(test.read_text(encoding="utf-8").splitlines())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def segment_file(cut: object, src: Path, dest: Path) -> float:
    """Segment ``src`` line by line with ``cut`` into ``dest``; return the seconds taken."""
    assert callable(cut)
    lines = src.read_text(encoding="utf-8").split("\n")
    start = time.perf_counter()
    out = [" ".join(cut(line)) for line in lines]
    elapsed = time.perf_counter() - start
    dest.write_text("\n".join(out), encoding="utf-8")
    return elapsed


def score(data: Path, corpus: str, pred: Path) -> ciyu.Scores:
    sighan = data / "sighan2005"
    return ciyu.evaluate(
        sighan / f"{corpus}_test_gold.utf8", pred, sighan / f"{corpus}_training_words.utf8"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    args = parser.parse_args()
    if not (args.data / "sighan2005" / "pku_test_gold.utf8").exists():
        print(
            f"benchmark data not found in {args.data}: this benchmark needs the SIGHAN 2005 "
            "and People's Daily files of ../shared/data (not shipped with ciyu); "
            "pass --data DIR",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    train_path = build_training_text(args.data, args.out)
    n_chars = len(train_path.read_text(encoding="utf-8"))

    results: dict[str, dict[str, object]] = {}
    start = time.perf_counter()
    model = ciyu.train(ciyu.Corpus([train_path]), method="cohesion")
    train_seconds = time.perf_counter() - start
    model_path = args.out / "cohesion.model"
    model.save(model_path)
    model = Model.load(model_path)
    results["ciyu cohesion"] = {
        "train_seconds": round(train_seconds, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "words": len(model),
    }

    systems: dict[str, object] = {"ciyu cohesion": model.cut}
    try:
        import jieba

        jieba.setLogLevel(60)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        systems["jieba default (HMM on)"] = lambda s: tokenizer.lcut(s, HMM=True)
        systems["jieba default (HMM off)"] = lambda s: tokenizer.lcut(s, HMM=False)
        for name in list(systems)[1:]:
            results[name] = {"train_seconds": None, "words": len(tokenizer.FREQ)}
    except ImportError:
        print("jieba is not installed: pip install -e '.[bench]' to compare", file=sys.stderr)

    for name, cut in systems.items():
        for corpus in CORPORA:
            src = args.data / "sighan2005" / f"{corpus}_test.utf8"
            slug = "".join(c if c.isalnum() else "_" for c in name).strip("_")
            pred = args.out / f"{slug}_{corpus}.seg"
            seconds = segment_file(cut, src, pred)
            s = score(args.data, corpus, pred)
            results[name][corpus] = {
                "precision": round(s.precision, 4),
                "recall": round(s.recall, 4),
                "f1": round(s.f1, 4),
                "oov_recall": round(s.oov_recall or 0.0, 4),
                "iv_recall": round(s.iv_recall or 0.0, 4),
                "segment_seconds": round(seconds, 2),
            }

    print(f"training text: {train_path} ({n_chars:,} characters)")
    header = f"{'system':<26}{'corpus':<7}{'P':>7}{'R':>7}{'F1':>7}{'OOV-R':>7}{'IV-R':>7}"
    print(header)
    print("-" * len(header))
    for name, res in results.items():
        for corpus in CORPORA:
            r = res[corpus]
            assert isinstance(r, dict)
            print(
                f"{name:<26}{corpus:<7}{r['precision']:>7.4f}{r['recall']:>7.4f}"
                f"{r['f1']:>7.4f}{r['oov_recall']:>7.4f}{r['iv_recall']:>7.4f}"
            )
    ours = results["ciyu cohesion"]
    print(
        f"\nciyu cohesion: trained in {ours['train_seconds']} s, "
        f"peak RSS {ours['peak_rss_mb']} MiB, {ours['words']} words"
    )
    for name in results:
        if name.startswith("jieba"):
            for corpus in CORPORA:
                a = ours[corpus]
                b = results[name][corpus]
                assert isinstance(a, dict) and isinstance(b, dict)
                print(f"F1 ratio ciyu / {name} on {corpus}: {a['f1'] / b['f1']:.3f}")
    (args.out / "quality.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
