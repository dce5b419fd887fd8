"""The ``ciyu`` command line. Argument parsing and output formatting only: every command
calls the public Python API.

Conventions: inputs are files, directories or ``-`` (standard input, the default where an
input is optional); ``-o`` names the output (standard output by default, or with ``-o -``;
see :mod:`ciyu._atomic` for how files, devices and pipes are written), and is checked
before any long work starts; progress goes to standard error, only when it is a
terminal; every command ends with one summary line on standard error; ``-q`` silences
both, and ``-q``/``-v`` go anywhere on the line; errors are one line on standard error
and exit status 2; SIGTERM and SIGHUP remove the temporary files and exit with status
128 + the signal number.

Each command is a :class:`Command`: a function adding its arguments to its parser and a
function running it. A new command is two functions and one entry in :data:`COMMANDS`.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gc
import io
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

from . import __version__
from ._atomic import atomic_write, check_output
from ._compiled import HAVE_COMPILED, HAVE_COMPILED_TEMPLATES
from ._progress import Progress
from .bulk import BlockSegmenter, load_model
from .config import add_arguments, from_namespace
from .errors import CiyuError
from .evaluate import read_word_list
from .model import Model
from .reader import Corpus
from .text import undisplay

# The learners, the exporters, the report and template mining (and numpy with them) are
# imported by the commands that use them, not here: ``ciyu segment`` starts in a fraction
# of the time, which matters when it runs once per file or is timed against -j.
if TYPE_CHECKING:
    from .learners.cohesion import Discovery
    from .template import Tree

log = logging.getLogger("ciyu")
T = TypeVar("T")

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)
#: Where ``-o -`` sends the output of a command whose writer takes a path.
_STDOUT_PATH = "/dev/stdout"


def parse_size(text: str) -> int:
    """Parse a memory size such as ``500M``, ``2G``, ``1.5GiB`` or ``1048576`` (bytes)."""
    m = _SIZE.match(text)
    if not m:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}; use e.g. 512M or 4G")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


def _n(count: int, noun: str, plural: str | None = None) -> str:
    """``1 word``, ``12,345 words``."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def _is_stdout(path: str | None) -> bool:
    return path is None or path == "-"


def _shown(path: str | None) -> str:
    """The output as named in the summary line."""
    return "standard output" if _is_stdout(path) else str(path)


def _output_path(path: str) -> str:
    """The path a file writer gets: ``-`` is standard output."""
    return _STDOUT_PATH if path == "-" else path


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[IO[str]]:
    """The output stream: a file (see :func:`ciyu._atomic.atomic_write`), or UTF-8
    standard output."""
    if not _is_stdout(path):
        assert path is not None
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


@contextlib.contextmanager
def _output_bytes(path: str | None) -> Iterator[IO[bytes]]:
    """The output stream for UTF-8 bytes: a file (see :func:`ciyu._atomic.atomic_write`),
    or standard output's buffer."""
    if not _is_stdout(path):
        assert path is not None
        with atomic_write(path, "wb") as fh:
            yield fh
        return
    sys.stdout.flush()  # whatever was written as text goes first
    yield sys.stdout.buffer
    sys.stdout.buffer.flush()


# ---------------------------------------------------------------------------------------
# arguments shared by several commands


def _common_options(main_parser: bool) -> argparse.ArgumentParser:
    """``-q`` and ``-v``: on the main parser with their defaults, and on every
    subcommand's parser without (``SUPPRESS``), so that they work before or after the
    subcommand and one given before is not reset by the subcommand's parser."""
    p = argparse.ArgumentParser(add_help=False)
    default: Any = False if main_parser else argparse.SUPPRESS
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="no progress and no summary line, warnings only",
    )
    p.add_argument(
        "-v", "--verbose", action="store_true", default=default, help="log what each stage does"
    )
    return p


def _thread_count(value: str) -> int:
    """``-j``'s value: a whole number, 0 or more (0: one per CPU core)."""
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not 0 (one per CPU core) or more")
    return n


def _add_threads_arg(p: argparse.ArgumentParser, default: int, what: str) -> None:
    p.add_argument(
        "-j",
        "--threads",
        type=_thread_count,
        default=default,
        metavar="N",
        help=f"{what}, 0 = one per CPU core (default: {default}); the output is the same for any N",
    )


