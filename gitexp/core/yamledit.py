"""Writing overrides into YAML without disturbing anything else in the file.

A changed value is replaced where it stands in the text: ruamel.yaml's round-trip
loader says where each value starts, and only that scalar's characters change, so
comments, order, quoting, spacing and every other value stay byte for byte (a full
re-dump can re-spell untouched floats). Keys that are added, and values this cannot
place (block scalars, multi-line values), go through ruamel.yaml's round-trip dump.
Either way the result is parsed again and checked before it is returned.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping

from gitexp.core.dotted import MISSING, lookup, set_dotted, split_dotted
from gitexp.core.formats import flatten, load_mapping, to_json_value
from gitexp.errors import FormatError, ParamsError

Changes = Mapping[str, tuple[object, bool | None]]
"""``{dotted key: (value, add)}``: ``add`` None sets a key whether it exists or not."""


def write_yaml(data: bytes, changes: Changes, path: str = "params.yaml") -> bytes:
    """``data`` with each ``{dotted key: (value, add)}`` applied; see the module doc."""
    text = data.decode("utf-8-sig")
    before = load_mapping(data, path)
    sets = {key: value for key, (value, add) in changes.items() if not add}
    edited = _edit_in_place(text, sets) if sets and len(sets) == len(changes) else None
    if edited is not None and _holds(edited, path, before, changes):
        return edited.encode("utf-8")
    dumped = _dump(text, changes)
    if not _holds(dumped, path, before, changes, strict=False):
        raise ParamsError(f"could not write the overrides into '{path}' faithfully")
    return dumped.encode("utf-8")


def _edit_in_place(text: str, sets: Mapping[str, object]) -> str | None:
    """Replace each value's characters in ``text``; None if any value cannot be placed."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    doc = yaml.load(text)
    lines = text.splitlines(keepends=True)
    edits: list[tuple[int, int, int, str]] = []
    for key, value in sets.items():
        place = _position(doc, key)
        if place is None:
            return None
        line, col, old = place
        end = _scalar_end(lines[line], col)
        if end is None:
            return None
        edits.append((line, col, end, _scalar_text(value, old)))
    for line, col, end, new in sorted(edits, reverse=True):
        lines[line] = lines[line][:col] + _keep_column(new, lines[line][end:], end - col)
    return "".join(lines)


def _keep_column(new: str, rest: str, old_width: int) -> str:
    """``new`` then ``rest``, with a trailing comment kept in its column where it fits."""
    gap = len(rest) - len(rest.lstrip(" "))
    if not rest[gap:].startswith("#") or gap == 0:
        return new + rest
    return new + " " * max(1, gap + old_width - len(new)) + rest[gap:]


def _position(doc: object, key: str) -> tuple[int, int, object] | None:
    """Line, column and current value of the scalar at ``key``."""
    parts = split_dotted(key)
    parent = lookup(doc, ".".join(parts[:-1])) if len(parts) > 1 else doc
    last = parts[-1]
    lc = getattr(parent, "lc", None)
    if lc is None:
        return None
    try:
        if isinstance(parent, list):
            line, col = lc.item(int(last))
            old = parent[int(last)]
        else:
            line, col = lc.value(last)
            old = parent[last]  # type: ignore[index]
    except (KeyError, IndexError, ValueError, TypeError):
        return None
    if isinstance(old, (dict, list)) and not _is_flow(old):
        return None
    return line, col, old


def _is_flow(node: object) -> bool:
    """Whether a ruamel collection was written in flow style (``[1, 2]``, ``{a: 1}``)."""
    fa = getattr(node, "fa", None)
    return bool(fa is not None and fa.flow_style())


def _scalar_end(line: str, col: int) -> int | None:
    """Where the scalar starting at ``col`` ends on this line; None if it goes on."""
    if col >= len(line):
        return None
    first = line[col]
    if first == "'":
        return _quoted_end(line, col, "'")
    if first == '"':
        return _quoted_end(line, col, '"')
    if first in "[{":
        return _flow_end(line, col)
    if first in "|>&*!#\n\r":
        return None
    body = line.rstrip("\r\n")
    cut = len(body)
    for marker in (" #", "\t#"):
        found = body.find(marker, col)
        if found >= 0:
            cut = min(cut, found)
    return col + len(body[col:cut].rstrip())


