"""Domain benchmark: word F1 on gold sets of other genres and scripts, and on PKU and MSR.

Protocol (``../shared/data/README.md`` §5; transductive, as ``quality.py``):

- **Sets.** The five gold sets of ``domains/``: patent descriptions (``naacl19_pt``), a web
  novel (``naacl19_zx``), medical forum Q&A (``amttl_med_forum``), classical Chinese
  (``evahan_zuozhuan``, 左傳, traditional script) and Hong Kong subtitles and legislative
  council (``ud_hk``, traditional); and SIGHAN 2005 PKU and MSR.
- **Training.** Every ciyu system trains with the same default configuration on every set
  (no per-set options), on the set's raw text, plus for ``naacl19_pt`` the raw patent text
  of the same source (``naacl19_pt_full.txt.gz``). PKU and MSR share one model, trained on
  ``quality.py``'s training text (People's Daily 1998-01 stripped, plus the raw PKU and MSR
  tests). Each model trains in a child process, so its time and peak memory are its own.
- **Scoring.** Every system segments the raw text line by line; ``score_words`` gives
  word-span P/R/F1 over the whole file.
- **Domain terms.** The gold words of two or more characters, every one of them a Han
  character (CJK ideograph), that jieba's dictionary (``lexicon/jieba_dict.txt``) lacks: the
  domain's terms and names. Their recall is the share of their occurrences in the gold that
  a system cuts exactly. (jieba's dictionary is in simplified script, so on the traditional
  sets most words of two or more characters count.)

Systems:

- ``ciyu``: ``ciyu.train(paths=...)``, the default learner;
- ``ciyu-base``: ``ciyu.train(paths=..., base="jieba")``, ciyu adapted to jieba's
  dictionary ("not available in this ciyu" when ``train`` rejects ``base``);
- ``base-main``, ``base-main-hmm``: that model's ``jieba-main`` export loaded in jieba
  (``jieba.Tokenizer(dictionary=...)``), HMM off and on;
- ``base-user``, ``base-user-hmm``: its ``jieba-user`` export loaded on top of jieba's own
  dictionary (``load_userdict``), HMM off and on;
- ``jieba-hmm``, ``jieba-nohmm``: jieba with its own dictionary, HMM on (its default) and off;
- ``one-char``: every character a word.

One run prints a table per set, then a summary (set × system F1, domain-term recall and
training cost, with averages over the modern sets: every set but ``evahan_zuozhuan``), in
Markdown; the results go to ``--out`` as JSON, and the models, exports and segmentations to
the folder next to it (``benchmarks/out/domains.work/``). Nothing is reused between runs.

Usage::

    python benchmarks/domains.py [--data ../shared/data] [--out benchmarks/out/domains.json]
                                 [--sets naacl19_pt,ud_hk,pku,...]
                                 [--systems ciyu,ciyu-base,jieba-hmm,...]

jieba comes from the bench extra (``pip install -e '.[bench]'``); without it the jieba
systems are reported as not available. Needs ``../shared/data``, which ciyu does not ship:
when it is absent the script says so and exits with status 2. The exit status is 1 when a
system failed on some set (the tables say which and why).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import logging
import re
import sys
import tempfile
import time
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import ciyu
from _common import ChildFailed, have_data, peak_rss_mb, run_child
from ciyu.evaluate import gold_word_hits, read_word_list, score_words
from ciyu.export import export
from quality import build_training_text

ROOT = Path(__file__).resolve().parent.parent

#: Set name → what it is. The domain sets first, in the order of the data README.
SETS: dict[str, str] = {
    "naacl19_pt": "patent descriptions, simplified",
    "naacl19_zx": "web novel (诛仙), simplified",
    "amttl_med_forum": "medical forum Q&A, simplified",
    "evahan_zuozhuan": "classical Chinese (左傳), traditional",
    "ud_hk": "Hong Kong film subtitles and legislative council, traditional",
    "pku": "SIGHAN 2005 PKU test, news, simplified",
    "msr": "SIGHAN 2005 MSR test, news, simplified",
}
SIGHAN_SETS = ("pku", "msr")
CLASSICAL = ("evahan_zuozhuan",)
#: In-domain raw text trained on besides the set's own raw text (in ``domains/``).
EXTRA_TRAINING = {"naacl19_pt": ("naacl19_pt_full.txt.gz",)}

#: System → its label in the tables.
SYSTEMS: dict[str, str] = {
    "ciyu": "ciyu default",
    "ciyu-base": "ciyu --base jieba",
    "base-main": "└ its jieba-main export in jieba, HMM off",
    "base-main-hmm": "└ its jieba-main export in jieba, HMM on",
    "base-user": "└ its jieba-user export + jieba's dict, HMM off",
    "base-user-hmm": "└ its jieba-user export + jieba's dict, HMM on",
    "jieba-hmm": "jieba 0.42, HMM on (default)",
    "jieba-nohmm": "jieba 0.42, HMM off",
    "one-char": "every character a word",
}
#: The systems ciyu trains: system → keyword options of ``ciyu.train``.
TRAINED: dict[str, dict[str, str]] = {"ciyu": {}, "ciyu-base": {"base": "jieba"}}
#: The systems that load an export of the adapted model: system → (format, HMM).
EXPORTED: dict[str, tuple[str, bool]] = {
    "base-main": ("jieba-main", False),
    "base-main-hmm": ("jieba-main", True),
    "base-user": ("jieba-user", False),
    "base-user-hmm": ("jieba-user", True),
}
NOT_AVAILABLE = "not available in this ciyu"
_ASCII_SPACE = re.compile(r"[ \t\n\r\f\v]+")  # what separates words for ciyu.evaluate


@dataclass(frozen=True)
class GoldSet:
    """One gold set: its raw text, its gold segmentation and the text its models train on.

    ``group`` names the training text: sets of one group (PKU and MSR) share one model.
    """

    name: str
    raw: Path
    gold: Path
    train: tuple[Path, ...]
    group: str


def gold_sets(data: Path, work: Path, names: Iterable[str]) -> list[GoldSet]:
    """The sets ``names``, in the order of :data:`SETS`. PKU and MSR train on
    ``work/train_raw.txt``, which :func:`quality.build_training_text` writes."""
    wanted = set(names)
    out = []
    for name in SETS:
        if name not in wanted:
            continue
        if name in SIGHAN_SETS:
            sighan = data / "sighan2005"
            out.append(
                GoldSet(
                    name,
                    sighan / f"{name}_test.utf8",
                    sighan / f"{name}_test_gold.utf8",
                    (work / "train_raw.txt",),
                    "pku+msr",
                )
            )
        else:
            domains = data / "domains"
            raw = domains / f"{name}.raw.txt"
            extra = tuple(domains / f for f in EXTRA_TRAINING.get(name, ()))
            out.append(GoldSet(name, raw, domains / f"{name}.gold.txt", (raw, *extra), name))
    return out


@cache
def is_han(ch: str) -> bool:
    """True for a Han character: a CJK unified or compatibility ideograph (any block)."""
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY"))


def is_domain_term(word: str, dictionary: set[str]) -> bool:
    """True for a word of two or more Han characters (nothing else) that ``dictionary``
    lacks."""
    return len(word) >= 2 and all(is_han(ch) for ch in word) and word not in dictionary


def rejects_base(exc: Exception) -> bool:
    """True if ``exc`` is ``ciyu.train`` refusing the keyword ``base`` as unknown (a ciyu
    without dictionary adaptation), not a failure of a ciyu that has it."""
    message = str(exc)
    if isinstance(exc, TypeError):
        return "unexpected keyword argument 'base'" in message
    return message.startswith("unknown option") and "base" in message.split(" for ")[0]


class _Collect(logging.Handler):
    """Keeps the messages of the warnings ciyu logs while it trains."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def worker(system: str, train: Sequence[Path], model_path: Path) -> dict[str, Any]:
    """Train ``system`` on ``train`` in this (child) process and save it to ``model_path``.

    Returns:
        Its cost (seconds, peak MiB, lexicon size, ciyu's warnings), or ``{"unavailable":
        reason}`` when this ciyu's ``train`` does not take the system's options.
    """
    collect = _Collect()
    logging.getLogger("ciyu").addHandler(collect)
    start = time.perf_counter()
    try:
        model = ciyu.train(paths=list(train), **TRAINED[system])
    except (TypeError, ciyu.ConfigError) as exc:
        if TRAINED[system] and rejects_base(exc):
            why = str(exc).split(";")[0]  # not the list of valid options that follows
            return {"unavailable": f"{NOT_AVAILABLE} (ciyu.train: {why})"}
        raise
    seconds = time.perf_counter() - start
    model.save(model_path)
    return {
        "train_seconds": round(seconds, 2),
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "words": len(model.lexicon),
        "warnings": collect.messages,
    }


