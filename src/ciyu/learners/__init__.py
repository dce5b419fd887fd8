"""Learners: each turns a corpus (through its n-gram counts) into a lexicon.

Every learner is a module with a frozen config dataclass (the single source of truth for
its options: Python keywords, command-line flags, model metadata), a ``learn`` function
returning a :class:`~ciyu.lexicon.Lexicon`, and a ``segmenter`` used by ensembles.
:data:`METHODS` maps the ``--method`` names of ``ciyu train`` to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..lexicon import Lexicon
from . import cohesion, ensemble, lm, minent, nvbe, unigram
from .base import Context, Segmenter
from .cohesion import CohesionConfig
from .ensemble import EnsembleConfig
from .lm import LmConfig
from .minent import MinentConfig
from .nvbe import NvbeConfig
from .unigram import UnigramConfig


@dataclass(frozen=True)
class Method:
    """A learner as ``ciyu train --method NAME`` knows it."""

    name: str
    config: type[Any]
    learn: Callable[[Context, Any], Lexicon]
    segmenter: Callable[[Context, Any], Segmenter]
    summary: str


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            "cohesion",
            CohesionConfig,
            cohesion.learn,
            cohesion.segmenter,
            "multi-order cohesion with covering cut and backtracking (Su, 分词系列8)",
        ),
        Method(
            "nvbe",
            NvbeConfig,
            nvbe.learn,
            nvbe.segmenter,
            "normalised variation of branching entropy (Magistry & Sagot 2012)",
        ),
        Method(
            "lm",
            LmConfig,
            lm.learn,
            lm.segmenter,
            "character language model with position tags (Su, 分词系列5)",
        ),
        Method(
            "minent",
            MinentConfig,
            minent.learn,
            minent.segmenter,
            "minimum-entropy lexicon building with de-redundancy (Su, 最小熵原理)",
        ),
        Method(
            "unigram",
            UnigramConfig,
            unigram.learn,
            unigram.segmenter,
            "unigram-LM tokenizer with a --vocab-size target (Viterbi EM, loss pruning)",
        ),
        Method(
            "ensemble",
            EnsembleConfig,
            ensemble.learn,
            ensemble.segmenter,
            "majority vote of cohesion, nvbe and lm boundaries",
        ),
    )
}

#: The method ``ciyu train`` uses when none is named: the best on the quality benchmark.
DEFAULT_METHOD = "ensemble"

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "CohesionConfig",
    "EnsembleConfig",
    "LmConfig",
    "Method",
    "MinentConfig",
    "NvbeConfig",
    "UnigramConfig",
]
