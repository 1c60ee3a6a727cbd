"""A storage remote's layout version: the marker ``gitexp-remote.json`` at its root.

Layout 1 is loose objects only (``blake3/<2 hex>/<62 hex>``), and a remote without a
marker is layout 1: every remote made before markers existed. Layout 2 adds packs
and chunk lists (`gitexp.storage.packs`) and is marked ``{"layout": 2}``. A marker
naming another layout, or one that cannot be read, makes every command refuse the
remote before it writes anything to it: a newer gitexp may have changed what it holds.
"""

from __future__ import annotations

from gitexp.core.layout import marker_bytes as marker_bytes
from gitexp.core.layout import parse_marker
from gitexp.errors import LayoutError, NotFoundError
from gitexp.storage.backend import Backend

MARKER = "gitexp-remote.json"
LOOSE = 1
"""Loose objects only; what a remote without a marker is."""
PACKED = 2
"""Small objects in packs, big files as chunk lists, the rest loose."""
KNOWN = (LOOSE, PACKED)


def read_layout(backend: Backend) -> int:
    """The remote's layout: `LOOSE` without a marker, else the marker's.

    Raises `LayoutError` for a marker naming a layout this gitexp does not know, or
    one that is not JSON naming a layout; `StorageError` when the remote fails.
    """
    try:
        data = backend.get_bytes(MARKER)
    except NotFoundError:
        return LOOSE
    return _known_layout(backend, data)


def _known_layout(backend: Backend, data: bytes) -> int:
    layout = parse_marker(data)
    if layout is None:
        raise _refusal(backend, "is not a layout marker gitexp can read")
    if layout not in KNOWN:
        raise _refusal(
            backend, f"says layout {layout}; this gitexp knows layouts {LOOSE} and {PACKED}"
        )
    return layout


def _refusal(backend: Backend, why: str) -> LayoutError:
    return LayoutError(
        f"storage remote {backend.describe()}: its marker {MARKER} {why}; "
        "nothing was read from or written to it",
        hint="use the gitexp version that made this remote, or another storage remote",
    )


def layout_for_writing(backend: Backend) -> int:
    """The remote's layout, after marking a new, empty remote as `PACKED`.

    A remote with no marker and no folder at its root is new: it is made layout 2
    by writing the marker before anything else. One with objects but no marker is
    layout 1 and stays so (`gitexp remote upgrade` moves it). Raises like
    `read_layout`, and `StorageError` when the remote fails.
    """
    try:
        data = backend.get_bytes(MARKER)
    except NotFoundError:
        if _empty(backend):
            backend.put_bytes(marker_bytes(PACKED), MARKER)
            return PACKED
        return LOOSE
    return _known_layout(backend, data)


def _empty(backend: Backend) -> bool:
    try:
        return not backend.folders("")
    except NotFoundError:  # a prefix of a bucket that holds nothing yet
        return True