def train_in_child(system: str, train: Sequence[Path], model_path: Path) -> dict[str, Any]:
    """:func:`worker` in a child process; ``{"failed": last line}`` if it fails."""
    args = [a for path in train for a in ("--train", str(path))]
    try:
        return run_child(__file__, "--worker", system, "--model", str(model_path), *args)
    except ChildFailed as exc:
        return {"failed": f"training failed: {exc}"}


def import_jieba() -> ModuleType | None:
    """jieba, quiet, or None if it is not installed."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # jieba 0.42 imports the deprecated pkg_resources
            import jieba
    except ImportError:
        return None
    jieba.setLogLevel(60)
    return jieba


def jieba_tokenizer(jieba: ModuleType, cache_dir: str, dictionary: Path | None = None) -> Any:
    """An initialised ``jieba.Tokenizer`` (of its own dictionary, or of ``dictionary``)
    that keeps its cache of the parsed dictionary in ``cache_dir``, not in ``/tmp``: so
    the dictionary is parsed afresh in every run, and once per run."""
    tokenizer = jieba.Tokenizer() if dictionary is None else jieba.Tokenizer(str(dictionary))
    tokenizer.tmp_dir = cache_dir
    tokenizer.initialize()
    return tokenizer


def jieba_cut(tokenizer: Any, hmm: bool) -> Callable[[str], list[str]]:
    """A segmenter: ``tokenizer``'s ``lcut`` with the HMM on or off."""
    return lambda line: tokenizer.lcut(line, HMM=hmm)


