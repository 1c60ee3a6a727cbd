"""Byte sizes as people write them in config: ``5MiB``, ``100 KB``, ``1048576``."""

from __future__ import annotations

import re

from gitexp.errors import ConfigError

DEFAULT_THRESHOLD = 5 * 1024 * 1024
"""``large_file_threshold`` when gitexp.yaml does not set it: 5 MiB."""

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "kib": 1024,
    "m": 1000**2,
    "mb": 1000**2,
    "mib": 1024**2,
    "g": 1000**3,
    "gb": 1000**3,
    "gib": 1024**3,
    "t": 1000**4,
    "tb": 1000**4,
    "tib": 1024**4,
}


def parse_size(value: object, key: str = "size") -> int:
    """Bytes in ``value``; `ConfigError` naming ``key`` when it is not a size.

    >>> parse_size("5MiB")
    5242880
    """
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(value))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ConfigError(
            f"'{key}' is {value!r}, not a size", hint="write a size such as 5MiB, 500KB or 1048576"
        )
    return int(float(match.group(1)) * _UNITS[unit])


def format_size(size: int) -> str:
    """A size for people: ``1.5 MiB``."""
    step = 1024.0
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if amount < step or unit == "TiB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= step
    raise AssertionError("unreachable")
