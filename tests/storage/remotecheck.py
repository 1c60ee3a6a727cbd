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