def _add_input_args(
    p: argparse.ArgumentParser,
    *,
    optional: bool = False,
    threads: int = 0,
    stdin: bool = True,
    what: str = "worker processes for every pass over the corpus",
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
    _add_threads_arg(p, threads, what)


def _add_engine_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        choices=("local", "ray"),
        default="local",
        help="where the passes over the corpus run: local (this machine, -j processes; "
        "default) or ray (a Ray cluster, or Ray started on this machine with -j CPUs; "
        "pip install 'ciyu[ray]'); the output is the same",
    )
    p.add_argument(
        "--address",
        metavar="ADDR",
        help="with --engine ray: the cluster to join (auto: the cluster this machine "
        "belongs to; ray://HOST:10001); default: start Ray here for this command, its "
        "session files in a temporary directory (or $RAY_TMPDIR)",
    )


@contextlib.contextmanager
def _engine(args: argparse.Namespace) -> Iterator[Any]:
    """The engine ``--engine`` names: None (local), or a Ray engine closed afterwards."""
    if args.engine != "ray":
        if args.address is not None:
            raise CiyuError("--address goes with --engine ray")
        yield None
        return
    from .distributed import RayEngine

    cpus = None if args.address is not None or not args.threads else args.threads
    with RayEngine(args.address, num_cpus=cpus) as engine:
        yield engine


@contextlib.contextmanager
def _inputs(args: argparse.Namespace, *, spool: bool = True) -> Iterator[dict[str, Any]]:
    """How the API is told what to read: a :class:`Corpus`, or ``paths=`` for URLs
    (``s3://...``), which the API reads with pyarrow."""
    if any("://" in str(source) for source in args.inputs):
        yield {"paths": list(args.inputs), "errors": args.errors}
        return
    with Corpus(args.inputs, errors=args.errors, spool_stdin=spool) as corpus:
        yield {"inputs": corpus}


def _add_max_memory(p: argparse.ArgumentParser, help: str) -> None:
    p.add_argument("--max-memory", type=parse_size, default=None, metavar="SIZE", help=help)


def _add_learn_args(p: argparse.ArgumentParser, config_cls: type | None = None) -> None:
    from .learners.cohesion import CohesionConfig

    p.add_argument("--counts", metavar="COUNTS", help="reuse counts saved by `ciyu count`")
    _add_engine_args(p)
    _add_max_memory(
        p,
        "bound on the peak resident memory of the whole command (this process and its "
        "workers), e.g. 2G; at least about 90M (the interpreter holds about 40 MiB and a "
        "learner at least 36 MiB more). Rare n-grams are pruned to stay within it. The "
        "learner's structures are estimated; those that grow with the corpus (its distinct "
        "words) are not pruned, so a corpus too large for the budget is refused after "
        "counting, with the budget it needs",
    )
    add_arguments(p, CohesionConfig if config_cls is None else config_cls)


def _run_learner(
    args: argparse.Namespace,
    progress: Progress,
    learn: Callable[..., T],
    config: object,
    source: dict[str, Any],
) -> T:
    """Run ``api.discover`` or ``api.train`` with the options every learning command
    has; ``source`` names the input (see :func:`_inputs`)."""
    from .counts import NgramCounts

    counts = NgramCounts.load(args.counts) if args.counts else None
    if counts is not None:
        progress.set_total(counts.n_chars)
    try:
        with _engine(args) as engine:
            return learn(
                **source,
                config=config,
                counts=counts,
                max_memory=args.max_memory,
                progress=progress,
                threads=args.threads,
                engine=engine,
            )
    finally:
        progress.done()


def _discover(args: argparse.Namespace, progress: Progress, source: dict[str, Any]) -> Discovery:
    from . import api
    from .learners.cohesion import CohesionConfig

    config = from_namespace(CohesionConfig, args)
    return _run_learner(args, progress, api.discover, config, source)


# ---------------------------------------------------------------------------------------
# the commands: for each, a function adding its arguments and a function running it


def _parse_count(p: argparse.ArgumentParser, method: str | None) -> None:
    from .counts import DEFAULT_ORDER

    _add_input_args(p)
    p.add_argument("-o", "--output", required=True, help="counts file to write (.npz)")
    p.add_argument("--order", type=int, default=DEFAULT_ORDER, help="highest n-gram order")
    _add_max_memory(
        p,
        "bound on the peak resident memory of the whole command (this process and its "
        "workers), e.g. 2G; at least about 60M (the interpreter holds about 40 MiB). Rare "
        "n-grams are pruned to stay within it, and the counts are marked approximate",
    )
    _add_engine_args(p)


