"""Moving sets of objects between the local cache and a storage remote.

Both directions are idempotent: push uploads only what the remote lacks, pull
downloads only what the cache lacks, so running either again after success moves
nothing. What the remote lacks is found in few round trips: a listing per object
folder (``blake3/ab/``) when there are many objects, existence checks when there are
few. Transfers run ``jobs`` at a time.

Every downloaded object is hashed before it enters the cache: it is written to a
temporary file in the cache's own temporary folder, checked, made read-only and
renamed into place, so a killed pull leaves no partial or unchecked object visible.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Collection, Iterable, Mapping
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gitexp.core.hashing import ALGORITHM, Oid, oid_from_relpath
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend

EXISTS_LIMIT = 64
"""Up to this many objects, ask the remote about each; above, list object folders."""
_SMALL = 1 << 20


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a transfer stands: objects and bytes done out of the totals."""

    done: int
    total: int
    bytes_done: int
    bytes_total: int


ProgressFn = Callable[[Progress], None]


class LocalObjects(Protocol):
    """What a transfer needs of the local cache (`gitexp.cache.objects.ObjectStore` fits)."""

    def path(self, oid: Oid) -> Path:
        """Where ``oid`` lives in the cache."""

    def has(self, oid: Oid) -> bool:
        """Whether ``oid`` is in the cache."""


@dataclass
class TransferResult:
    """What a push or pull did.

    ``transferred``: objects moved now; ``present``: already on the receiving side;
    ``missing``: not on the sending side; ``corrupt``: refused because their bytes do
    not match their hash (pull only).
    """

    transferred: list[Oid] = field(default_factory=list)
    present: int = 0
    bytes: int = 0
    missing: list[Oid] = field(default_factory=list)
    corrupt: list[Oid] = field(default_factory=list)


def missing_on_remote(backend: Backend, oids: Collection[Oid], jobs: int) -> set[Oid]:
    """The objects of ``oids`` the remote does not have, in few round trips."""
    if not oids:
        return set()
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        if len(oids) <= EXISTS_LIMIT:
            answers = pool.map(lambda o: (o, backend.exists(o.relpath)), oids)
            return {oid for oid, there in answers if not there}
        folders = sorted({oid.hex[:2] for oid in oids})
        present: set[Oid] = set()
        for keys in pool.map(lambda f: list(backend.list(f"{ALGORITHM}/{f}")), folders):
            present.update(o for o in map(oid_from_relpath, keys) if o is not None)
    return set(oids) - present


def push(
    objects: LocalObjects,
    backend: Backend,
    oids: Iterable[Oid],
    *,
    jobs: int | None = None,
    progress: ProgressFn | None = None,
) -> TransferResult:
    """Upload every object of ``oids`` that the remote lacks.

    Objects the local cache lacks are reported in ``missing`` (and not uploaded);
    the caller decides whether that is an error. Raises `StorageError` when the
    remote fails (after the backend's retries); what was uploaded stays uploaded.
    """
    jobs = jobs or backend.default_jobs
    wanted = set(oids)
    result = TransferResult()
    todo = missing_on_remote(backend, wanted, jobs)
    result.present = len(wanted) - len(todo)
    result.missing = sorted(o for o in todo if not objects.has(o))
    todo -= set(result.missing)
    sizes = {o: objects.path(o).stat().st_size for o in todo}

    def upload(oid: Oid) -> bool:
        backend.put(objects.path(oid), oid.relpath)
        return True

    _run(sorted(todo), upload, sizes, jobs, progress, result)
    return result


def pull(
    objects: LocalObjects,
    backend: Backend,
    oids: Iterable[Oid],
    *,
    tmp_dir: Path,
    jobs: int | None = None,
    sizes: Mapping[Oid, int] | None = None,
    progress: ProgressFn | None = None,
) -> TransferResult:
    """Download every object of ``oids`` that the cache lacks, verifying each.

    Objects the remote lacks go to ``missing`` and objects whose bytes do not match
    their hash go to ``corrupt``: neither enters the cache. Raises `StorageError`
    when the remote fails (after retries); what was verified and stored stays.
    """
    jobs = jobs or backend.default_jobs
    wanted = set(oids)
    todo = sorted(o for o in wanted if not objects.has(o))
    result = TransferResult(present=len(wanted) - len(todo))
    tmp_dir.mkdir(parents=True, exist_ok=True)
    made: set[Path] = set()
    lock = threading.Lock()

    def download(oid: Oid) -> bool:
        fd, name = tempfile.mkstemp(prefix="pull-", dir=tmp_dir)
        os.close(fd)
        tmp = Path(name)
        try:
            try:
                backend.get(oid.relpath, tmp)
            except NotFoundError:
                with lock:
                    result.missing.append(oid)
                return False
            if _hash_file(tmp) != oid:
                with lock:
                    result.corrupt.append(oid)
                return False
            os.chmod(tmp, 0o444)
            final = objects.path(oid)
            if final.parent not in made:
                final.parent.mkdir(parents=True, exist_ok=True)
                with lock:
                    made.add(final.parent)
            os.replace(tmp, final)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    _run(todo, download, dict(sizes or {}), jobs, progress, result)
    result.missing.sort()
    result.corrupt.sort()
    return result


def _hash_file(path: Path) -> Oid:
    from blake3 import blake3

    size = path.stat().st_size
    if size < _SMALL:
        return Oid(blake3(path.read_bytes()).hexdigest())
    hasher = blake3(max_threads=blake3.AUTO)
    hasher.update_mmap(path)
    return Oid(hasher.hexdigest())


def _run(
    todo: list[Oid],
    work: Callable[[Oid], bool],
    sizes: Mapping[Oid, int],
    jobs: int,
    progress: ProgressFn | None,
    result: TransferResult,
) -> None:
    """Run ``work`` on each object, ``jobs`` at a time; the first error stops the rest."""
    total_bytes = sum(sizes.get(o, 0) for o in todo)
    state = {"done": 0, "bytes": 0}
    lock = threading.Lock()
    stop = threading.Event()
    if progress:
        progress(Progress(0, len(todo), 0, total_bytes))

    def one(oid: Oid) -> None:
        if stop.is_set():
            return
        moved = work(oid)
        with lock:
            state["done"] += 1
            state["bytes"] += sizes.get(oid, 0)
            if moved:
                result.transferred.append(oid)
                result.bytes += sizes.get(oid, 0)
            snapshot = Progress(state["done"], len(todo), state["bytes"], total_bytes)
        if progress:
            progress(snapshot)

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        futures: list[Future[None]] = [pool.submit(one, oid) for oid in todo]
        done, _pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in done:
            error = future.exception()
            if error is not None:
                stop.set()
                raise error
    except BaseException:
        stop.set()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    result.transferred.sort()
