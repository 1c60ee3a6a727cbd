"""Downloading objects the cache lacks, each verified before it enters the cache.

Small objects are hashed in memory and, if they match, written into the cache in one
write; big ones are downloaded to a temporary file in the cache's own temporary
folder and hashed there; only a match is made read-only and renamed into place, so a
killed pull leaves no partial or unchecked object visible (see `gitexp.storage.transfer`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from gitexp.core.hashing import Oid
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, Failure, bounded
from gitexp.storage.layout import LOOSE, PACKED
from gitexp.storage.packedpull import pull_packed
from gitexp.storage.transfer import (
    BIG_JOBS,
    SMALL,
    LocalObjects,
    Meter,
    ProgressFn,
    TransferResult,
    closing,
    hash_file,
    key_of,
    moved,
    split_by_size,
)


def pull(
    objects: LocalObjects,
    backend: Backend,
    oids: Iterable[Oid],
    *,
    tmp_dir: Path,
    jobs: int | None = None,
    sizes: Mapping[Oid, int] | None = None,
    progress: ProgressFn | None = None,
    layout: int = LOOSE,
) -> TransferResult:
    """Download every object of ``oids`` that the cache lacks, verifying each.

    Objects the remote lacks go to ``missing`` and objects whose bytes do not match
    their hash go to ``corrupt``: neither enters the cache. Objects of unknown size
    (not in ``sizes``) move as files. On a `PACKED` remote, objects in its packs
    come out of them (`gitexp.storage.unpacking`) and the rest are read loose; the
    damaged packs and indexes met go to ``damaged``. Raises `StorageError` when the
    remote fails (after retries); what was verified and stored stays.
    """
    jobs = jobs or backend.default_jobs
    wanted = set(oids)
    todo = sorted(_not_cached(objects, wanted))
    result = TransferResult(present=len(wanted) - len(todo))
    sized = dict(sizes or {})
    meter = Meter(progress, len(todo), sum(sized.get(o, 0) for o in todo))
    if layout == PACKED and todo:
        todo = pull_packed(objects, backend, todo, tmp_dir, jobs, meter, result, sized)
    small, big = split_by_size(todo, lambda o: sized.get(o, SMALL + 1))
    _download_small(objects, backend, small, jobs, meter, result)
    _download_big(objects, backend, big, tmp_dir, jobs, meter, result, sized)
    result.transferred.sort()
    result.missing.sort()
    result.corrupt.sort()
    return result


def _download_small(
    objects: LocalObjects,
    backend: Backend,
    oids: list[Oid],
    jobs: int,
    meter: Meter,
    result: TransferResult,
) -> None:
    if not oids:
        return
    from blake3 import blake3

    by_key = {oid.relpath: oid for oid in oids}
    with closing(backend.get_many(list(by_key), jobs)) as outcomes:
        for key, outcome in outcomes:
            oid = by_key[key]
            if isinstance(outcome, NotFoundError):
                result.missing.append(oid)
            elif isinstance(outcome, Failure):
                raise outcome
            elif blake3(outcome).hexdigest() != oid.hex:
                result.corrupt.append(oid)
            else:
                objects.put_verified(oid, outcome)
                moved(result, meter, oid, len(outcome))
                continue
            meter.step(0)


def _download_big(
    objects: LocalObjects,
    backend: Backend,
    oids: list[Oid],
    tmp_dir: Path,
    jobs: int,
    meter: Meter,
    result: TransferResult,
    sizes: Mapping[Oid, int],
) -> None:
    if not oids:
        return
    tmp_dir.mkdir(parents=True, exist_ok=True)

    def download(oid: Oid) -> tuple[str, tuple[Oid, str]]:
        fd, name = tempfile.mkstemp(prefix=".tmp-pull-", dir=tmp_dir)
        os.close(fd)
        try:
            backend.get(oid.relpath, Path(name))
            if hash_file(name) != oid.hex:
                return oid.relpath, (oid, "corrupt")
            objects.adopt_verified(name, oid)
            return oid.relpath, (oid, "stored")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)

    by_key = {oid.relpath: oid for oid in oids}
    with closing(bounded(download, oids, min(jobs, BIG_JOBS), key=key_of)) as outcomes:
        for key, outcome in outcomes:
            if isinstance(outcome, NotFoundError):
                result.missing.append(by_key[key])
            elif isinstance(outcome, Failure):
                raise outcome
            elif outcome[1] == "corrupt":
                result.corrupt.append(outcome[0])
            else:
                moved(result, meter, outcome[0], sizes.get(outcome[0], 0))
                continue
            meter.step(0)


def _not_cached(objects: LocalObjects, oids: Iterable[Oid]) -> list[Oid]:
    """Those of ``oids`` the cache lacks (a stat each, without building path objects)."""
    root = f"{objects.root}/"
    absent = []
    for oid in oids:
        try:
            os.stat(root + oid.relpath)
        except (FileNotFoundError, NotADirectoryError):
            absent.append(oid)
    return absent