def one_char(line: str) -> list[str]:
    """The baseline: every character a word."""
    return list(line)


def export_segmenters(
    jieba: ModuleType, model: ciyu.Model, stem: Path, cache_dir: str
) -> tuple[dict[str, Callable[[str], list[str]]], dict[str, Any]]:
    """The exports of ``model`` (the adapted one), written to ``stem.jieba-main.txt`` and
    ``stem.jieba-user.txt`` and loaded in jieba.

    Returns:
        Format → segmenter for every system of :data:`EXPORTED`, and per format what the
        export left out (reason → how many words) and how long exporting took.
    """
    tokenizers = {}
    info = {}
    for fmt in ("jieba-main", "jieba-user"):
        start = time.perf_counter()
        result = export(model, fmt)
        path = Path(f"{stem}.{fmt}.txt")
        path.write_bytes(result.data)
        info[fmt] = {
            "format": fmt,
            "export_seconds": round(time.perf_counter() - start, 2),
            "entries": result.entries,
            "skipped": {reason: len(words) for reason, words in result.skipped.items()},
        }
        if fmt == "jieba-main":
            tokenizer = jieba_tokenizer(jieba, cache_dir, path)
        else:
            tokenizer = jieba_tokenizer(jieba, cache_dir)
            with open(path, "rb") as fh:  # jieba does not close a file it opens itself
                tokenizer.load_userdict(fh)
        tokenizers[fmt] = tokenizer
    cuts = {sys_: jieba_cut(tokenizers[fmt], hmm) for sys_, (fmt, hmm) in EXPORTED.items()}
    return cuts, info


