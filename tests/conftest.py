"""Shared fixtures: the bundled law sample and small generated corpora."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import settings

import ciyu

# No per-example deadline: CI machines are shared and noisy; correctness, not speed, is
# what the property tests check (speed is measured in benchmarks/).
settings.register_profile("ciyu", deadline=None)
settings.load_profile("ciyu")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "zh_laws_sample.txt.gz"


def toy_vocabulary(seed: int = 3) -> list[str]:
    """600 words of 2-4 distinct characters; no character is shared between words, so the
    right segmentation of text made of them is known exactly."""
    rng = random.Random(seed)
    chars = [chr(0x4E00 + i) for i in rng.sample(range(20000), 2400)]
    words, pos = [], 0
    for _ in range(600):
        n = rng.choice((2, 2, 2, 3, 3, 4))
        words.append("".join(chars[pos : pos + n]))
        pos += n
    return words


def toy_corpus(n_sentences: int = 20000, seed: int = 7) -> tuple[list[str], list[list[str]]]:
    """Sentences of toy words drawn with Zipfian frequencies, with their segmentation."""
    rng = random.Random(seed)
    vocab = toy_vocabulary()
    weights = [1 / (rank + 20) for rank in range(len(vocab))]  # Zipf, top word ~2%
    lines, gold = [], []
    for _ in range(n_sentences):
        words = rng.choices(vocab, weights, k=rng.randint(4, 10))
        lines.append("".join(words) + "。")
        gold.append([*words, "。"])
    return lines, gold


@pytest.fixture(scope="session")
def toy() -> tuple[list[str], list[list[str]]]:
    return toy_corpus()


@pytest.fixture(scope="session")
def sample_discovery() -> ciyu.Discovery:
    return ciyu.discover(SAMPLE)


@pytest.fixture(scope="session")
def sample_model(sample_discovery: ciyu.Discovery) -> ciyu.Model:
    return ciyu.Model(sample_discovery.lexicon())


@pytest.fixture(scope="session")
def law_lines() -> list[str]:
    """About 250,000 characters of the law sample, as lines."""
    import gzip

    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        return [next(fh).rstrip("\n") for _ in range(5000)]
