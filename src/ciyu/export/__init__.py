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

import inspect
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError
from ..lexicon import Lexicon
from ..model import Model
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


def options_of(fmt: str) -> list[str]:
    """The names of the options format ``fmt`` takes (keyword arguments of
    :func:`export`)."""
    return list(inspect.signature(FORMATS[fmt]).parameters)[1:]


def export(model: Model | Lexicon, fmt: str, **options: Any) -> Export:
    """Export a model (or a lexicon) in format ``fmt`` (a key of :data:`FORMATS`).

    Args:
        model: a :class:`~ciyu.model.Model`, or the :class:`~ciyu.lexicon.Lexicon` of one.
        fmt: the format.
        options: ``jieba_dict`` (``jieba-user`` only: the path of the jieba dictionary
            the frequencies are tuned to; default: the installed jieba's own).

    Returns:
        An :class:`Export`: the file's bytes, and what was left out.

    Raises:
        ConfigError: on an unknown format, an option the format does not take, or a
            ``model`` that is neither a Model nor a Lexicon.
        CiyuError: if the export cannot be made (e.g. an unreadable ``jieba_dict``).
    """
    if isinstance(model, Model):
        lexicon = model.lexicon
    elif isinstance(model, Lexicon):
        lexicon = model
    else:
        raise ConfigError(
            f"export() takes a ciyu.Model or a ciyu.Lexicon, got {type(model).__name__}"
        )
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ConfigError(
            f"unknown export format {fmt!r}; choose from {', '.join(sorted(FORMATS))}"
        )
    allowed = options_of(fmt)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = f"its options: {', '.join(allowed)}" if allowed else "it takes no options"
        raise ConfigError(f"format {fmt!r} has no option {', '.join(unknown)}; {takes}")
    return FORMATS[fmt](lexicon, **options)
