"""Adapting an existing dictionary to a corpus: ``ciyu train --base``."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

import ciyu
from ciyu import dictionary
from ciyu.cli import main
from ciyu.errors import ConfigError, InputError
from ciyu.export import export

# A base dictionary in jieba's format: common words, and single characters at the
# frequencies a general dictionary gives them.
BASE = {
    "我们": 5000,
    "医生": 3000,
    "病人": 3000,
    "今天": 4000,
    "发现": 3000,
    "治疗": 2500,
    "皮炎": 800,
    "接触": 2000,
    "使用": 4000,
    "药物": 1500,
    "效果": 2500,
    "很好": 2000,
    "权利": 2000,
    "要求": 3000,
    "的": 300000,
    "了": 200000,
    "是": 250000,
    "有": 200000,
    "用": 30000,
    "在": 250000,
    "华": 4000,
    "法": 20000,
    "林": 8000,
    "韩": 600,
    "立": 900,
}
# what the text is about: a drug name (华法林) and a person (韩立), both unknown to the
# base; and 权利要求, a phrase of two base words that the base splits
PATTERNS = [
    "今天医生发现病人有皮炎",
    "医生使用华法林治疗病人",
    "华法林的效果很好",
    "韩立是医生",
    "韩立今天使用了药物",
    "我们在治疗病人",
    "病人有权利要求治疗",
    "韩立发现华法林的效果",
]


@pytest.fixture(scope="module")
def base_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / "dict.txt"
    lines = [f"{w} {f} n" for w, f in BASE.items()]
    lines += ["T恤 3 n", "C++ 5 nz", "无频率词"]  # unproducible entries; a word without freq
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus() -> list[str]:
    """The patterns among many sentences of base words (so that the new terms are rare
    tokens, as terms are in real text)."""
    rng = random.Random(3)
    words = [w for w in BASE if len(w) == 2 and w != "权利"]
    particles = ["的", "了", "是", "在", "有"]  # free words, frequent as in real text
    filler = [
        "".join(rng.choice(words) + rng.choice(particles) for _ in range(rng.randint(2, 4)))
        for _ in range(300)
    ]
    return [
        "，".join(rng.choice(PATTERNS if rng.random() < 0.2 else filler) for _ in range(4)) + "。"
        for _ in range(1500)
    ]


@pytest.fixture(scope="module")
def adapted(base_file: Path, corpus: list[str]) -> ciyu.Model:
    return ciyu.train(texts=corpus, base=base_file)


def test_the_base_is_read_with_what_ciyu_can_produce(base_file: Path) -> None:
    found = dictionary.load(base_file)
    assert found.skipped == 1 and found.examples == ["C++"]
    assert "T恤" in found.counts  # a single letter glued to Chinese is part of a word
    # a word without a frequency gets the median of the given ones
    given = sorted(BASE.values())
    assert found.counts["无频率词"] == given[len(given) // 2]
    assert found.describe()["words"] == len(BASE) + 2


def test_the_base_keeps_its_words_and_gains_the_texts_own(adapted: ciyu.Model) -> None:
    words = adapted.lexicon.counts
    assert all(w in words for w in BASE)
    # the terms the base cannot express are learned
    assert "华法林" in words and "韩立" in words
    # counts are re-estimated on the text, with the base as a prior
    assert words["医生"] > BASE["医生"] and words["林"] >= BASE["林"]
    assert adapted.meta["base"]["words"] == len(BASE) + 2
    assert adapted.meta["new_words"] >= 2


def test_the_base_defines_the_granularity(adapted: ciyu.Model) -> None:
    assert adapted.cut("医生使用华法林治疗病人") == [
        "医生",
        "使用",
        "华法林",
        "治疗",
        "病人",
    ]
    assert adapted.cut("韩立发现华法林的效果") == ["韩立", "发现", "华法林", "的", "效果"]
    # a phrase of two base words stays two words, however often it occurs
    assert adapted.cut("病人有权利要求治疗") == ["病人", "有", "权利", "要求", "治疗"]
    assert "权利要求" not in adapted.lexicon.counts


def test_jieba_exports_of_an_adapted_model_segment_alike(
    adapted: ciyu.Model, tmp_path: Path
) -> None:
    jieba = pytest.importorskip("jieba", reason="pip install -e '.[test]' for jieba")
    jieba.setLogLevel(60)
    main_dict = tmp_path / "main.txt"
    main_dict.write_bytes(export(adapted, "jieba-main").data)
    tokenizer = jieba.Tokenizer(dictionary=str(main_dict))
    tokenizer.tmp_dir = str(tmp_path)
    for sentence in PATTERNS:
        assert tokenizer.lcut(sentence, HMM=False) == adapted.cut(sentence)


def test_adapting_needs_the_default_learner_and_a_real_base(corpus: list[str]) -> None:
    with pytest.raises(ConfigError, match="adapted by the default learner"):
        ciyu.train(texts=corpus, method="nvbe", base="jieba")
    with pytest.raises(InputError, match="no such dictionary file"):
        ciyu.train(texts=corpus, base="/no/such/dict.txt")


def test_cli_train_with_a_base(
    base_file: Path, corpus: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = tmp_path / "text.txt"
    text.write_text("\n".join(corpus) + "\n", encoding="utf-8")
    out = tmp_path / "adapted.model"
    assert main(["train", str(text), "--base", str(base_file), "-o", str(out)]) == 0
    assert "new words" in capsys.readouterr().err
    model = ciyu.Model.load(out)
    assert model.meta["base"]["source"] == str(base_file)
    assert "华法林" in model.lexicon.counts


def test_the_installed_jiebas_dictionary_is_a_base(corpus: list[str]) -> None:
    pytest.importorskip("jieba", reason="pip install -e '.[test]' for jieba")
    model = ciyu.train(texts=corpus, base="jieba")
    assert model.meta["base"]["source"] == "jieba" and model.meta["base"]["words"] > 300_000
    assert model.cut("华法林的效果很好")[:2] == ["华法林", "的"]
