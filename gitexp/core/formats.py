"""Reading the structured files gitexp looks into: YAML, JSON and TOML documents.

Reads are fast paths (yaml-rs, orjson, tomllib) because ``show`` reads thousands of
small documents; yaml-rs and ruamel.yaml (which writes params back) both follow YAML
1.2, so a value reads back as the type it was written (``1e-3`` is a float). Every
parse failure becomes a `FormatError` that names the file.
"""

from __future__ import annotations

import datetime as _dt
import sys
from collections.abc import Mapping
from typing import Literal

import orjson

from gitexp.errors import FormatError

Format = Literal["yaml", "json", "toml"]

_EXTENSIONS: dict[str, Format] = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".toml": "toml",
}


def format_of(path: str) -> Format:
    """The document format a path's extension names; `FormatError` for others."""
    dot = path.rfind(".")
    fmt = _EXTENSIONS.get(path[dot:].lower()) if dot >= 0 else None
    if fmt is None:
        raise FormatError(
            f"'{path}' is not a YAML, JSON or TOML file",
            hint="name params and metrics files *.yaml, *.yml, *.json or *.toml",
        )
    return fmt


def load_document(data: bytes, path: str, fmt: Format | None = None) -> object:
    """Parse ``data`` (the content of ``path``) into plain Python values.

    Raises `FormatError` naming ``path`` when the bytes are not valid in the format.
    An empty document is ``None``.
    """
    fmt = fmt or format_of(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FormatError(f"'{path}' is not UTF-8 text: {exc.reason}") from exc
    if fmt == "json":
        return _load_json(text, path)
    if fmt == "toml":
        return _load_toml(text, path)
    return load_yaml(text, path)


def load_mapping(data: bytes, path: str, fmt: Format | None = None) -> dict[str, object]:
    """Parse a document that must be a mapping at the top (empty counts as ``{}``)."""
    value = load_document(data, path, fmt)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FormatError(
            f"'{path}' must hold a mapping of keys to values, not a {type(value).__name__}"
        )
    return value


def load_yaml(text: str, path: str) -> object:
    """Parse YAML 1.2 text; the message of a failure names ``path`` and the position."""
    import yaml_rs

    try:
        return yaml_rs.loads(text)
    except ValueError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        detail = " ".join(line.strip() for line in str(exc).splitlines()[1:] if line.strip())
        tail = detail.rsplit("^", 1)[-1].strip() if "^" in detail else ""
        raise FormatError(
            f"'{path}' is not valid YAML: {first}{': ' + tail if tail else ''}",
            hint=f"fix the file '{path}' and try again",
        ) from exc


def _load_json(text: str, path: str) -> object:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise FormatError(
            f"'{path}' is not valid JSON: {exc}", hint=f"fix the file '{path}' and try again"
        ) from exc


def _load_toml(text: str, path: str) -> object:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised only on Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FormatError(
            f"'{path}' is not valid TOML: {exc}", hint=f"fix the file '{path}' and try again"
        ) from exc


def flatten(tree: Mapping[str, object], prefix: str = "") -> dict[str, object]:
    """Nested mappings as one level with dotted keys; lists and scalars are leaves.

    >>> flatten({"train": {"lr": 0.1}, "seed": 1})
    {'train.lr': 0.1, 'seed': 1}
    """
    flat: dict[str, object] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = value
    return flat


def unflatten(flat: Mapping[str, object]) -> dict[str, object]:
    """Dotted keys as nested mappings: what `flatten` undoes.

    >>> unflatten({"train.lr": 0.1, "seed": 1})
    {'train': {'lr': 0.1}, 'seed': 1}
    """
    out: dict[str, object] = {}
    for key, value in flat.items():
        node = out
        *parents, last = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            node = child if isinstance(child, dict) else {}
        node[last] = value
    return out


def merge_nested(base: Mapping[str, object], extra: Mapping[str, object]) -> dict[str, object]:
    """``base`` with ``extra`` laid over it, nested mappings merged key by key."""
    out = dict(base)
    for key, value in extra.items():
        current = out.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            out[key] = merge_nested(current, value)
        else:
            out[key] = value
    return out


def to_json_value(value: object) -> object:
    """Values as JSON can carry them: dates and times become ISO 8601 strings."""
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    return value


def dumps_json(value: object, *, indent: bool = False) -> bytes:
    """Serialize with orjson (sorted keys off, so file order is kept)."""
    option = orjson.OPT_NON_STR_KEYS | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(to_json_value(value), option=option)
