"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any


class ChildFailed(Exception):
    """A benchmark child process exited with an error; the message is its last line."""


def run_child(script: str, *args: str) -> dict[str, Any]:
    """Run ``python script args...`` in a child process and return the JSON object it
    prints last (a child process, so that its time and peak memory are its own)."""
    proc = subprocess.run(
        [sys.executable, script, *args], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise ChildFailed(lines[-1] if lines else f"exit status {proc.returncode}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    On Linux this is ``VmHWM`` from ``/proc/self/status``: ``ru_maxrss`` survives
    ``execve``, so a child started by a parent holding 350 MiB would report at least that
    much. Elsewhere, ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def train_sentencepiece(train: Path, prefix: Path, vocab: int) -> Path:
    """Train sentencepiece's unigram model the way every ciyu benchmark compares with it:
    identity normalisation, no dummy prefix, whitespace kept, character coverage 0.9995."""
    import sentencepiece as spm

    spm.SentencePieceTrainer.train(
        input=str(train),
        model_prefix=str(prefix),
        model_type="unigram",
        vocab_size=vocab,
        character_coverage=0.9995,
        normalization_rule_name="identity",
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        max_sentence_length=1 << 16,
        num_threads=2,
        minloglevel=2,
    )
    return Path(f"{prefix}.model")


def have_data(path: Path, data: Path) -> bool:
    """True if the benchmark file ``path`` exists; otherwise say what is missing."""
    if path.exists():
        return True
    print(
        f"benchmark data not found: {path} is missing. The benchmarks need the SIGHAN 2005, "
        f"People's Daily and law files of ../shared/data (not shipped with ciyu: the corpora "
        f"are for research only); pass --data DIR (now {data})",
        file=sys.stderr,
    )
    return False
