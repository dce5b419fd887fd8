"""One config object per learner: the single source of truth for options.

A learner's config is a frozen dataclass whose fields are declared with :func:`option`.
The same declaration gives the Python keyword arguments (with defaults), the command-line
flags and their help (:func:`add_arguments` / :func:`from_namespace`), validation, and the
metadata saved in model files (:func:`to_dict`).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")


def option(default: Any, help: str, *, flag: str | None = None, metavar: str | None = None) -> Any:
    """Declare a config field with its default and its help text."""
    meta = {"help": help, "flag": flag, "metavar": metavar}
    if isinstance(default, list | dict | set):
        raise TypeError("use tuples for sequence defaults")
    return dataclasses.field(default=default, metadata=meta)


def _flag(field: dataclasses.Field[Any]) -> str:
    return str(field.metadata.get("flag") or "--" + field.name.replace("_", "-"))


def _parse_strings(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _parse_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if math.isnan(value):
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}")
    return value


def _parse_floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(_parse_float(x) for x in text.split(",") if x.strip())
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def _parse_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _parse_ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(_parse_int(x) for x in text.split(",") if x.strip())
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated whole numbers, got {text!r}"
        ) from None


def _parse_bool(text: str) -> bool:
    value = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    try:
        return value[text.strip().lower()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"expected yes or no, got {text!r}") from None


_SCALARS: dict[Any, Callable[[str], Any]] = {
    int: _parse_int,
    float: _parse_float,
    str: str,
    bool: _parse_bool,
}
_TUPLES: dict[Any, Callable[[str], Any]] = {
    int: _parse_ints,
    float: _parse_floats,
    str: _parse_strings,
}


def field_parser(cls: type[Any], field: dataclasses.Field[Any]) -> Callable[[str], Any]:
    """The command-line parser of a config field, from its type annotation (not from its
    default: an empty tuple says nothing about the type of its items).

    Args:
        cls: the config class.
        field: one of its fields.

    Returns:
        A function from the flag's text to the value (``"2,4,6"`` → ``(2.0, 4.0, 6.0)``
        for ``tuple[float, ...]``), raising :class:`argparse.ArgumentTypeError`.

    Raises:
        TypeError: for an annotation the command line cannot express (a config bug).
    """
    hint = typing.get_type_hints(cls)[field.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    origin = typing.get_origin(hint)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in _TUPLES:
        return _TUPLES[args[0]]
    if origin in (typing.Union, types.UnionType) and len(args) == 1 and args[0] in _SCALARS:
        return _SCALARS[args[0]]  # an optional value: ``int | None``
    if hint in _SCALARS:
        return _SCALARS[hint]
    raise TypeError(f"{cls.__name__}.{field.name}: no command-line form for {hint!r}")


def add_arguments(parser: argparse.ArgumentParser, cls: type[Any]) -> None:
    """Add one command-line flag per field of the config class ``cls``.

    The flag's type comes from the field's annotation: ``bool`` fields get
    ``--name/--no-name``; ``tuple[float, ...]`` (or ``int``, ``str``) fields take
    comma-separated values.
    """
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        default: Any = f.default
        kwargs: dict[str, Any] = {"dest": f.name, "default": default}
        help_text = str(f.metadata.get("help", ""))
        if hints[f.name] is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(hints[f.name]) is tuple:
            kwargs["type"] = field_parser(cls, f)
            kwargs["metavar"] = f.metadata.get("metavar") or "X,Y,..."
            help_text += f" (default: {','.join(str(x) for x in default) or 'empty'})"
        else:
            kwargs["type"] = field_parser(cls, f)
            kwargs["metavar"] = f.metadata.get("metavar") or f.name.upper()
            help_text += f" (default: {default})"
        kwargs["help"] = help_text
        parser.add_argument(_flag(f), **kwargs)


def from_namespace(cls: type[T], ns: argparse.Namespace) -> T:
    """Build a config of class ``cls`` from parsed command-line arguments."""
    values = {f.name: getattr(ns, f.name) for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**values)


def make(cls: type[T], config: T | None, overrides: dict[str, Any]) -> T:
    """Return ``config`` (or the defaults) with keyword ``overrides`` applied and checked."""
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(overrides) - names)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} for {cls.__name__}; "
            f"valid options: {', '.join(sorted(names))}"
        )
    hints = typing.get_type_hints(cls)
    checked = {name: _checked(cls, name, hints[name], value) for name, value in overrides.items()}
    base = config if config is not None else cls()
    return dataclasses.replace(base, **checked)  # type: ignore[type-var]


def _checked(cls: type[Any], name: str, kind: Any, value: Any) -> Any:
    """``value`` as the type ``kind`` of option ``name`` (ints are floats too, lists are
    tuples), so that a wrong type is refused here rather than deep inside a learner.

    Raises:
        ConfigError: if ``value`` is not of that type.
    """
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        value = int(value) if ok else value
    elif kind is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif typing.get_origin(kind) is tuple:
        item = typing.get_args(kind)[0]
        try:
            ok = isinstance(value, tuple | list)
            value = tuple(_checked(cls, name, item, x) for x in value) if ok else value
        except ConfigError:
            ok = False
        kind = f"a tuple of {item.__name__}"
    elif kind is str:
        ok = isinstance(value, str)
    else:  # a type this check does not know: left to the config's own validation
        ok = True
    if not ok:
        shown = getattr(kind, "__name__", str(kind))
        raise ConfigError(f"option {name} of {cls.__name__} must be {shown}, got {value!r}")
    return value


def to_dict(config: Any) -> dict[str, Any]:
    """The config as a JSON-serialisable dict (tuples become lists)."""
    return {
        f.name: list(v) if isinstance(v := getattr(config, f.name), tuple) else v
        for f in dataclasses.fields(config)
    }
