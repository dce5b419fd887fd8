"""SIGHAN-style scoring, checked against hand-computed figures."""

from __future__ import annotations

from pathlib import Path

import pytest

import ciyu
from ciyu.errors import EvaluationError
from ciyu.evaluate import gold_word_hits


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_hand_computed_scores(tmp_path: Path) -> None:
    gold = write(tmp_path / "gold", "中文  分词  很  好\n")
    pred = write(tmp_path / "pred", "中文 分 词 很好\n")
    words = write(tmp_path / "words", "中文\n很\n")
    s = ciyu.evaluate(gold, pred, words)
    # gold spans (0,2)(2,4)(4,5)(5,6); predicted (0,2)(2,3)(3,4)(4,6): one in common
    assert (s.gold_words, s.predicted_words, s.correct) == (4, 4, 1)
    assert s.precision == 0.25 and s.recall == 0.25 and s.f1 == 0.25
    # OOV gold words: 分词, 好 (neither found); IV: 中文 (found), 很 (not)
    assert s.oov_rate == 0.5 and s.oov_recall == 0.0 and s.iv_recall == 0.5
    hits = gold_word_hits(gold, pred)
    assert hits == [("中文", True), ("分词", False), ("很", False), ("好", False)]


def test_unequal_word_counts(tmp_path: Path) -> None:
    gold = write(tmp_path / "g", "我们 是 学生\n")
    pred = write(tmp_path / "p", "我们 是 学 生\n")
    s = ciyu.evaluate(gold, pred)
    assert s.precision == 2 / 4 and s.recall == 2 / 3
    assert s.f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert s.oov_recall is None


def test_line_breaks_in_other_places_do_not_matter(tmp_path: Path) -> None:
    # MSR's gold puts an opening quote at the end of the previous line in eight places
    gold = write(tmp_path / "g", "他 说 ：  “\n你好 ”\n")
    pred = write(tmp_path / "p", "他 说 ：\n“ 你好 ”\n")
    s = ciyu.evaluate(gold, pred)
    assert s.f1 == 1.0


def test_ideographic_space_is_a_word(tmp_path: Path) -> None:
    gold = write(tmp_path / "g", "甲  \u3000  乙\n")
    pred = write(tmp_path / "p", "甲 \u3000 乙\n")
    assert ciyu.evaluate(gold, pred).correct == 3


def test_different_text_is_refused_with_offset(tmp_path: Path) -> None:
    gold = write(tmp_path / "g", "中文 分词\n很 好\n")
    pred = write(tmp_path / "p", "中文 分词\n很 坏\n")
    with pytest.raises(EvaluationError) as exc:
        ciyu.evaluate(gold, pred)
    message = str(exc.value)
    assert "first difference at character 5" in message
    assert "g line 2: '好'" in message and "p line 2: '坏'" in message


def test_json(tmp_path: Path) -> None:
    gold = write(tmp_path / "g", "甲 乙\n")
    s = ciyu.evaluate(gold, gold)
    assert s.to_json() == (
        '{"correct": 2, "f1": 1.0, "gold_words": 2, "iv_recall": null, "oov_rate": null, '
        '"oov_recall": null, "precision": 1.0, "predicted_words": 2, "recall": 1.0}'
    )


def test_no_words_is_an_error_not_zero(tmp_path: Path) -> None:
    empty = write(tmp_path / "empty", "\n\n")
    with pytest.raises(EvaluationError) as exc:
        ciyu.evaluate(empty, empty)
    assert str(exc.value) == (
        f"{empty} and {empty} hold no words, so there is nothing to score (precision, "
        "recall and F1 would be 0/0); check that you gave the right files"
    )


def test_recall_of_no_word_is_undefined(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gold = write(tmp_path / "gold", "中文 分词\n")
    empty = write(tmp_path / "empty", "")
    s = ciyu.evaluate(gold, gold, empty)
    assert (s.oov_rate, s.oov_recall, s.iv_recall) == (1.0, 1.0, None)
    assert "every gold word counts as OOV" in caplog.text
    assert s.report().splitlines()[3:6] == [
        "OOV rate   1.0000",
        "OOV recall 1.0000",
        "IV recall  undefined (the gold has no IV word)",
    ]
    s = ciyu.evaluate(gold, gold, write(tmp_path / "all", "中文\n分词\n"))
    assert (s.oov_rate, s.oov_recall, s.iv_recall) == (0.0, None, 1.0)
    assert '"oov_recall": null' in s.to_json()
