"""Mining templates from a corpus: the passes of :mod:`ciyu.template.mining`, run one
after the other by :func:`~ciyu.template.passes.run_pass`."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .._gc import paused_gc
from ..config import to_dict
from ..errors import ConfigError
from ..lexicon import Lexicon
from ..passes import Engine, LocalEngine
from .evidence import Template, keep, make_templates
from .jobs import CandidateHashJob, CandidateJob, EvidenceJob, PairJob, WordJob
from .options import TemplateConfig, sample_every
from .passes import CHUNKS_PER_BATCH, run_pass

log = logging.getLogger("ciyu")

#: Most parses of the corpus at the end of mining: each drops the templates it does not
#: apply often enough or whose slots are not open, until none is dropped.
PARSE_ROUNDS = 2
#: Characters per chunk: a chunk's pair slots (about 15 per word) are held in numpy.
CHUNK_CHARS = 1 << 17
# Bytes per entry the budget reckons with: a pair is two int64 and the temporaries of a
# merge; a template is a Python tuple and list.
_PAIR_BYTES = 64
_TEMPLATE_BYTES = 600
# a template's hash: an int64 key and count, and the temporaries of a merge (as a pair)
_HASH_BYTES = 64


@dataclass
class Mined:
    """The templates of a corpus, in ranking order, and how they were mined.

    Attributes:
        templates: the records.
        meta: options, corpus totals, and whether a memory budget made counts approximate.
    """

    templates: list[Template]
    meta: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Any:
        return iter(self.templates)

    def __len__(self) -> int:
        return len(self.templates)

    def __getitem__(self, i: int) -> Template:
        return self.templates[i]


@contextlib.contextmanager
def _local(engine: Engine | None, threads: int | None) -> Iterator[Engine]:
    if engine is not None:
        yield engine
        return
    with LocalEngine(threads) as local:
        yield local


def mine(
    lines: Callable[[], Iterable[str]],
    lexicon: Lexicon | None,
    config: TemplateConfig,
    *,
    threads: int | None = 1,
    max_memory: int | None = None,
    progress: Callable[[str, int], None] | None = None,
    engine: Engine | None = None,
    compiled: bool = True,
) -> Mined:
    """Mine the templates of a corpus.

    Args:
        lines: returns a fresh iterable over the corpus's lines each time it is called
            (five passes are made: words, pairs, templates, and two parses).
        lexicon: the lexicon of the model that segments the text, or None when the text
            is already segmented (words separated by whitespace).
        config: the options.
        threads: worker processes (``None`` or 0: one per core); same output for any value.
        max_memory: a budget, in bytes, for the pair and template tables; the rarest
            entries are dropped beyond it and the result is marked approximate.
        progress: called as ``progress(stage, characters_done)``.
        engine: what runs the passes (default: this machine, with ``threads``
            processes); the same output with any engine.
        compiled: count and parse templates with the compiled extension (``ciyu._tparse``)
            when it is installed; False runs the pure-Python reference (the same output,
            slower).

    Raises:
        ConfigError: if the corpus holds no words, or ``max_memory`` is given with an
            engine other than this machine's.
    """
    if max_memory is not None and engine is not None and not isinstance(engine, LocalEngine):
        raise ConfigError(
            "max_memory bounds the processes of this machine; with a cluster engine, "
            "size the memory of the cluster's nodes instead"
        )
    with _local(engine, threads) as runner, paused_gc():
        return _mine(lines, lexicon, config, runner, max_memory, progress, compiled)


def _mine(
    lines: Callable[[], Iterable[str]],
    lexicon: Lexicon | None,
    config: TemplateConfig,
    engine: Engine,
    max_memory: int | None,
    progress: Callable[[str, int], None] | None,
    compiled: bool,
) -> Mined:
    model = None if lexicon is None else lexicon.dumps()
    common: dict[str, Any] = {"chunk_chars": CHUNK_CHARS, "progress": progress}
    vocab = run_pass(WordJob(config, model), lines(), engine, **common)
    if vocab.n_words == 0:
        raise ConfigError("no words in the input; check the input files, or their encoding")
    log.info(
        "%d words; %d fixed-word candidates (seen %d times or more)",
        vocab.n_words,
        len(vocab.words),
        vocab.min_count,
    )
    pair_budget = max_memory // _PAIR_BYTES if max_memory else None
    # twice the chunks per batch: the workers merge more of the pair tables (in
    # parallel) and this process fewer (on the law corpus its merges were the longest
    # part of the pass)
    pairs = run_pass(
        PairJob(config, vocab, model, compiled, max_entries=pair_budget),
        lines(),
        engine,
        per_batch=2 * CHUNKS_PER_BATCH,
        **common,
    )
    log.info("%d pairs kept", len(pairs.pmi))
    # templates are sought in a sample of the corpus (all of it when it is small), and
    # counted by parsing all of it
    every = sample_every(vocab.n_words, config.sample_words)
    # first the templates' counts by hash, then the counts in full of the templates seen
    # often enough to be candidates (mining.TemplateHashPass): the same candidates as
    # counting every template in full, in a fraction of the memory
    hash_budget = max_memory // _HASH_BYTES if max_memory else None
    hash_job = CandidateHashJob(config, pairs, model, compiled=compiled, max_entries=hash_budget)
    frequent = run_pass(hash_job, lines(), engine, every=every, **common)
    template_budget = max_memory // _TEMPLATE_BYTES if max_memory else None
    template_job = CandidateJob(
        config, pairs, model, compiled, frequent, max_entries=template_budget
    )
    candidates = run_pass(template_job, lines(), engine, every=every, **common)
    log.info("%d candidate templates (from every %d. chunk)", len(candidates), every)
    # Parse the corpus with the candidates; a template the parse does not apply often
    # enough, or whose slot is not open, is dropped, and the corpus is parsed again with
    # the others (the dropped ones may have taken applications from them). The rounds but
    # the last parse the sample; the last parses all of the corpus.
    kept = candidates
    for round_ in range(PARSE_ROUNDS):
        last = round_ == PARSE_ROUNDS - 1
        # a parse of the sample only decides what is kept; the evidence written out is
        # that of a parse of all of the corpus
        full = last or every == 1
        job = EvidenceJob(config, kept, model, compiled=compiled, full=full)
        # the parse of all of the corpus sends twice the chunks per batch: its partials
        # hold evidence for most candidates, and this process merges them row by row
        per_batch = 2 * CHUNKS_PER_BATCH if every == 1 or last else CHUNKS_PER_BATCH
        evidence = run_pass(
            job, lines(), engine, every=1 if last else every, per_batch=per_batch, **common
        )
        scale = 1.0 if last else vocab.n_words / max(evidence.n_words, 1)
        survivors = keep(kept, evidence, vocab.min_count, scale)
        settled = len(survivors) == len(kept)
        kept = survivors
        if settled and (last or every == 1):
            break
    log.info("%d templates kept", len(kept))
    meta: dict[str, Any] = {
        "options": to_dict(config),
        "min_count_used": vocab.min_count,
        "words": vocab.n_words,
        "characters": vocab.n_chars,
        "approximate": pairs.approximate or hash_job.approximate or template_job.approximate,
        "segmented_by": None if lexicon is None else lexicon.meta.get("method", "model"),
    }
    return Mined(make_templates(kept, evidence), meta)