def read_lines(path: Path) -> list[str]:
    """The lines of a text file (``\\n``-separated; a final newline ends the last line)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def count_chars(path: Path) -> int:
    """Characters (code points, newlines included) of a UTF-8 text file, gzipped or not."""
    with (gzip.open if path.suffix == ".gz" else open)(
        path, "rt", encoding="utf-8", newline=""
    ) as fh:
        return sum(len(line) for line in fh)


def set_facts(gold: GoldSet, dictionary: set[str]) -> dict[str, Any]:
    """What a set holds: its training text, gold words and domain terms."""
    words = [w for w in _ASCII_SPACE.split(gold.gold.read_text(encoding="utf-8")) if w]
    terms = [w for w in words if is_domain_term(w, dictionary)]
    return {
        "description": SETS[gold.name],
        "train_files": [p.name for p in gold.train],
        "train_chars": sum(map(count_chars, gold.train)),
        "gold_words": len(words),
        "domain_terms": len(terms),
        "domain_term_types": len(set(terms)),
    }


def score(
    gold: GoldSet,
    lines: list[str],
    cut: Callable[[str], list[str]],
    pred_path: Path,
    dictionary: set[str],
) -> dict[str, Any]:
    """Segment ``lines`` (the raw text of ``gold``) with ``cut`` and score it.

    Returns:
        P, R, F1, the recall of domain terms and the segmentation time.
    """
    start = time.perf_counter()
    segmented = [" ".join(cut(line)) for line in lines]
    seconds = time.perf_counter() - start
    pred_path.write_text("".join(line + "\n" for line in segmented), encoding="utf-8")
    s = score_words(
        enumerate(read_lines(gold.gold), 1),
        enumerate(segmented, 1),
        gold_name=str(gold.gold),
        pred_name=str(pred_path),
    )
    terms = [
        hit
        for word, hit in gold_word_hits(gold.gold, pred_path)
        if is_domain_term(word, dictionary)
    ]
    return {
        # 6 digits, so that the tables' 3 are not rounded twice (0.64452 → 0.6445 → 0.644)
        "precision": round(s.precision, 6),
        "recall": round(s.recall, 6),
        "f1": round(s.f1, 6),
        "domain_term_recall": round(sum(terms) / len(terms), 6) if terms else None,
        "segment_seconds": round(seconds, 2),
    }


def unavailable(reason: str) -> dict[str, str]:
    """The result of a system that cannot run here."""
    return {"unavailable": reason}


def group_segmenters(
    members: list[GoldSet],
    systems: list[str],
    work: Path,
    jieba: ModuleType | None,
    cache_dir: str,
) -> tuple[dict[str, Callable[[str], list[str]]], dict[str, dict[str, Any]]]:
    """Train the ciyu systems on the text of one group of sets and load every segmenter.

    Returns:
        System → segmenter for the systems that can run, and system → what to record
        besides its scores: its training cost, its export's facts, or why it cannot run
        (``unavailable`` or ``failed``, with the reason).
    """
    group = members[0].group
    cuts: dict[str, Callable[[str], list[str]]] = {}
    facts: dict[str, dict[str, Any]] = {}
    models: dict[str, ciyu.Model] = {}
    no_jieba = unavailable("jieba is not installed: pip install -e '.[bench]'")
    needs_base = any(s in EXPORTED for s in systems)
    for system in TRAINED:
        if system not in systems and not (system == "ciyu-base" and needs_base):
            continue
        if TRAINED[system] and jieba is None:  # base="jieba" needs the jieba package
            facts[system] = no_jieba
            continue
        model_path = work / f"{group}.{system}.model"
        print(f"training {system} on {group} …", file=sys.stderr)
        facts[system] = train_in_child(system, members[0].train, model_path)
        if "train_seconds" in facts[system]:
            models[system] = ciyu.Model.load(model_path)
            cuts[system] = models[system].cut
    if needs_base:
        base = facts["ciyu-base"]
        if "ciyu-base" in cuts:
            assert jieba is not None  # else ciyu-base was not trained
            try:
                exported, info = export_segmenters(
                    jieba, models["ciyu-base"], work / group, cache_dir
                )
            except ciyu.CiyuError as exc:
                base = {"failed": f"export failed: {exc}"}
            else:
                for system, (fmt, _) in EXPORTED.items():
                    cuts[system] = exported[system]
                    facts[system] = {"export": info[fmt]}
        for system in EXPORTED:
            if system not in cuts:
                facts[system] = {k: v for k, v in base.items() if k in ("unavailable", "failed")}
    plain = None
    for system, hmm in (("jieba-hmm", True), ("jieba-nohmm", False)):
        if system not in systems:
            continue
        if jieba is None:
            facts[system] = no_jieba
            continue
        if plain is None:
            plain = jieba_tokenizer(jieba, cache_dir)
        cuts[system] = jieba_cut(plain, hmm)
    if "one-char" in systems:
        cuts["one-char"] = one_char
    return cuts, facts


def run(data: Path, out: Path, set_names: list[str], systems: list[str]) -> dict[str, Any]:
    """Measure ``systems`` on the sets ``set_names``; every result (see the module's
    documentation), as the JSON written to ``--out``."""
    jieba = import_jieba()
    dictionary = read_word_list(data / "lexicon" / "jieba_dict.txt")
    work = out.parent / f"{out.stem}.work"
    work.mkdir(parents=True, exist_ok=True)
    sets = gold_sets(data, work, set_names)
    if any(s.name in SIGHAN_SETS for s in sets):
        build_training_text(data, work)
    results: dict[str, Any] = {
        "date": datetime.date.today().isoformat(),
        "ciyu_version": ciyu.__version__,
        "jieba_version": getattr(jieba, "__version__", None),
        "modern_sets": [s.name for s in sets if s.name not in CLASSICAL],
        "sets": {},
    }
    groups: dict[str, list[GoldSet]] = {}
    for s in sets:
        groups.setdefault(s.group, []).append(s)
    with tempfile.TemporaryDirectory() as cache_dir:
        for members in groups.values():
            cuts, facts = group_segmenters(members, systems, work, jieba, cache_dir)
            for gold in members:
                lines = read_lines(gold.raw)
                entry = {**set_facts(gold, dictionary), "systems": {}}
                for system in systems:
                    result = dict(facts.get(system, {}))
                    if system in cuts:
                        pred = work / f"{gold.name}.{system}.seg"
                        try:
                            result.update(score(gold, lines, cuts[system], pred, dictionary))
                        except ciyu.CiyuError as exc:
                            result = {"failed": f"scoring failed: {exc}"}
                    entry["systems"][system] = result
                results["sets"][gold.name] = entry
                print(f"measured {gold.name}", file=sys.stderr)
    results["modern_averages"] = averages(results, systems)
    return results


def averages(results: dict[str, Any], systems: list[str]) -> dict[str, dict[str, float | None]]:
    """System → mean F1 and mean domain-term recall over the modern sets (None unless the
    system has the figure on every one of them)."""
    out: dict[str, dict[str, float | None]] = {}
    modern = [results["sets"][name]["systems"] for name in results["modern_sets"]]
    for system in systems:
        out[system] = {}
        for key in ("f1", "domain_term_recall"):
            values = [m[system].get(key) for m in modern]
            ok = values and all(v is not None for v in values)
            out[system][key] = round(sum(values) / len(values), 6) if ok else None
    return out


def _status(result: dict[str, Any]) -> str | None:
    """Why a system has no scores ("not available …", "failed"), or None."""
    if "unavailable" in result:
        reason: str = result["unavailable"]
        return NOT_AVAILABLE if reason.startswith(NOT_AVAILABLE) else "not available"
    if "failed" in result:
        return "failed"
    return None


def _num(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """The lines of a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def set_report(name: str, entry: dict[str, Any]) -> Iterator[str]:
    """The Markdown section of one set: its facts and a row per system."""
    share = entry["domain_terms"] / entry["gold_words"] if entry["gold_words"] else 0.0
    yield f"### {name}: {entry['description']}"
    yield ""
    yield (
        f"Trained on {' + '.join(entry['train_files'])} ({entry['train_chars']:,} characters). "
        f"Gold: {entry['gold_words']:,} words; domain terms: {entry['domain_terms']:,} "
        f"({share:.1%} of the gold words, {entry['domain_term_types']:,} distinct)."
    )
    yield ""
    header = ["system", "P", "R", "F1", "domain-term R", "train s", "peak MiB", "words"]
    rows = []
    notes = []
    why: dict[str, list[str]] = {}  # reason → the systems it stopped
    for system, r in entry["systems"].items():
        status = _status(r)
        if status is not None:
            rows.append([SYSTEMS[system], status] + [""] * (len(header) - 2))
            why.setdefault(r.get("unavailable") or r["failed"], []).append(system)
            continue
        rows.append(
            [
                SYSTEMS[system],
                _num(r["precision"]),
                _num(r["recall"]),
                _num(r["f1"]),
                _num(r["domain_term_recall"]),
                str(r.get("train_seconds", "–")),
                str(r.get("peak_rss_mb", "–")),
                f"{r['words']:,}" if "words" in r else "–",
            ]
        )
        for warning in r.get("warnings", []):
            notes.append(f"- {SYSTEMS[system]}: ciyu warned: {warning}")
        export = r.get("export", {})
        for reason, n in export.get("skipped", {}).items():
            notes.append(f"- {export['format']} export: {n:,} word(s) left out: {reason}")
    notes += [f"- {', '.join(stopped)}: {reason}" for reason, stopped in why.items()]
    yield from markdown_table(header, rows)
    if notes:
        yield ""
        yield from dict.fromkeys(notes)  # each note once (the export rows share theirs)
    yield ""


