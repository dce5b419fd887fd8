"""benchmarks/domains.py on a made-up data folder: the script runs, scores by hand-checked
figures, counts domain terms, and tells a ciyu without ``base=`` from a failure."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

import ciyu
from ciyu.text import NUM

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture
def domains(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import _common, quality
    import domains  # type: ignore[import-not-found]  # benchmarks/ is on sys.path at run time

    yield domains
    for name in ("domains", "quality", "_common"):
        sys.modules.pop(name, None)


def test_domain_terms_are_han_words_of_two_or_more_characters_the_dictionary_lacks(
    domains: ModuleType,
) -> None:
    dictionary = {"皮炎", "我们"}
    assert domains.is_domain_term("接触性皮炎", dictionary)
    assert domains.is_domain_term("韓立", dictionary)  # traditional script is Han too
    assert not domains.is_domain_term("皮炎", dictionary)  # in the dictionary
    assert not domains.is_domain_term("炎", dictionary)  # one character
    assert not domains.is_domain_term("维A酸", dictionary)  # not only Han characters
    assert not domains.is_domain_term("８月", dictionary)
    assert not domains.is_domain_term("〇〇", dictionary)  # U+3007 is no ideograph


def test_only_a_refused_base_keyword_means_not_available(domains: ModuleType) -> None:
    refused = ciyu.ConfigError("unknown option(s) base for EnsembleConfig; valid options: mdl")
    assert domains.rejects_base(refused)
    assert domains.rejects_base(TypeError("train() got an unexpected keyword argument 'base'"))
    other = ciyu.ConfigError("unknown option(s) mdl_x for EnsembleConfig; valid options: base")
    assert not domains.rejects_base(other)
    assert not domains.rejects_base(ciyu.ConfigError("base 'jieba': jieba is not installed"))


def make_data(root: Path) -> Path:
    """A data folder with one domain set (ud_hk) and a two-word jieba dictionary."""
    (root / "domains").mkdir(parents=True)
    (root / "lexicon").mkdir()
    gold = "我们 爱 北京\n北京 很 大\n" * 30
    (root / "domains" / "ud_hk.gold.txt").write_text(gold, encoding="utf-8")
    (root / "domains" / "ud_hk.raw.txt").write_text(gold.replace(" ", ""), encoding="utf-8")
    (root / "lexicon" / "jieba_dict.txt").write_text("我们 10 r\n爱 5 v\n", encoding="utf-8")
    return root


def test_run_scores_each_system_and_writes_json(
    domains: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = make_data(tmp_path / "data")
    out = tmp_path / "out" / "d.json"
    args = ["--data", str(data), "--out", str(out), "--sets", "ud_hk"]
    assert domains.main([*args, "--systems", "one-char,ciyu"]) == 0
    result = json.loads(out.read_text(encoding="utf-8"))
    hk = result["sets"]["ud_hk"]
    # 180 gold words, 60 of them 北京 (the one domain term); one-char cuts 270 words and
    # gets 爱 很 大 right: P 90/270, R 90/180
    assert (hk["gold_words"], hk["domain_terms"], hk["domain_term_types"]) == (180, 60, 1)
    assert hk["train_files"] == ["ud_hk.raw.txt"]
    assert hk["train_chars"] == 330  # 11 characters a pair of lines, newlines included
    one = hk["systems"]["one-char"]
    assert (one["precision"], one["recall"], one["f1"]) == (0.333333, 0.5, 0.4)
    assert one["domain_term_recall"] == 0.0
    learned = hk["systems"]["ciyu"]
    assert learned["train_seconds"] > 0 and learned["words"] > 0
    assert 0 <= learned["f1"] <= 1
    assert result["modern_sets"] == ["ud_hk"]
    assert result["modern_averages"]["one-char"] == {"f1": 0.4, "domain_term_recall": 0.0}
    printed = capsys.readouterr().out
    assert "| every character a word | 0.333 | 0.500 | 0.400 | 0.000 | – | – | – |" in printed
    assert "| domain terms in the gold (share of its words) | 60 (33.3%) |  |" in printed
    assert (
        (out.parent / "d.work" / "ud_hk.one-char.seg")
        .read_text(encoding="utf-8")
        .startswith("我 们 爱 北 京\n")
    )


def test_missing_data_is_one_message_and_status_2(
    domains: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert domains.main(["--data", str(tmp_path), "--out", str(tmp_path / "d.json")]) == 2
    err = capsys.readouterr().err
    assert "benchmark data not found" in err and "jieba_dict.txt" in err
    assert not (tmp_path / "d.json").exists()


def test_unknown_set_or_system_is_refused(
    domains: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        domains.main(["--sets", "ud_hk,cityu"])
    assert exc.value.code == 2
    assert "unknown set(s) cityu" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        domains.main(["--systems", "hanlp"])
    assert "unknown system(s) hanlp" in capsys.readouterr().err


def test_exports_of_the_adapted_model_load_in_jieba(domains: ModuleType, tmp_path: Path) -> None:
    jieba = domains.import_jieba()
    if jieba is None:
        pytest.skip("jieba is not installed")
    model = ciyu.Model(ciyu.Lexicon({"苔藓样变": 5, "皮损": 8, "呈": 9, "的": 20, NUM + "年": 3}))
    cuts, info = domains.export_segmenters(jieba, model, tmp_path / "g", str(tmp_path))
    assert set(cuts) == set(domains.EXPORTED)
    text = "皮损呈苔藓样变的"
    assert cuts["base-main"](text) == model.cut(text) == ["皮损", "呈", "苔藓样变", "的"]
    assert cuts["base-user"](text) == ["皮损", "呈", "苔藓样变", "的"]  # on top of jieba's words
    for fmt in ("jieba-main", "jieba-user"):
        assert info[fmt]["entries"] == 4
        assert info[fmt]["skipped"] == {"jieba has no number class (<num>)": 1}
        assert (tmp_path / f"g.{fmt}.txt").read_text(encoding="utf-8").startswith("的 ")
    assert (tmp_path / "jieba.cache").exists()  # jieba's cache stays in the given folder
