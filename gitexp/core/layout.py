"""Layout markers: the small JSON file that says how a cache or remote folder is laid out.

``{"layout": N}``: read by `gitexp.cache.layout` (the local cache) and
`gitexp.storage.layout` (a storage remote), each of which decides what it knows.
"""

from __future__ import annotations

import json


def parse_marker(data: bytes) -> int | None:
    """The layout a marker's bytes name; None when they are not a marker naming one."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    layout = value.get("layout") if isinstance(value, dict) else None
    return layout if isinstance(layout, int) and not isinstance(layout, bool) else None


def marker_bytes(layout: int) -> bytes:
    """The marker of ``layout``, as written."""
    return json.dumps({"layout": layout}).encode() + b"\n"
