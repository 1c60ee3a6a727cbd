"""Packs on a layout-2 storage remote: many small objects in one immutable file, with an index.

A pack is the bytes of its objects one after another, nothing else, stored under
``packs/<first 2 hex>/<hex>.pack`` where ``<hex>`` is the BLAKE3 of the pack's bytes.
Its index, ``packs/<2 hex>/<hex>.idx``, is UTF-8 JSON without spaces::

    {"version":1,"pack":"blake3:<hex>","size":<pack bytes>,
     "objects":[["<object hex>",<offset>,<size>],…]}

with the objects in the order of their offsets. So ``b3sum`` over bytes
``offset … offset+size`` of a pack prints the object's id. The index is written after
its pack: a pack without an index is an unfinished push, which readers ignore (and
remote gc removes once it is old). Both files are write-once; a pack holding an
object twice, or two packs holding one object, are harmless.

A damaged index (not this format, or naming bytes past the end of its pack) is
skipped and reported by name in `PackMap.damaged`, so a pull that then lacks an
object says which index to blame; a push simply packs such objects again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.core.hashing import ALGORITHM, Oid
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, Failure

FOLDER = "packs"
VERSION = 1
PACK_TARGET = 16 << 20
"""A pack is closed once it holds this many bytes."""
PACKABLE = 1 << 20
"""Objects smaller than this go into packs; bigger ones stay loose (or are chunked)."""
_HEX = frozenset("0123456789abcdef")
_ID = re.compile("[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Location:
    """Where one object lies: in which pack (its key), at which offset, how long."""

    pack: str
    offset: int
    size: int


@dataclass
class PackMap:
    """What the remote's packs hold: each object's location, and the indexes found damaged."""

    objects: dict[Oid, Location] = field(default_factory=dict)
    damaged: list[str] = field(default_factory=list)
    packs: set[str] = field(default_factory=set)
    """Every pack key with an index (damaged or not)."""


def pack_key(hex_: str) -> str:
    """The key of the pack whose bytes hash to ``hex_``."""
    return f"{FOLDER}/{hex_[:2]}/{hex_}.pack"


def index_key(pack: str) -> str:
    """The key of the index of the pack under ``pack``."""
    return pack[: -len(".pack")] + ".idx"


def build_pack(items: Sequence[tuple[Oid, bytes]]) -> tuple[str, bytes, bytes]:
    """The key, bytes and index bytes of a pack holding ``items`` in this order."""
    from blake3 import blake3

    data = b"".join(blob for _, blob in items)
    hex_ = str(blake3(data).hexdigest())
    return pack_key(hex_), data, dump_index(hex_, [(oid, len(blob)) for oid, blob in items])


def dump_index(hex_: str, objects: Iterable[tuple[Oid, int]]) -> bytes:
    """The index of the pack whose bytes hash to ``hex_``: ``objects`` (id, size) in order."""
    entries, offset = [], 0
    for oid, size in objects:
        entries.append([oid.hex, offset, size])
        offset += size
    index = {"version": VERSION, "pack": f"{ALGORITHM}:{hex_}", "size": offset, "objects": entries}
    return json.dumps(index, separators=(",", ":")).encode()


def parse_index(data: bytes, key: str) -> list[tuple[Oid, int, int]] | None:
    """The ``(oid, offset, size)`` entries of the index under ``key``; None if damaged.

    Damaged: not JSON of this version, naming another pack than its own name says,
    or an entry that is not a well-formed id with a range inside the pack.
    """
    try:
        value = json.loads(data)
    except ValueError:
        return None
    hex_ = key.rsplit("/", 1)[-1][: -len(".idx")]
    if (
        not isinstance(value, dict)
        or value.get("version") != VERSION
        or value.get("pack") != f"{ALGORITHM}:{hex_}"
        or not isinstance(value.get("size"), int)
        or not isinstance(value.get("objects"), list)
    ):
        return None
    return _entries(value["objects"], value["size"])


def _entries(rows: list[object], size: int) -> list[tuple[Oid, int, int]] | None:
    found = []
    well_formed = _ID.fullmatch
    for row in rows:
        if not (isinstance(row, list) and len(row) == 3):
            return None
        hex_, offset, length = row
        if not (isinstance(hex_, str) and well_formed(hex_)):
            return None
        if not (isinstance(offset, int) and isinstance(length, int)):
            return None
        if offset < 0 or length < 0 or offset + length > size:
            return None
        found.append((Oid(hex_), offset, length))
    return found


def is_pack_key(key: str) -> bool:
    """Whether ``key`` names a pack (``packs/ab/<64 hex>.pack``)."""
    parts = key.split("/")
    name = parts[-1]
    return (
        len(parts) == 3
        and parts[0] == FOLDER
        and name.endswith(".pack")
        and len(name) == 64 + 5
        and set(name[:64]) <= _HEX
        and parts[1] == name[:2]
    )


def read_pack_map(backend: Backend, keys: Iterable[str], jobs: int) -> PackMap:
    """The map of the packs among ``keys`` (a listing of `FOLDER`) that have an index.

    Raises `StorageError` when the remote fails; a missing or damaged index is not
    an error here (see the module docstring).
    """
    listed = set(keys)
    packs = sorted(k for k in listed if is_pack_key(k) and index_key(k) in listed)
    found = PackMap(packs=set(packs))
    by_index = {index_key(k): k for k in packs}
    for key, outcome in _fetch(backend, list(by_index), jobs):
        if isinstance(outcome, NotFoundError):
            continue  # removed since the listing (remote gc): its pack is gone too
        if isinstance(outcome, Failure):
            raise outcome
        entries = outcome if isinstance(outcome, list) else parse_index(outcome, key)
        if entries is None:
            found.damaged.append(key)
            continue
        pack = by_index[key]
        for oid, offset, size in entries:
            found.objects.setdefault(oid, Location(pack, offset, size))
    found.damaged.sort()
    return found


Entries = list[tuple[Oid, int, int]]


def _fetch(
    backend: Backend, keys: list[str], jobs: int
) -> Iterator[tuple[str, Entries | bytes | Failure]]:
    """Each index: its entries from a local copy when there is one, else its bytes from the remote.

    Indexes never change, so a copy read once is kept beside the remote's record of
    objects (`gitexp.storage.known`) and a later push or pull asks only for new ones;
    copies of indexes no longer listed are dropped.
    """
    folder = _copies(backend)
    held: dict[str, Entries] = {}
    if folder is not None:
        held = _read_copies(folder, keys)
    yield from held.items()
    rest = [key for key in keys if key not in held]
    if not rest:
        return
    with contextlib.closing(backend.get_many(rest, jobs)) as outcomes:  # type: ignore[type-var]
        for key, outcome in outcomes:
            if folder is not None and isinstance(outcome, bytes):
                _keep_copy(folder, key, outcome)
            yield key, outcome


def keep_index(backend: Backend, key: str, data: bytes) -> None:
    """Keep a local copy of an index just stored (see `_fetch`), if records are kept."""
    folder = _copies(backend)
    if folder is not None:
        _keep_copy(folder, key, data)


def _copies(backend: Backend) -> Path | None:
    from gitexp.storage.known import record_of

    path = record_of(backend).path
    return None if path is None else path.with_suffix(".idx")


def _read_copies(folder: Path, keys: list[str]) -> dict[str, Entries]:
    """The entries of each good local copy of the indexes ``keys`` (a damaged one is skipped)."""
    wanted = {key.rsplit("/", 1)[-1]: key for key in keys}
    held: dict[str, Entries] = {}
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            key = wanted.get(entry.name)
            if key is None:
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)  # its pack is gone from the remote
                continue
            parsed = parse_index(Path(entry.path).read_bytes(), key)
            if parsed is not None:
                held[key] = parsed
    return held


def _keep_copy(folder: Path, key: str, data: bytes) -> None:
    """Keep a copy of a good index (failing to is no error: it is only a copy)."""
    if parse_index(data, key) is None:
        return
    name = key.rsplit("/", 1)[-1]
    tmp = folder / f".tmp-{os.getpid()}-{name}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(data)
        os.replace(tmp, folder / name)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


def list_packs(backend: Backend) -> list[str]:
    """Every key under `FOLDER` (one listing)."""
    return list(backend.list(FOLDER))
