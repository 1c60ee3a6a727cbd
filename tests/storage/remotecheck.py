"""What a reader sees on a local layout-2 remote: every listed object whole and verified."""

from __future__ import annotations

import json
from pathlib import Path

from gitexp.core.hashing import hash_bytes, oid_from_relpath
from gitexp.storage.backend import TMP_MARK


def readable_objects(storage: Path) -> int:
    """How many objects a reader finds; fails on any it would find damaged."""
    count = 0
    for index in (storage / "packs").glob("*/*.idx"):
        pack = index.with_suffix(".pack").read_bytes()  # an index is never there without it
        assert hash_bytes(pack).hex == index.stem
        value = json.loads(index.read_bytes())
        for hex_, offset, size in value["objects"]:
            assert hash_bytes(pack[offset : offset + size]).hex == hex_
            count += 1
    for path in (storage / "blake3").rglob("*"):
        if path.is_file() and TMP_MARK not in path.name:
            oid = oid_from_relpath(path.relative_to(storage).as_posix())
            assert oid is not None and hash_bytes(path.read_bytes()) == oid, path
            count += 1
    return count


def remote_faults(storage: Path) -> list[tuple[str, str]]:
    """What ``gitexp fsck --remote`` would name on the folder remote ``storage`` (unfinished packs are no fault)."""
    from gitexp.storage.local import LocalBackend
    from gitexp.storage.verify import verify_remote

    return verify_remote(LocalBackend(storage), 2).faults


def held(storage: Path) -> set[str]:
    """The hex id of every object a reader can get from ``storage``: packed, loose or chunked."""
    from gitexp.storage.chunks import file_of
    from gitexp.storage.local import LocalBackend
    from gitexp.storage.packs import list_packs, read_pack_map

    backend = LocalBackend(storage)
    found = {oid.hex for oid in read_pack_map(backend, list_packs(backend), 1).objects}
    for path in storage.rglob("*"):
        if not path.is_file() or TMP_MARK in path.name:
            continue
        key = path.relative_to(storage).as_posix()
        oid = oid_from_relpath(key) or file_of(key)
        if oid is not None:
            found.add(oid.hex)
    return found


def cached(root: Path) -> set[str]:
    """The hex id of every object in the cache of the project at ``root``."""
    cache = root / ".git" / "gitexp" / "cache"
    found = set()
    for path in (cache / "blake3").rglob("*"):
        oid = oid_from_relpath(path.relative_to(cache).as_posix())
        if path.is_file() and oid is not None:
            found.add(oid.hex)
    return found
