"""Exports: a trained model written in the formats other libraries load.

=====================  ==========================================================
format                 what it is, and how to load it
=====================  ==========================================================
``jieba-user``         a user dictionary for jieba's ``load_userdict``, on top of
                       jieba's own dictionary
``jieba-main``         a main dictionary for jieba's ``set_dictionary``, replacing
                       jieba's own
``hf``                 a Hugging Face ``tokenizer.json`` (Unigram model) for
                       ``tokenizers.Tokenizer.from_file``
``sentencepiece``      a sentencepiece ``.model`` for ``SentencePieceProcessor``
``sentencepiece-seed`` seed pieces for sentencepiece training
                       (``--seed_sentencepieces_file``)
=====================  ==========================================================

Every export keeps the unigram log-probabilities of the model, so the library segments as
ciyu does; what a format cannot express (the number class ``<num>``, characters jieba's
matcher never produces) is left out and reported in :attr:`Export.skipped`.
``benchmarks/exports.py`` measures how closely each library then agrees with ciyu.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..lexicon import Lexicon
from .base import Export
from .hf import tokenizer_json
from .jieba import main_dictionary, user_dictionary
from .spm import model_proto, seed_pieces

__all__ = ["FORMATS", "Export", "export"]

#: Format name → exporter (lexicon, options → :class:`Export`).
FORMATS: dict[str, Callable[..., Export]] = {
    "jieba-user": user_dictionary,
    "jieba-main": main_dictionary,
    "hf": tokenizer_json,
    "sentencepiece": model_proto,
    "sentencepiece-seed": seed_pieces,
}


def export(lexicon: Lexicon, fmt: str, **options: Any) -> Export:
    """Export ``lexicon`` in format ``fmt`` (a key of :data:`FORMATS`).

    Options: ``jieba_dict`` (``jieba-user`` only: the path of the jieba dictionary the
    frequencies are tuned to; default: the installed jieba's own).

    Raises:
        ValueError: on an unknown format or an option the format does not take.
    """
    try:
        exporter = FORMATS[fmt]
    except KeyError:
        raise ValueError(
            f"unknown export format {fmt!r}; choose from {', '.join(sorted(FORMATS))}"
        ) from None
    return exporter(lexicon, **options)