def _quoted_end(line: str, col: int, quote: str) -> int | None:
    i = col + 1
    while i < len(line):
        char = line[i]
        if quote == '"' and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote == "'" and line[i + 1 : i + 2] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return None


def _flow_end(line: str, col: int) -> int | None:
    depth, i, quote = 0, col, ""
    while i < len(line):
        char = line[i]
        if quote:
            if char == "\\" and quote == '"':
                i += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def _scalar_text(value: object, old: object) -> str:
    """``value`` as YAML text; a string keeps the quote style of the one it replaces."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if isinstance(value, str):
        if isinstance(old, SingleQuotedScalarString):
            return "'" + value.replace("'", "''") + "'"
        if isinstance(old, DoubleQuotedScalarString) or not _plain_ok(value):
            return json.dumps(value, ensure_ascii=False)
        return value
    return json.dumps(to_json_value(value), ensure_ascii=False)


_YAML11_WORDS = {"yes", "no", "on", "off", "y", "n", "true", "false", "null", "~"}


def _plain_ok(value: str) -> bool:
    """Whether ``value`` reads back as the same string when written unquoted.

    Also by YAML 1.1 readers (PyYAML) that a training script may use: words such as
    ``yes`` or ``off``, and anything with a ``:``, are quoted.
    """
    import yaml_rs

    if not value or value != value.strip() or "\n" in value or " #" in value:
        return False
    if value.lower() in _YAML11_WORDS or ":" in value:
        return False
    try:
        return bool(yaml_rs.loads(f"k: {value}") == {"k": value})
    except ValueError:
        return False


def _dump(text: str, changes: Changes) -> str:
    """The round-trip dump of the file with the changes (adds, unplaceable values)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 1 << 16
    mapping, sequence, offset = _indent(text)
    yaml.indent(mapping=mapping, sequence=sequence, offset=offset)
    doc = yaml.load(text)
    if doc is None:
        doc = CommentedMap()
    for key, (value, _add) in changes.items():
        set_dotted(doc, key, value, CommentedMap)
    out = io.StringIO()
    yaml.dump(doc, out)
    return out.getvalue()


def _holds(
    text: str, path: str, before: dict[str, object], changes: Changes, *, strict: bool = True
) -> bool:
    """Whether ``text`` has the new values and (``strict``) every other value as before."""
    try:
        after = load_mapping(text.encode(), path)
    except FormatError:
        return False
    for key, (value, _add) in changes.items():
        if not _same(lookup(after, key), value):
            return False
    if not strict:
        return True
    changed = set(changes)
    old_flat, new_flat = flatten(before), flatten(after)
    keep = [k for k in old_flat if not any(k == c or k.startswith(c + ".") for c in changed)]
    return all(_same(new_flat.get(k, MISSING), old_flat[k]) for k in keep)


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


def _indent(text: str) -> tuple[int, int, int]:
    """The block indentation a YAML file uses, as ruamel's (mapping, sequence, offset).

    Read off the first nested mapping and the first nested sequence; ruamel's defaults
    (2, 2, 0) where the file has none.
    """
    mapping: int | None = None
    seq: tuple[int, int] | None = None
    parent: tuple[int, str] | None = None
    for line in text.splitlines():
        body = line.lstrip(" ")
        if not body or body.startswith("#"):
            continue
        depth = len(line) - len(body)
        if parent is not None and parent[1].endswith(":") and depth > parent[0]:
            if body.startswith("- ") or body == "-":
                seq = seq or (depth - parent[0], depth - parent[0] + 2)
            else:
                mapping = mapping or depth - parent[0]
        if mapping is not None and seq is not None:
            break
        parent = (depth, body.split(" #")[0].rstrip())
    dash_offset, item = seq if seq is not None else (0, 2)
    return mapping or 2, max(item, 2), dash_offset
