"""Export agreement: does each library, loaded with ciyu's export, segment as ciyu does?

Protocol: the default learner trains on the quality benchmark's raw text (People's Daily
1998-01 stripped, plus the raw PKU and MSR tests; see ``quality.py``), or ``--model``
gives a model. The model is exported in every format, each file is loaded by its library
(jieba, Hugging Face tokenizers, sentencepiece), and each segments the PKU test text.
Printed per format:

- agreement with ciyu's own segmentation: word-span F1 and the share of identical lines;
- F1 against the PKU gold, next to ciyu's, to show what the export keeps.

Usage::

    python benchmarks/exports.py [--data ../shared/data] [--out benchmarks/out] [--model M]

Needs ``../shared/data`` and the bench and test extras; says so and exits with status 2
when the data are absent.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import ciyu
from _common import have_data
from ciyu.evaluate import agreement
from ciyu.export import export
from quality import build_training_text

ROOT = Path(__file__).resolve().parent.parent


def segmenters(model_path: Path, out: Path) -> dict[str, Callable[[str], list[str]]]:
    """Format label → segmenter of the library loaded with that export."""
    model = ciyu.Model.load(model_path)
    lexicon = model.lexicon
    files = {}
    for fmt, name in [
        ("jieba-main", "jieba_main.txt"),
        ("jieba-user", "jieba_user.txt"),
        ("hf", "tokenizer.json"),
        ("sentencepiece", "ciyu_spm.model"),
    ]:
        result = export(lexicon, fmt)
        path = out / name
        path.write_bytes(result.data)
        files[fmt] = path
        for line in result.warnings():
            print(f"{fmt}: {line}", file=sys.stderr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
    import sentencepiece as spm
    from tokenizers import Tokenizer

    jieba.setLogLevel(60)
    main = jieba.Tokenizer(dictionary=str(files["jieba-main"]))
    main.initialize()
    user = jieba.Tokenizer()
    with open(files["jieba-user"], "rb") as fh:
        user.load_userdict(fh)
    plain = jieba.Tokenizer()
    plain.initialize()
    hf = Tokenizer.from_file(str(files["hf"]))
    sp = spm.SentencePieceProcessor(model_file=str(files["sentencepiece"]))

    def hf_cut(line: str) -> list[str]:
        return [line[a:b] for a, b in hf.encode(line, add_special_tokens=False).offsets]

    return {
        "ciyu": model.cut,
        "jieba-main, HMM off": lambda s: main.lcut(s, HMM=False),
        "jieba-main, HMM on": lambda s: main.lcut(s, HMM=True),
        "jieba-user, HMM off": lambda s: user.lcut(s, HMM=False),
        "jieba-user, HMM on": lambda s: user.lcut(s, HMM=True),
        "jieba alone, HMM off": lambda s: plain.lcut(s, HMM=False),
        "hf tokenizer.json": hf_cut,
        "sentencepiece .model": lambda s: sp.encode(s, out_type=str),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--model", type=Path, help="model to export (default: train one)")
    args = parser.parse_args()
    sighan = args.data / "sighan2005"
    if not have_data(sighan / "pku_test_gold.utf8", args.data):
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    model_path = args.model
    if model_path is None:
        train = build_training_text(args.data, args.out)
        start = time.perf_counter()
        model_path = args.out / "exports.model"
        ciyu.train(ciyu.Corpus([train])).save(model_path)
        print(f"trained {model_path} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    lines = (sighan / "pku_test.utf8").read_text(encoding="utf-8").splitlines()
    cuts = segmenters(model_path, args.out)
    reference = [cuts["ciyu"](line) for line in lines]
    print(f"model: {model_path}; text: PKU test ({len(lines)} lines)")
    header = f"{'segmenter':<24}{'agree F1':>9}{'same lines':>11}{'PKU F1':>8}{'MB/s':>7}"
    print(header)
    print("-" * len(header))
    size = sum(len(line.encode("utf-8")) + 1 for line in lines)
    for name, cut in cuts.items():
        start = time.perf_counter()
        words = [cut(line) for line in lines]
        seconds = time.perf_counter() - start
        agree = agreement(reference, words)
        pred = args.out / "export_pred.txt"
        pred.write_text("\n".join(" ".join(w) for w in words) + "\n", encoding="utf-8")
        f1 = ciyu.evaluate(sighan / "pku_test_gold.utf8", pred).f1
        print(
            f"{name:<24}{agree.f1:>9.4f}{agree.lines_identical:>11.4f}{f1:>8.3f}"
            f"{size / seconds / 1e6:>7.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
