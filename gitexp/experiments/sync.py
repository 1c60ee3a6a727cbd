"""Push and pull of experiments: their refs through a git remote, their data through storage.

Push order keeps every remote consistent: the data first (`gitexp.data.sync`), then
the refs, so a ref on the git remote never names data the storage remote lacks. Pull
order is the reverse: refs (compare-and-swap, nothing overwritten unless forced), then
the data they need. Both are idempotent: run again after success, they move nothing.
Without names, only the current commit's data moves. With names or all, the tags
and notes (``refs/notes/gitexp``) move too, merged with the remote's (`notesync`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gitexp.core.names import EXPERIMENT_REF_PREFIX, ExperimentName, name_from_ref
from gitexp.core.pointer import Pointer
from gitexp.core.results import JsonResult
from gitexp.data.media import media_pointers
from gitexp.data.pointers import pointers_at
from gitexp.data.sync import (
    CURRENT,
    DataResult,
    Storage,
    Wants,
    current_pointers,
    in_cache,
    pull_data,
    push_data,
)
from gitexp.data.targets import check_remotes
from gitexp.errors import ConflictError, NotFoundError
from gitexp.experiments import notesync
from gitexp.git import transport
from gitexp.git.refs import RefUpdate, list_refs, read_ref, update_refs
from gitexp.git.repo import GitRepo
from gitexp.project import Project


@dataclass(frozen=True)
class SyncRequest:
    """What to move: the git remote, which experiments (none: the current commit's data), how."""

    git_remote: str | None = None
    """None: ``origin``, needed only when refs move (a data-only push needs no remote)."""
    names: Sequence[str] = ()
    everything: bool = False
    force: bool = False
    data: bool = True
    storage: Storage = field(default_factory=Storage)

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
    """What push or pull did: refs moved or already equal, and the data moved."""

    refs_moved: list[str] = field(default_factory=list)
    refs_unchanged: list[str] = field(default_factory=list)
    data: DataResult = field(default_factory=DataResult)


def push(project: Project, request: SyncRequest) -> SyncResult:
    """Upload the data the chosen experiments (or the current commit) need, then their refs.

    Raises `ConflictError` (before anything moves) when an experiment exists on the
    git remote at another commit, unless ``force``; `NotFoundError` when an object is
    neither in the cache nor on the storage remote; `StorageError`/`TransportError`
    when a remote fails. Running it again after a failure completes the push.
    """
    check_remotes(project, request.git_remote, request.storage.remote, refs=request.with_refs)
    git = project.git
    result = SyncResult()
    wants = Wants()
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
            wants.add(name, _experiment_data(git, commit))
    else:
        wants.add(CURRENT, current_pointers(project))
    if request.data and wants.pointers:
        push_data(project, request.storage, wants, result.data)
    transport.push_refs(git, request.remote, pushes)
    result.refs_moved = [name_from_ref(p.ref) or p.ref for p in pushes]
    if request.with_refs:
        notesync.push_notes(git, request.remote)
    return result


def _experiment_data(git: GitRepo, commit: str) -> dict[str, Pointer]:
    """What an experiment's data is: its pointers and the images it logged."""
    tree = git.lookup_commit(commit).tree
    return {**pointers_at(git, tree), **media_pointers(git, tree)}


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


def pull(project: Project, request: SyncRequest) -> SyncResult:
    """Fetch the chosen experiments' refs (or none), then the data they need, verified.

    Raises `ConflictError` (before any local ref moves) when an experiment exists here
    at another commit, unless ``force``; `NotFoundError` naming each object the storage
    remote lacks and who needs it; `IntegrityError` naming each object whose bytes do
    not match its hash (it is not stored). Refs are moved even when data fails:
    ``show`` and ``diff`` need no data.
    """
    check_remotes(project, request.git_remote, request.storage.remote, refs=request.with_refs)
    git = project.git
    result = SyncResult()
    wants = Wants()
    if request.with_refs:
        commits = _pull_refs(git, request, result)
        notesync.pull_notes(git, request.remote)
        for name, commit in commits.items():
            wants.add(name, _experiment_data(git, commit))
    current = current_pointers(project)
    if not request.with_refs:
        wants.add(CURRENT, current)
    if request.data and wants.pointers:
        pull_data(project, request.storage, wants, result.data)
    result.data.checkout = in_cache(project, current)
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


@dataclass(frozen=True, slots=True)
class SyncSummary(JsonResult):
    """What ``gitexp push`` or ``pull`` did, as `gitexp.Repo.push` and ``pull`` return it.

    ``data``: the current commit's data paths whose content is in the cache;
    ``checked_out`` (pull): those the pull then wrote into the workspace.
    """

    refs_moved: tuple[str, ...]
    refs_unchanged: tuple[str, ...]
    transferred: int
    present: int
    bytes: int
    remote: str | None
    data: tuple[str, ...]
    checked_out: tuple[str, ...] | None = None

    @classmethod
    def of(cls, result: SyncResult, checked_out: Sequence[str] | None = None) -> SyncSummary:
        """The summary of ``result``; ``checked_out`` only for a pull."""
        objects = result.data.objects
        return cls(
            refs_moved=tuple(result.refs_moved),
            refs_unchanged=tuple(result.refs_unchanged),
            transferred=len(objects.transferred),
            present=objects.present,
            bytes=objects.bytes,
            remote=result.data.storage,
            data=tuple(sorted(result.data.checkout)),
            checked_out=None if checked_out is None else tuple(checked_out),
        )

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        doc: dict[str, object] = {
            "refs": {"moved": list(self.refs_moved), "unchanged": list(self.refs_unchanged)},
            "objects": {
                "transferred": self.transferred,
                "present": self.present,
                "bytes": self.bytes,
            },
            "remote": self.remote,
            "data": list(self.data),
        }
        if self.checked_out is not None:
            doc["checked_out"] = list(self.checked_out)
        return doc
