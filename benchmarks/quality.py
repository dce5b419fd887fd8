"""Quality benchmark: unsupervised segmentation F1 on SIGHAN 2005 PKU and MSR.

Protocol (design memo §10, transductive):

- **Training text.** The raw text of People's Daily 1998-01, with its segmentation and POS
  tags stripped, plus the raw PKU and MSR test texts: about 2.2 M characters. Nothing that
  learns sees a gold segmentation or a training word list.
- **Scoring.** Every ciyu learner, with its default configuration, trains one model on that
  text, and the model segments both test sets. Scores are word-span P/R/F1 over the whole
  file, with OOV/IV recall against each corpus's training word list.

Measured in the same run:

- sentencepiece's unigram model, trained on the same raw text (identity normalisation, no
  dummy prefix);
- jieba with its default dictionary, a supervised lexicon.

Both come from the bench extra: ``pip install -e '.[bench]'``. The script also prints the
OOV recall by kind of OOV gold word, and, for the OOV words that jieba (HMM on) finds and
the default learner misses, how many jieba's dictionary holds and how many occur at most
twice in the training text. Each system trains in a
child process, so its time and peak memory are its own.

Usage::

    python benchmarks/quality.py [--data ../shared/data] [--out benchmarks/out]
                                 [--methods cohesion,nvbe,lm,minent,ensemble]

Needs ``../shared/data``, which ciyu does not ship because the SIGHAN and People's Daily
corpora are for research only. When it is absent, the script says so and exits with
status 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

import ciyu
from _common import ChildFailed, have_data, peak_rss_mb, run_child, train_sentencepiece
from ciyu.evaluate import gold_word_hits, read_word_list
from ciyu.learners import DEFAULT_METHOD, METHODS

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ("pku", "msr")
SPM_VOCABS = (8000, 32000)


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


def worker(system: str, train: Path, out: Path) -> None:
    """Train one system in this (child) process; print its cost as JSON."""
    start = time.perf_counter()
    if system.startswith("spm"):
        vocab = int(system.split("-")[1])
        train_sentencepiece(train, out / system, vocab)
        words = vocab
    else:
        model = ciyu.train(ciyu.Corpus([train]), method=system)
        model.save(out / f"{system}.model")
        words = len(model.lexicon)
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "train_seconds": round(seconds, 2),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "words": words,
            }
        )
    )


def train_in_child(system: str, train: Path, out: Path) -> dict[str, object]:
    try:
        return run_child(__file__, "--worker", system, "--train", str(train), "--out", str(out))
    except ChildFailed as exc:
        raise SystemExit(f"training {system} failed: {exc}") from None


def segmenter(system: str, out: Path) -> Callable[[str], list[str]]:
    if system.startswith("spm"):
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_file=str(out / f"{system}.model"))
        return lambda line: [p.replace("\u2581", " ") for p in sp.encode(line, out_type=str)]
    if system.startswith("jieba"):
        import jieba

        jieba.setLogLevel(60)
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        hmm = system == "jieba-hmm"
        return lambda line: tokenizer.lcut(line, HMM=hmm)
    return ciyu.Model.load(out / f"{system}.model").cut


OOV_KINDS = ("numbers", "1 char", "2 chars", "3 chars", "4+ chars")
_NUMBER = re.compile(r"[0-9\uff10-\uff19\u3007\u25cb]")  # a digit, 〇 or ○


def oov_kind(word: str) -> str:
    """The kind of an OOV gold word, for the recall-by-kind table."""
    if _NUMBER.search(word):
        return "numbers"
    if len(word) >= 4:
        return "4+ chars"
    return "1 char" if len(word) == 1 else f"{len(word)} chars"


def oov_recall_by_kind(gold: Path, pred: Path, words: Path) -> dict[str, list[float]]:
    """Kind of OOV gold word → [how many, recall]: where the OOV recall is won or lost."""
    training = read_word_list(words)
    found: dict[str, list[int]] = {kind: [0, 0] for kind in OOV_KINDS}
    for word, hit in gold_word_hits(gold, pred):
        if word not in training:
            cell = found[oov_kind(word)]
            cell[0] += 1
            cell[1] += hit
    return {k: [n, round(hit / n, 3) if n else 0.0] for k, (n, hit) in found.items()}


def oov_gap(data: Path, out: Path, corpus: str, ours: str, theirs: str) -> dict[str, int]:
    """The OOV gold words (numbers aside) that ``theirs`` finds and ``ours`` misses: how
    many, how many of them jieba's dictionary holds, and how many occur at most twice in
    the training text (substring counts), too rarely to be told from chance."""
    sighan = data / "sighan2005"
    gold = sighan / f"{corpus}_test_gold.utf8"
    training = read_word_list(sighan / f"{corpus}_training_words.utf8")
    with open(data / "lexicon" / "jieba_dict.txt", encoding="utf-8") as fh:
        jieba_words = {line.split(" ", 1)[0] for line in fh}
    text = (out / "train_raw.txt").read_text(encoding="utf-8")
    hits = zip(
        gold_word_hits(gold, out / f"{ours}_{corpus}.seg"),
        gold_word_hits(gold, out / f"{theirs}_{corpus}.seg"),
        strict=True,
    )
    missed = [
        word
        for (word, ours_hit), (_, their_hit) in hits
        if their_hit and not ours_hit and word not in training and not _NUMBER.search(word)
    ]
    return {
        "missed": len(missed),
        "in_jieba_dict": sum(w in jieba_words for w in missed),
        "at_most_twice": sum(text.count(w) <= 2 for w in missed),
    }


def evaluate(system: str, data: Path, out: Path) -> dict[str, dict[str, object]]:
    cut = segmenter(system, out)
    result = {}
    for corpus in CORPORA:
        sighan = data / "sighan2005"
        lines = (sighan / f"{corpus}_test.utf8").read_text(encoding="utf-8").split("\n")
        start = time.perf_counter()
        segmented = [" ".join(cut(line)) for line in lines]
        seconds = time.perf_counter() - start
        pred = out / f"{system}_{corpus}.seg"
        pred.write_text("\n".join(segmented), encoding="utf-8")
        s = ciyu.evaluate(
            sighan / f"{corpus}_test_gold.utf8", pred, sighan / f"{corpus}_training_words.utf8"
        )
        result[corpus] = {
            "precision": round(s.precision, 4),
            "recall": round(s.recall, 4),
            "f1": round(s.f1, 4),
            "oov_recall": round(s.oov_recall or 0.0, 4),
            "iv_recall": round(s.iv_recall or 0.0, 4),
            "segment_seconds": round(seconds, 2),
            "oov_by_kind": oov_recall_by_kind(
                sighan / f"{corpus}_test_gold.utf8", pred, sighan / f"{corpus}_training_words.utf8"
            ),
        }
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument(
        "--methods", default=",".join(METHODS), help="ciyu learners to measure (comma-separated)"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--train", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.train, args.out)
        return 0
    if not have_data(args.data / "sighan2005" / "pku_test_gold.utf8", args.data):
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    train = build_training_text(args.data, args.out)
    n_chars = len(train.read_text(encoding="utf-8"))
    systems = [f"{m}" for m in args.methods.split(",") if m]
    try:
        import sentencepiece  # noqa: F401

        systems += [f"spm-{v}" for v in SPM_VOCABS]
    except ImportError:
        print("sentencepiece is not installed: pip install -e '.[bench]'", file=sys.stderr)
    try:
        import jieba  # noqa: F401

        systems += ["jieba-hmm", "jieba-nohmm"]
    except ImportError:
        print("jieba is not installed: pip install -e '.[bench]'", file=sys.stderr)

    results: dict[str, dict[str, object]] = {}
    for system in systems:
        cost = {} if system.startswith("jieba") else train_in_child(system, train, args.out)
        results[system] = {**cost, **evaluate(system, args.data, args.out)}
        print(f"measured {system}", file=sys.stderr)

    print(f"training text: {train} ({n_chars:,} characters); default method: {DEFAULT_METHOD}")
    header = f"{'system':<13}{'train s':>8}{'peak MiB':>9}{'words':>8}  " + "  ".join(
        f"{c.upper()} P / R / F1 / OOV-R  " for c in CORPORA
    )
    print(header)
    print("-" * len(header))
    for name, res in results.items():
        cells = []
        for corpus in CORPORA:
            r = res[corpus]
            assert isinstance(r, dict)
            cells.append(
                f"{r['precision']:.3f} {r['recall']:.3f} {r['f1']:.3f} {r['oov_recall']:.3f}   "
            )
        train_s = res.get("train_seconds", "-")
        peak = res.get("peak_rss_mb", "-")
        words = res.get("words", "-")
        print(f"{name:<13}{train_s!s:>8}{peak!s:>9}{words!s:>8}  " + "  ".join(cells))
    best = results.get(DEFAULT_METHOD)
    if best is not None:
        for other in results:
            if other == DEFAULT_METHOD:
                continue
            ratios = []
            for corpus in CORPORA:
                a, b = best[corpus], results[other][corpus]
                assert isinstance(a, dict) and isinstance(b, dict)
                ratios.append(f"{corpus} {a['f1'] / b['f1']:.3f}")
            print(f"F1 ratio {DEFAULT_METHOD} / {other}: {', '.join(ratios)}")
    print("OOV recall by kind of OOV gold word (how many; recall per system):")
    for corpus in CORPORA:
        first = next(iter(results.values()))[corpus]
        assert isinstance(first, dict)
        sizes = first["oov_by_kind"]
        print(f"{corpus.upper():<13}" + "".join(f"{k:>10}" for k in OOV_KINDS))
        print(f"{'(words)':<13}" + "".join(f"{sizes[k][0]:>10}" for k in OOV_KINDS))
        for name, res in results.items():
            kinds = res[corpus]["oov_by_kind"]  # type: ignore[index]
            print(f"{name:<13}" + "".join(f"{kinds[k][1]:>10.3f}" for k in OOV_KINDS))
    if DEFAULT_METHOD in results and "jieba-hmm" in results:
        print(f"OOV words (not numbers) that jieba (HMM) finds and {DEFAULT_METHOD} misses:")
        for corpus in CORPORA:
            gap = oov_gap(args.data, args.out, corpus, DEFAULT_METHOD, "jieba-hmm")
            results[DEFAULT_METHOD][corpus]["oov_gap"] = gap  # type: ignore[index]
            print(
                f"{corpus.upper()}: {gap['missed']}, of which {gap['in_jieba_dict']} are in "
                f"jieba's dictionary and {gap['at_most_twice']} occur at most twice in the "
                "training text"
            )
    (args.out / "quality.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
