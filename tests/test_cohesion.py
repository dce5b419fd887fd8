"""The cohesion learner on a toy language with a known lexicon and on the law sample."""

from __future__ import annotations

import math
import random

import pytest

import ciyu
from ciyu.errors import ConfigError
from ciyu.evaluate import score_words
from ciyu.learners.cohesion import CohesionConfig
from conftest import toy_vocabulary


@pytest.fixture(scope="module")
def toy_discovery(toy: tuple[list[str], list[list[str]]]) -> ciyu.Discovery:
    return ciyu.discover(texts=toy[0])


def test_toy_words_are_recovered_without_false_words(toy_discovery: ciyu.Discovery) -> None:
    vocab = set(toy_vocabulary())
    found = {w.word for w in toy_discovery.words}
    assert found <= vocab  # every discovered word is a real word of the toy language
    short = {w for w in vocab if len(w) <= 3}
    assert short <= found  # and every 2- and 3-character word is found


def test_toy_segmentation(
    toy: tuple[list[str], list[list[str]]], toy_discovery: ciyu.Discovery
) -> None:
    lines, gold = toy
    model = ciyu.Model(toy_discovery.lexicon())
    scores = score_words(
        enumerate(" ".join(g) for g in gold), enumerate(" ".join(model.cut(x)) for x in lines)
    )
    assert scores.recall > 0.9
    assert scores.f1 > 0.8


def test_backtracking_rejects_chained_words() -> None:
    # 各项 and 项目 are both solid, so the covering cut glues 各项目; the 3-gram is not solid
    lines = ["各项工作", "各项制度", "各项任务", "项目管理", "项目建设", "新项目"] * 40
    lines += [f"{a}{b}" for a in "甲乙丙丁戊己庚辛壬癸" for b in "子丑寅卯辰巳午未申酉"] * 4
    disc = ciyu.discover(texts=lines, min_count=3)
    assert disc.pieces["各项目"] == 0 or disc.backtrack_failure("各项目") is not None
    assert "各项目" not in {w.word for w in disc.words}


def test_explain_kept_and_rejected(sample_discovery: ciyu.Discovery) -> None:
    kept = sample_discovery.explain("民法典")
    assert "solid 3-gram: yes" in kept and kept.endswith("verdict: KEPT")
    assert "民法 | 典" in kept
    rejected = sample_discovery.explain("的规定")
    assert "verdict: REJECTED" in rejected


def test_sample_statistics_are_consistent(sample_discovery: ciyu.Discovery) -> None:
    words = {w.word: w for w in sample_discovery.words}
    for word in ("应当", "或者", "民法典", "人民", "合同"):
        assert word in words, word
    w = words["民法典"]
    counts = sample_discovery.counts
    expected = min(
        math.log(counts.n_chars * counts.count("民法典") / (counts.count(a) * counts.count(b)))
        for a, b in (("民", "法典"), ("民法", "典"))
    )
    assert math.isclose(w.cohesion, expected)
    assert all(
        x.score >= y.score
        for x, y in zip(sample_discovery.words, sample_discovery.words[1:], strict=False)
    )
    # ranked words never end in a particle glued to a word
    assert not any(x.word.endswith("的") and len(x.word) > 2 for x in sample_discovery.words[:200])


def test_determinism(toy: tuple[list[str], list[list[str]]]) -> None:
    a = ciyu.discover(texts=toy[0][:3000])
    b = ciyu.discover(texts=toy[0][:3000])
    assert [(w.word, w.count, w.score) for w in a.words] == [
        (w.word, w.count, w.score) for w in b.words
    ]
    assert a.lexicon().counts == b.lexicon().counts


def test_lexicon_counts_every_character_once(
    toy: tuple[list[str], list[list[str]]], toy_discovery: ciyu.Discovery
) -> None:
    lex = toy_discovery.lexicon()
    chars = sum(len(w) * c for w, c in lex.counts.items())
    assert chars == toy_discovery.counts.n_chars


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match="--order must be at least 2"):
        CohesionConfig(order=1)
    with pytest.raises(ConfigError, match="unknown option"):
        ciyu.discover(texts=["中文"], min_cout=3)
    assert CohesionConfig(thresholds=(2.0, 4.0, 6.0)).threshold(6, 9.9) == 10.0
    assert math.isclose(CohesionConfig().threshold(4, 6.0), 0.3 * 6.0 * 3)
    with pytest.raises(ConfigError, match="no learnable text"):
        ciyu.discover(texts=["hello world!", "", "¿qué? 🙂"])


def test_long_words_at_fragment_edges_have_free_boundaries() -> None:
    # a 6-character word (longer than the counted order 5) and a 4-character word, both
    # always at the start of a line: every edge occurrence is a distinct neighbour, so both
    # get the left entropy ln(occurrences) (a 6-character word got 0.0 when the edges were
    # filed as one neighbour); a long word's occurrences are its pieces of the covering cut
    rng = random.Random(1)
    tails = [chr(0x4E00 + i) + chr(0x5000 + i) for i in range(40)]
    lines = [f"甲乙丙丁戊己{rng.choice(tails)}" for _ in range(50)]
    lines += [f"庚辛壬癸{rng.choice(tails)}" for _ in range(50)]
    pool = [chr(0x6000 + i) for i in range(300)]  # other text, so that the words are rare
    lines += ["".join(rng.choices(pool, k=10)) for _ in range(3000)]
    disc = ciyu.discover(texts=lines, order=4, min_count=2)
    found = {w.word: w for w in disc.words}
    assert "甲乙丙丁戊己" in found and "庚辛壬癸" in found
    long_word = found["甲乙丙丁戊己"]
    assert long_word.count > 5
    assert long_word.left_entropy == pytest.approx(math.log(long_word.count))
    assert found["庚辛壬癸"].left_entropy == pytest.approx(math.log(50))