def _cmd_count(args: argparse.Namespace, progress: Progress) -> int:
    from . import api

    # one pass: standard input and pipes are read as they come, not copied first
    with _inputs(args, spool=False) as source, _engine(args) as engine:
        counts = api.count(
            **source,
            order=args.order,
            max_memory=args.max_memory,
            progress=lambda n: progress("count", n),
            threads=args.threads,
            engine=engine,
        )
    progress.done()
    counts.save(_output_path(args.output))
    progress.summary(
        f"{_n(len(counts), 'n-gram')} of orders 1..{counts.order} over "
        f"{_n(counts.n_chars, 'character')} written to {_shown(args.output)}"
    )
    return 0


def _parse_discover(p: argparse.ArgumentParser, method: str | None) -> None:
    _add_input_args(p)
    p.add_argument("-o", "--output", help="TSV file to write (default: standard output)")
    p.add_argument(
        "--reference",
        metavar="LEXICON",
        help="known-word list (one word per line, a jieba dictionary, or 'jieba' for the "
        "installed jieba's): adds an in_reference column",
    )
    p.add_argument(
        "--new-only",
        action="store_true",
        help="keep only words absent from --reference (default: the installed jieba's "
        "dictionary), and not the reference's words in a row with a function word "
        "(到了, 是一种)",
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


def _cmd_discover(args: argparse.Namespace, progress: Progress) -> int:
    from . import dictionary
    from .wordtable import rows_from_discovery, write_discovery_tsv

    source = args.reference
    if args.new_only and not source:
        # new words are by default the words the installed jieba's dictionary lacks
        try:
            dictionary.resolve(dictionary.JIEBA)
        except CiyuError:
            raise CiyuError(
                "--new-only without --reference compares with the installed jieba's "
                "dictionary, but jieba is not installed: pip install jieba, or give "
                "--reference LEXICON"
            ) from None
        source = dictionary.JIEBA
    reference = read_word_list(dictionary.resolve(source)) if source else None
    with _inputs(args) as inputs:
        disc = _discover(args, progress, inputs)
    for word in args.explain:
        sys.stderr.write(disc.explain(undisplay(word)) + "\n\n")
    rows = rows_from_discovery(disc, reference)
    if args.new_only:
        # and not the reference's own words in a row with a function word (到了, 是一种)
        phrase = dictionary.PhraseTest(dictionary.load(source), disc.lexicon().counts)
        rows = [r for r in rows if not phrase(r.word)]
    with _output(args.output) as out:
        n = write_discovery_tsv(
            out,
            rows,
            with_reference=reference is not None,
            new_only=args.new_only,
            top=args.top,
        )
    progress.summary(f"{_n(n, 'word')} written to {_shown(args.output)}")
    return 0


def _parse_explain(p: argparse.ArgumentParser, method: str | None) -> None:
    p.add_argument("word", help="the word to explain")
    _add_input_args(p)
    _add_learn_args(p)


def _cmd_explain(args: argparse.Namespace, progress: Progress) -> int:
    with _inputs(args) as source:
        disc = _discover(args, progress, source)
    with _output(None) as out:
        out.write(disc.explain(undisplay(args.word)) + "\n")
    progress.summary(f"{args.word} explained from {_n(disc.counts.n_chars, 'character')}")
    return 0


def _parse_train(p: argparse.ArgumentParser, method: str | None) -> None:
    from .learners import DEFAULT_METHOD, METHODS
    from .learners.cohesion import CohesionConfig

    _add_input_args(p)
    p.add_argument("-o", "--output", required=True, help="model file to write")
    p.add_argument(
        "--method",
        choices=sorted(METHODS),
        default=DEFAULT_METHOD,
        help=f"learner (default: {DEFAULT_METHOD}); `ciyu train --method NAME --help` "
        "lists its options",
    )
    p.add_argument(
        "--base",
        metavar="BASE",
        help="adapt an existing dictionary to the text: 'jieba' (the installed jieba's "
        "dictionary), a jieba-format dictionary (word [freq [tag]] lines) or a ciyu model. "
        "The model keeps the base's words and granularity, adds the text's own words "
        "(terms, names) and re-estimates every frequency on the text",
    )
    method = DEFAULT_METHOD if method is None else method
    _add_learn_args(p, METHODS[method].config if method in METHODS else CohesionConfig)


def _cmd_train(args: argparse.Namespace, progress: Progress) -> int:
    from . import api
    from .learners import METHODS

    config = from_namespace(METHODS[args.method].config, args)
    learn = functools.partial(api.train, method=args.method, base=args.base)
    with _inputs(args) as source:
        model = _run_learner(args, progress, learn, config, source)
    model.save(_output_path(args.output))
    words = _n(len(model.lexicon), "word")
    what = args.method
    if args.base is not None:
        what += f", adapted from {args.base}: {_n(model.meta['new_words'], 'new word')}"
    progress.summary(f"model of {words} ({what}) written to {_shown(args.output)}")
    return 0


def _parse_segment(p: argparse.ArgumentParser, method: str | None) -> None:
    p.add_argument("-m", "--model", required=True, help="model file from `ciyu train`")
    # threads share the model and segment blocks of about 1 MB in parallel (one per core by
    # default, like the other commands: threads cost nothing to start, unlike processes);
    # the output is the same for any number
    _add_input_args(
        p, optional=True, threads=0, what="threads that segment blocks of about 1 MB at once"
    )
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument("--sep", default=" ", help="word separator (default: one space)")
    _add_engine_args(p)
    p.add_argument(
        "--output-dir",
        metavar="DIR",
        help="with --engine ray: write each input file's segmentation to a file of the "
        "same name in DIR (a file below an input directory keeps its path below it; .gz "
        "inputs give plain text); DIR and the inputs must be on a file system every node "
        "of the cluster sees",
    )


def _cmd_segment(args: argparse.Namespace, progress: Progress) -> int:
    if args.engine == "ray" or args.output_dir is not None:
        return _segment_files(args, progress)
    model, fingerprint = load_model(args.model)  # validated before anything is written
    segmenter = BlockSegmenter(model, args.sep, args.model, fingerprint)
    # one pass: standard input and pipes are read as they come
    corpus = Corpus(args.inputs or ["-"], errors=args.errors, spool_stdin=False)
    progress.unit = "bytes"
    size = corpus.size_bytes() if progress.enabled else None
    if size:
        progress.set_total(size, "segment")
    lines = done = 0
    with _output_bytes(args.output) as out:
        for chunk, nbytes, ended in segmenter.run(corpus, args.threads):
            out.write(chunk)
            lines += ended
            done += nbytes
            progress("segment", done)
    progress.done()
    progress.summary(
        f"{_n(lines, 'line')} ({_n(done, 'byte')}) segmented into {_shown(args.output)}"
    )
    return 0


def _segment_files(args: argparse.Namespace, progress: Progress) -> int:
    """``segment --engine ray``: many input files into as many output files."""
    if args.engine != "ray" or args.output_dir is None or args.output is not None:
        raise CiyuError(
            "--output-dir and --engine ray go together (one output file per input file), without -o"
        )
    if not args.inputs:
        raise CiyuError("--engine ray segments files: name them (FILE... or directories)")
    from .distributed import segment_outputs

    load_model(args.model)  # validated before any task starts
    pairs = segment_outputs(args.inputs, args.output_dir)
    progress.unit = "bytes"
    with _engine(args) as engine:
        done = engine.segment_files(
            args.model, pairs, args.sep, args.errors, lambda n: progress("segment", n)
        )
    progress.done()
    progress.summary(
        f"{_n(len(pairs), 'file')} ({_n(done, 'byte')}) segmented into {args.output_dir}"
    )
    return 0


def _parse_export(p: argparse.ArgumentParser, method: str | None) -> None:
    from .export import FORMATS

    p.add_argument("-m", "--model", required=True, help="model file from `ciyu train`")
    p.add_argument("--format", required=True, choices=sorted(FORMATS), help="output format")
    p.add_argument("-o", "--output", required=True, help="file to write")
    p.add_argument(
        "--jieba-dict",
        metavar="FILE",
        help="jieba-user: the jieba dictionary to tune frequencies to "
        "(default: the installed jieba's)",
    )


def _cmd_export(args: argparse.Namespace, progress: Progress) -> int:
    from .export import export

    lexicon = Model.load(args.model).lexicon
    options = {}
    if args.jieba_dict is not None:
        if args.format != "jieba-user":
            raise CiyuError("--jieba-dict applies to --format jieba-user only")
        options["jieba_dict"] = args.jieba_dict
    result = export(lexicon, args.format, **options)
    with atomic_write(_output_path(args.output), "wb") as fh:
        fh.write(result.data)
    for note in result.notes:
        log.info("%s", note)
    for warning in result.warnings():
        log.warning("%s", warning)
    entries = _n(result.entries, "entry", "entries")
    progress.summary(f"{entries} ({args.format}) written to {_shown(args.output)}")
    return 0


def _parse_templates(p: argparse.ArgumentParser, method: str | None) -> None:
    from .template import TemplateConfig

    _add_input_args(p)
    p.add_argument("-o", "--output", help="TSV file to write (default: standard output)")
    p.add_argument(
        "-m", "--model", help="model that segments the text (default: train the default one)"
    )
    p.add_argument(
        "--pre-segmented",
        action="store_true",
        help="the text is already segmented: words separated by spaces",
    )
    _add_engine_args(p)
    _add_max_memory(
        p,
        "budget for the tables of pairs and templates, e.g. 2G (the rarest entries are "
        "dropped to stay within it, and the counts are marked approximate); without -m, also "
        "the bound on the training's peak memory",
    )
    add_arguments(p, TemplateConfig)


def _cmd_templates(args: argparse.Namespace, progress: Progress) -> int:
    from . import api
    from .template import TemplateConfig
    from .template.tsv import format_rows

    if args.pre_segmented and args.model:
        raise CiyuError("--pre-segmented text needs no model; drop -m/--model")
    model = Model.load(args.model) if args.model else None
    config = from_namespace(TemplateConfig, args)
    with Corpus(args.inputs, errors=args.errors) as corpus, _engine(args) as engine:
        try:
            mined = api.templates(
                corpus,
                model,
                config,
                pre_segmented=args.pre_segmented,
                max_memory=args.max_memory,
                progress=progress,
                threads=args.threads,
                engine=engine,
            )
        finally:
            progress.done()
    if _is_stdout(args.output):
        with _output(None) as out:
            out.writelines(format_rows(mined.templates))
    else:
        api.save_templates(mined.templates, _output_path(args.output))
    if mined.meta.get("approximate"):
        log.warning("the memory budget dropped rare pairs or templates: counts are approximate")
    progress.summary(
        f"{_n(len(mined), 'template')} from {_n(mined.meta['words'], 'word')} written to "
        f"{_shown(args.output)}"
    )
    return 0


def _parse_parse(p: argparse.ArgumentParser, method: str | None) -> None:
    from .template import FILLS, TemplateConfig

    p.add_argument("-m", "--model", help="model that segments the text")
    p.add_argument("--templates", required=True, metavar="TSV", help="a `ciyu templates` file")
    # parsing runs in one process (no -j)
    p.add_argument(
        "inputs",
        nargs="*",
        metavar="FILE",
        help="text files (.txt, .gz), directories, or - for standard input (default: -)",
    )
    p.add_argument(
        "--errors",
        choices=("strict", "replace"),
        default="strict",
        help="on invalid UTF-8: stop with an error (strict, default) or substitute U+FFFD",
    )
    p.add_argument("-o", "--output", help="output file (default: standard output)")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: words and [brackets] (default); json: one JSON value per line, a node "
        "being a word or a list of nodes",
    )
    p.add_argument(
        "--pre-segmented",
        action="store_true",
        help="the input is already segmented: words separated by spaces (no model needed)",
    )
    p.add_argument(
        "--max-distance",
        type=int,
        default=TemplateConfig().max_distance,
        metavar="N",
        help="farthest from the first fixed word the others may be (words), as mined "
        f"(default: {TemplateConfig().max_distance})",
    )
    p.add_argument(
        "--fill",
        choices=FILLS,
        default=None,
        help="right: output a full binary tree; every node with more than two children, and "
        "every span no template covers, becomes a right-branching binary tree, so the "
        "templates decide the brackets where they apply (default: the templates' brackets "
        "only)",
    )


