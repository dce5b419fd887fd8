"""The lattice decoder: hand-checked best paths, unknown characters, losslessness."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ciyu
from ciyu.decoder import HAVE_COMPILED, Decoder, boundaries_from_tables, log_probs_of, scores_of


def lp(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {w: math.log(c / total) for w, c in counts.items()}


def test_max_probability_path() -> None:
    d = Decoder(lp({"研究": 10, "研究生": 5, "生命": 10, "命": 2, "的": 20, "起源": 8}), -20.0)
    assert d.cut("研究生命的起源") == ["研究", "生命", "的", "起源"]
    assert d.cut("研究生") == ["研究生"]


def test_unknown_characters_are_single_words() -> None:
    d = Decoder(lp({"中文": 3}), -10.0)
    assert d.cut("中文㐀文") == ["中文", "㐀", "文"]
    assert d.cut("") == []


def test_ties_are_broken_deterministically() -> None:
    d = Decoder({"甲乙": -2.0, "乙丙": -2.0, "甲": -1.0, "乙": -1.0, "丙": -1.0}, -9.0)
    assert d.cut("甲乙丙") == d.cut("甲乙丙")
    assert d.cut("甲乙丙") in (["甲乙", "丙"], ["甲", "乙丙"])


@given(st.text(alphabet="甲乙丙丁戊", max_size=40))
def test_lossless(text: str) -> None:
    d = Decoder(lp({"甲乙": 3, "乙丙丁": 2, "丁": 5, "戊戊": 1}), -12.0)
    assert "".join(d.cut(text)) == text


lexicons = st.dictionaries(
    st.text(alphabet="甲乙丙丁𠀋ab", min_size=1, max_size=5),
    st.sampled_from([-1.0, -2.0, -2.5, -3.0, -7.25]),  # few values: many exact ties
    max_size=25,
)


@pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled decoder is not built")
@settings(max_examples=300)
@given(lexicons, st.text(alphabet="甲乙丙丁𠀋abc", max_size=40))
def test_compiled_twin_equals_reference(lexicon: dict[str, float], text: str) -> None:
    reference = Decoder(lexicon, -9.0, compiled=False)
    compiled = Decoder(lexicon, -9.0, compiled=True)
    assert compiled.boundaries(text) == reference.boundaries(text)


counted = st.dictionaries(
    st.text(alphabet="甲乙丙丁𠀋ab", min_size=1, max_size=5),
    st.one_of(st.sampled_from([1, 2, 3, 7, 1e-6, 0.5]), st.floats(1e-6, 1e12)),
    max_size=25,
)


@settings(max_examples=300)
@given(counted, st.text(alphabet="甲乙丙丁𠀋abc", max_size=40), st.booleans())
def test_a_decoder_over_counts_is_the_decoder_over_their_log_probs(
    counts: dict[str, float], text: str, compiled: bool
) -> None:
    # the compiled twin takes the logarithms in C: the very same doubles as math.log, so
    # the same segmentation, ties included, and the same table when it is asked for
    if compiled and not HAVE_COMPILED:
        pytest.skip("the compiled decoder is not built")
    log_probs = log_probs_of(counts)
    want = Decoder(log_probs, -30.0, compiled=False)
    got = Decoder.from_counts(counts, -30.0, compiled=compiled)
    assert got.boundaries(text) == want.boundaries(text)
    assert got.max_len == want.max_len
    assert all(got.score(w) == want.score(w) for w in counts)
    if got.fast is not None:
        exact = Decoder(log_probs, -30.0, compiled=True)
        for word in counts:  # the score of each word alone, as the lattice holds it
            assert got.fast.boundaries(word) == exact.fast.boundaries(word)  # type: ignore[union-attr]
        assert scores_of(got.boundaries) == (log_probs, -30.0)


@pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled decoder is not built")
def test_the_compiled_decoder_refuses_counts_it_cannot_take_the_log_of() -> None:
    for bad in (0.0, -1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="positive finite"):
            Decoder.from_counts({"甲": 1.0, "乙": bad}, -9.0, compiled=True)


@pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled decoder is not built")
def test_compiled_twin_on_a_learned_lexicon(sample_model: ciyu.Model) -> None:
    import gzip

    from conftest import SAMPLE

    log_probs = sample_model.lexicon.log_probs()
    unk = sample_model.lexicon.unk_logp()
    reference = Decoder(log_probs, unk, compiled=False)
    compiled = Decoder(log_probs, unk, compiled=True)
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(3000)]
    for line in lines:
        for frag in line.split("，"):
            assert compiled.boundaries(frag) == reference.boundaries(frag)


def test_compiled_decoder_is_built_in_ci() -> None:
    import os

    if os.environ.get("CI"):
        assert HAVE_COMPILED, "CI must build ciyu._lattice (pip install -e . compiles it)"


@settings(max_examples=300)
@given(lexicons, st.text(alphabet="甲乙丙丁𠀋abc", max_size=40))
def test_decoder_from_numpy_tables(lexicon: dict[str, float], text: str) -> None:
    # words of each length as "<Uk" arrays, straight into the trie (nvbe's path)
    by_len: dict[int, list[tuple[str, float]]] = {}
    for word, score in sorted(lexicon.items()):
        by_len.setdefault(len(word), []).append((word, score))
    tables = [
        (np.array([w for w, _ in items], dtype=f"<U{k}"), np.array([s for _, s in items]))
        for k, items in sorted(by_len.items())
    ]
    expected = Decoder(lexicon, -9.0, compiled=False).boundaries(text)
    assert boundaries_from_tables(tables, -9.0)(text) == expected


# -- the compiled extension under hostile use --------------------------------------------
# Each crash candidate runs in a child process: a segfault there fails the test instead of
# killing pytest.

needs_compiled = pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled decoder is not built")


def run_isolated(code: str) -> str:
    """Run ``code`` in a fresh interpreter; return its standard output (it must not crash)."""
    import subprocess
    import sys
    import textwrap

    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"exit status {proc.returncode}: {proc.stderr[-2000:]}"
    return proc.stdout


@needs_compiled
def test_a_lattice_cannot_be_used_unbuilt() -> None:
    out = run_isolated(
        """
        from ciyu._lattice import Lattice, Rules
        for make in (lambda: Lattice.__new__(Lattice), lambda: Rules.__new__(Rules)):
            try:
                make()
            except TypeError:
                print("refused")
        """
    )
    assert out.split() == ["refused", "refused"]


@needs_compiled
def test_a_built_lattice_is_not_rebuilt_by_init() -> None:
    from ciyu._lattice import Lattice

    lattice = Lattice(["ab"], [-1.0], -5.0)
    lattice.__init__(["abc"], [-0.5], -5.0)  # type: ignore[misc]  # changes nothing
    assert lattice.boundaries("abc") == [2, 3]


@needs_compiled
def test_a_score_whose_float_frees_the_lists() -> None:
    out = run_isolated(
        """
        import gc
        import numpy as np
        from ciyu._lattice import Lattice, tag_viterbi

        words = ["ab" + str(i) for i in range(200)]
        class Evil:
            def __init__(self, victims):
                self.victims = victims
            def __float__(self):
                for v in self.victims:
                    v.clear()
                gc.collect()
                return -1.0
        logps = [-2.0] * 200
        logps[0] = Evil([words, logps])
        lattice = Lattice(words, logps, -5.0)
        print(lattice.boundaries("ab0ab199"))

        em = np.arange(12.0).reshape(3, 4)
        join = [0.5] * 3
        join[0] = Evil([join])
        print(tag_viterbi(em, 3, [4], join) == tag_viterbi(em, 3, [4], [-1.0, 0.5, 0.5]))
        """
    )
    assert out.split("\n")[:2] == ["[3, 8]", "True"]


@needs_compiled
def test_sizes_that_overflow_are_refused() -> None:
    out = run_isolated(
        """
        import numpy as np
        from ciyu._lattice import Lattice, tag_viterbi

        lattice = Lattice([], [], -5.0, True)
        for k in (2**62, 2**61, 2**60 + 1):
            try:  # n * k * 4 wraps around to the size of the empty buffer
                lattice.extend_codes(b"", k, b"\\0" * 8)
            except ValueError as e:
                print("refused" if "expected n*k" in str(e) else e)
        try:
            tag_viterbi(np.zeros((2, 3)), 2, [2**62], [0.0, 0.0])
        except ValueError:
            print("refused")
        """
    )
    assert out.split() == ["refused"] * 4


@needs_compiled
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_scores_must_be_finite(bad: float) -> None:
    from ciyu._lattice import Lattice

    with pytest.raises(ValueError, match="finite"):
        Lattice(["ab"], [bad], -5.0)
    with pytest.raises(ValueError, match="finite"):
        Lattice(["ab"], [-1.0], bad)
    lattice = Lattice([], [], -5.0)
    with pytest.raises(ValueError, match="finite"):
        lattice.extend_codes(np.array(["ab"]), 2, np.array([bad]))
    for compiled in (True, False):
        with pytest.raises(ValueError, match="finite"):
            Decoder({"ab": bad}, -5.0, compiled=compiled)
        with pytest.raises(ValueError, match="finite"):
            Decoder({"ab": -1.0}, bad, compiled=compiled)


@needs_compiled
def test_a_prefix_is_not_a_word() -> None:
    # "abc" makes "ab" a node of the trie; only the flag says whether a node is a word
    d = Decoder({"abc": -1.0, "a": -3.0}, -5.0, compiled=True)
    assert d.boundaries("ab") == [1, 2]
    assert d.boundaries("abc") == [3]


@needs_compiled
def test_a_lattice_in_use_no_longer_changes() -> None:
    from ciyu._lattice import Lattice

    lattice = Lattice([], [], -5.0, True)
    lattice.extend_codes(np.array(["ab"]), 2, np.array([-1.0]))  # before use: fine
    assert lattice.boundaries("ab") == [2]
    with pytest.raises(RuntimeError, match="in use"):
        lattice.extend_codes(np.array(["bc"]), 2, np.array([-1.0]))
    assert lattice.boundaries("abc") == [2, 3]


@needs_compiled
def test_damaged_rule_tables_never_crash() -> None:
    out = run_isolated(
        """
        import random
        import numpy as np
        from ciyu._grammar import character_classes, compile_rules
        from ciyu._lattice import Rules
        from ciyu.text import RULES, character_sets

        classes, membership = character_classes(character_sets(), 0x110000)
        t = compile_rules(RULES, membership)
        good = [classes.tobytes(), t.n_classes, t.starts.tobytes(), t.trans.tobytes(),
                t.eos_accept.tobytes(), t.views.tobytes()]
        rng = random.Random(11)
        text = "中文1.5% a\\u0301-3 👍🏽\\u200d🇨🇳——\\n" * 3
        refused = 0
        for trial in range(400):
            args = list(good)
            which = rng.choice([0, 2, 3, 4, 5])
            data = bytearray(args[which])
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.2:
                data = data[: rng.randrange(len(data) + 1)]
            args[which] = bytes(data)
            if rng.random() < 0.1:
                args[1] = rng.randint(-2, 300)
            try:
                rules = Rules(*args)
            except ValueError:
                refused += 1
                continue
            tokens = rules.scan(text)
            assert tokens[-1][1] == len(text), "scan must cover the text"
            rules.learnable_view(text)
        print(refused)
        """
    )
    assert int(out) > 0


@needs_compiled
def test_threads_share_one_model(sample_model: ciyu.Model, law_lines: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from ciyu.text import learnable_view

    text = "\n".join(law_lines)
    expected = sample_model.segment(text)
    expected_view = learnable_view(text)
    blocks = [text] * 8
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(sample_model.segment, blocks)) == [expected] * 8
        assert list(pool.map(learnable_view, blocks)) == [expected_view] * 8
        lines = law_lines[:300]
        cuts = list(pool.map(lambda line: " ".join(sample_model.cut(line)), lines))
    assert cuts == expected.split("\n")[:300]


@needs_compiled
@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(st.characters(blacklist_categories=["Cs"]), max_size=60),
            st.sampled_from(["中华人民共和国", "第3条", "A股", "\n", "😀\u0301", "\r\n"]),
        ),
        max_size=30,
    ),
    st.sampled_from([" ", "|", "／", "🙂"]),
)
def test_compiled_utf8_output_is_the_text_output_encoded(
    sample_model: ciyu.Model, parts: list[str], sep: str
) -> None:
    from ciyu.text import compiled_rules

    fast = sample_model.decoder.fast
    assert fast is not None
    rules = compiled_rules()
    sample_model.segment("", sep)  # freeze as bulk segmentation does
    for text in ("".join(parts), "".join(parts) * 20):  # short (GIL held) and long blocks
        expected = sample_model.segment(text, sep)
        assert fast.segment(text, rules, sep, True) == expected.encode()
        assert fast.segment(text, rules, sep) == expected


@needs_compiled
def test_compiled_utf8_output_refuses_a_lone_surrogate(sample_model: ciyu.Model) -> None:
    from ciyu.text import compiled_rules

    fast = sample_model.decoder.fast
    assert fast is not None
    with pytest.raises(ValueError, match="surrogate"):
        fast.segment("中文\ud800" * 200, compiled_rules(), " ", True)


@needs_compiled
@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(
                st.text(st.characters(blacklist_categories=["Cs"]), max_size=40),
                st.sampled_from(["中华人民共和国第3条", "A股\n😀\u0301", "\r\n"]),
            ),
            st.integers(1, 40),  # repeated: short texts keep the GIL, long ones release it
            st.sampled_from(["str", "utf8", "bytes", "bad bytes"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_a_workspace_reused_gives_what_fresh_arrays_give(
    sample_model: ciyu.Model, calls: list[tuple[str, int, str]]
) -> None:
    """One workspace through calls of every kind and size, large and small in any
    order: the same results as calls without one (what it kept never leaks through)."""
    from ciyu._lattice import Workspace
    from ciyu.text import compiled_rules

    fast: Any = sample_model.decoder.fast  # called with every kind of argument
    assert fast is not None
    rules, workspace = compiled_rules(), Workspace()
    sample_model.segment("", " ")
    for part, times, kind in calls:
        text: str | bytes = part * times
        if kind in ("bytes", "bad bytes"):
            data = part.encode() * times
            text = data + b"\xff" + data if kind == "bad bytes" else data
        utf8 = kind != "str"
        expected = fast.segment(text, rules, " ", utf8)
        assert fast.segment(text, rules, " ", utf8, workspace) == expected
        assert (expected is None) == (kind == "bad bytes")


@needs_compiled
def test_the_separator_must_be_encodable(sample_model: ciyu.Model) -> None:
    from ciyu.text import compiled_rules

    fast = sample_model.decoder.fast
    assert fast is not None
    with pytest.raises(ValueError, match="separator"):
        fast.segment("中文 中文", compiled_rules(), "\ud800", True)
    # a str may hold it
    assert "\ud800 \ud800" in fast.segment("中文 中文", compiled_rules(), "\ud800")
