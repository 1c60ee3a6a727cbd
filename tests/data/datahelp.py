"""Helpers shared by the data tests: making data, reading pointers and the cache."""

from __future__ import annotations

import os
from pathlib import Path

from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import hash_bytes
from gitexp.core.pointer import Pointer, parse_pointer


def make_tree(root: Path, count: int = 5, prefix: str = "data") -> dict[str, bytes]:
    """A folder of small files in two levels; returns path → bytes."""
    files = {}
    for number in range(count):
        rel = f"{prefix}/part{number % 2}/f{number}.csv"
        content = f"row,{number}\n".encode() * (number + 1)
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
        files[rel] = content
    return files


def pointer(root: Path, data: str) -> Pointer:
    return parse_pointer((root / f"{data}.gitexp").read_bytes(), data)


def store(root: Path) -> ObjectStore:
    return ObjectStore(root / ".git" / "gitexp" / "cache")


def cache_is_sound(root: Path) -> list[str]:
    """Every object in the cache hashes to its name (no partial object is visible)."""
    objects = store(root)
    return [str(o) for o in objects.oids() if hash_bytes(objects.path(o).read_bytes()) != o]


def age(path: Path, seconds: float = 100) -> None:
    """Make files look written a while ago (so the stat index trusts them)."""
    stamp = os.stat(path).st_mtime - seconds
    for dirpath, _dirs, names in os.walk(path) if path.is_dir() else [("", [], [str(path)])]:
        for name in names:
            full = os.path.join(dirpath, name)
            os.utime(full, (stamp, stamp), follow_symlinks=False)


def leftovers(root: Path) -> list[str]:
    """Temporary files anywhere in the cache."""
    return [p.name for p in (root / ".git" / "gitexp" / "cache").rglob(".tmp-*")]
