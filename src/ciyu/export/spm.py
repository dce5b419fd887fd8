"""sentencepiece exports: a ``.model`` file and a seed-pieces file.

The ``.model`` file is a serialised ``sentencepiece.ModelProto`` (written here with a few
lines of protobuf wire format, so no protobuf library is needed):

- pieces: ``<unk>`` (id 0), then :meth:`ciyu.Lexicon.vocabulary` with its
  log-probabilities as scores (type NORMAL): ids ``0 .. Model.vocab_size - 1`` are those of
  :meth:`ciyu.Model.encode`; then the *character pieces*, ids from ``vocab_size`` on;
- trainer spec: a Unigram model, no ``<s>``/``</s>``/``<pad>``, no byte fallback;
- normalizer spec: ``identity``, no dummy prefix, spaces kept as they are and not escaped
  to ``▁``, so ``encode(text, out_type=str)`` gives pieces of the original text.

sentencepiece encodes a whole line with one Viterbi pass and has no rule layer; it
merges adjacent characters that are no piece into one ``<unk>`` piece. So that it cuts
where ciyu does, the character pieces are every character ciyu emits on its own:

- every learnable character (CJK, kana) outside the vocabulary, scored
  :meth:`~ciyu.Lexicon.unk_logp` as ciyu's decoder scores it: learnable text is segmented
  exactly as ciyu does;
- every space, punctuation mark, symbol, control and format character (what
  :func:`symbol_chars` lists), and runs of each of two to four (``——``, ``……``,
  ``###``, two spaces), so that such a run is one piece as in ciyu.

Left out, so that sentencepiece merges them as ciyu's rule layer joins them: letters and
digits of every script with their combining marks (``OK``, ``２０２４``, ``é`` stay one
piece), what numbers hold besides digits (:data:`INSIDE_NUMBERS`: ``12.5%``, ``－5``),
emoji modifiers, tag characters and regional indicators (``🇨🇳``), NUL (sentencepiece
refuses it), and private-use and unassigned code points. The documented differences from
:meth:`ciyu.Model.encode` that remain, all outside learnable text or at numbers:

1. a number is its own piece, and the text after it is segmented on its own (the number
   patterns such as ``<num>年`` are not pieces; ``Model.encode`` splits them too);
2. left-out characters next to each other are one piece even across ciyu's tokens
   (``OK.``, ``1998－2000``, ``abc`` + emoji modifier), and one after a symbol is split
   from it (``👍🏽``: ``👍``, ``🏽``);
3. a run of more than four of one space or symbol (``。。。。。``) is cut into pieces
   of at most four, and a run of different spaces (`` \\t``) into one per space;
4. the hyphen-minus ``-`` is a piece, as it mostly joins words and ranges (``e-mail``,
   ``1998-2000``): ``-5`` is ``-``, ``5``;
5. a character glued to a symbol by a zero-width joiner (``.\\u200dと``) is its own
   piece (as in the ``hf`` export).

The seed-pieces file (``piece<TAB>frequency`` lines, integer frequencies) starts a
sentencepiece training run from ciyu's words: ``spm_train --seed_sentencepieces_file``.
"""

from __future__ import annotations

import functools
import struct
import sys
import unicodedata
from collections.abc import Iterator

from ..lexicon import Lexicon
from ..model import UNK_ID, UNK_PIECE
from ..text import LEARNABLE_RANGES, character_sets
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
_BYTES = [bytes([i]) for i in range(0x80)]


def _varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _BYTES[value]
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


def _normal_pieces(pieces: list[tuple[str, float]]) -> bytes:
    """``pieces`` as NORMAL ``pieces`` fields of the model, each :func:`_bytes` of
    :func:`_piece`: the same bytes, written inline (there are over 100,000)."""
    text_key, score_key = _key(_PIECE_TEXT, 2), _key(_PIECE_SCORE, 5)
    field_key, kind = _key(_MODEL_PIECES, 2), _int(_PIECE_TYPE, _TYPE_NORMAL)
    pack, varint = struct.Struct("<f").pack, _varint
    out: list[bytes] = []
    for text, score in pieces:
        raw = text.encode("utf-8")
        body = b"".join((text_key, varint(len(raw)), raw, score_key, pack(score), kind))
        out += (field_key, varint(len(body)), body)
    return b"".join(out)


