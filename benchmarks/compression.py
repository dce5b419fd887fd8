"""Tokenizer benchmark: compression (characters per token) at equal vocabulary size.

Three trainers learn the same raw text: ciyu's ``unigram`` learner, sentencepiece's unigram
trainer (identity normalisation, no dummy prefix, character coverage 0.9995) and bytepiece
(order 6, min_count 2). The text is People's Daily 1998-01 with its segmentation stripped,
about 1.8 M characters. Each then tokenizes held-out text of the same genre, the raw
SIGHAN 2005 PKU and MSR test sets (0.36 M characters). The benchmark reports characters
per token (higher is better), training time and peak memory. Each trainer runs in its own
child process.

ciyu leaves punctuation, Latin runs and numbers to its rule layer. To keep the comparison
fair, a token that is not in ciyu's vocabulary counts as one token per character, which is
what a character-level fallback would cost.

Usage::

    python benchmarks/compression.py [--data ../shared/data] [--vocab 8000,32000]

sentencepiece installs with the bench extra. bytepiece needs pyahocorasick built with byte
keys; ``make bench`` installs it (``AHOCORASICK_BYTES=1 pip install --no-binary
pyahocorasick pyahocorasick``). Trainers that are not installed are reported as missing.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from _common import ChildFailed, have_data, peak_rss_mb, run_child, train_sentencepiece

ROOT = Path(__file__).resolve().parent.parent


def worker(system: str, vocab: int, train: Path, heldout: Path, out: Path) -> None:
    """Train one tokenizer, measure it on the held-out text; print JSON."""
    lines = heldout.read_text(encoding="utf-8").split("\n")
    chars = sum(len(line) for line in lines)
    start = time.perf_counter()
    if system == "ciyu":
        import ciyu

        model = ciyu.train(ciyu.Corpus([train]), method="unigram", vocab_size=vocab)
        seconds = time.perf_counter() - start
        model.save(out / f"ciyu-unigram-{vocab}.model")
        vocabulary = model.lexicon.counts
        tokens = sum(
            1 if tok in vocabulary else len(tok) for line in lines for tok in model.cut(line)
        )
        size = len(vocabulary)
    elif system == "sentencepiece":
        import sentencepiece as spm

        model_file = train_sentencepiece(train, out / f"spm-unigram-{vocab}", vocab)
        seconds = time.perf_counter() - start
        sp = spm.SentencePieceProcessor(model_file=str(model_file))
        tokens = sum(len(sp.encode(line)) for line in lines)
        size = sp.get_piece_size()
    elif system == "bytepiece":
        from bytepiece import Tokenizer, Trainer

        text = [line.strip() for line in train.read_text(encoding="utf-8").split("\n")]
        trainer = Trainer(order=6, max_vocab_size=vocab, min_count=2)
        trainer.train(text, workers=1, batch_size=1000)
        path = out / f"bytepiece-{vocab}.model"
        trainer.save(str(path))
        seconds = time.perf_counter() - start
        tk = Tokenizer(str(path))
        tokens = sum(len(tk.tokenize(line)) for line in lines if line)
        size = len(tk._piece2id) if hasattr(tk, "_piece2id") else vocab
    else:
        raise SystemExit(f"unknown trainer {system!r}: use ciyu, sentencepiece or bytepiece")
    print(
        json.dumps(
            {
                "train_seconds": round(seconds, 2),
                "peak_rss_mb": round(peak_rss_mb(), 1),
                "vocab": size,
                "chars_per_token": round(chars / max(tokens, 1), 4),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out")
    parser.add_argument("--vocab", default="8000,32000")
    parser.add_argument("--systems", default="ciyu,sentencepiece,bytepiece")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    train = args.out / "tok_train.txt"
    heldout = args.out / "tok_heldout.txt"
    if args.worker:
        worker(args.worker[0], int(args.worker[1]), train, heldout, args.out)
        return 0
    gold = args.data / "gold" / "pku_peoples_daily_199801_pos.utf8"
    if not have_data(gold, args.data):
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with open(gold, encoding="utf-8") as fh:
        train.write_text(
            "".join("".join(t.rsplit("/", 1)[0] for t in line.split()) + "\n" for line in fh),
            encoding="utf-8",
        )
    heldout.write_text(
        "".join(
            (args.data / "sighan2005" / f"{c}_test.utf8").read_text(encoding="utf-8")
            for c in ("pku", "msr")
        ),
        encoding="utf-8",
    )
    print(
        f"train: {train} ({len(train.read_text(encoding='utf-8')):,} characters); "
        f"held out: {heldout} ({len(heldout.read_text(encoding='utf-8')):,} characters)"
    )
    print(
        f"{'trainer':<15}{'vocab':>7}{'size':>7}{'chars/token':>13}{'train s':>9}{'peak MiB':>10}"
    )
    results: dict[str, dict[str, object]] = {}
    for vocab in [int(v) for v in args.vocab.split(",")]:
        for system in args.systems.split(","):
            try:
                r = run_child(
                    __file__,
                    "--data",
                    str(args.data),
                    "--out",
                    str(args.out),
                    "--worker",
                    system,
                    str(vocab),
                )
            except ChildFailed as exc:
                print(f"{system:<15}{vocab:>7}  not measured: {exc}")
                continue
            results[f"{system}-{vocab}"] = r
            print(
                f"{system:<15}{vocab:>7}{r['vocab']:>7}{r['chars_per_token']:>13.3f}"
                f"{r['train_seconds']:>9.1f}{r['peak_rss_mb']:>10.0f}"
            )
        ours = results.get(f"ciyu-{vocab}")
        for other in ("sentencepiece", "bytepiece"):
            theirs = results.get(f"{other}-{vocab}")
            if ours and theirs:
                ratio = float(ours["chars_per_token"]) / float(theirs["chars_per_token"])
                print(f"  compression ratio ciyu / {other} at {vocab}: {ratio:.3f}")
    (args.out / "tokenizers.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