def _cmd_parse(args: argparse.Namespace, progress: Progress) -> int:
    from . import api
    from .template import Parser, to_json, to_text
    from .template.sentences import split_words

    if args.pre_segmented == bool(args.model):
        raise CiyuError(
            "give -m MODEL to segment the text, or --pre-segmented for text whose words are "
            "separated by spaces"
        )
    model = Model.load(args.model) if args.model else None
    parser = Parser(api.load_templates(args.templates), model, args.max_distance, args.fill)
    words_of = split_words if args.pre_segmented else parser.words
    show = to_json if args.format == "json" else to_text
    # one pass: standard input and pipes are read as they come
    corpus = Corpus(args.inputs or ["-"], errors=args.errors, spool_stdin=False)
    lines = 0
    with _output(args.output) as out:
        trees: list[Tree] = []  # the parts of a line read in several pieces
        for piece in corpus.pieces():
            tree = parser.parse(words_of(piece.text))
            if not piece.eol:
                trees.append(tree)
                continue
            if trees:
                tree = parser.join([*trees, tree])
                trees = []
            out.write(show(tree) + "\n")
            lines += 1
        if trees:
            out.write(show(parser.join(trees)) + "\n")
            lines += 1
    progress.summary(f"{_n(lines, 'line')} parsed into {_shown(args.output)}")
    return 0


