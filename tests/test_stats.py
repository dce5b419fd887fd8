"""Cohesion and boundary entropy, checked against hand computation."""

from __future__ import annotations

import math

import numpy as np

from ciyu.counts import count_chunk
from ciyu.stats import boundary_entropy, cohesion, entropy_of


def test_cohesion_is_the_weakest_split() -> None:
    lines = ["甲乙丙", "甲乙丁", "戊乙丙"]
    c = count_chunk(lines, order=3)
    n = 9
    # 甲乙丙: c=1; splits 甲|乙丙 (c 2, 2) and 甲乙|丙 (c 2, 2)
    expected = min(math.log(n * 1 / (2 * 2)), math.log(n * 1 / (2 * 2)))
    got = cohesion(c, np.array(["甲乙丙"], dtype="<U3"))
    assert math.isclose(got[0], expected)
    # 甲乙: c=2, c(甲)=2, c(乙)=3
    got2 = cohesion(c, np.array(["甲乙"], dtype="<U2"))
    assert math.isclose(got2[0], math.log(n * 2 / (2 * 3)))


def test_boundary_entropy_counts_edges_as_distinct() -> None:
    # 乙 is followed by 丙, 丁, 丙 and preceded by 甲, 甲, 戊
    c = count_chunk(["甲乙丙", "甲乙丁", "戊乙丙"], order=3)
    left, right = boundary_entropy(c, np.array(["乙"], dtype="<U1"))

    def h(ps: list[float]) -> float:
        return -sum(p * math.log(p) for p in ps)

    assert math.isclose(left[0], h([2 / 3, 1 / 3]))
    assert math.isclose(right[0], h([2 / 3, 1 / 3]))
    # 甲乙 is always at the start of its fragment: two edge occurrences, distinct
    left2, right2 = boundary_entropy(c, np.array(["甲乙"], dtype="<U2"))
    assert math.isclose(left2[0], math.log(2))
    assert math.isclose(right2[0], math.log(2))


def test_entropy_of_histogram() -> None:
    assert entropy_of({}, 0) == 0.0
    assert math.isclose(entropy_of({"a": 2}, 2), 0.0)
    assert math.isclose(entropy_of({"a": 1}, 2), math.log(2))
