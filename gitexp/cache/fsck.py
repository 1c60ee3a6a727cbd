"""Checking every cache object against its name, in parallel.

An object whose bytes hash to something else is corrupt: it is moved aside (into
``<cache>/corrupt/``) so nothing uses it again, and a later pull fetches a good copy.
Each object that checks out is recorded in the stat index as verified.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.cache.objects import BUFFER, ObjectStore
from gitexp.core.hashing import Hasher, Oid


@dataclass
class Check:
    """What checking the cache found."""

    checked: int = 0
    corrupt: list[tuple[Oid, Path]] = field(default_factory=list)
    """Each corrupt object and where it was moved."""


def _rehash(path: Path) -> tuple[Oid | None, os.stat_result | None]:
    hasher = Hasher()
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            while chunk := handle.read(BUFFER):
                hasher.update(chunk)
    except FileNotFoundError:
        return None, None
    return hasher.oid, info


def check_objects(
    store: ObjectStore,
    oids: Iterable[Oid] | None = None,
    *,
    jobs: int | None = None,
    on_object: Callable[[Oid], None] | None = None,
) -> Check:
    """Re-hash ``oids`` (default: every object); corrupt ones are moved aside."""
    todo = list(store.oids() if oids is None else oids)
    result = Check()
    workers = jobs or min(8, (os.cpu_count() or 1) * 2)
    with ThreadPoolExecutor(workers) as pool:
        for oid, (found, info) in zip(
            todo, pool.map(_rehash, (store.path(o) for o in todo)), strict=True
        ):
            if found is None or info is None:
                continue
            result.checked += 1
            if found != oid:
                result.corrupt.append((oid, store.move_aside(oid)))
            elif store.index is not None:
                store.index.record_object(oid.hex, info)
            if on_object is not None:
                on_object(oid)
    return result