def _parse_report(p: argparse.ArgumentParser, method: str | None) -> None:
    _add_input_args(p, optional=True, stdin=False)
    p.add_argument("-o", "--output", required=True, help="HTML file to write")
    p.add_argument("--discovery", metavar="TSV", help="a table saved by `ciyu discover -o`")
    p.add_argument("-m", "--model", help="a model: adds its coverage of FILE...")
    p.add_argument("--reference", metavar="LEXICON", help="known-word list: marks new words")
    p.add_argument("--title", default=None, help="page title")
    p.add_argument(
        "--templates", metavar="TSV", help="a `ciyu templates` file: adds the templates section"
    )
    _add_learn_args(p)


def _cmd_report(args: argparse.Namespace, progress: Progress) -> int:
    from . import api, dictionary
    from .report import Report, coverage
    from .wordtable import read_discovery_tsv, rows_from_discovery

    if not args.inputs and not args.discovery:
        raise CiyuError("give the corpus FILE... to discover words in, or --discovery TSV")
    if args.model and not args.inputs:
        raise CiyuError("-m/--model needs the corpus FILE... whose coverage to measure")
    reference = read_word_list(dictionary.resolve(args.reference)) if args.reference else None
    model = Model.load(args.model) if args.model else None
    facts = []
    cov = None
    # one corpus for both passes: a pipe given as input can be read only once
    with Corpus(args.inputs, errors=args.errors) as corpus:
        if args.discovery:
            words = read_discovery_tsv(args.discovery)
            if reference is not None:
                words = [replace(w, in_reference=w.word in reference) for w in words]
        else:
            words = rows_from_discovery(_discover(args, progress, {"inputs": corpus}), reference)
        if model is not None:
            method = model.meta.get("method", "?")
            name = os.path.basename(args.model)
            facts.append(("model", f"{name} ({method}, {len(model.lexicon):,} words)"))
            cov = coverage(model, corpus, progress)
            progress.done()
    templates = api.load_templates(args.templates) if args.templates else None
    sources = list(args.inputs) or [args.discovery]
    title = args.title or f"ciyu report: {', '.join(os.path.basename(s) for s in sources)}"
    model_words = len(model.lexicon) if model is not None else None
    page = Report(title, words, sources, facts, cov, model_words, templates).html()
    with atomic_write(_output_path(args.output), "w") as fh:
        fh.write(page)
    progress.summary(f"report on {_n(len(words), 'word')} written to {_shown(args.output)}")
    return 0


