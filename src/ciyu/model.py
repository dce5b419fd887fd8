"""A trained segmentation model: a lexicon plus the shared lattice decoder and the rule layer.

>>> from ciyu.lexicon import Lexicon
>>> model = Model(Lexicon({"中文": 5, "分词": 3, "中": 1, "文": 1, "分": 1, "词": 1}))
>>> model.cut("中文分词，OK")
['中文', '分词', '，', 'OK']
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

from ._compiled import note_slow_path
from .lexicon import Lexicon
from .text import LEARNED_KINDS, compiled_rules, tokenize

#: Id returned by :meth:`Model.encode` for a piece that is not in the lexicon.
UNK_ID = 0
#: The text of the piece with id :data:`UNK_ID` in vocabularies (and in the exports).
UNK_PIECE = "<unk>"


class Model:
    """Segments text with a learned lexicon.

    Learnable runs (CJK ideographs, kana) are segmented by maximum unigram probability;
    Latin/digit runs, whitespace and punctuation are tokens by rule. Segmentation is
    lossless: ``"".join(model.cut(text)) == text`` for every string.

    Args:
        lexicon: the words and their counts.
    """

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.decoder = lexicon.decoder()
        self._ids: dict[str, int] | None = None
        self._pieces: list[str] | None = None

    @property
    def meta(self) -> dict[str, Any]:
        """Metadata recorded when the model was trained (method, config, corpus size)."""
        return self.lexicon.meta

    def cut(self, text: str) -> list[str]:
        """Split ``text`` into words (jieba's ``lcut``); the words join back to ``text``."""
        words: list[str] = []
        group: list[tuple[str, str]] = []  # adjacent learnable runs and numbers
        for kind, token in tokenize(text):
            if kind in LEARNED_KINDS:
                group.append((kind, token))
                continue
            if group:
                self._cut_group(group, words)
                group = []
            words.append(token)
        if group:
            self._cut_group(group, words)
        return words

    def _cut_group(self, group: list[tuple[str, str]], out: list[str]) -> None:
        """Decode a run of learnable text and numbers; each number is one NUM symbol (a
        token of a symbol class of :data:`~ciyu.text.LEARNED_KINDS` is one symbol)."""
        if len(group) == 1 and not LEARNED_KINDS[group[0][0]]:
            out.extend(self.decoder.cut(group[0][1]))
            return
        view: list[str] = []
        units: list[str] = []  # the original text of each symbol of the view
        for kind, token in group:
            symbol = LEARNED_KINDS[kind]
            if symbol:
                view.append(symbol)
                units.append(token)
            else:
                view.append(token)
                units.extend(token)
        start = 0
        for end in self.decoder.boundaries("".join(view)):
            out.append("".join(units[start:end]))
            start = end

    def segment(self, text: str, sep: str = " ") -> str:
        """Segment every line of ``text`` and join each line's words with ``sep``.

        The bulk path: with the compiled decoder it runs the rule layer and the lattice in
        C, without the GIL, and creates no Python object per word, so threads sharing one
        model segment in parallel (a model is safe to share between threads). Line breaks
        (``\\n``) are kept.
        """
        fast = self.decoder.fast
        if fast is not None:
            return fast.segment(text, compiled_rules(), sep)
        note_slow_path(len(text))
        return "\n".join(sep.join(self.cut(line)) for line in text.split("\n"))

    def cut_lines(self, lines: Iterable[str]) -> Iterator[list[str]]:
        """Segment many lines; yields one list of words per line."""
        for line in lines:
            yield self.cut(line)

    def _vocab(self) -> tuple[dict[str, int], list[str]]:
        if self._ids is None or self._pieces is None:
            pieces = [UNK_PIECE] + [w for w, _ in self.lexicon.vocabulary()]
            self._pieces = pieces
            self._ids = {p: i for i, p in enumerate(pieces) if i != UNK_ID}
        return self._ids, self._pieces

    @overload
    def encode(self, text: str, out_type: type[str] = ...) -> list[str]: ...
    @overload
    def encode(self, text: str, out_type: type[int]) -> list[int]: ...
    def encode(self, text: str, out_type: type[str] | type[int] = str) -> list[str] | list[int]:
        """Tokenize like sentencepiece: pieces (``out_type=str``) or ids (``out_type=int``).

        Ids are positions in :meth:`Lexicon.vocabulary` (most frequent word = 1);
        :data:`UNK_ID` (0) stands for a piece outside it (punctuation, Latin runs,
        numbers, unseen characters). The ``hf`` and ``sentencepiece`` exports use the
        same ids.
        """
        pieces = self.cut(text)
        if out_type is str:
            return pieces
        ids, _ = self._vocab()
        return [ids.get(p, UNK_ID) for p in pieces]

    def decode(self, pieces: Sequence[str] | Sequence[int]) -> str:
        """Inverse of :meth:`encode` for pieces; ids decode through the vocabulary.

        Raises:
            ValueError: on an id outside the vocabulary or on :data:`UNK_ID`, whose text
                is unknown.
        """
        if all(isinstance(p, str) for p in pieces):
            return "".join(pieces)  # type: ignore[arg-type]
        _, vocab = self._vocab()
        out = []
        for p in pieces:
            if isinstance(p, str):
                out.append(p)
            elif 0 < p < len(vocab):
                out.append(vocab[p])
            else:
                raise ValueError(f"id {p} has no text (vocabulary size {len(vocab)}, 0 = <unk>)")
        return "".join(out)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model file atomically (format: :mod:`ciyu.lexicon`)."""
        self.lexicon.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Load and validate a model file; no code is executed."""
        return cls(Lexicon.load(path))

    def __len__(self) -> int:
        return len(self.lexicon)

    def __repr__(self) -> str:
        method = self.meta.get("method", "?")
        return f"<ciyu.Model method={method} words={len(self.lexicon)}>"
