"""Removing cache objects that nothing needs any more.

What to keep is the caller's business (it knows the refs and the workspace); this
module only sweeps. Objects whose file was written (or re-stored) within the grace
period are kept whatever the caller says, so a sweep never races an ``add`` that has
stored objects but not yet written their pointer. Temporary files that killed
processes left behind are removed once they are older than the grace period.
Compacted objects go the same way, and with them every chunk no list names.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Set
from dataclasses import dataclass, field

from gitexp.cache.compact import sweep_compacted
from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid

GRACE_SECONDS = 3600.0


@dataclass
class Sweep:
    """What a sweep removed (or, in a dry run, would remove)."""

    removed: list[Oid] = field(default_factory=list)
    freed_bytes: int = 0
    kept: int = 0
    recent: int = 0
    tmp_removed: int = 0


def sweep(
    store: ObjectStore,
    keep: Set[Oid],
    *,
    dry_run: bool = False,
    now: bool = False,
    clock: Callable[[], float] = time.time,
) -> Sweep:
    """Remove every object not in ``keep`` (unless written in the last hour, or ``now``)."""
    result = Sweep()
    limit = clock() - GRACE_SECONDS
    root = f"{store.root}/"
    for oid in store.oids():
        if oid in keep:
            result.kept += 1
            continue
        try:
            info = os.stat(root + oid.relpath)
        except FileNotFoundError:
            continue
        if not now and info.st_mtime >= limit:
            result.recent += 1
            continue
        result.removed.append(oid)
        result.freed_bytes += info.st_size
    compacted = sweep_compacted(
        store, keep, set(result.removed), dry_run=dry_run, now=now, limit=limit
    )
    result.removed += compacted.removed
    result.freed_bytes += compacted.freed_bytes
    result.kept += compacted.kept
    result.recent += compacted.recent
    if not dry_run:
        store.remove_many(result.removed)  # the compacted ones have no whole copy: a no-op
        for path in store.stale_tmp_files(limit):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                result.tmp_removed += 1
    return result