def _parse_eval(p: argparse.ArgumentParser, method: str | None) -> None:
    p.add_argument("gold", help="gold segmentation, words separated by spaces")
    p.add_argument("pred", help="predicted segmentation of the same text")
    p.add_argument("--words", metavar="FILE", help="training word list, for OOV/IV recall")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")


def _cmd_eval(args: argparse.Namespace, progress: Progress) -> int:
    from .evaluate import evaluate

    scores = evaluate(args.gold, args.pred, args.words)
    with _output(None) as out:
        out.write((scores.to_json() if args.json else scores.report()) + "\n")
    progress.summary(
        f"{_n(scores.gold_words, 'gold word')} against {scores.predicted_words:,} "
        f"predicted, F1 {scores.f1:.4f}"
    )
    return 0


@dataclass(frozen=True)
class Command:
    """A subcommand of ``ciyu``.

    Attributes:
        name: what the user types.
        help: one line for ``ciyu --help``.
        add_arguments: adds the command's arguments to its parser; gets the learner
            named by ``--method``, or None for the default (``train`` offers that
            learner's options).
        run: runs the command with the parsed arguments and the progress display (on
            which it sets the summary line); returns the exit status. Errors are raised
            as :class:`~ciyu.errors.CiyuError`.
        description: the longer text of ``ciyu NAME --help`` (default: ``help``).
    """

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser, str | None], None]
    run: Callable[[argparse.Namespace, Progress], int]
    description: str | None = None


