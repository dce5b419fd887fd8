"""The ``ciyu`` command line. Argument parsing and output formatting only: every command
calls the public Python API.

Conventions: inputs are files, directories or ``-`` (standard input, the default where an
input is optional); ``-o`` names the output (standard output by default, written atomically
when it is a file); progress goes to standard error, only when it is a terminal; ``-q``
silences it; errors are one line on standard error and exit status 2.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import dataclasses
import functools
import io
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TypeVar

from . import __version__, api
from ._atomic import atomic_write
from ._progress import Progress
from .config import add_arguments, from_namespace
from .counts import DEFAULT_ORDER, NgramCounts
from .errors import CiyuError
from .evaluate import evaluate, read_word_list
from .export import FORMATS, export
from .learners import DEFAULT_METHOD, METHODS
from .learners.cohesion import CohesionConfig, Discovery
from .model import Model
from .parallel import ordered_map
from .reader import Corpus
from .report import Report, coverage, read_discovery_tsv, rows_from_discovery
from .text import display, undisplay

log = logging.getLogger("ciyu")
T = TypeVar("T")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Parse a memory size such as ``500M``, ``2G``, ``1.5GiB`` or ``1048576`` (bytes)."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}; use e.g. 512M or 4G")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """The output stream: an atomically written file, or UTF-8 standard output."""
    if path is not None and path != "-":
        with atomic_write(path, "w") as fh:
            yield fh
        return
    stdout = sys.stdout
    if (stdout.encoding or "").lower().replace("-", "") == "utf8":
        yield stdout
        stdout.flush()
        return
    wrapper = io.TextIOWrapper(stdout.buffer, encoding="utf-8", newline="\n")
    try:
        yield wrapper
        wrapper.flush()
    finally:
        wrapper.detach()


def _add_threads_arg(p: argparse.ArgumentParser, default: int) -> None:
    p.add_argument(
        "-j",
        "--threads",
        type=int,
        default=default,
        metavar="N",
        help=f"worker processes, 0 = one per CPU core (default: {default}); "
        "the output is the same for any N",
    )


def _add_input_args(
    p: argparse.ArgumentParser, *, optional: bool = False, threads: int = 0, stdin: bool = True
) -> None:
    p.add_argument(
        "inputs",
        nargs="*" if optional else "+",
        metavar="FILE",
        help="text files (.txt, .gz), directories, or - for standard input"
        + (" (default: -)" if optional and stdin else ""),
    )
    p.add_argument(
        "--errors",
        choices=("strict", "replace"),
        default="strict",
        help="on invalid UTF-8: stop with an error (strict, default) or substitute U+FFFD",
    )
    _add_threads_arg(p, threads)


def _add_learn_args(p: argparse.ArgumentParser, config_cls: type = CohesionConfig) -> None:
    p.add_argument("--counts", metavar="COUNTS", help="reuse counts saved by `ciyu count`")
    p.add_argument(
        "--max-memory",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="bound on the peak resident memory of the whole command (this process and its "
        "workers), e.g. 2G; at least about 90M (the interpreter holds about 40 MiB and a "
        "learner at least 36 MiB more). Rare n-grams are pruned to stay within it. The "
        "learner's structures are estimated; those that grow with the corpus (its distinct "
        "words) are not pruned, so a corpus too large for the budget is refused after "
        "counting, with the budget it needs",
    )
    add_arguments(p, config_cls)


def build_parser(method: str = DEFAULT_METHOD) -> argparse.ArgumentParser:
    """The argument parser of the ``ciyu`` command.

    ``ciyu train`` takes the options of one learner; ``method`` says which (the command
    line is scanned for ``--method`` first).
    """
    parser = argparse.ArgumentParser(
        prog="ciyu",
        description="Learn the words of a language written without spaces from raw text, "
        "then segment text with them.",
    )
    parser.add_argument("--version", action="version", version=f"ciyu {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress, warnings only")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what each stage does")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("count", help="count character n-grams and save them for reuse")
    _add_input_args(p)
    p.add_argument("-o", "--output", required=True, help="counts file to write (.npz)")
    p.add_argument("--order", type=int, default=DEFAULT_ORDER, help="highest n-gram order")
    p.add_argument(
        "--max-memory",
        type=parse_size,
        default=None,
        metavar="SIZE",
        help="bound on the peak resident memory of the whole command (this process and its "
        "workers), e.g. 2G; at least about 60M (the interpreter holds about 40 MiB). Rare "
        "n-grams are pruned to stay within it, and the counts are marked approximate",
    )

    p = sub.add_parser("discover", help="list the words of a corpus with their statistics")
    _add_input_args(p)
    p.add_argument("-o", "--output", help="TSV file to write (default: standard output)")
    p.add_argument(
        "--reference",
        metavar="LEXICON",
        help="known-word list (one word per line, or a jieba dictionary): "
        "adds an in_reference column",
    )
    p.add_argument(
        "--new-only", action="store_true", help="keep only words absent from --reference"
    )
    p.add_argument("--top", type=int, default=None, metavar="N", help="list the N best words")
    p.add_argument(
        "--explain",
        action="append",
        default=[],
        metavar="WORD",
        help="print why WORD was kept or rejected (to standard error); repeatable",
    )
    _add_learn_args(p)

    p = sub.add_parser("explain", help="explain why a word was kept or rejected")
    p.add_argument("word", help="the word to explain")
    _add_input_args(p)
    _add_learn_args(p)

    p = sub.add_parser("train", help="learn a segmentation model")
    _add_input_args(p)
    p.add_argument("-o", "--output", required=True, help="model file to write")
    p.add_argument(
        "--method",
        choices=sorted(METHODS),
        default=DEFAULT_METHOD,
        help=f"learner (default: {DEFAULT_METHOD}); `ciyu train --method NAME --help` "
        "lists its options",
    )
    _add_learn_args(p, METHODS[method].config if method in METHODS else CohesionConfig)

    p = sub.add_parser("segment", help="segment text with a model, one output line per input line")
    p.add_argument("-m", "--model", required=True, help="model file from `ciyu train`")
    # segmentation runs at about 100 MB/s in one process: starting workers pays off only
    # on very large inputs, so it is opt-in
    _add_input_args(p, optional=True, threads=1)
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--sep", default=" ", help="word separator (default: one space)")

    p = sub.add_parser(
        "export",
        help="write a model for another library: jieba, Hugging Face tokenizers, sentencepiece",
        description="Write a model in a format another library loads. Words that the format "
        "cannot express (the number class <num>, characters jieba never matches) are left "
        "out with a warning.",
    )
    p.add_argument("-m", "--model", required=True, help="model file from `ciyu train`")
    p.add_argument("--format", required=True, choices=sorted(FORMATS), help="output format")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument(
        "--jieba-dict",
        metavar="FILE",
        help="jieba-user: the jieba dictionary to tune frequencies to "
        "(default: the installed jieba's)",
    )

    p = sub.add_parser(
        "report",
        help="write a self-contained HTML report: word table and charts",
        description="Write one HTML file (no network needed) with the ranked, sortable and "
        "filterable word table and charts. The words come from a discovery run on FILE..., "
        "or from a table saved by `ciyu discover -o` (--discovery); with -m, the report also "
        "shows how the model's words cover FILE....",
    )
    _add_input_args(p, optional=True, stdin=False)
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.add_argument("--discovery", metavar="TSV", help="a table saved by `ciyu discover -o`")
    p.add_argument("-m", "--model", help="a model: adds its coverage of FILE...")
    p.add_argument("--reference", metavar="LEXICON", help="known-word list: marks new words")
    p.add_argument("--title", default=None, help="page title")
    _add_learn_args(p)

    p = sub.add_parser("eval", help="score a segmentation against a gold standard (SIGHAN-style)")
    p.add_argument("gold", help="gold segmentation, words separated by spaces")
    p.add_argument("pred", help="predicted segmentation of the same text")
    p.add_argument("--words", metavar="FILE", help="training word list, for OOV/IV recall")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    return parser


def _fmt(x: float) -> str:
    return "nan" if x != x else f"{x:.4f}"


def _write_discovery(
    disc: Discovery, out: IO[str], reference: set[str] | None, new_only: bool, top: int | None
) -> int:
    header = ["word", "count", "cohesion", "left_entropy", "right_entropy", "score"]
    if reference is not None:
        header.append("in_reference")
    out.write("\t".join(header) + "\n")
    written = 0
    for w in disc.words:
        in_ref = reference is not None and w.word in reference
        if new_only and in_ref:
            continue
        if top is not None and written >= top:
            break
        row = [
            display(w.word),
            str(w.count),
            _fmt(w.cohesion),
            _fmt(w.left_entropy),
            _fmt(w.right_entropy),
            f"{w.score:.2f}",
        ]
        if reference is not None:
            row.append("yes" if in_ref else "no")
        out.write("\t".join(row) + "\n")
        written += 1
    return written


def _run_learner(
    args: argparse.Namespace, progress: Progress, learn: Callable[..., T], config: object
) -> T:
    """Run ``api.discover`` or ``api.train`` with the options every learning command has."""
    counts = NgramCounts.load(args.counts) if args.counts else None
    if counts is not None:
        progress.set_total(counts.n_chars)
    with Corpus(args.inputs, errors=args.errors) as corpus:
        try:
            return learn(
                corpus,
                config=config,
                counts=counts,
                max_memory=args.max_memory,
                progress=progress,
                threads=args.threads,
            )
        finally:
            progress.done()


def _learn(args: argparse.Namespace, progress: Progress) -> Discovery:
    return _run_learner(args, progress, api.discover, from_namespace(CohesionConfig, args))


def _cmd_count(args: argparse.Namespace, progress: Progress) -> int:
    with Corpus(args.inputs, errors=args.errors) as corpus:
        counts = api.count(
            corpus,
            args.order,
            max_memory=args.max_memory,
            progress=lambda n: progress("count", n),
            threads=args.threads,
        )
    progress.done()
    counts.save(args.output)
    log.info(
        "%d n-grams of orders 1..%d over %d characters written to %s",
        len(counts),
        counts.order,
        counts.n_chars,
        args.output,
    )
    return 0


def _cmd_discover(args: argparse.Namespace, progress: Progress) -> int:
    if args.new_only and not args.reference:
        raise CiyuError("--new-only needs --reference LEXICON (the words that are not new)")
    reference = read_word_list(args.reference) if args.reference else None
    disc = _learn(args, progress)
    for word in args.explain:
        sys.stderr.write(disc.explain(undisplay(word)) + "\n\n")
    with _output(args.output) as out:
        n = _write_discovery(disc, out, reference, args.new_only, args.top)
    log.info("%d words listed", n)
    return 0


def _cmd_explain(args: argparse.Namespace, progress: Progress) -> int:
    disc = _learn(args, progress)
    with _output(None) as out:
        out.write(disc.explain(undisplay(args.word)) + "\n")
    return 0


def _cmd_train(args: argparse.Namespace, progress: Progress) -> int:
    config = from_namespace(METHODS[args.method].config, args)
    model = _run_learner(args, progress, functools.partial(api.train, method=args.method), config)
    model.save(args.output)
    log.info("model with %d words written to %s", len(model), args.output)
    return 0


# The model of a segmentation worker process (loaded once per process by the initializer).
_WORKER_MODEL: dict[str, Model] = {}


def _load_worker_model(path: str) -> None:
    if path not in _WORKER_MODEL:
        _WORKER_MODEL.clear()
        _WORKER_MODEL[path] = Model.load(path)


def _segment_job(job: tuple[str, str, str, str, str]) -> str:
    """``prefix + segmented text + suffix`` for one block of lines."""
    path, prefix, text, sep, suffix = job
    return prefix + _WORKER_MODEL[path].segment(text, sep) + suffix


def _segment_jobs(
    corpus: Corpus, model: str, sep: str
) -> Iterator[tuple[tuple[str, str, str, str, str], int]]:
    """One job per block of whole lines, with the block's size in bytes; the blocks of an
    over-long line are joined with the separator, and every output line ends with a
    newline."""
    mid_line = False
    for block in corpus.blocks():
        text = block.text
        prefix = sep if mid_line and text and not text.startswith("\n") else ""
        if text.endswith("\n"):
            text = text[:-1]
        yield (model, prefix, text, sep, "\n" if block.complete else ""), block.nbytes
        mid_line = not block.complete


def _cmd_segment(args: argparse.Namespace, progress: Progress) -> int:
    _load_worker_model(args.model)  # validates the model before anything is written
    inputs = args.inputs or ["-"]
    corpus = Corpus(inputs, errors=args.errors, spool_stdin=False)
    progress.unit = "bytes"
    size = corpus.size_bytes() if progress.enabled else None
    if size:
        progress.set_total(size, "segment")
    sizes: collections.deque[int] = collections.deque()  # input bytes of the jobs in flight

    def jobs() -> Iterator[tuple[str, str, str, str, str]]:
        for job, nbytes in _segment_jobs(corpus, args.model, args.sep):
            sizes.append(nbytes)
            yield job

    with _output(args.output) as out:
        done = 0
        for chunk in ordered_map(
            _segment_job,
            jobs(),
            args.threads,
            initializer=_load_worker_model,
            initargs=(args.model,),
        ):
            out.write(chunk)
            done += sizes.popleft()
            progress("segment", done)
    progress.done()
    return 0


def _cmd_export(args: argparse.Namespace, progress: Progress) -> int:
    lexicon = Model.load(args.model).lexicon
    options = {}
    if args.jieba_dict is not None:
        if args.format != "jieba-user":
            raise CiyuError("--jieba-dict applies to --format jieba-user only")
        options["jieba_dict"] = args.jieba_dict
    result = export(lexicon, args.format, **options)
    with atomic_write(args.output, "wb") as fh:
        fh.write(result.data)
    for note in result.notes:
        log.info("%s", note)
    for warning in result.warnings():
        log.warning("%s", warning)
    log.info("%d entries written to %s", result.entries, args.output)
    return 0


def _cmd_report(args: argparse.Namespace, progress: Progress) -> int:
    if not args.inputs and not args.discovery:
        raise CiyuError("give the corpus FILE... to discover words in, or --discovery TSV")
    if args.model and not args.inputs:
        raise CiyuError("-m/--model needs the corpus FILE... whose coverage to measure")
    reference = read_word_list(args.reference) if args.reference else None
    model = Model.load(args.model) if args.model else None
    if args.discovery:
        words = read_discovery_tsv(args.discovery)
        if reference is not None:
            words = [dataclasses.replace(w, in_reference=w.word in reference) for w in words]
    else:
        words = rows_from_discovery(_learn(args, progress), reference)
    facts = []
    cov = None
    if model is not None:
        method = model.meta.get("method", "?")
        facts.append(("model", f"{os.path.basename(args.model)} ({method}, {len(model):,} words)"))
        with Corpus(args.inputs, errors=args.errors) as corpus:
            cov = coverage(model, corpus, progress)
        progress.done()
    sources = list(args.inputs) or [args.discovery]
    title = args.title or f"ciyu report: {', '.join(os.path.basename(s) for s in sources)}"
    page = Report(title, words, sources, facts, cov).html()
    with atomic_write(args.output, "w") as fh:
        fh.write(page)
    log.info("report on %d words written to %s", len(words), args.output)
    return 0


def _cmd_eval(args: argparse.Namespace, progress: Progress) -> int:
    scores = evaluate(args.gold, args.pred, args.words)
    with _output(None) as out:
        out.write((scores.to_json() if args.json else scores.report()) + "\n")
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, Progress], int]] = {
    "count": _cmd_count,
    "discover": _cmd_discover,
    "explain": _cmd_explain,
    "train": _cmd_train,
    "segment": _cmd_segment,
    "export": _cmd_export,
    "report": _cmd_report,
    "eval": _cmd_eval,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ciyu`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    scan = argparse.ArgumentParser(add_help=False)
    scan.add_argument("--method", default=DEFAULT_METHOD)
    method = scan.parse_known_args(argv)[0].method
    parser = build_parser(method)
    args = parser.parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ciyu: %(message)s"))
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO if args.verbose else logging.WARNING)
    progress = Progress(not args.quiet, sys.stderr)
    try:
        return _COMMANDS[args.command](args, progress)
    except CiyuError as exc:
        progress.done()
        sys.stderr.write(f"ciyu: error: {exc}\n")
        return 2
    except BrokenPipeError:  # e.g. `ciyu segment ... | head`
        with contextlib.suppress(Exception):
            sys.stderr.close()
        return 1
    except KeyboardInterrupt:
        progress.done()
        sys.stderr.write("ciyu: interrupted\n")
        return 130
