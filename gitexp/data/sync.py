"""Push and pull: experiments' refs through a git remote, their data through storage.

Push order keeps every remote consistent: file objects first, then directory
manifests, then the refs, so a ref on the git remote never names data the storage
remote lacks and a manifest there never lists a missing file. Pull order is the
reverse: refs (compare-and-swap, nothing overwritten unless forced), then manifests,
then the files they list, each verified before it enters the cache. Both are
idempotent: run again after success, they move nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from gitexp.cache.locks import storing
from gitexp.cache.objects import TMP_DIR, ObjectStore
from gitexp.core.hashing import Oid
from gitexp.core.manifest import parse_manifest
from gitexp.core.names import EXPERIMENT_REF_PREFIX, ExperimentName, name_from_ref
from gitexp.core.pointer import Pointer
from gitexp.data.pointers import pointers_at, workspace_pointers
from gitexp.data.targets import check_remotes, storage_config
from gitexp.errors import ConflictError, GitexpError, IntegrityError, NotFoundError
from gitexp.git import transport
from gitexp.git.refs import RefUpdate, list_refs, read_ref, update_refs
from gitexp.git.repo import GitRepo
from gitexp.project import Project
from gitexp.storage.backend import Backend, ReadOnlyError
from gitexp.storage.download import pull as pull_objects
from gitexp.storage.known import KnownObjects
from gitexp.storage.open import open_backend
from gitexp.storage.transfer import Progress, TransferResult
from gitexp.storage.upload import push as push_objects

ProgressFn = Callable[[str, Progress], None]
"""Called with a phase (``"upload"``, ``"download"``) and where the transfer stands."""
CURRENT = "the current commit"


@dataclass
class SyncRequest:
    """What to move: the git remote, which experiments, which storage remote, how."""

    git_remote: str | None = None
    """None: ``origin``, needed only when refs move (a data-only push needs no remote)."""
    names: Sequence[str] = ()
    everything: bool = False
    storage: str | None = None
    jobs: int | None = None
    force: bool = False
    data: bool = True
    env: Mapping[str, str] = field(default_factory=dict)
    progress: ProgressFn | None = None

    @property
    def remote(self) -> str:
        """The git remote refs move through."""
        return self.git_remote or "origin"

    @property
    def with_refs(self) -> bool:
        """Whether experiments' refs move too (names given, or all)."""
        return bool(self.names) or self.everything


@dataclass
class SyncResult:
    """What push or pull did: refs moved or already equal, objects moved, the remote used.

    ``checkout`` (pull): data paths of the current commit whose content is now in the
    cache, for the workspace checkout.
    """

    refs_moved: list[str] = field(default_factory=list)
    refs_unchanged: list[str] = field(default_factory=list)
    objects: TransferResult = field(default_factory=TransferResult)
    storage: str | None = None
    checkout: dict[str, Pointer] = field(default_factory=dict)


# -- Which pointers, and who needs them (for messages naming what is missing).


@dataclass
class _Wants:
    pointers: dict[str, Pointer] = field(default_factory=dict)
    owners: dict[Oid, tuple[str, str]] = field(default_factory=dict)

    def add(self, owner: str, pointers: Mapping[str, Pointer]) -> None:
        for path, pointer in pointers.items():
            self.pointers[f"{owner}\0{path}"] = pointer
            self.owners.setdefault(pointer.oid, (owner, path))


def _current_pointers(project: Project) -> dict[str, Pointer]:
    git = project.git
    pointers = {} if git.repo.head_is_unborn else pointers_at(git, git.head_commit().tree)
    pointers.update(workspace_pointers(project))
    return pointers


def _describe_objects(oids: Iterable[Oid], wants: _Wants, store: ObjectStore) -> str:
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


def _storage(project: Project, request: SyncRequest) -> Backend:
    return open_backend(storage_config(project, request.storage), project.root, request.env)


def _known(project: Project, backend: Backend) -> KnownObjects:
    return KnownObjects.load(project.layout.remote_objects, backend.identity())


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


def _progress(request: SyncRequest, phase: str) -> Callable[[Progress], None] | None:
    report = request.progress
    return (lambda p: report(phase, p)) if report else None


def _merge(total: TransferResult, part: TransferResult) -> None:
    total.transferred += part.transferred
    total.present += part.present
    total.bytes += part.bytes
    total.missing += part.missing
    total.corrupt += part.corrupt


# -- Push.


