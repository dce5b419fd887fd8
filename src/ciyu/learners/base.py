"""What every learner shares: the corpus handle, the n-gram counts, and turning a
segmenter into a lexicon.

A learner sees the corpus only through a :class:`Context`: a function that re-reads the
text (learners make more than one pass), the n-gram counts of the whole corpus, and a
progress callback. Learners that segment by some other criterion than a lexicon (branching
entropy, a character language model, a vote) become lexicon learners through
:func:`count_segmentation`: segment every fragment of the corpus and count the words
(BytePiece's "pre-tokenisation" step, design memo §3.4), so that every method ends in the
same shared lattice decoder.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ..counts import DEFAULT_CHUNK_CHARS, NgramCounts, chunked, count_ngrams
from ..errors import ConfigError
from ..lexicon import MAX_WORD_LEN
from ..text import fragments as fragments_of

TextSource = Callable[[], Iterable[str]]
SEGMENT_CHUNK_CHARS = 1 << 18
Progress = Callable[[str, int], None]
#: A segmenter: a batch of fragments of learnable text (numbers as NUM) → for each
#: fragment, the end offsets of its words.
Segmenter = Callable[[list[str]], list[list[int]]]


def per_fragment(boundaries: Callable[[str], list[int]]) -> Segmenter:
    """A :data:`Segmenter` from a function that segments one fragment."""
    return lambda frags: [boundaries(f) for f in frags]


@dataclass
class Context:
    """The corpus as the learners see it.

    Attributes:
        texts: returns a fresh iterable over the corpus text each time it is called.
        counts: n-gram counts of the corpus.
        chunk_chars: characters per chunk for passes over the corpus.
        progress: called as ``progress(stage, characters_done)``, or None; a pass over
            the corpus counts learnable characters, so it ends at ``counts.n_chars``.
    """

    texts: TextSource
    counts: NgramCounts
    chunk_chars: int = DEFAULT_CHUNK_CHARS
    progress: Progress | None = None

    def fragments(self, *, progress: bool = True) -> Iterable[list[str]]:
        """The learnable fragments of the corpus, in chunks of about ``chunk_chars``
        (at most 256 K characters: segmenters hold per-character temporaries); the
        progress callback hears of each chunk unless ``progress`` is false."""
        done = 0
        for chunk in chunked(self.texts(), min(self.chunk_chars, SEGMENT_CHUNK_CHARS)):
            frags = [f for t in chunk for f in fragments_of(t)]
            yield frags
            done += sum(map(len, frags))  # learnable characters, as counted by the counts
            if progress and self.progress is not None:
                self.progress("segment", done)


def make_context(
    texts: TextSource,
    order: int,
    counts: NgramCounts | None = None,
    min_order: int | None = None,
    *,
    max_memory: int | None = None,
    chunk_chars: int = DEFAULT_CHUNK_CHARS,
    progress: Progress | None = None,
    threads: int | None = 1,
    drop_singletons: bool = False,
) -> Context:
    """Count the corpus (unless ``counts`` are given) and wrap it for the learners.

    ``order`` is the order counted (by ``threads`` processes); given ``counts`` must reach
    ``min_order`` (default: ``order``). With ``drop_singletons`` (for learners whose
    config says ``singletons_unused()``), n-grams of order 2 and up seen once are dropped:
    while merging when the counts are made here, from a copy when they are given.

    Raises:
        ConfigError: if the given counts are of a lower order than ``order``, or the corpus
            has no learnable text.
    """
    if counts is None:
        counts = count_ngrams(
            texts(),
            order,
            max_memory=max_memory,
            chunk_chars=chunk_chars,
            progress=(lambda n: progress("count", n)) if progress else None,
            threads=threads,
            min_count=2 if drop_singletons else 1,
        )
    elif counts.order < (min_order or order):
        need = min_order or order
        raise ConfigError(
            f"the counts go up to order {counts.order} but this learner needs order {need}; "
            f"recount with `ciyu count --order {need}`"
        )
    if drop_singletons and counts.min_count < 2:  # given counts: prune a copy
        counts = counts.prune(2)
    if counts.n_chars == 0:
        raise ConfigError(
            "no learnable text in the input (no CJK or kana characters); "
            "check the input files, or their encoding"
        )
    return Context(texts, counts, chunk_chars, progress)


def segmentation(ctx: Context, segmenter: Segmenter) -> Iterator[list[str]]:
    """Segment every fragment of the corpus; yields the words of each fragment, none
    longer than :data:`~ciyu.lexicon.MAX_WORD_LEN` characters."""
    for frags in ctx.fragments():
        for frag, ends in zip(frags, segmenter(frags), strict=True):
            words = [frag[start:end] for start, end in zip([0, *ends], ends, strict=False)]
            if len(frag) > MAX_WORD_LEN and max(map(len, words)) > MAX_WORD_LEN:
                # a model holds no longer word (it keeps the decoder linear): cut the
                # strings a segmenter leaves whole into pieces of that length
                words = [
                    w[i : i + MAX_WORD_LEN] for w in words for i in range(0, len(w), MAX_WORD_LEN)
                ]
            yield words


def count_segmentation(ctx: Context, segmenter: Segmenter) -> Counter[str]:
    """Segment every fragment of the corpus and count the resulting words."""
    words: Counter[str] = Counter()
    for fragment_words in segmentation(ctx, segmenter):
        words.update(fragment_words)
    return words