def summary_report(results: dict[str, Any], systems: list[str]) -> Iterator[str]:
    """The Markdown summary: set × system F1, domain-term recall and training cost."""
    names = list(results["sets"])
    modern = results["modern_sets"]
    avg = results["modern_averages"]
    header = ["system", *names, f"modern avg ({len(modern)})"]
    yield (
        f"## Summary ({results['date']}; ciyu {results['ciyu_version']}, "
        f"jieba {results['jieba_version']})"
    )
    yield ""
    yield f"Modern sets: every set but {', '.join(CLASSICAL)} (classical Chinese)."
    for title, key in (("Word F1", "f1"), ("Recall of domain terms", "domain_term_recall")):
        yield ""
        yield f"{title}:"
        yield ""
        rows = []
        if key == "domain_term_recall":
            row = ["domain terms in the gold (share of its words)"]
            for name in names:
                e = results["sets"][name]
                share = e["domain_terms"] / e["gold_words"] if e["gold_words"] else 0.0
                row.append(f"{e['domain_terms']:,} ({share:.1%})")
            rows.append([*row, ""])
        for system in systems:
            row = [SYSTEMS[system]]
            for name in names:
                r = results["sets"][name]["systems"][system]
                status = _status(r)
                row.append("n/a" if status is not None else _num(r[key]))
            rows.append([*row, _num(avg[system][key])])
        yield from markdown_table(header, rows)
    yield ""
    yield (
        "A domain term is a gold word of two or more Han characters that jieba's dictionary "
        "lacks: jieba with the HMM off and the one-character baseline never cut one."
    )
    trained = [s for s in systems if s in TRAINED]
    if trained:
        yield ""
        yield "Training (seconds / peak MiB, each in its own process; PKU and MSR share a model):"
        yield ""
        rows = []
        for system in trained:
            row = [SYSTEMS[system]]
            for name in names:
                r = results["sets"][name]["systems"][system]
                ok = "train_seconds" in r
                row.append(f"{r['train_seconds']} / {r['peak_rss_mb']:.0f}" if ok else "n/a")
            rows.append(row)
        yield from markdown_table(["system", *names], rows)
    reasons = {
        r["unavailable"]
        for e in results["sets"].values()
        for r in e["systems"].values()
        if "unavailable" in r
    }
    if reasons:
        yield ""
        yield "n/a: " + "; ".join(sorted(reasons))


