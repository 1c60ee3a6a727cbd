"""Tracked data between the cache and a storage remote, verified both ways.

Push order keeps the remote consistent: file objects first, then the directory
manifests listing them, so a manifest there never lists a missing file. Pull order is
the reverse: manifests the cache lacks, then the files they list, each verified before
it enters the cache. Both are idempotent: run again after success, they move nothing.
Which pointers move is the caller's choice (the current commit's, the commits a git
push sends, or experiments'); this module knows nothing of refs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from gitexp.cache.chunkstore import SMALLEST
from gitexp.cache.locks import storing
from gitexp.cache.objects import TMP_DIR, ObjectStore
from gitexp.core.hashing import Oid
from gitexp.core.manifest import parse_manifest
from gitexp.core.pointer import Pointer
from gitexp.data.compaction import absent_from, compact_again, pushable_list
from gitexp.data.pointers import pointers_at, workspace_pointers
from gitexp.data.storage import open_storage
from gitexp.errors import GitexpError, IntegrityError, NotFoundError
from gitexp.project import Project
from gitexp.storage.backend import Backend, ReadOnlyError
from gitexp.storage.chunks import CHUNKED
from gitexp.storage.download import pull as pull_objects
from gitexp.storage.layout import PACKED
from gitexp.storage.transfer import Progress, TransferResult
from gitexp.storage.upload import push as push_objects

ProgressFn = Callable[[str, Progress], None]
"""Called with a phase (``"upload"``, ``"download"``) and where the transfer stands."""
CURRENT = "the current commit"


@dataclass(frozen=True)
class Storage:
    """Which storage remote (None: the default), transfers at once, credentials, progress.

    ``env`` holds the storage variables the caller was given (credentials and
    settings such as ``AWS_ACCESS_KEY_ID``); they are used, never stored or shown.
    """

    remote: str | None = None
    jobs: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    progress: ProgressFn | None = None


@dataclass
class DataResult:
    """What moved: the objects, the storage remote used (None: none was needed).

    ``checkout`` (pull): data paths of the current commit whose content is now in the
    cache, for the workspace checkout.
    """

    objects: TransferResult = field(default_factory=TransferResult)
    storage: str | None = None
    checkout: dict[str, Pointer] = field(default_factory=dict)


@dataclass
class Wants:
    """The pointers to move, keyed by owner and path, and who first needs each object.

    Owners name who needs the data in messages about what is missing.
    """

    pointers: dict[str, Pointer] = field(default_factory=dict)
    owners: dict[Oid, tuple[str, str]] = field(default_factory=dict)

    def add(self, owner: str, pointers: Mapping[str, Pointer]) -> None:
        """Want ``pointers`` for ``owner``; the first owner of an object is the one named."""
        for path, pointer in pointers.items():
            self.pointers[f"{owner}\0{path}"] = pointer
            self.owners.setdefault(pointer.oid, (owner, path))


def current_pointers(project: Project) -> dict[str, Pointer]:
    """The current commit's pointers, updated by the pointer files in the workspace."""
    git = project.git
    pointers = {} if git.repo.head_is_unborn else pointers_at(git, git.head_commit().tree)
    pointers.update(workspace_pointers(project))
    return pointers


def _describe_objects(oids: Iterable[Oid], wants: Wants, store: ObjectStore) -> str:
    items = list(oids)
    owners = dict(wants.owners)
    for pointer in wants.pointers.values():
        if pointer.kind == "dir" and store.has(pointer.oid):
            owner = owners.get(pointer.oid)
            for entry in parse_manifest(store.read_bytes(pointer.oid), str(pointer.oid)):
                if owner:
                    owners.setdefault(entry.oid, (owner[0], f"{owner[1]}/{entry.path}"))
    shown = []
    for oid in items[:5]:
        name, path = owners.get(oid, ("?", "?"))
        who = name if name == CURRENT or " " in name else f"experiment '{name}'"
        shown.append(f"{path} ({oid}, needed by {who})")
    more = f" and {len(items) - 5} more" if len(items) > 5 else ""
    return "; ".join(shown) + more


def _backend(project: Project, storage: Storage, *, writing: bool) -> tuple[Backend, int]:
    return open_storage(project, storage.remote, storage.env, writing=writing)


