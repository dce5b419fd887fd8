"""The Python API's edges: what a call reads (paths or texts), lone surrogates, config
objects, and the error classes every misuse raises."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import ciyu
from ciyu.cli import main
from ciyu.errors import CiyuError, ConfigError, InputError
from ciyu.learners import NvbeConfig

TEXT = "中文分词是中文信息处理的基础。\n中文分词的方法很多。\n" * 20
API: list[Callable[..., Any]] = [ciyu.count, ciyu.discover, ciyu.train]


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    """Two text files whose names are Chinese too: learning from the names would work."""
    paths = [tmp_path / "法律文本甲.txt", tmp_path / "法律文本乙.txt"]
    for path in paths:
        path.write_text(TEXT, encoding="utf-8")
    return paths


# -- what a call reads ----------------------------------------------------------------


@pytest.mark.parametrize("fn", API)
def test_a_list_of_strings_is_ambiguous(fn: Callable[..., Any], files: list[Path]) -> None:
    names = [str(p) for p in files]
    with pytest.raises(ConfigError) as err:
        fn(names)
    message = str(err.value)
    assert f"ciyu.{fn.__name__}() got a list of strings: file names or text?" in message
    assert f"ciyu.{fn.__name__}(texts=[...])" in message
    assert f"ciyu.{fn.__name__}(paths=[...])" in message
    with pytest.raises(ConfigError, match="got a list of strings"):
        fn(["中文分词", "分词"])  # text: just as ambiguous to the function


def test_paths_and_texts_read_what_they_say(files: list[Path]) -> None:
    names = [str(p) for p in files]
    from_paths = ciyu.count(paths=names)
    assert from_paths.n_chars == 2 * sum(c >= "\u4e00" for c in TEXT)
    assert ciyu.count(paths=files).n_chars == from_paths.n_chars
    assert ciyu.count(files).n_chars == from_paths.n_chars  # path objects: files
    assert ciyu.count(names[0]).n_chars == from_paths.n_chars // 2  # one str: a path
    assert ciyu.count(paths=names[0]).n_chars == from_paths.n_chars // 2
    assert ciyu.count(ciyu.Corpus(names)).n_chars == from_paths.n_chars
    # the names as text: 法律文本甲.txt and 法律文本乙.txt are all that is read
    assert ciyu.count(texts=[p.name for p in files]).n_chars == 10
    assert ciyu.count(texts=TEXT).n_chars == from_paths.n_chars // 2  # one str: one text
    assert ciyu.train(paths=names, method="cohesion").meta["n_chars"] == from_paths.n_chars
    assert ciyu.discover(texts=[TEXT]).counts.n_chars == from_paths.n_chars // 2


@pytest.mark.parametrize("fn", API)
def test_a_str_that_is_no_path_says_what_to_write(fn: Callable[..., Any]) -> None:
    with pytest.raises(InputError) as err:
        fn("中文分词是中文信息处理的基础")
    assert str(err.value) == (
        "'中文分词是中文信息处理的基础': no such file or directory. "
        f"ciyu.{fn.__name__}() reads a str as a path; to use the string itself as text, "
        f"write ciyu.{fn.__name__}(texts=[...])"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "none was given"),
        ({"inputs": "x", "texts": ["中文"]}, "got inputs and texts"),
        ({"texts": ["中文"], "paths": ["x"]}, "got texts and paths"),
        ({"paths": []}, r"paths=\[\]\): no file to read"),
        ({"paths": [3]}, r"paths\[0\] is int, not a path"),
        ({"texts": b"\xe4\xb8\xad"}, "texts= takes strings of text, got bytes"),
        ({"inputs": b"a.txt"}, "cannot read a bytes"),
        ({"inputs": 42}, "cannot read a int"),
        ({"inputs": [1, 2]}, "got a list of int"),
        ({"texts": ["中文"], "errors": "ignore"}, "errors must be 'strict' or 'replace'"),
    ],
)
def test_what_to_read_is_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ciyu.count(**kwargs)


def test_a_corpus_keeps_its_own_errors_setting(files: list[Path]) -> None:
    with pytest.raises(
        ConfigError, match=r"give it to the Corpus, Corpus\(\.\.\., errors='replace'"
    ):
        ciyu.count(ciyu.Corpus(files), errors="replace")
    assert ciyu.count(ciyu.Corpus(files, errors="replace"), errors="replace").n_chars > 0


def test_texts_that_are_not_strings() -> None:
    with pytest.raises(InputError, match=r"texts\[1\] is bytes, not str \(decode it first"):
        ciyu.count(texts=["中文", "中文".encode()])  # type: ignore[list-item]


def test_the_cli_still_reads_files(files: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "counts.npz"
    assert main(["-q", "count", *map(str, files), "-o", str(out)]) == 0
    assert ciyu.NgramCounts.load(out).n_chars == ciyu.count(files).n_chars


# -- lone surrogates ------------------------------------------------------------------


@pytest.mark.parametrize("fn", API)
def test_lone_surrogates_in_texts_follow_errors(fn: Callable[..., Any]) -> None:
    texts = [TEXT, "中文\n分词\ud800中文"]
    with pytest.raises(InputError) as err:
        fn(texts=texts)
    assert str(err.value) == (
        "texts[1]: lone surrogate U+D800 at index 5 (line 2) is not Unicode text and cannot "
        "be written as UTF-8; fix the string, or pass errors='replace' to read it as U+FFFD"
    )
    assert "byte offset" not in str(err.value) and "--errors" not in str(err.value)
    fn(texts=texts, errors="replace")  # as if the surrogate were U+FFFD


def test_replaced_surrogates_count_as_u_fffd() -> None:
    replaced = ciyu.count(texts=["\ud800中文\udfff"], errors="replace")
    assert replaced.n_chars == ciyu.count(texts=["\ufffd中文\ufffd"]).n_chars == 2
    assert ciyu.Corpus.from_texts(["\ud800中文"], errors="replace")._texts == ["\ufffd中文"]


# -- config objects -------------------------------------------------------------------


def test_a_config_of_another_method_is_refused_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        ciyu.train(texts=[TEXT], method="nvbe", config=ciyu.CohesionConfig())
    assert str(err.value) == (
        "method 'nvbe' takes a NvbeConfig, got a CohesionConfig: pass "
        "ciyu.learners.NvbeConfig(...) or keyword options, or train with method='cohesion'"
    )
    with pytest.raises(ConfigError, match=r"ciyu.discover\(\) takes a CohesionConfig, got a Nvbe"):
        ciyu.discover(texts=[TEXT], config=NvbeConfig())  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="takes a CohesionConfig, got a dict"):
        ciyu.train(texts=[TEXT], method="cohesion", config={"order": 3})
    model = ciyu.train(texts=[TEXT], method="nvbe", config=NvbeConfig())
    assert model.meta["method"] == "nvbe"


def test_error_classes() -> None:
    # every error ciyu raises on purpose is a CiyuError; bad arguments are ValueErrors too
    assert issubclass(ConfigError, CiyuError) and issubclass(ConfigError, ValueError)


@given(st.text(alphabet=st.sampled_from("中文\ud800\udc80\udfffa \n"), max_size=20))
def test_from_texts_replace_removes_every_surrogate(text: str) -> None:
    corpus = ciyu.Corpus.from_texts([text], errors="replace")
    assert "".join(corpus) == "".join(
        "\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text
    ).replace("\n", "")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ciyu.count(texts=[TEXT], order="6"), "order must be an int, got '6'"),  # type: ignore[arg-type]
        (lambda: ciyu.count(texts=[TEXT], threads=-1), "threads must be a number of processes"),
        (lambda: ciyu.count(texts=[TEXT], threads="2"), "threads must be a number of processes"),  # type: ignore[arg-type]
        (lambda: ciyu.count(texts=[TEXT], max_memory=-1), "is too small"),
        (lambda: ciyu.count(texts=[TEXT], max_memory="1G"), "max_memory must be a number of bytes"),  # type: ignore[arg-type]
        (lambda: ciyu.count(texts=[TEXT], progress=1), "progress must be a function or None"),  # type: ignore[arg-type]
        (lambda: ciyu.train(texts=[TEXT], counts="c.npz"), "counts must be NgramCounts"),  # type: ignore[arg-type]
        (lambda: ciyu.train(texts=[TEXT], method=["lm"]), r"unknown method \['lm'\]"),  # type: ignore[arg-type]
        (
            lambda: ciyu.train(texts=[TEXT], method="cohesion", order="4"),
            "option order of CohesionConfig must be int, got '4'",
        ),
        (
            lambda: ciyu.discover(texts=[TEXT], thresholds=["2", "4"]),
            r"option thresholds of CohesionConfig must be a tuple of float, got \['2', '4'\]",
        ),
        (lambda: ciyu.discover(texts=[TEXT], list_numbers=1), "must be bool, got 1"),
        (lambda: ciyu.Corpus.from_texts(None), "texts must be strings, got NoneType"),  # type: ignore[arg-type]
    ],
)
def test_misuse_raises_ciyu_errors(call: Callable[[], object], message: str) -> None:
    with pytest.raises(CiyuError, match=message):
        call()


def test_options_are_converted_to_their_types() -> None:
    # lists become tuples and ints floats, as the config declares
    disc = ciyu.discover(texts=[TEXT], thresholds=[2, 4, 6])
    assert disc.config.thresholds == (2.0, 4.0, 6.0)
