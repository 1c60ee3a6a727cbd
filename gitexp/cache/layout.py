"""The local cache's layout version: a marker file in the cache folder.

``<cache>/gitexp-cache.json`` holds ``{"layout": 1}``: loose objects
``blake3/<2 hex>/<62 hex>``, whole files, as `gitexp.cache.objects` writes them. The
marker is written when the cache makes its first folder (a new cache, or one made
before markers existed, which is layout 1 by construction). Layout 2 adds compacted
objects (`gitexp.cache.chunkstore`): the first ``gc --compact`` moves the marker to 2
before it writes a chunk list, so a gitexp that knows only layout 1 refuses the cache
instead of taking compacted objects for missing ones. A marker of another
layout, or one that cannot be read, makes every command refuse the cache before it
writes anything: a newer gitexp may have changed what the folder holds.
"""

from __future__ import annotations

from pathlib import Path

from gitexp.cache.atomic import atomic_write
from gitexp.core.layout import marker_bytes, parse_marker
from gitexp.errors import LayoutError

MARKER = "gitexp-cache.json"
LAYOUT = 1
"""The layout of a new cache."""
COMPACTED = 2
"""Layout 1 plus compacted objects."""
KNOWN = (LAYOUT, COMPACTED)


def check_cache(root: Path) -> None:
    """Refuse a cache of an unknown layout (an unmarked one is layout 1).

    Raises `LayoutError` for a marker of another layout, or one that is not valid
    JSON naming a layout. Reads only.
    """
    path = root / MARKER
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _refusal(path, f"cannot be read ({exc.strerror})") from exc
    layout = parse_marker(data)
    if layout is None:
        raise _refusal(path, "is not a layout marker gitexp can read")
    if layout not in KNOWN:
        raise _refusal(path, f"says layout {layout}; this gitexp knows layouts 1 and 2 only")


def mark_cache(root: Path) -> None:
    """Write the marker into the existing cache folder ``root`` unless it has one.

    Idempotent; two commands marking the same new cache write the same bytes.
    """
    path = root / MARKER
    if not path.exists():
        atomic_write(path, marker_bytes(LAYOUT))


def upgrade_cache(root: Path) -> None:
    """Mark the cache ``root`` layout 2 (`COMPACTED`); idempotent, atomic."""
    path = root / MARKER
    try:
        current = parse_marker(path.read_bytes())
    except FileNotFoundError:
        current = None
    if current != COMPACTED:
        atomic_write(path, marker_bytes(COMPACTED))


def _refusal(path: Path, why: str) -> LayoutError:
    return LayoutError(
        f"the local cache's layout marker {path} {why}; nothing was written",
        hint="upgrade gitexp to the version that made this cache, or move the cache "
        "folder aside to start a new one",
    )
