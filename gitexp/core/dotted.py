"""Dotted keys (``train.lr``, ``layers.0``) into nested mappings and lists."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

MISSING = object()
"""What `lookup` returns for a key that does not exist."""


def split_dotted(key: str) -> list[str]:
    """A dotted key's parts; ``a.b.0`` is ``['a', 'b', '0']``."""
    return key.split(".")


def lookup(tree: object, key: str) -> object:
    """The value at a dotted key, or the `missing` sentinel (see `is_missing`)."""
    node = tree
    for part in split_dotted(key):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and re.fullmatch(r"-?\d+", part) and _index_ok(node, part):
            node = node[int(part)]
        else:
            return MISSING
    return node


def is_missing(value: object) -> bool:
    """True for the sentinel `lookup` returns when a key does not exist."""
    return value is MISSING


def _index_ok(seq: list[object], part: str) -> bool:
    return -len(seq) <= int(part) < len(seq)


def set_dotted(root: object, key: str, value: object, make: Callable[[], object]) -> None:
    """Set ``value`` at a dotted key under ``root``, creating mappings of type ``make``."""
    parts = split_dotted(key)
    node = root
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
            continue
        assert isinstance(node, dict)  # noqa: S101 - check_override proved the path
        if part not in node:
            node[part] = make()
        node = node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        assert isinstance(node, dict)  # noqa: S101 - as above
        node[last] = _keep_style(node.get(last, MISSING), value)


def _keep_style(old: object, new: object) -> object:
    """A new string keeps the quoting of the string it replaces (ruamel's scalar types)."""
    from ruamel.yaml.scalarstring import ScalarString

    if isinstance(old, ScalarString) and isinstance(new, str):
        return type(old)(new)
    return new
