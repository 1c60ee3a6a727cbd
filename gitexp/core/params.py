"""Params overrides: parse ``-S`` specs, check them, write them back in place.

An override names a dotted key in a params file and the values to give it. Writing
keeps the file's comments, order and quoting: YAML through ruamel.yaml's round trip,
TOML through tomlkit, JSON with its indentation and key order kept.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from gitexp.core.dotted import is_missing, lookup, set_dotted
from gitexp.core.formats import Format, format_of, load_mapping, to_json_value
from gitexp.core.yamledit import write_yaml
from gitexp.errors import FormatError, ParamsError


@dataclass(frozen=True, slots=True)
class Override:
    """One ``-S [+][FILE:]KEY=VALUE[,VALUE…]``: the one shape an override has.

    Parsed once (`parse_override`), it goes unchanged from the command line to the
    record: `grid` makes one single-valued override per grid point (`at`), the plan
    names its file (`in_file`), and the run's record lists ``{file: {key: value}}``.

    ``file`` is None for the first params file. ``add`` is true for ``+KEY`` (the key
    must not exist yet), false for ``KEY`` (it must), None when either will do (the
    params of ``gitexp.Experiment``). Several ``values`` make a sweep; another kind of
    sweep (a search space) is another way of choosing the value of each point.
    """

    file: str | None
    key: str
    values: tuple[object, ...]
    add: bool | None = False
    text: str = ""

    @property
    def value(self) -> object:
        """The value of a single-valued override (one grid point's)."""
        if len(self.values) != 1:
            raise ValueError(f"override '{self.text or self.key}' has {len(self.values)} values")
        return self.values[0]

    def at(self, value: object) -> Override:
        """This override with ``value`` only: one point of its sweep."""
        return self if self.values == (value,) else replace(self, values=(value,))

    def in_file(self, path: str) -> Override:
        """This override with its params file named."""
        return self if self.file == path else replace(self, file=path)


Point = tuple[Override, ...]
"""One grid point: single-valued overrides, one per key."""


def parse_override(spec: str) -> Override:
    """Parse one ``-S`` argument.

    Values are read as YAML scalars or flow collections; top-level commas separate
    the values of a sweep (``lr=0.1,0.01``); brackets and quotes protect commas
    (``layers=[64,64]``, ``tag='a,b'``).

    >>> parse_override("train.lr=1e-3,0.01").values
    (0.001, 0.01)
    """
    lhs, eq, rhs = spec.partition("=")
    if not eq or not lhs.strip():
        raise ParamsError(
            f"override '{spec}' is not KEY=VALUE",
            hint="write -S KEY=VALUE, -S FILE:KEY=VALUE or -S +KEY=VALUE",
        )
    add = lhs.startswith("+")
    lhs = lhs[1:] if add else lhs
    file: str | None = None
    if ":" in lhs:
        file, _, lhs = lhs.partition(":")
        if lhs.startswith("+"):
            add, lhs = True, lhs[1:]
    key = lhs.strip()
    if not key or any(not part for part in key.split(".")):
        raise ParamsError(f"override '{spec}' has an empty key", hint="write -S KEY=VALUE")
    return Override(file or None, key, parse_values(rhs, spec), add, spec)


def parse_values(text: str, spec: str) -> tuple[object, ...]:
    """The values of an override's right-hand side, typed as YAML reads them."""
    import yaml_rs

    try:
        values = yaml_rs.loads(f"[{text}]")
    except ValueError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "invalid value"
        raise ParamsError(
            f"value in '{spec}' is not valid YAML: {reason.lstrip('| ^')}",
            hint="quote strings that hold ',', ':' or brackets, e.g. -S name='a,b'",
        ) from exc
    if not isinstance(values, list) or not values:
        raise ParamsError(f"override '{spec}' has no value", hint="write -S KEY=VALUE")
    return tuple(values)


def grid(overrides: Sequence[Override]) -> list[Point]:
    """The points of the grid the overrides span, each override at one of its values.

    One value per override gives one point; ``a=1,2 b=3,4`` gives four, in order.
    """
    axes = [[o.at(v) for v in o.values] for o in overrides]
    return [tuple(point) for point in itertools.product(*axes)]


def check_override(doc: Mapping[str, object], path: str, key: str, add: bool | None) -> None:
    """Raise `ParamsError` unless ``key`` exists in ``doc`` (or, for ``+KEY``, does not).

    ``add`` None: either is fine.
    """
    if add is None:
        return
    exists = not is_missing(lookup(doc, key))
    if add and exists:
        raise ParamsError(
            f"key '{key}' already exists in '{path}'",
            hint=f"drop the '+' to change it: -S {key}=VALUE",
        )
    if not add and not exists:
        raise ParamsError(
            f"key '{key}' does not exist in '{path}'",
            hint=f"check the spelling, or add it with -S +{key}=VALUE",
        )


def apply_overrides(
    data: bytes, path: str, changes: Mapping[str, tuple[object, bool | None]]
) -> bytes:
    """``data`` (a params file) with each dotted key set: ``{key: (value, add)}``.

    The file's comments, key order and quoting are kept. Raises `ParamsError` for a
    key that does not exist (or exists, for an add) and `FormatError` for bad files.
    """
    fmt: Format = format_of(path)
    doc = load_mapping(data, path, fmt)
    for key, (_value, add) in changes.items():
        check_override(doc, path, key, add)
    if fmt == "yaml":
        return write_yaml(data, changes, path)
    if fmt == "toml":
        return _write_toml(data, changes)
    return _write_json(data, changes)


def _write_toml(data: bytes, changes: Mapping[str, tuple[object, bool | None]]) -> bytes:
    import tomlkit

    doc = tomlkit.parse(data.decode("utf-8-sig"))
    for key, (value, _add) in changes.items():
        if value is None:
            raise ParamsError(f"TOML cannot hold a null value for '{key}'")
        set_dotted(doc, key, value, tomlkit.table)
    return tomlkit.dumps(doc).encode("utf-8")


def _write_json(data: bytes, changes: Mapping[str, tuple[object, bool | None]]) -> bytes:
    text = data.decode("utf-8-sig")
    doc = json.loads(text) if text.strip() else {}
    for key, (value, _add) in changes.items():
        set_dotted(doc, key, to_json_value(value), dict)
    indent = _json_indent(text)
    out = json.dumps(doc, indent=indent, ensure_ascii=False)
    return (out + ("\n" if text.endswith("\n") or not text else "")).encode("utf-8")


def _json_indent(text: str) -> int | str | None:
    """The indentation a JSON file uses: None when it is on one line."""
    match = re.search(r"\n([ \t]+)\S", text)
    if not match:
        return None
    unit = match.group(1)
    return unit if "\t" in unit else len(unit)


def format_value(value: object) -> str:
    """A value as a user would type it after ``-S KEY=`` (used in names and messages)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(to_json_value(value), separators=(",", ":"))


__all__ = [
    "FormatError",
    "Override",
    "Point",
    "apply_overrides",
    "check_override",
    "format_value",
    "grid",
    "is_missing",
    "lookup",
    "parse_override",
]