@dataclass
class _Needs:
    """The objects some pointers need: all of them, the sizes known, manifests by kind."""

    objects: set[Oid] = field(default_factory=set)
    sizes: dict[Oid, int] = field(default_factory=dict)
    manifests: set[Oid] = field(default_factory=set)
    absent: list[Oid] = field(default_factory=list)
    """Manifests the cache lacks: the files they list are not known yet."""


def _needs(store: ObjectStore, pointers: Mapping[str, Pointer]) -> _Needs:
    """Expand pointers into objects, reading each directory manifest once."""
    found = _Needs()
    for pointer in pointers.values():
        found.objects.add(pointer.oid)
        if pointer.kind != "dir":
            found.sizes[pointer.oid] = pointer.size
            continue
        if pointer.oid in found.manifests:
            continue
        found.manifests.add(pointer.oid)
        try:
            entries = parse_manifest(store.read_bytes(pointer.oid), str(pointer.oid))
        except NotFoundError:
            found.absent.append(pointer.oid)
            continue
        for entry in entries:
            found.objects.add(entry.oid)
            found.sizes[entry.oid] = entry.size
    return found


def _progress(storage: Storage, phase: str) -> Callable[[Progress], None] | None:
    report = storage.progress
    return (lambda p: report(phase, p)) if report else None


def _merge(total: TransferResult, part: TransferResult) -> None:
    total.transferred += part.transferred
    total.present += part.present
    total.bytes += part.bytes
    total.missing += part.missing
    total.corrupt += part.corrupt
    total.damaged += [key for key in part.damaged if key not in total.damaged]


def push_data(project: Project, storage: Storage, wants: Wants, result: DataResult) -> None:
    """Files first, then the manifests listing them: a manifest never names a missing file."""
    store = project.store()
    needs = _needs(store, wants.pointers)
    backend, layout = _backend(project, storage, writing=True)
    result.storage = backend.describe()
    if backend.read_only:
        backend.close()
        raise ReadOnlyError(
            f"storage remote {backend.describe()} is read-only: nothing can be pushed to it",
            hint="push to a directory, s3://, gs://, az:// or ssh:// remote (-r NAME)",
        )
    big = [oid for oid in needs.objects if needs.sizes.get(oid, SMALLEST) >= SMALLEST]
    compacted = [oid for oid in big if not store.has_whole(oid) and store.is_compacted(oid)]
    restored: list[Oid] = []
    try:
        jobs = storage.jobs or project.local.jobs or backend.default_jobs
        # to a layout-2 remote as the chunks they are kept as; else from whole files,
        # then dropped again
        listed = partial(pushable_list, store) if layout == PACKED else None
        whole = [
            oid
            for oid in compacted
            if listed is None or needs.sizes.get(oid, 0) < CHUNKED or listed(oid) is None
        ]
        restored = store.restore_many(absent_from(backend, layout, whole, jobs))
        pushed = push_objects(
            store,
            backend,
            [needs.objects - needs.manifests, needs.manifests],
            jobs=storage.jobs or project.local.jobs,
            sizes=needs.sizes,
            always_check=needs.manifests,
            progress=_progress(storage, "upload"),
            layout=layout,
            intact=_intact(project, needs),
            listed=listed,
        )
    finally:
        backend.close()
    compact_again(project, store, restored)
    _merge(result.objects, pushed)
    files = [oid for oid in pushed.missing if oid not in needs.manifests]
    if files:
        raise NotFoundError(
            f"{len(files)} object(s) are neither in the cache nor on "
            f"{backend.describe()}: {_describe_objects(files, wants, store)}",
            hint="push from the clone that made them, or rerun the experiment",
        )
    if pushed.missing:
        raise NotFoundError(
            f"{len(pushed.missing)} directory manifest(s) are neither in the cache nor on "
            f"{backend.describe()}: {_describe_objects(pushed.missing, wants, store)}",
            hint="push from the clone that made them",
        )


def _intact(project: Project, needs: _Needs) -> dict[Oid, tuple[int, int, int]]:
    """The stat index's stamps of the big files to push whose bytes were checked.

    Only files that would be chunked: a push hashes every other object as it reads it.
    """
    big = [oid.hex for oid in needs.objects if needs.sizes.get(oid, 0) >= CHUNKED]
    if not big:
        return {}
    index = project.stat_index()
    try:
        return {Oid(hex_): stamp for hex_, stamp in index.verified_objects(big).items()}
    finally:
        index.close()


