"""Type stub of the compiled extension (src/ciyu/_lattice.c)."""

from collections.abc import Sequence
from typing import Literal, overload

import numpy as np
import numpy.typing as npt

class Lattice:
    """The compiled twin of :class:`ciyu.decoder.Decoder`.

    Built by its constructor (and :meth:`extend_codes`); its first use by
    :meth:`boundaries` or :meth:`segment` freezes it, after which :meth:`extend_codes`
    raises RuntimeError. A frozen lattice never changes, so any number of threads may use
    it at once: :meth:`segment` and long :meth:`boundaries` calls run without the GIL.
    Scores must be finite (ValueError otherwise).
    """

    def __new__(
        cls,
        words: Sequence[str],
        logps: Sequence[float],
        unk: float,
        compact: bool = ...,
        log_total: float | None = ...,
        /,
    ) -> Lattice: ...
    def boundaries(self, s: str, /) -> list[int]: ...
    @overload
    def segment(
        self,
        text: str,
        rules: Rules,
        sep: str,
        utf8: Literal[False] = ...,
        workspace: Workspace | None = ...,
        /,
    ) -> str: ...
    @overload
    def segment(
        self,
        text: str,
        rules: Rules,
        sep: str,
        utf8: Literal[True],
        workspace: Workspace | None = ...,
        /,
    ) -> bytes: ...
    @overload
    def segment(
        self,
        text: bytes,
        rules: Rules,
        sep: str,
        utf8: Literal[False] = ...,
        workspace: Workspace | None = ...,
        /,
    ) -> str | None: ...
    @overload
    def segment(
        self,
        text: bytes,
        rules: Rules,
        sep: str,
        utf8: Literal[True],
        workspace: Workspace | None = ...,
        /,
    ) -> bytes | None: ...
    def words(self, text: str, rules: Rules, /) -> tuple[list[str], list[int]]:
        """The words of every line of ``text`` as :meth:`segment` finds them, but the
        tokens made only of whitespace, one after the other, and how many each line has."""
    def extend_codes(
        self, codes: npt.NDArray[np.str_], k: int, logps: npt.NDArray[np.float64], /
    ) -> None: ...

class Workspace:
    """The arrays of :meth:`Lattice.segment`, kept from one call to the next: for one
    thread at a time (RuntimeError if another thread's call is using it)."""

    def __new__(cls) -> Workspace: ...

class Rules:
    """The rule layer's automaton (see :class:`ciyu._grammar.Tables`); immutable."""

    def __new__(
        cls,
        classes: bytes,
        n_classes: int,
        starts: bytes,
        trans: bytes,
        eos_accept: bytes,
        views: bytes,
        /,
    ) -> Rules: ...
    def scan(self, text: str, /) -> list[tuple[int, int]]: ...
    def learnable_view(self, text: str, /) -> str: ...

def tag_viterbi(
    em: npt.NDArray[np.float64], order: int, lengths: Sequence[int], join: Sequence[float], /
) -> list[list[int]]: ...