COMMANDS: list[Command] = [
    Command("count", "count character n-grams and save them for reuse", _parse_count, _cmd_count),
    Command(
        "discover",
        "list the words of a corpus with their statistics",
        _parse_discover,
        _cmd_discover,
    ),
    Command("explain", "explain why a word was kept or rejected", _parse_explain, _cmd_explain),
    Command("train", "learn a segmentation model", _parse_train, _cmd_train),
    Command(
        "segment",
        "segment text with a model, one output line per input line",
        _parse_segment,
        _cmd_segment,
    ),
    Command(
        "export",
        "write a model for another library: jieba, Hugging Face tokenizers, sentencepiece",
        _parse_export,
        _cmd_export,
        "Write a model in a format another library loads. Words that the format cannot "
        "express (the number class <num>, characters jieba never matches) are left out "
        "with a warning.",
    ),
    Command(
        "templates",
        "mine templates: fixed words with slots (在 <X> 中), learned from raw text",
        _parse_templates,
        _cmd_templates,
        "Segment the text with a model (or train the default one), find the words that go "
        "together at a distance, and write the templates they make, best first, as TSV: "
        "template, count, score, gain, weakest_pmi, fillers, top_fillers, example.",
    ),
    Command(
        "parse",
        "parse text with templates, one tree per input line",
        _parse_parse,
        _cmd_parse,
        "Parse every line with the templates of `ciyu templates`: a template application "
        "is a bracket holding its fixed words and its slots' subtrees. Every word of the "
        "input appears exactly once, in order.",
    ),
    Command(
        "report",
        "write a self-contained HTML report: word table and charts",
        _parse_report,
        _cmd_report,
        "Write one HTML file (no network needed) with the ranked, sortable and filterable "
        "word table and charts. The words come from a discovery run on FILE..., or from a "
        "table saved by `ciyu discover -o` (--discovery); with -m, the report also shows "
        "how the model's words cover FILE... and a sample of its sentences segmented; with "
        "--templates, the templates of `ciyu templates`.",
    ),
    Command(
        "eval",
        "score a segmentation against a gold standard (SIGHAN-style)",
        _parse_eval,
        _cmd_eval,
    ),
]


def build_parser(method: str | None = None, command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``ciyu`` command.

    Args:
        method: the learner whose options ``ciyu train`` takes (default: the default
            learner; :func:`main` scans the command line for ``--method`` first).
        command: build only this subcommand's parser (its arguments, help and errors are
            the same as in the whole parser), so that a command imports only what its own
            options need; default: every subcommand.
    """
    parser = argparse.ArgumentParser(
        prog="ciyu",
        description="Learn the words of a language written without spaces from raw text, "
        "then segment text with them.",
        parents=[_common_options(main_parser=True)],
    )
    slower = "no (pure Python, slower: reinstall with a C compiler)"
    decoder = "yes" if HAVE_COMPILED else slower
    templates = "yes" if HAVE_COMPILED_TEMPLATES else slower
    parser.add_argument(
        "--version",
        action="version",
        version=f"ciyu {__version__} (compiled decoder: {decoder}; "
        f"compiled template parser: {templates})",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common_options(main_parser=False)
    for c in COMMANDS:
        if command is not None and c.name != command:
            continue
        p = sub.add_parser(
            c.name,
            help=c.help,
            description=c.description or c.help,
            parents=[common],
        )
        c.add_arguments(p, method)
    return parser


def _default_method() -> str:
    from .learners import DEFAULT_METHOD

    return DEFAULT_METHOD


def _command_named(argv: Sequence[str]) -> str | None:
    """The subcommand of a command line when it is certain: the first argument, after
    options of the main parser only (``-q``, ``-v``); None otherwise (``--help``, no
    command, a mistyped one), when the whole parser is needed."""
    names = {c.name for c in COMMANDS}
    for arg in argv:
        if arg in ("-q", "--quiet", "-v", "--verbose"):
            continue
        return arg if arg in names else None
    return None


# ---------------------------------------------------------------------------------------
# running a command: logging, signals, errors


class _Terminated(BaseException):
    """Raised in the main thread by SIGTERM or SIGHUP, so that ``finally`` blocks and
    ``except BaseException`` cleanups (temporary files) run before the exit."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_CLEANUP_SIGNALS = [
    s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s
]


def _forward_to_main_thread(read_fd: int, signals: set[int]) -> None:
    """Send the signals written to the wakeup descriptor on to the main thread.

    The kernel may deliver a process's signal to any thread not blocking it: numpy's
    BLAS threads, say. The main thread then goes on waiting in ``read()`` (a pipe that
    stays silent) and never runs the handler. Signalling it directly interrupts the wait.
    """
    main = threading.main_thread().ident
    while True:
        try:
            data = os.read(read_fd, 64)
        except OSError:
            return
        if not data:
            return
        for signum in set(data) & signals:
            assert main is not None
            with contextlib.suppress(OSError):
                signal.pthread_kill(main, signum)


