"""sentencepiece exports: a ``.model`` file and a seed-pieces file.

The ``.model`` file is a serialised ``sentencepiece.ModelProto`` (written here with a few
lines of protobuf wire format, so no protobuf library is needed):

- pieces: ``<unk>`` (id 0, as in :meth:`ciyu.Model.encode`), then the model's words in
  model order with their log-probabilities as scores (type NORMAL);
- trainer spec: a Unigram model, no ``<s>``/``</s>``/``<pad>``;
- normalizer spec: ``identity``, no dummy prefix, spaces kept as they are and not escaped
  to ``▁``, so ``encode(text, out_type=str)`` gives pieces of the original text.

sentencepiece encodes a whole line with one Viterbi pass and has no rule layer: Latin,
digits and punctuation, which are not in the vocabulary, come out as ``<unk>`` pieces
(consecutive unknown characters are merged into one). Learnable text is segmented as ciyu
does; ``benchmarks/exports.py`` measures the agreement.

The seed-pieces file (``piece<TAB>frequency`` lines, integer frequencies) starts a
sentencepiece training run from ciyu's words: ``spm_train --seed_sentencepieces_file``.
"""

from __future__ import annotations

import struct

from ..lexicon import Lexicon
from ..model import UNK_ID, UNK_PIECE
from .base import Export, pieces

# Field numbers and enum values of sentencepiece_model.proto.
_MODEL_PIECES, _MODEL_TRAINER, _MODEL_NORMALIZER = 1, 2, 3
_PIECE_TEXT, _PIECE_SCORE, _PIECE_TYPE = 1, 2, 3
_TYPE_NORMAL, _TYPE_UNKNOWN = 1, 2
_TRAINER_MODEL_TYPE, _TRAINER_VOCAB_SIZE = 3, 4
_TRAINER_UNK_ID, _TRAINER_BOS_ID, _TRAINER_EOS_ID, _TRAINER_PAD_ID = 40, 41, 42, 43
_TRAINER_BYTE_FALLBACK = 35
_UNIGRAM = 1
_NORM_NAME, _NORM_CHARSMAP, _NORM_DUMMY_PREFIX = 1, 2, 3
_NORM_REMOVE_SPACES, _NORM_ESCAPE_SPACES = 4, 5


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 values are written as 64-bit two's complement
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _int(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(value)


def _bytes(field: int, value: bytes) -> bytes:
    return _key(field, 2) + _varint(len(value)) + value


def _float(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", value)


def _piece(text: str, score: float, kind: int) -> bytes:
    return (
        _bytes(_PIECE_TEXT, text.encode("utf-8"))
        + _float(_PIECE_SCORE, score)
        + _int(_PIECE_TYPE, kind)
    )


def model_proto(lexicon: Lexicon) -> Export:
    """The sentencepiece ``.model`` of ``lexicon`` (see the module documentation)."""
    out = Export(b"", 0)
    vocab = pieces(lexicon, out)
    body = bytearray(_bytes(_MODEL_PIECES, _piece(UNK_PIECE, 0.0, _TYPE_UNKNOWN)))
    for word, logp in vocab:
        body += _bytes(_MODEL_PIECES, _piece(word, logp, _TYPE_NORMAL))
    trainer = (
        _int(_TRAINER_MODEL_TYPE, _UNIGRAM)
        + _int(_TRAINER_VOCAB_SIZE, len(vocab) + 1)
        + _int(_TRAINER_BYTE_FALLBACK, 0)
        + _int(_TRAINER_UNK_ID, UNK_ID)
        + _int(_TRAINER_BOS_ID, -1)
        + _int(_TRAINER_EOS_ID, -1)
        + _int(_TRAINER_PAD_ID, -1)
    )
    normalizer = (
        _bytes(_NORM_NAME, b"identity")
        + _bytes(_NORM_CHARSMAP, b"")
        + _int(_NORM_DUMMY_PREFIX, 0)
        + _int(_NORM_REMOVE_SPACES, 0)
        + _int(_NORM_ESCAPE_SPACES, 0)
    )
    body += _bytes(_MODEL_TRAINER, trainer) + _bytes(_MODEL_NORMALIZER, normalizer)
    out.data = bytes(body)
    out.entries = len(vocab)
    return out


def seed_pieces(lexicon: Lexicon) -> Export:
    """Seed pieces for sentencepiece training: ``piece<TAB>frequency`` lines."""
    out = Export(b"", 0)
    vocab = {w for w, _ in pieces(lexicon, out)}
    lines = [f"{w}\t{max(1, round(c))}\n" for w, c in lexicon.sorted_items() if w in vocab]
    out.data = "".join(lines).encode("utf-8")
    out.entries = len(lines)
    return out