def required_files(data: Path, set_names: Iterable[str]) -> list[Path]:
    """The data files a run on ``set_names`` reads."""
    files = [data / "lexicon" / "jieba_dict.txt"]
    for name in set_names:
        if name in SIGHAN_SETS:
            sighan = data / "sighan2005"
            files += [sighan / f"{name}_test.utf8", sighan / f"{name}_test_gold.utf8"]
            files += [data / "gold" / "pku_peoples_daily_199801_pos.utf8"]
            files += [sighan / f"{other}_test.utf8" for other in SIGHAN_SETS]
        else:
            domains = data / "domains"
            files += [domains / f"{name}.raw.txt", domains / f"{name}.gold.txt"]
            files += [domains / f for f in EXTRA_TRAINING.get(name, ())]
    return list(dict.fromkeys(files))


def _choice(allowed: Iterable[str], what: str) -> Callable[[str], list[str]]:
    """An argparse type: a comma-separated subset of ``allowed``, in ``allowed``'s order."""
    options = list(allowed)

    def parse(value: str) -> list[str]:
        chosen = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in chosen if v not in options]
        if unknown or not chosen:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(unknown) or '(none given)'}; "
                f"choose from {', '.join(options)}"
            )
        return [o for o in options if o in chosen]

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "domains.json")
    parser.add_argument(
        "--sets", type=_choice(SETS, "set(s)"), default=list(SETS), help="comma-separated"
    )
    parser.add_argument(
        "--systems",
        type=_choice(SYSTEMS, "system(s)"),
        default=list(SYSTEMS),
        help="comma-separated",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--train", type=Path, action="append", help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.train, args.model)))
        return 0
    missing = next((p for p in required_files(args.data, args.sets) if not p.exists()), None)
    if missing is not None and not have_data(missing, args.data):
        return 2
    results = run(args.data, args.out, args.sets, args.systems)
    for name, entry in results["sets"].items():
        print("\n".join(set_report(name, entry)))
    print("\n".join(summary_report(results, args.systems)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    failed = any("failed" in r for e in results["sets"].values() for r in e["systems"].values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
