"""Type stub of the compiled template parser (src/ciyu/_tparse.c)."""

from array import array

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
