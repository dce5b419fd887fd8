"""Config options on the command line: each flag's type comes from the field's annotation."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from ciyu.config import add_arguments, field_parser, from_namespace, option
from ciyu.learners import METHODS


@dataclasses.dataclass(frozen=True)
class Toy:
    floats: tuple[float, ...] = option((), "empty by default: no item to guess a type from")
    ints: tuple[int, ...] = option((), "whole numbers")
    names: tuple[str, ...] = option(("a",), "names")
    limit: int | None = option(None, "an optional whole number")
    ratio: float = option(0.5, "a number")
    flag: bool = option(False, "a switch")


def parse(*argv: str) -> Toy:
    parser = argparse.ArgumentParser()
    add_arguments(parser, Toy)
    return from_namespace(Toy, parser.parse_args(list(argv)))


def test_types_come_from_annotations() -> None:
    toy = parse("--floats", "2,4,6", "--ints", "1, 2", "--names", "x,y", "--limit", "3")
    assert toy.floats == (2.0, 4.0, 6.0) and all(type(x) is float for x in toy.floats)
    assert toy.ints == (1, 2) and toy.names == ("x", "y") and toy.limit == 3
    assert parse("--ratio", "1", "--flag").ratio == 1.0
    assert parse("--no-flag").flag is False
    assert parse() == Toy()
    assert parse("--floats", "") == Toy()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--floats", "2,x"], "expected comma-separated numbers, got '2,x'"),
        (["--floats", "nan"], "expected comma-separated numbers, got 'nan'"),
        (["--ints", "1.5"], "expected comma-separated whole numbers, got '1.5'"),
        (["--ratio", "nan"], "expected a number, got 'nan'"),
        (["--limit", "x"], "expected a whole number, got 'x'"),
    ],
)
def test_bad_values_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        parse(*argv)
    assert message in capsys.readouterr().err


def test_every_learner_option_has_a_command_line_form() -> None:
    for spec in METHODS.values():
        for f in dataclasses.fields(spec.config):
            field_parser(spec.config, f)  # raises TypeError for a type it cannot parse
