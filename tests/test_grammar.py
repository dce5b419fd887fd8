"""The rule language (ciyu._grammar): its automaton, run by C, against Python's ``re`` on
random rule lists, and the checks that keep a rule list usable."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ciyu._compiled import HAVE_COMPILED
from ciyu._grammar import (
    PYTHON,
    Alt,
    AnyChar,
    Chars,
    First,
    Node,
    NotFollowed,
    NotPreceded,
    Repeat,
    Rule,
    Same,
    Seq,
    alt,
    character_classes,
    chars,
    compile_rules,
    opt,
    plus,
    render_pattern,
    seq,
    star,
    times,
)
from ciyu.text import compile_rule_layer

pytestmark = pytest.mark.skipif(not HAVE_COMPILED, reason="the compiled layer is not built")

SETS = {
    "a": ((0x61, 0x61),),
    "b": ((0x62, 0x62),),
    "ab": ((0x61, 0x62),),
    "c": ((0x63, 0x63),),
    "dash": ((0x2D, 0x2D),),
}
ALPHABET = "abc-d"


def nullable(node: Node) -> bool:
    """Whether ``node`` can match the empty string."""
    if isinstance(node, Seq):
        return all(nullable(i) for i in node.items)
    if isinstance(node, Repeat):
        return node.low == 0 or nullable(node.item)
    if isinstance(node, NotFollowed | NotPreceded):
        return True
    if isinstance(node, Alt):
        return any(nullable(i) for i in node.items)
    return False


leaf = st.one_of(
    st.lists(st.sampled_from(sorted(SETS)), min_size=1, max_size=2, unique=True).map(
        lambda names: chars(*names)
    ),
    st.just(AnyChar()),
)


def _solid(nodes: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    """Nodes that cannot match the empty string: a nullable one gets a leaf in front (made,
    not filtered out, as filtering rejected most draws and failed Hypothesis's health
    check)."""
    return st.tuples(leaf, nodes).map(lambda t: seq(*t) if nullable(t[1]) else t[1])


def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    solid = _solid(children)  # loops over the empty string aside
    return st.one_of(
        st.lists(children, min_size=2, max_size=3).map(lambda xs: seq(*xs)),
        st.lists(children, min_size=2, max_size=3).map(lambda xs: alt(*xs)),
        solid.map(star),
        solid.map(plus),
        children.map(opt),
        st.tuples(solid, st.integers(2, 3)).map(lambda t: times(*t)),
        st.tuples(children, leaf.filter(lambda n: isinstance(n, Chars))).map(
            lambda t: seq(t[0], NotFollowed(t[1]))  # type: ignore[arg-type]
        ),
    )


body = st.recursive(leaf, extend, max_leaves=6)


@st.composite
def rule_lists(draw: st.DrawFn) -> tuple[Rule, ...]:
    rules = []
    for i in range(draw(st.integers(1, 4))):
        pattern = draw(_solid(body))
        form = draw(st.sampled_from(["plain", "behind", "run"]))
        if form == "behind":  # a lookbehind opens the rule
            behind = NotPreceded(chars(draw(st.sampled_from(sorted(SETS)))))
            pattern = seq(behind, pattern)
        elif form == "run":  # a run of one repeated character, then the body
            pattern = seq(First(f"f{i}"), star(Same(f"f{i}")), opt(pattern))
        rules.append(Rule(f"r{i}", "other", pattern, view=None))
    rules.append(Rule("rest", "other", AnyChar(), view=None))
    return tuple(rules)


@settings(max_examples=200)
@given(rule_lists(), st.text(alphabet=ALPHABET, max_size=30))
def test_the_automaton_matches_like_a_backtracking_engine(
    rules: tuple[Rule, ...], text: str
) -> None:
    regex = re.compile(render_pattern(rules, SETS, PYTHON), re.DOTALL)
    expected = [(m.lastgroup, m.end()) for m in regex.finditer(text)]
    names = [r.name for r in rules]
    scanned = [(names[k], end) for k, end in compile_rule_layer(rules, SETS).scan(text)]
    assert scanned == expected


def test_rules_that_cannot_be_run_are_refused() -> None:
    _, membership = character_classes(SETS, 0x80)
    rest = Rule("rest", "other", AnyChar(), view=None)
    with pytest.raises(ValueError, match="empty string"):
        compile_rules([Rule("e", "other", star(chars("a")), view=None), rest], membership)
    with pytest.raises(ValueError, match="any one character"):
        compile_rules([Rule("a", "other", chars("a"), view=None)], membership)
    with pytest.raises(ValueError, match="lookbehind"):
        late = seq(chars("a"), NotPreceded(chars("b")), chars("b"))
        compile_rules([Rule("l", "other", late, view=None), rest], membership)
    with pytest.raises(ValueError, match="First"):
        compile_rules([Rule("f", "other", seq(chars("a"), First("x")), view=None)], membership)


def test_a_run_of_the_first_character() -> None:
    # First/Same: the backreference that makes "——" one token but "—-" two
    rules = (Rule("run", "other", seq(First("x"), star(Same("x"))), view=None),)
    compiled = compile_rule_layer(rules, SETS)
    assert compiled.scan("aab--a") == [(0, 2), (0, 3), (0, 5), (0, 6)]
