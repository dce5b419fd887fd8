"""A trained segmentation model: a lexicon plus the shared lattice decoder and the rule layer.

>>> from ciyu.lexicon import Lexicon
>>> model = Model(Lexicon({"中文": 5, "分词": 3, "中": 1, "文": 1, "分": 1, "词": 1}))
>>> model.cut("中文分词，OK")
['中文', '分词', '，', 'OK']
>>> model.encode("中文分词，OK", out_type=int), model.vocab_size
([1, 2, 0, 0], 7)
>>> model.decode(model.encode("中文分词，OK", out_type=int))
'中文分词 ⁇  ⁇ '

For users of jieba and sentencepiece:

- ``cut`` returns a list (jieba's ``cut`` returns a generator, its ``lcut`` a list):
  iterating, ``" ".join`` and ``list()`` work the same; ``lcut`` is the same method.
- ``encode``, ``decode``, ``id_to_piece``, ``piece_to_id``, ``get_piece_size`` and
  ``vocab_size`` follow sentencepiece's ``SentencePieceProcessor``; ``len(model)`` is the
  vocabulary size, ``<unk>`` included.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NoReturn, SupportsIndex, overload

from ._compiled import note_slow_path
from ._strings import check_errors, valid_text
from .errors import ConfigError
from .lexicon import Lexicon
from .text import LEARNED_KINDS, NUM, compiled_rules, tokenize

#: Id returned by :meth:`Model.encode` for a piece that is not in the vocabulary.
UNK_ID = 0
#: The text of the piece with id :data:`UNK_ID` in vocabularies (and in the exports).
UNK_PIECE = "<unk>"
#: What :meth:`Model.decode` writes for :data:`UNK_ID`, whose text is unknown (as
#: sentencepiece does: a space, U+2047 ⁇, a space).
UNK_SURFACE = " \u2047 "


def _read_only(*_: object, **__: object) -> NoReturn:
    raise ConfigError(
        "a Model's lexicon is read-only (the model is built from it); make a changed copy "
        "and a new model: ciyu.Model(ciyu.Lexicon({**model.lexicon.counts, word: count}))"
    )


class _ReadOnlyDict(dict[str, Any]):
    """A dict that refuses changes: the counts and metadata of a model's lexicon."""

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[dict[str, Any]]]:
        return dict, (dict(self),)  # copies (copy.copy, pickle) are plain dicts


class _FrozenLexicon(Lexicon):
    """The read-only view of a model's lexicon (:attr:`Model.lexicon`); made by
    :meth:`Model._setup`, which copies and checks the counts."""

    def __setattr__(self, name: str, value: object) -> None:
        if getattr(self, "_frozen", False):
            _read_only()
        object.__setattr__(self, name, value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Lexicon):
            return NotImplemented
        return self.counts == other.counts and self.meta == other.meta

    __hash__ = None  # type: ignore[assignment]  # like Lexicon (a mutable dataclass)

    def __repr__(self) -> str:
        return f"Lexicon(counts={dict(self.counts)!r}, meta={dict(self.meta)!r})"


