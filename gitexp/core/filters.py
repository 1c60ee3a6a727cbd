"""``--filter KEY OP VALUE`` expressions and the ordering ``--sort-by`` uses."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gitexp.errors import UsageError

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_EXPR = re.compile(r"\s*(?P<key>.+?)\s*(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>.*?)\s*")


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition: the value at ``key`` compared with ``value`` by ``op``."""

    key: str
    op: str
    value: object
    text: str

    def matches(self, actual: object) -> bool:
        """Whether a present value passes (the caller drops experiments without the key).

        Numbers compare with numbers and strings with strings; across kinds only ``!=``
        holds.
        """
        left, right = _comparable(actual), _comparable(self.value)
        if left is None or right is None or left[0] != right[0]:
            return self.op == "!=" and actual != self.value
        return _OPS[self.op](left[1], right[1])


def parse_filter(text: str) -> Filter:
    """Parse ``KEY OP VALUE``; the value is typed as YAML reads it (``0.9``, ``true``).

    ``tag==T`` (or ``!=``) tests whether an experiment has the tag ``T``.

    >>> parse_filter("train.lr<=0.01").value
    0.01
    """
    match = _EXPR.fullmatch(text)
    if not match or not match.group("key") or match.group("value") == "":
        raise UsageError(
            f"filter '{text}' is not KEY OP VALUE",
            hint="OP is one of == != < <= > >=, e.g. --filter 'acc>0.9'",
        )
    key, op, raw = match.group("key"), match.group("op"), match.group("value")
    if key == "tag":  # a tag is a word, never a number: `tag==1e3` means the tag "1e3"
        if op not in ("==", "!="):
            raise UsageError(
                f"filter '{text}' compares a tag with {op}",
                hint="tags are matched with == or !=, e.g. --filter tag==best",
            )
        return Filter(key, op, raw, text)
    return Filter(key, op, _typed(raw), text)


def _typed(raw: str) -> object:
    import yaml_rs

    try:
        value = yaml_rs.loads(raw)
    except ValueError:
        return raw
    return value if isinstance(value, (int, float, bool, str)) or value is None else raw


def _comparable(value: object) -> tuple[int, object] | None:
    """Numbers compare with numbers (bools as numbers too), strings with strings."""
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, (int, float)):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value)
    return None


def sort_key(value: object) -> tuple[int, object]:
    """An ordering over mixed values: numbers, then strings, then others; missing last."""
    comparable = _comparable(value)
    if comparable is not None:
        return comparable
    if value is None:
        return (3, 0)
    return (2, str(value))