@contextlib.contextmanager
def _cleanup_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`_Terminated` while a command runs; the
    previous handlers come back afterwards. A signal the caller ignores (``nohup``
    ignores SIGHUP) stays ignored. Signal handlers can only be set in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired: list[int] = []  # the signal that started the cleanup; 0: the command is over

    def terminate(signum: int, frame: FrameType | None) -> None:
        if fired:  # the signal once more (forwarded), or the command has ended
            return
        fired.append(signum)
        raise _Terminated(signum)

    previous: dict[int, Any] = {}
    for signum in _CLEANUP_SIGNALS:
        if signal.getsignal(signum) == signal.SIG_DFL:
            previous[signum] = signal.signal(signum, terminate)
    forwarder = None
    old_wakeup = -1
    if previous and hasattr(signal, "pthread_kill"):
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        forwarder = threading.Thread(
            target=_forward_to_main_thread,
            args=(read_fd, set(previous)),
            name="ciyu-signals",
            daemon=True,
        )
        forwarder.start()
    try:
        yield
    finally:
        fired.append(0)
        if forwarder is not None:
            signal.set_wakeup_fd(old_wakeup)
            os.close(write_fd)  # the forwarder reads the end of the pipe and returns
            forwarder.join()
            os.close(read_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _logging_to_stderr(verbose: bool, quiet: bool) -> Iterator[None]:
    """Send the library's log to standard error as ``ciyu: message`` while a command
    runs; the logger's handlers, level and propagation come back afterwards."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("ciyu: %(message)s"))
    saved = (log.handlers[:], log.level, log.propagate)
    log.handlers[:] = [handler]
    log.propagate = False
    log.setLevel(logging.INFO if verbose and not quiet else logging.WARNING)
    try:
        yield
    finally:
        log.handlers[:], level, log.propagate = saved
        log.setLevel(level)


def _os_error(exc: OSError) -> str:
    """One line for an operating-system error that no check anticipated."""
    where = f"{exc.filename}: " if exc.filename is not None else ""
    return f"{where}{exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ciyu`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    if argv is None:
        argv = sys.argv[1:]
    command = _command_named(argv)
    method = None
    if command in (None, "train"):
        scan = argparse.ArgumentParser(add_help=False)
        scan.add_argument("--method", default=_default_method())
        method = scan.parse_known_args(argv)[0].method
    parser = build_parser(method, command)
    args = parser.parse_args(argv)
    run = {c.name: c.run for c in COMMANDS}[args.command]
    with _logging_to_stderr(args.verbose, args.quiet), _cleanup_on_signals():
        progress = Progress(not args.quiet, sys.stderr)
        try:
            return _run(args, run, progress)
        except _Terminated as exc:  # also when raised while handling another error
            progress.done()
            name = signal.Signals(exc.signum).name
            sys.stderr.write(f"ciyu: terminated by {name}; temporary files removed\n")
            return 128 + exc.signum


def console() -> NoReturn:
    """The entry point of the ``ciyu`` command and of ``python -m ciyu``: :func:`main`, then
    exit with its status."""
    code = main()
    # the process ends here, and its objects with it: the interpreter's last garbage
    # collection, over every object still alive (a model's words, the modules), would only
    # cost time (about 14 ms of the exit of `ciyu segment`, against 20 ms in all); frozen
    # objects are left out of it. main() itself freezes nothing: it runs in tests too
    gc.freeze()
    sys.exit(code)


def _run(
    args: argparse.Namespace,
    run: Callable[[argparse.Namespace, Progress], int],
    progress: Progress,
) -> int:
    """Run a command; its errors become one line on standard error and exit status 2."""
    try:
        output = getattr(args, "output", None)
        if output is not None and not _is_stdout(output):
            check_output(output)  # before any long work
        code = run(args, progress)
        progress.end(args.command)
        return code
    except CiyuError as exc:
        progress.done()
        sys.stderr.write(f"ciyu: error: {exc}\n")
        return 2
    except BrokenPipeError:  # e.g. `ciyu segment ... | head`
        with contextlib.suppress(Exception):
            sys.stderr.close()
        return 1
    except OSError as exc:  # anything no check anticipated: still one line
        progress.done()
        sys.stderr.write(f"ciyu: error: {_os_error(exc)}\n")
        return 2
    except KeyboardInterrupt:
        progress.done()
        sys.stderr.write("ciyu: interrupted\n")
        return 130
