"""Templates benchmark: mining time and memory, the templates found, and parse quality.

Three parts, in one run (``--parts`` picks some):

- **bench**: the 2.2 M-character training text of the quality benchmark (People's Daily
  1998-01 with its segmentation stripped, plus the raw PKU and MSR test texts). The default
  model is trained on it, then templates are mined with that model; both in child
  processes, so that each time and peak memory is its own. Prints the top templates, and
  where a list of common frames of Chinese ranks among them (a frame counts as found when
  a template's fixed words, spaces removed, begin with its first word and hold its second).
- **law**: the same on the 58 MB law corpus (``raw/zh_laws_lawrefbook.md.txt.gz``); the
  training time and memory are the yardstick for mining's.
- **treebank**: the UD Chinese-HK test treebank (``treebank/zh_hk-ud-test.conllu``, 1,004
  sentences, traditional script). Its words, converted to simplified characters one by
  one with OpenCC (so word boundaries stay the treebank's), are parsed with the templates
  of the *bench* part (``ciyu parse --pre-segmented``). The score is unlabeled bracket F1
  against the spans of every head's subtree, punctuation removed (spans of one word, the
  whole sentence, and subtrees that are not contiguous are left out), micro-averaged over
  the sentences, compared in the same run with left-branching, right-branching and random
  binary trees (the mean of ten seeds) over the same words. A second parse row is
  ``ciyu parse --fill right`` (``ciyu.Parser(..., fill="right")``): every span that no
  template covers filled in with a right-branching tree, to show what the templates add
  to that baseline.

Usage::

    python benchmarks/templates.py [--data ../shared/data] [--out benchmarks/out]
                                   [--parts bench,law,treebank] [--threads 2]

Needs ``../shared/data`` (not shipped: the corpora are for research only), and OpenCC
(``pip install -e '.[test]'``) for the treebank part.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import ciyu
from _common import ChildFailed, have_data, peak_rss_mb, run_child
from ciyu.template import Tree, brackets, leaves
from ciyu.template.sentences import sentences
from quality import build_training_text

ROOT = Path(__file__).resolve().parent.parent
LAW = Path("raw") / "zh_laws_lawrefbook.md.txt.gz"
TREEBANK = Path("treebank") / "zh_hk-ud-test.conllu"
#: Common frames of Chinese: where each ranks among the templates of the benchmark text.
FRAMES = (
    "在 中",
    "在 上",
    "在 下",
    "在 时",
    "从 到",
    "从 出发",
    "从 起",
    "不仅 而且",
    "不仅 也",
    "虽然 但",
    "尽管 但",
    "一方面 另一方面",
    "越 越",
    "对 来说",
    "就 而言",
    "因为 所以",
    "由于 因此",
    "如果 就",
    "只要 就",
    "只有 才",
    "即使 也",
    "无论 都",
    "既 又",
    "又 又",
    "一边 一边",
    "不是 而是",
    "除了 以外",
    "除 外",
    "以 为",
    "为 而",
    "像 一样",
    "比 更",
    "连 都",
    "一 就",
    "当 时",
    "自 以来",
    "对于 来说",
)


# --- child processes -------------------------------------------------------------------


def worker(task: str, corpus: Path, out: Path, threads: int) -> None:
    """Train a model or mine templates in this (child) process; print the cost as JSON."""
    start = time.perf_counter()
    if task.startswith("train"):
        model = ciyu.train(ciyu.Corpus([corpus]), threads=threads)
        model.save(out / f"{task}.model")
        result: dict[str, object] = {"words": len(model.lexicon)}
    else:
        name = task.split(":", 1)[1]
        model = ciyu.Model.load(out / f"train-{name}.model")
        mined = ciyu.templates(ciyu.Corpus([corpus]), model, threads=threads)
        ciyu.save_templates(mined.templates, out / f"templates-{name}.tsv")
        result = {"templates": len(mined), "words": mined.meta["words"]}
    result["seconds"] = round(time.perf_counter() - start, 1)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result))


def in_child(task: str, corpus: Path, out: Path, threads: int) -> dict[str, object]:
    try:
        return run_child(
            __file__, "--worker", task, "--corpus", str(corpus), "--out", str(out),
            "--threads", str(threads),
        )  # fmt: skip
    except ChildFailed as exc:
        raise SystemExit(f"{task} failed: {exc}") from None


# --- the templates found ---------------------------------------------------------------


def frame_ranks(templates: Sequence[ciyu.Template]) -> dict[str, int | None]:
    """The rank (1-based) of the first template holding each frame, or None."""
    ranks: dict[str, int | None] = {}
    fixed = ["".join(x for x in t.template.split(" ") if x != "<X>") for t in templates]
    for frame in FRAMES:
        first, second = frame.split()
        ranks[frame] = next(
            (
                r
                for r, f in enumerate(fixed, 1)
                if f.startswith(first) and second in f[len(first) :]
            ),
            None,
        )
    return ranks


def show_templates(name: str, templates: Sequence[ciyu.Template], n: int) -> None:
    print(f"top {n} of {len(templates):,} templates ({name}):")
    for t in templates[:n]:
        fillers = " | ".join(t.top_fillers[:3])
        print(f"  {t.template:<24} {t.count:>7,} {t.score:>10.1f}  {fillers}")


# --- the treebank ----------------------------------------------------------------------


def read_treebank(path: Path) -> list[tuple[list[str], list[int], list[bool]]]:
    """Sentences as (words, head of each word (0 = root, 1-based), is punctuation)."""
    sentences = []
    words: list[str] = []
    heads: list[int] = []
    punct: list[bool] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if words:
                sentences.append((words, heads, punct))
            words, heads, punct = [], [], []
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if not cols[0].isdigit():  # multiword tokens and empty nodes
            continue
        words.append(cols[1])
        heads.append(int(cols[6]))
        punct.append(cols[3] == "PUNCT")
    if words:
        sentences.append((words, heads, punct))
    return sentences


def gold_spans(heads: list[int], punct: list[bool]) -> set[tuple[int, int]]:
    """Spans of every head's subtree over the words without punctuation (contiguous ones,
    longer than one word, shorter than the sentence)."""
    n = len(heads)
    index = [-1] * n  # position among the words that are not punctuation
    k = 0
    for i in range(n):
        if not punct[i]:
            index[i] = k
            k += 1
    children: list[list[int]] = [[] for _ in range(n)]
    for i, h in enumerate(heads):
        if h > 0:
            children[h - 1].append(i)
    spans = set()
    for head in range(n):
        stack, members = [head], []
        while stack:
            x = stack.pop()
            members.append(x)
            stack.extend(children[x])
        kept = sorted(index[x] for x in members if index[x] >= 0)
        if len(kept) > 1 and kept[-1] - kept[0] + 1 == len(kept) and len(kept) < k:
            spans.add((kept[0], kept[-1] + 1))
    return spans


def tree_spans(tree: Tree, punct: list[bool]) -> set[tuple[int, int]]:
    """The brackets of a parse over the words without punctuation (as gold_spans)."""
    index, k = [], 0
    for p in punct:
        index.append(-1 if p else k)
        k += 0 if p else 1
    spans = set()
    for a, b in brackets(tree):
        kept = [index[i] for i in range(a, b) if index[i] >= 0]
        if len(kept) > 1 and len(kept) < k:
            spans.add((kept[0], kept[-1] + 1))
    return spans


def baseline_spans(n: int, kind: str, rng: random.Random) -> set[tuple[int, int]]:
    """Spans of a binary tree over n words (without the whole and single words)."""
    if kind == "left":
        return {(0, j) for j in range(2, n)}
    if kind == "right":
        return {(i, n) for i in range(1, n - 1)}
    spans: set[tuple[int, int]] = set()

    def split(a: int, b: int) -> None:
        if b - a < 2:
            return
        if (a, b) != (0, n):
            spans.add((a, b))
        m = rng.randint(a + 1, b - 1)
        split(a, m)
        split(m, b)

    split(0, n)
    return spans


def f1(matched: int, predicted: int, gold: int) -> dict[str, float]:
    p = matched / predicted if predicted else 0.0
    r = matched / gold if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def score_treebank(data: Path, templates: Path) -> dict[str, dict[str, float]]:
    import opencc

    to_simplified = opencc.OpenCC("t2s").convert
    records = ciyu.load_templates(templates)
    parser = ciyu.Parser(records)
    filled = ciyu.Parser(records, fill="right")
    totals: dict[str, list[int]] = {}
    applied = 0

    def add(name: str, pred: set[tuple[int, int]], gold: set[tuple[int, int]]) -> None:
        t = totals.setdefault(name, [0, 0, 0])
        t[0] += len(pred & gold)
        t[1] += len(pred)
        t[2] += len(gold)

    seeds = [random.Random(seed) for seed in range(10)]
    for words, heads, punct in read_treebank(data / TREEBANK):
        simplified = [to_simplified(w) for w in words]
        gold = gold_spans(heads, punct)
        tree = parser.parse(simplified)
        assert list(leaves(tree)) == simplified  # lossless
        parsed = tree_spans(tree, punct)
        applied += sum(len(parser.applications(sent)) for sent in sentences(simplified))
        add("templates", parsed, gold)
        add("templates + right-branching fill", tree_spans(filled.parse(simplified), punct), gold)
        n = len(words) - sum(punct)
        add("left-branching", baseline_spans(n, "left", seeds[0]), gold)
        add("right-branching", baseline_spans(n, "right", seeds[0]), gold)
        for k, rng in enumerate(seeds):
            add(f"random {k}", baseline_spans(n, "random", rng), gold)
    scores = {name: f1(*t) for name, t in totals.items() if not name.startswith("random ")}
    randoms = [f1(*t) for name, t in totals.items() if name.startswith("random ")]
    scores["random (mean of 10)"] = {
        key: sum(r[key] for r in randoms) / len(randoms) for key in ("precision", "recall", "f1")
    }
    scores["templates"]["applications"] = applied
    return scores


# --- main ------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--parts", default="bench,law,treebank")
    parser.add_argument("--threads", type=int, default=2, help="processes for training and mining")
    parser.add_argument("--top", type=int, default=30, help="templates to print per corpus")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.corpus, args.out, args.threads)
        return 0
    if not have_data(args.data / "gold" / "pku_peoples_daily_199801_pos.utf8", args.data):
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    parts = set(args.parts.split(","))
    results: dict[str, object] = {}
    corpora = {"bench": build_training_text(args.data, args.out), "law": args.data / LAW}
    for name in ("bench", "law"):
        if name not in parts:
            continue
        trained = in_child(f"train-{name}", corpora[name], args.out, args.threads)
        mined = in_child(f"mine:{name}", corpora[name], args.out, args.threads)
        templates = ciyu.load_templates(args.out / f"templates-{name}.tsv")
        ranks = frame_ranks(templates)
        results[name] = {"train": trained, "mine": mined, "frame_ranks": ranks}
        print(
            f"{name}: training {trained['seconds']} s, {trained['peak_rss_mb']} MiB; "
            f"mining {mined['seconds']} s, {mined['peak_rss_mb']} MiB "
            f"({mined['words']:,} words, {mined['templates']:,} templates, -j {args.threads})"
        )
        show_templates(name, templates, args.top)
        found = [r for r in ranks.values() if r is not None]
        print(
            f"common frames found: {len(found)} of {len(FRAMES)}; in the top 50 / 100 / 200 / "
            f"500: {', '.join(str(sum(r <= k for r in found)) for k in (50, 100, 200, 500))}"
        )
        print("  " + "  ".join(f"{f.replace(' ', '…')} {r or '–'}" for f, r in ranks.items()))
    if "treebank" in parts:
        if not have_data(args.data / TREEBANK, args.data):
            return 2
        tsv = args.out / "templates-bench.tsv"
        if not tsv.exists():
            raise SystemExit("the treebank part parses with the bench part's templates: run it")
        scores = score_treebank(args.data, tsv)
        results["treebank"] = scores
        print("treebank (UD Chinese-HK test, unlabeled brackets, punctuation removed):")
        print(f"  {'parse':<36}{'P':>7}{'R':>7}{'F1':>7}")
        for name, s in scores.items():
            print(f"  {name:<36}{s['precision']:>7.3f}{s['recall']:>7.3f}{s['f1']:>7.3f}")
        print(f"  template applications: {int(scores['templates']['applications'])}")
    (args.out / "templates.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