def push(project: Project, request: SyncRequest) -> SyncResult:
    """Upload the data the chosen experiments (or the current commit) need, then their refs.

    Raises `ConflictError` (before anything moves) when an experiment exists on the
    git remote at another commit, unless ``force``; `NotFoundError` when an object is
    neither in the cache nor on the storage remote; `StorageError`/`TransportError`
    when a remote fails. Running it again after a failure completes the push.
    """
    check_remotes(project, request.git_remote, request.storage, refs=request.with_refs)
    git = project.git
    result = SyncResult()
    wants = _Wants()
    pushes: list[transport.RefPush] = []
    if request.with_refs:
        local = _local_experiments(git, request)
        remote_refs = transport.ls_remote(git, request.remote, EXPERIMENT_REF_PREFIX)
        _check_conflicts(local, remote_refs, request, "push")
        for ref, commit in local.items():
            name = name_from_ref(ref) or ref
            if remote_refs.get(ref) == commit:
                result.refs_unchanged.append(name)
            else:
                pushes.append(transport.RefPush(ref, commit, remote_refs.get(ref)))
            wants.add(name, pointers_at(git, git.lookup_commit(commit).tree))
    else:
        wants.add(CURRENT, _current_pointers(project))
    if request.data and wants.pointers:
        _push_data(project, request, wants, result)
    transport.push_refs(git, request.remote, pushes)
    result.refs_moved = [name_from_ref(p.ref) or p.ref for p in pushes]
    return result


def _push_data(project: Project, request: SyncRequest, wants: _Wants, result: SyncResult) -> None:
    """Files first, then the manifests listing them: a manifest never names a missing file."""
    store = project.store()
    needs = _needs(store, wants.pointers)
    backend = _storage(project, request)
    result.storage = backend.describe()
    if backend.read_only:
        raise ReadOnlyError(
            f"storage remote {backend.describe()} is read-only: nothing can be pushed to it",
            hint="push to a directory, s3://, gs://, az:// or ssh:// remote (-r NAME)",
        )
    known = _known(project, backend)
    try:
        pushed = push_objects(
            store,
            backend,
            [needs.objects - needs.manifests, needs.manifests],
            jobs=request.jobs or project.local.jobs,
            sizes=needs.sizes,
            known=known,
            always_check=needs.manifests,
            progress=_progress(request, "upload"),
        )
    finally:
        known.save()
        backend.close()
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


def _local_experiments(git: GitRepo, request: SyncRequest) -> dict[str, str]:
    if request.everything:
        return list_refs(git, EXPERIMENT_REF_PREFIX)
    found: dict[str, str] = {}
    for name in request.names:
        ref = ExperimentName(name).ref
        commit = read_ref(git, ref)
        if commit is None:
            raise NotFoundError(f"experiment '{name}' does not exist", hint="see `gitexp list`")
        found[ref] = commit
    return found


def _check_conflicts(
    local: Mapping[str, str], remote: Mapping[str, str], request: SyncRequest, verb: str
) -> None:
    clash = sorted(
        name_from_ref(ref) or ref
        for ref, commit in local.items()
        if ref in remote and remote[ref] != commit
    )
    if clash and not request.force:
        shown = ", ".join(clash[:10]) + (f" and {len(clash) - 10} more" if len(clash) > 10 else "")
        where = "on" if verb == "push" else "here and on"
        raise ConflictError(
            f"experiment(s) {where} '{request.remote}' at other commits: {shown}",
            hint=f"rename one side's, or pass --force to {verb} over them; nothing was changed",
        )


def push_pointers(
    project: Project, request: SyncRequest, pointers: Mapping[str, Pointer], owner: str
) -> SyncResult:
    """Upload to the storage remote the objects ``pointers`` need (only those); no ref moves.

    ``owner`` names who needs them in messages (``"the pushed commits"``: it holds a
    space, so it is not taken for an experiment's name). Raises like `push`.
    """
    result = SyncResult()
    wants = _Wants()
    wants.add(owner, pointers)
    if pointers:
        _push_data(project, request, wants, result)
    return result


def pull_pointers(
    project: Project, request: SyncRequest, pointers: Mapping[str, Pointer], owner: str
) -> SyncResult:
    """Fetch into the cache, verified, the objects ``pointers`` need; no ref moves.

    Raises like `pull`; what did arrive stays in the cache.
    """
    result = SyncResult()
    wants = _Wants()
    wants.add(owner, pointers)
    if pointers:
        _pull_data(project, request, wants, result)
    return result


# -- Pull.


