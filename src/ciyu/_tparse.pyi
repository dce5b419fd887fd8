"""Type stub of the compiled template parser (src/ciyu/_tparse.c)."""

from array import array
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

#: An int32 array: array('i') or a NumPy one.
Ints32 = array[int] | npt.NDArray[np.int32]

#: Most fixed words in a template the compiled parser takes (ValueError beyond).
MAX_DEPTH: int

class Parser:
    """The compiled twin of :meth:`ciyu.template.parser.TemplateTrie.matches` followed by
    :func:`ciyu.template.parser.best_cover` (``tree=False``), made from the arrays of a
    :class:`ciyu.template.parser.FlatTrie`, which it checks (ValueError when they are
    inconsistent or a gain is not finite). Immutable: any number of threads may use it at
    once, and :meth:`applications` runs without the GIL.
    """

    def __new__(
        cls,
        n_words: int,
        adjacent_off: array[int],
        adjacent_word: array[int],
        adjacent_child: array[int],
        gapped_off: array[int],
        gapped_word: array[int],
        gapped_child: array[int],
        plain_off: array[int],
        plain: array[int],
        trailing_off: array[int],
        trailing: array[int],
        gapped: bytes,
        trivial_off: array[int],
        trivial: array[int],
        gains: array[float],
        max_distance: int,
        punct: int,
        opener: int,
        closer: int,
        /,
    ) -> Parser: ...
    def applications(
        self,
        ids: array[int],
        classes: array[int],
        clauses: array[int],
        clause_end: array[int],
        offsets: array[int],
        /,
    ) -> list[tuple[int, int, tuple[tuple[int, int], ...]]]: ...

@overload
def template_counts(
    keys: array[int],
    vocab: Ints32,
    classes: Ints32,
    clauses: Ints32,
    offsets: Ints32,
    edges: npt.NDArray[np.int64],
    key_bytes: bytes,
    key_off: Ints32,
    n_vocab: int,
    max_fixed: int,
    max_gaps: int,
    max_distance: int,
    max_paths: int,
    trivial: bool,
    n_buckets: int,
    punct: int,
    opener: int,
    closer: int,
    boundary: int,
    frequent: npt.NDArray[np.uint64] | None = None,
    hashes_only: Literal[False] = False,
    /,
) -> tuple[bytes, bytes, bytes, bytes, bytes, bytes, bytes]:
    """The compiled twin of the template counts of a chunk
    (:meth:`ciyu.template.mining.TemplatePass.compiled_counts` has the reference): the
    occurrences of :func:`ciyu.template.occurrences.occurrences` in every sentence, counted
    per distinct template as :meth:`ciyu.template.mining.TemplateCounts.add` counts them.
    The int32 arrays hold the chunk's words, sentence after sentence (each word's key id,
    vocabulary id or -1, class and clause: :class:`ciyu.template.pairs.ChunkPairs`; the
    clause ends are made from the classes); ``edges`` the kept pairs
    (:attr:`ciyu.template.pairs.PairTable.edges`: each position's edges are found as
    :func:`ciyu.template.occurrences.chunk_edges` finds them); ``key_bytes`` the UTF-8 of
    the distinct keys one after the other, key id ``k`` at ``key_off[k] : key_off[k + 1]``.
    Returns, per distinct template in the order of its first occurrence, as int32
    (``stats``: int64, ``opened``: uint8, ``hashes``: uint64) bytes: ``item_off``/``items``
    (key ids, -1 for a slot), ``stat_off``/``stats`` (count, then ``n_buckets`` counts per
    internal slot), ``slot_off`` with ``opened`` (1 once the slot has been seen with two
    different fillers) and ``hashes`` (two per slot: the
    :func:`ciyu.template.mining.filler_hash` of its one filler, computed in C; 0, 0 once
    open). With ``frequent`` (sorted uint64 code hashes,
    :func:`ciyu.template.mining.template_hashes`), only the templates whose hash it holds
    are counted. Runs without the GIL; ValueError when the arrays are inconsistent.
    """

@overload
def template_counts(
    keys: array[int],
    vocab: Ints32,
    classes: Ints32,
    clauses: Ints32,
    offsets: Ints32,
    edges: npt.NDArray[np.int64],
    key_bytes: bytes,
    key_off: Ints32,
    n_vocab: int,
    max_fixed: int,
    max_gaps: int,
    max_distance: int,
    max_paths: int,
    trivial: bool,
    n_buckets: int,
    punct: int,
    opener: int,
    closer: int,
    boundary: int,
    frequent: None,
    hashes_only: Literal[True],
    /,
) -> bytes:
    """With ``hashes_only``: the code hash of every template occurrence (uint64 bytes),
    each template once per sentence (by hash), nothing counted."""

def pair_counts(
    ids: npt.NDArray[np.int64],
    clauses: npt.NDArray[np.int64],
    max_distance: int,
    n_buckets: int,
    n_vocab: int,
    left: npt.NDArray[np.int64],
    right: npt.NDArray[np.int64],
    slots: npt.NDArray[np.int64],
    /,
) -> bytes:
    """Count the pair slots of a chunk into ``left``, ``right`` and ``slots``, and return
    the int64 keys of the slots whose two words have ids, in slot order (see
    :meth:`ciyu.template.pairs.PairPass.map`). ValueError if an array has the wrong length,
    an id is out of the vocabulary or the clause numbers decrease."""

def merge_counts(
    keys_a: npt.NDArray[np.int64],
    counts_a: npt.NDArray[np.int64],
    keys_b: npt.NDArray[np.int64],
    counts_b: npt.NDArray[np.int64],
    out_keys: npt.NDArray[np.int64],
    out_counts: npt.NDArray[np.int64],
) -> int:
    """Merge two sorted pair tables into ``out_*`` (see :func:`ciyu.template.pairs._merge_sorted`);
    returns the entries written. ValueError if the keys are not strictly increasing or the
    arrays do not fit."""