#: Characters a number (or a letter/digit run) holds besides digits: ``12.5%``,
#: ``１２．５％``, ``v1.2``, ``－5`` (the ``point``, ``percent`` and ``minus`` classes of
#: :func:`ciyu.text.rule_pattern`). They are no pieces, so such a run stays whole; but
#: for the hyphen-minus ``-``, which joins words and ranges (``e-mail``, ``1998-2000``)
#: 25 times as often as it signs a number in Chinese text (news, laws, reviews), while
#: ``－`` is mostly a sign (``晴－9℃``, as PKU writes temperatures).
INSIDE_NUMBERS = frozenset(".．%％‰－−﹣")
#: The longest run of one symbol that is a piece (``！！！！``): nearly every run in
#: Chinese text, reviews included, is at most four long; every length adds about 8,700 pieces.
LONGEST_RUN = 4
#: The character sets of the rule layer whose characters are not symbols of their own.
_NOT_SYMBOL = ("learn", "atom", "mark", "extend_symbol", "regional")


@functools.cache
def symbol_chars() -> tuple[str, ...]:
    """The characters the export adds as pieces besides the learnable ones, by code point:
    assigned characters that are neither learnable, nor letters or digits, nor combining
    marks, emoji modifiers, tag characters or regional indicators (the rule layer attaches
    those to their neighbours), nor :data:`INSIDE_NUMBERS`, nor NUL. That is spaces,
    punctuation, symbols, control and format characters: each is a token of its own (or a
    run of itself) in ciyu."""
    table = bytearray(sys.maxunicode + 1)
    sets = character_sets()
    for name in _NOT_SYMBOL:
        for lo, hi in sets[name]:
            table[lo : hi + 1] = b"\1" * (hi - lo + 1)
    out = []
    for cp in range(1, sys.maxunicode + 1):
        if table[cp] or 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if unicodedata.category(ch) not in ("Cn", "Co") and ch not in INSIDE_NUMBERS:
            out.append(ch)
    return tuple(out)


def _learnable_chars() -> Iterator[str]:
    for lo, hi in LEARNABLE_RANGES:
        for cp in range(lo, hi + 1):
            yield chr(cp)


def character_pieces(lexicon: Lexicon, vocab: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """The pieces the ``.model`` has after ``vocab`` (see the module documentation): the
    learnable characters outside ``vocab`` at the unknown-character score, then
    :func:`symbol_chars`, then runs of each of those of 2, 3, ... :data:`LONGEST_RUN`
    characters, scored so that a run is cut into the fewest pieces."""
    unk = lexicon.unk_logp()
    known = {piece for piece, _ in vocab}
    extra = [(c, unk) for c in _learnable_chars() if c not in known]
    for k in range(1, LONGEST_RUN + 1):
        # k·unk + (k − 1): every cut of a run costs 1, so the fewest pieces win
        extra += [(c * k, k * unk + k - 1) for c in symbol_chars()]
    return extra


def model_proto(lexicon: Lexicon) -> Export:
    """The sentencepiece ``.model`` of ``lexicon`` (see the module documentation)."""
    out = Export(b"", 0)
    vocab = pieces(lexicon, out)
    extra = character_pieces(lexicon, vocab)
    body = bytearray(_bytes(_MODEL_PIECES, _piece(UNK_PIECE, 0.0, _TYPE_UNKNOWN)))
    body += _normal_pieces(vocab) + _normal_pieces(extra)
    trainer = (
        _int(_TRAINER_MODEL_TYPE, _UNIGRAM)
        + _int(_TRAINER_VOCAB_SIZE, 1 + len(vocab) + len(extra))
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
    out.notes.append(
        f"{len(extra)} character pieces (ids {1 + len(vocab)} and up) follow the model's "
        f"{len(vocab)} pieces, so that sentencepiece cuts between characters as ciyu does"
    )
    return out


def seed_pieces(lexicon: Lexicon) -> Export:
    """Seed pieces for sentencepiece training: ``piece<TAB>frequency`` lines."""
    out = Export(b"", 0)
    vocab = {w for w, _ in pieces(lexicon, out)}
    lines = [f"{w}\t{max(1, round(c))}\n" for w, c in lexicon.sorted_items() if w in vocab]
    out.data = "".join(lines).encode("utf-8")
    out.entries = len(lines)
    return out