class Model:
    """Segments text with a learned lexicon.

    Learnable runs (CJK ideographs, kana) are segmented by maximum unigram probability;
    Latin/digit runs, whitespace and punctuation are tokens by rule. Segmentation is
    lossless: ``"".join(model.cut(text)) == text`` for every string without lone
    surrogates (see ``errors``).

    The model keeps its own copy of the lexicon's counts and metadata (of the metadata's
    top level), so changing the lexicon given here later does not change the model;
    :attr:`lexicon` is a read-only view of that copy.

    Args:
        lexicon: the words and their counts.

    Raises:
        ConfigError: if ``lexicon`` is not a :class:`~ciyu.lexicon.Lexicon`.
        ModelFormatError: if its counts are invalid (changed since it was made).
    """

    def __init__(self, lexicon: Lexicon) -> None:
        if not isinstance(lexicon, Lexicon):
            raise ConfigError(
                f"Model() takes a ciyu.Lexicon, got {type(lexicon).__name__}; "
                "to read a model file, use ciyu.Model.load(path)"
            )
        # a Lexicon can be changed after it was checked: check the copy taken here
        self._setup(lexicon, validate=True)

    @classmethod
    def _from_checked(cls, lexicon: Lexicon) -> Model:
        """A model over a lexicon just loaded or learned, hence valid (not checked again:
        that takes seconds for a million words)."""
        model = cls.__new__(cls)
        model._setup(lexicon, validate=False)
        return model

    def _setup(self, lexicon: Lexicon, *, validate: bool) -> None:
        frozen = _FrozenLexicon.__new__(_FrozenLexicon)
        object.__setattr__(frozen, "counts", _ReadOnlyDict(lexicon.counts))
        object.__setattr__(frozen, "meta", _ReadOnlyDict(lexicon.meta))
        if validate:
            Lexicon.__post_init__(frozen)
        object.__setattr__(frozen, "_frozen", True)
        self._lexicon: Lexicon = frozen
        self.decoder = frozen.decoder()
        self._ids: dict[str, int] | None = None
        self._pieces: list[str] | None = None

    @property
    def lexicon(self) -> Lexicon:
        """The words and counts the model segments with (read-only: changing it raises
        :class:`~ciyu.errors.ConfigError`; build a new :class:`Model` instead)."""
        return self._lexicon

    @property
    def meta(self) -> dict[str, Any]:
        """Metadata recorded when the model was trained (method, config, corpus size)."""
        return self._lexicon.meta

    # -- segmentation -----------------------------------------------------------------

    def cut(self, text: str, *, errors: str = "strict") -> list[str]:
        """Split ``text`` into words; the words join back to ``text``.

        Returns a list, as jieba's ``lcut`` does (jieba's ``cut`` returns a generator: a
        list serves every use of it but ``next()``).

        Args:
            text: the text, any number of lines.
            errors: what to do with a lone surrogate (U+D800–U+DFFF), which is not text:
                ``"strict"`` raises, ``"replace"`` reads it as U+FFFD (then the words
                join back to the replaced text).

        Raises:
            InputError: on a lone surrogate with ``errors="strict"`` (naming its index),
                or if ``text`` is not a ``str``.
        """
        words: list[str] = []
        self._cut_into(valid_text(text, errors, "text"), words, split_patterns=False)
        return words

    lcut = cut

    def _cut_into(self, text: str, words: list[str], *, split_patterns: bool) -> None:
        group: list[tuple[str, str]] = []  # adjacent learnable runs and numbers
        for kind, token in tokenize(text):
            if kind in LEARNED_KINDS:
                group.append((kind, token))
                continue
            if group:
                self._cut_group(group, words, split_patterns)
                group = []
            words.append(token)
        if group:
            self._cut_group(group, words, split_patterns)

    def _cut_group(self, group: list[tuple[str, str]], out: list[str], split: bool) -> None:
        """Decode a run of learnable text and numbers; each number is one NUM symbol (a
        token of a symbol class of :data:`~ciyu.text.LEARNED_KINDS` is one symbol).

        With ``split``, a word of a number pattern (``2021年`` for ``<num>年``) is given
        as its numbers and the pieces of the text between them, as :meth:`encode` does.
        """
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
        joined = "".join(view)
        start = 0
        for end in self.decoder.boundaries(joined):
            word = joined[start:end]
            if split and NUM in word:
                literal = start
                for i in range(start, end):
                    if joined[i] == NUM:
                        if literal < i:
                            out.extend(self.decoder.cut(joined[literal:i]))
                        out.append(units[i])
                        literal = i + 1
                if literal < end:
                    out.extend(self.decoder.cut(joined[literal:end]))
            else:
                out.append("".join(units[start:end]))
            start = end

    def segment(self, text: str, sep: str = " ", *, errors: str = "strict") -> str:
        """Segment every line of ``text`` and join each line's words with ``sep``.

        The bulk path: with the compiled decoder it runs the rule layer and the lattice in
        C, without the GIL, and creates no Python object per word, so threads sharing one
        model segment in parallel (a model is safe to share between threads). Line breaks
        (``\\n``) are kept.

        Args:
            text: the text.
            sep: what to put between words.
            errors: as for :meth:`cut`.

        Raises:
            InputError: as for :meth:`cut`.
        """
        text = valid_text(text, errors, "text")
        sep = valid_text(sep, errors, "sep")
        fast = self.decoder.fast
        if fast is not None:
            return fast.segment(text, compiled_rules(), sep)
        note_slow_path(len(text))
        return "\n".join(sep.join(self.cut(line)) for line in text.split("\n"))

    def cut_lines(self, lines: Iterable[str], *, errors: str = "strict") -> Iterator[list[str]]:
        """Segment many lines; yields one list of words per line.

        Raises:
            InputError: as for :meth:`cut`, naming the line (``lines[i]``).
        """
        check_errors(errors)
        if isinstance(lines, str) or not isinstance(lines, Iterable):
            raise ConfigError(
                f"cut_lines takes an iterable of lines, got {type(lines).__name__} "
                "(for one text, use cut or segment)"
            )
        for i, line in enumerate(lines):
            words: list[str] = []
            self._cut_into(valid_text(line, errors, f"lines[{i}]"), words, split_patterns=False)
            yield words

    # -- the vocabulary and ids, as sentencepiece has them ------------------------------

    def _vocab(self) -> tuple[dict[str, int], list[str]]:
        if self._ids is None or self._pieces is None:
            pieces = [UNK_PIECE] + [w for w, _ in self._lexicon.vocabulary()]
            self._pieces = pieces
            self._ids = {p: i for i, p in enumerate(pieces) if i != UNK_ID}
        return self._ids, self._pieces

    @property
    def vocab_size(self) -> int:
        """Number of ids: :data:`UNK_ID` and the pieces of :meth:`Lexicon.vocabulary`."""
        return len(self._vocab()[1])

    def get_piece_size(self) -> int:
        """:attr:`vocab_size`, by sentencepiece's name."""
        return self.vocab_size

    def __len__(self) -> int:
        """:attr:`vocab_size` (ids run from 0 to ``len(model) - 1``)."""
        return self.vocab_size

    @overload
    def id_to_piece(self, id: SupportsIndex) -> str: ...
    @overload
    def id_to_piece(self, id: Sequence[SupportsIndex]) -> list[str]: ...
    def id_to_piece(self, id: SupportsIndex | Sequence[SupportsIndex]) -> str | list[str]:
        """The piece of an id (``"<unk>"`` for :data:`UNK_ID`), or of each id of a list.

        Raises:
            ConfigError: on an id outside ``0 .. vocab_size - 1``.
        """
        if isinstance(id, Sequence) and not isinstance(id, str | bytes):
            return [self._vocab()[1][self._check_id(i)] for i in id]
        return self._vocab()[1][self._check_id(id)]

    @overload
    def piece_to_id(self, piece: str) -> int: ...
    @overload
    def piece_to_id(self, piece: list[str]) -> list[int]: ...
    def piece_to_id(self, piece: str | list[str]) -> int | list[int]:
        """The id of a piece, :data:`UNK_ID` if it is not in the vocabulary (as in
        sentencepiece); or the id of each piece of a list."""
        ids = self._vocab()[0]
        if isinstance(piece, str):
            return ids.get(piece, UNK_ID)
        if not isinstance(piece, Sequence) or not all(isinstance(p, str) for p in piece):
            raise ConfigError(f"piece_to_id takes a piece (str) or a list of pieces, got {piece!r}")
        return [ids.get(p, UNK_ID) for p in piece]

    def _check_id(self, value: object) -> int:
        size = self.vocab_size
        if not isinstance(value, SupportsIndex):  # ints, numpy integers
            raise ConfigError(f"a piece is a str and an id an int, got {value!r}")
        index = operator.index(value)
        if not 0 <= index < size:
            raise ConfigError(
                f"id {index} is outside the vocabulary (ids 0 .. {size - 1}, 0 = {UNK_PIECE})"
            )
        return index

    @overload
    def encode(
        self, text: str, out_type: type[str] = ..., *, errors: str = "strict"
    ) -> list[str]: ...
    @overload
    def encode(self, text: str, out_type: type[int], *, errors: str = "strict") -> list[int]: ...
    def encode(
        self, text: str, out_type: type[str] | type[int] = str, *, errors: str = "strict"
    ) -> list[str] | list[int]:
        """Tokenize like sentencepiece: pieces (``out_type=str``) or ids (``out_type=int``).

        The pieces are :meth:`cut`'s words, except that a word of a number pattern, which
        is no piece of the vocabulary, is given as its numbers and the pieces of the text
        between them (``2021年`` for ``<num>年``: ``2021``, ``年``), as the exports give
        it. They join back to ``text``, so ``decode(encode(text)) == text``.

        Ids are positions in :meth:`Lexicon.vocabulary` (most frequent word = 1);
        :data:`UNK_ID` (0) stands for a piece outside it (punctuation, Latin runs,
        numbers, unseen characters), whose text the ids lose, as in sentencepiece. The
        ``hf`` and ``sentencepiece`` exports use the same ids for the same pieces.

        Raises:
            ConfigError: if ``out_type`` is neither ``str`` nor ``int``.
            InputError: as for :meth:`cut`.
        """
        if out_type is not str and out_type is not int:
            raise ConfigError(
                f"out_type must be str (pieces) or int (ids), as in sentencepiece; got {out_type!r}"
            )
        pieces: list[str] = []
        self._cut_into(valid_text(text, errors, "text"), pieces, split_patterns=True)
        if out_type is str:
            return pieces
        ids, _ = self._vocab()
        return [ids.get(p, UNK_ID) for p in pieces]

    def decode(self, pieces: Iterable[str] | Iterable[SupportsIndex] | str | SupportsIndex) -> str:
        """Inverse of :meth:`encode`: pieces are joined; ids (Python or NumPy integers)
        are looked up.

        ``decode(encode(text)) == text`` always. Ids lose the text of unknown pieces:
        :data:`UNK_ID` decodes to :data:`UNK_SURFACE` (`` ⁇ ``), as in sentencepiece. A
        single piece or id is decoded as a list of one, as in sentencepiece.

        Raises:
            ConfigError: on an id outside the vocabulary, or an item that is neither a
                piece (``str``) nor an id (``int``).
        """
        if isinstance(pieces, str):
            return pieces
        if isinstance(pieces, SupportsIndex) and not isinstance(pieces, Iterable):
            pieces = [operator.index(pieces)]  # one id (numpy arrays have __index__ too)
        if not isinstance(pieces, Iterable):
            raise ConfigError(
                f"decode takes a list of pieces (str) or of ids (int), got {pieces!r}"
            )
        out = []
        vocab: list[str] | None = None
        for p in pieces:
            if isinstance(p, str):
                out.append(p)
                continue
            if vocab is None:
                vocab = self._vocab()[1]
            index = self._check_id(p)
            out.append(UNK_SURFACE if index == UNK_ID else vocab[index])
        return "".join(out)

    # -- files ------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the model file atomically (format: :mod:`ciyu.lexicon`)."""
        self._lexicon.save(path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Load and validate a model file; no code is executed.

        Raises:
            ModelFormatError: if the file cannot be read or is not a valid model (see
                :meth:`Lexicon.load`).
            ConfigError: if ``path`` is not a path.
        """
        if not isinstance(path, str | os.PathLike):
            raise ConfigError(f"Model.load takes a path (str or os.PathLike), got {path!r}")
        return cls._from_checked(Lexicon.load(path))

    @classmethod
    def loads(cls, data: bytes, name: str = "<model>") -> Model:
        """A model from the bytes of a model file (validated as :meth:`load` does).

        Raises:
            ModelFormatError: if the bytes are not a valid model.
        """
        return cls._from_checked(Lexicon.loads(data, name))

    def __repr__(self) -> str:
        method = self.meta.get("method", "?")
        return f"<ciyu.Model method={method} words={len(self._lexicon)}>"