def push_pointers(
    project: Project, storage: Storage, pointers: Mapping[str, Pointer], owner: str
) -> DataResult:
    """Upload to the storage remote the objects ``pointers`` need (only those); no ref moves.

    ``owner`` names who needs them in messages (``"the pushed commits"``: it holds a
    space, so it is not taken for an experiment's name). Raises `NotFoundError` when an
    object is neither in the cache nor on the storage remote, `StorageError` when the
    remote fails.
    """
    result = DataResult()
    wants = Wants()
    wants.add(owner, pointers)
    if pointers:
        push_data(project, storage, wants, result)
    return result


def pull_pointers(
    project: Project, storage: Storage, pointers: Mapping[str, Pointer], owner: str
) -> DataResult:
    """Fetch into the cache, verified, the objects ``pointers`` need; no ref moves.

    Raises `NotFoundError` naming each object the remote lacks and who needs it,
    `IntegrityError` naming each whose bytes do not match its hash; what did arrive
    stays in the cache.
    """
    result = DataResult()
    wants = Wants()
    wants.add(owner, pointers)
    if pointers:
        pull_data(project, storage, wants, result)
    return result


def pull_data(project: Project, storage: Storage, wants: Wants, result: DataResult) -> None:
    """Manifests the cache lacks first, then every file they and the pointers name.

    The cache records each object it stores as verified (in the stat index), so the
    checkout that follows copies them without hashing them again. The store lock is
    held meanwhile, so ``gc`` keeps what arrives even before anything points to it.
    """
    index = project.stat_index()
    store = project.store(index)
    try:
        with storing(store.root):
            _fetch_data(project, storage, wants, result, store)
    finally:
        index.close()
    _raise_failures(result.objects, wants, store, result.storage or "")


def _fetch_data(
    project: Project, storage: Storage, wants: Wants, result: DataResult, store: ObjectStore
) -> None:
    backend, layout = _backend(project, storage, writing=False)
    result.storage = backend.describe()
    jobs = storage.jobs or project.local.jobs

    def fetch(oids: Iterable[Oid], sizes: Mapping[Oid, int] | None = None) -> None:
        fetched = pull_objects(
            store,
            backend,
            oids,
            tmp_dir=store.root / TMP_DIR,
            jobs=jobs,
            sizes=sizes,
            progress=_progress(storage, "download"),
            layout=layout,
        )
        _merge(result.objects, fetched)

    try:
        first = _needs(store, wants.pointers)
        fetch(first.absent)
        needs = _needs(store, wants.pointers) if first.absent else first
        wanted = needs.objects - set(first.absent)
        compacted = {
            oid
            for oid in wanted
            if needs.sizes.get(oid, SMALLEST) >= SMALLEST and store.is_compacted(oid)
        }
        fetch(wanted - compacted, needs.sizes)  # a compacted file is here, as chunks
    finally:
        backend.close()


def _raise_failures(objects: TransferResult, wants: Wants, store: ObjectStore, where: str) -> None:
    error: GitexpError | None = None
    damaged = f" (damaged on the remote: {', '.join(objects.damaged)})" if objects.damaged else ""
    if objects.corrupt:
        error = IntegrityError(
            f"{len(objects.corrupt)} object(s) on {where} do not match their hash and were "
            f"refused: {_describe_objects(objects.corrupt, wants, store)}{damaged}",
            hint="the remote copy is damaged: push it again from a clone that has it "
            "(nothing was checked out)",
        )
    elif objects.missing:
        error = (IntegrityError if damaged else NotFoundError)(
            f"{len(objects.missing)} object(s) are missing on {where}: "
            f"{_describe_objects(objects.missing, wants, store)}{damaged}",
            hint="push them from the clone that has them (`gitexp push`), then pull again",
        )
    if error is not None:
        raise error


def in_cache(project: Project, pointers: Mapping[str, Pointer]) -> dict[str, Pointer]:
    """The pointers whose object is in the cache (what a checkout can now write)."""
    store = project.store()
    return {path: pointer for path, pointer in pointers.items() if store.has(pointer.oid)}