def pull(project: Project, request: SyncRequest) -> SyncResult:
    """Fetch the chosen experiments' refs (or none), then the data they need, verified.

    Raises `ConflictError` (before any local ref moves) when an experiment exists here
    at another commit, unless ``force``; `NotFoundError` naming each object the storage
    remote lacks and who needs it; `IntegrityError` naming each object whose bytes do
    not match its hash (it is not stored). Refs are moved even when data fails:
    ``show`` and ``diff`` need no data.
    """
    check_remotes(project, request.git_remote, request.storage, refs=request.with_refs)
    git = project.git
    result = SyncResult()
    wants = _Wants()
    if request.with_refs:
        commits = _pull_refs(git, request, result)
        for name, commit in commits.items():
            wants.add(name, pointers_at(git, git.lookup_commit(commit).tree))
    current = _current_pointers(project)
    if not request.with_refs:
        wants.add(CURRENT, current)
    if request.data and wants.pointers:
        _pull_data(project, request, wants, result)
    store = project.store()
    result.checkout = {p: ptr for p, ptr in current.items() if store.has(ptr.oid)}
    return result


def _pull_refs(git: GitRepo, request: SyncRequest, result: SyncResult) -> dict[str, str]:
    remote_refs = transport.ls_remote(git, request.remote, EXPERIMENT_REF_PREFIX)
    if request.everything:
        wanted = sorted(remote_refs)
    else:
        wanted = [ExperimentName(n).ref for n in request.names]
        transport.missing_refs(wanted, remote_refs, request.remote, transport.remote_names(git))
    local = {ref: read_ref(git, ref) for ref in wanted}
    _check_conflicts({r: c for r, c in local.items() if c}, remote_refs, request, "pull")
    fetch = [ref for ref in wanted if local[ref] != remote_refs[ref]]
    try:
        fetched = transport.fetch_refs(git, request.remote, fetch)
        updates = [RefUpdate(ref, fetched[ref], local[ref]) for ref in fetch]
        update_refs(git, updates, "gitexp pull")
    finally:
        transport.clear_incoming(git)
    result.refs_moved = [name_from_ref(r) or r for r in fetch]
    result.refs_unchanged = [name_from_ref(r) or r for r in wanted if r not in fetch]
    return {name_from_ref(r) or r: fetched.get(r) or remote_refs[r] for r in wanted}


def _pull_data(project: Project, request: SyncRequest, wants: _Wants, result: SyncResult) -> None:
    """Manifests the cache lacks first, then every file they and the pointers name.

    The cache records each object it stores as verified (in the stat index), so the
    checkout that follows copies them without hashing them again. The store lock is
    held meanwhile, so ``gc`` keeps what arrives even before anything points to it.
    """
    index = project.stat_index()
    store = project.store(index)
    try:
        with storing(store.root):
            _fetch_data(project, request, wants, result, store)
    finally:
        index.close()
    _raise_failures(result.objects, wants, store, result.storage or "")


def _fetch_data(
    project: Project, request: SyncRequest, wants: _Wants, result: SyncResult, store: ObjectStore
) -> None:
    backend = _storage(project, request)
    result.storage = backend.describe()
    known = _known(project, backend)
    jobs = request.jobs or project.local.jobs

    def fetch(oids: Iterable[Oid], sizes: Mapping[Oid, int] | None = None) -> None:
        fetched = pull_objects(
            store,
            backend,
            oids,
            tmp_dir=store.root / TMP_DIR,
            jobs=jobs,
            sizes=sizes,
            known=known,
            progress=_progress(request, "download"),
        )
        _merge(result.objects, fetched)

    try:
        first = _needs(store, wants.pointers)
        fetch(first.absent)
        needs = _needs(store, wants.pointers) if first.absent else first
        fetch(needs.objects - set(first.absent), needs.sizes)
    finally:
        known.save()
        backend.close()


def _raise_failures(objects: TransferResult, wants: _Wants, store: ObjectStore, where: str) -> None:
    error: GitexpError | None = None
    if objects.corrupt:
        error = IntegrityError(
            f"{len(objects.corrupt)} object(s) on {where} do not match their hash and were "
            f"refused: {_describe_objects(objects.corrupt, wants, store)}",
            hint="the remote copy is damaged: push it again from a clone that has it "
            "(nothing was checked out)",
        )
    elif objects.missing:
        error = NotFoundError(
            f"{len(objects.missing)} object(s) are missing on {where}: "
            f"{_describe_objects(objects.missing, wants, store)}",
            hint="push them from the clone that has them (`gitexp push`), then pull again",
        )
    if error is not None:
        raise error
