"""Hugging Face ``tokenizer.json`` export (Unigram model).

The file holds:

- a pre-tokenizer that cuts text into ciyu's rule tokens (a ``Split`` on
  :func:`ciyu.text.rule_pattern` in Oniguruma syntax), then isolates every learnable
  character that occurs in no word (a second ``Split``);
- a ``Unigram`` model whose vocabulary is :meth:`ciyu.Lexicon.vocabulary` (the words with
  their log-probabilities, then the characters found only inside words), ``<unk>`` first
  (id 0): the ids of :meth:`ciyu.Model.encode`. The library merges adjacent unknown
  characters into one ``<unk>``, so a rule token of characters outside the vocabulary
  (``OK``, ``，``, ``2000``) comes out as one piece, as in ciyu; an unknown learnable
  character is alone in its pre-token, so it stays one piece too;
  the one difference: a symbol glued to a known character by a zero-width joiner
  (``.\u200dと``) is one word in ciyu, two pieces here;
- a ``Fuse`` decoder, so ``decode`` joins pieces without spaces.

Load it with ``tokenizers.Tokenizer.from_file(path)``; the words are
``[text[a:b] for a, b in tokenizer.encode(text).offsets]``.
"""

from __future__ import annotations

import json
from typing import Any

from ..lexicon import Lexicon
from ..model import UNK_ID, UNK_PIECE
from ..text import LEARNABLE_RANGES, oniguruma_class, rule_pattern
from .base import Export, pieces


def _split(pattern: str) -> dict[str, Any]:
    return {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False}


def _unknown_pattern(vocab: list[tuple[str, float]]) -> str:
    """One learnable character that no piece contains (a letter is not isolated: it may
    be a piece of a longer atom such as ``OK``)."""
    known = sorted({ord(c) for piece, _ in vocab for c in piece})
    ranges: list[tuple[int, int]] = []
    for cp in known:
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1] = (ranges[-1][0], cp)
        else:
            ranges.append((cp, cp))
    learnable = oniguruma_class(list(LEARNABLE_RANGES))
    if not ranges:
        return f"[{learnable}]"
    return f"[{learnable}&&[^{oniguruma_class(ranges)}]]"


def tokenizer_json(lexicon: Lexicon) -> Export:
    """The ``tokenizer.json`` of ``lexicon`` (see the module documentation)."""
    out = Export(b"", 0)
    vocab = pieces(lexicon, out)
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": UNK_ID,
                "content": UNK_PIECE,
                "single_word": False,
                "lstrip": False,
                "rstrip": False,
                "normalized": False,
                "special": True,
            }
        ],
        "normalizer": None,
        "pre_tokenizer": {
            "type": "Sequence",
            "pretokenizers": [_split(rule_pattern("oniguruma")), _split(_unknown_pattern(vocab))],
        },
        "post_processor": None,
        "decoder": {"type": "Fuse"},
        "model": {
            "type": "Unigram",
            "unk_id": UNK_ID,
            "vocab": [[UNK_PIECE, 0.0]] + [[piece, score] for piece, score in vocab],
            "byte_fallback": False,
        },
    }
    out.data = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    out.entries = len(vocab)
    return out
