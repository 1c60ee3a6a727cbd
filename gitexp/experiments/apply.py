"""``gitexp apply``: make the workspace's files match an experiment, losing nothing.

The paths to change are those where the experiment's tree differs from HEAD's. A
workspace file among them that differs from both, and whose content git does not
hold anywhere, is uncommitted work: apply refuses, or with ``force`` first saves the
whole workspace as a commit under ``refs/gitexp/stash/`` and says how to restore it.
Before any of that, the plan (`gitexp.experiments.applyplan`) says what will change,
and files that commits since the experiment's baseline changed are reverted only
with ``force``.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pygit2

from gitexp.cache.atomic import atomic_write
from gitexp.core.names import STASH_REF_PREFIX
from gitexp.core.pointer import Pointer, check_data_path, data_path, pointer_path
from gitexp.core.runinfo import RUN_DIR, iso_utc, utc_now
from gitexp.data.checkout import CheckoutResult, checkout_pointers, data_at_risk
from gitexp.data.pointers import pointers_at
from gitexp.errors import ConflictError, UncommittedChangesError
from gitexp.experiments.applyplan import ApplyPlan, make_plan
from gitexp.experiments.query.summary import inherited_in
from gitexp.git.diff import blob_bytes, tree_changes
from gitexp.git.refs import create_ref
from gitexp.git.repo import GitRepo
from gitexp.git.snapshot import snapshot
from gitexp.project import Project


@dataclass
class ApplyResult:
    """What apply did: files written and deleted, and where saved work went."""

    commit: str
    written: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    stash_ref: str | None = None
    saved: list[str] = field(default_factory=list)
    data: CheckoutResult | None = None
    """What checking out the experiment's data did (None: it tracks no data)."""
    plan: ApplyPlan | None = None
    """What apply set out to do (all it would have done, with ``dry_run``)."""


@dataclass(frozen=True, slots=True)
class _Change:
    path: str
    status: str
    blob: bytes | None
    mode: int


def apply_named(
    project: Project,
    name: str,
    *,
    force: bool = False,
    dry_run: bool = False,
    on_plan: Callable[[ApplyPlan], None] | None = None,
) -> ApplyResult:
    """``gitexp apply NAME``: `apply_with_data` on experiment ``name``'s commit."""
    from gitexp.experiments.manage import experiment_commit

    target = project.git.lookup_commit(experiment_commit(project.git, name))
    return apply_with_data(
        project, target, name=name, force=force, dry_run=dry_run, on_plan=on_plan
    )


def apply_with_data(
    project: Project,
    target: pygit2.Commit,
    *,
    name: str,
    force: bool = False,
    dry_run: bool = False,
    on_plan: Callable[[ApplyPlan], None] | None = None,
) -> ApplyResult:
    """Write the experiment's version of every file that differs, then check out its data.

    First the plan (`ApplyPlan`) goes to ``on_plan``; with ``dry_run`` nothing more
    happens. Without ``force``, apply refuses before writing anything
    (`UncommittedChangesError`) when it would overwrite work that exists nowhere else,
    files or data the cache lacks, and (`ConflictError`) when it would revert files
    that commits since the experiment's baseline changed. With ``force``, that work is
    saved first: files in a stash ref, data in the cache (``data["saved"]``).
    """
    git = project.git
    head = git.head_commit()
    inherited = inherited_in(target)  # results the run did not write are not handed back
    changes = _pending(
        git, [c for c in _changes(git, head.tree, target.tree) if c.path not in inherited]
    )
    pointers = _changed_pointers(project, head, target)
    files_at_risk = [c.path for c in changes if _at_risk(git, head.tree, c)]
    data_risk = data_at_risk(project, pointers) if pointers else []
    plan = make_plan(
        git,
        name,
        target,
        [(c.path, c.status) for c in changes],
        pointers,
        files_at_risk + data_risk,
    )
    if on_plan is not None:
        on_plan(plan)
    result = ApplyResult(commit=str(target.id), plan=plan)
    if dry_run:
        return result
    if not force:
        _refuse(plan, files_at_risk, data_risk)
    if files_at_risk:
        result.stash_ref = stash_workspace(git, head)
        result.saved = files_at_risk
    for change in changes:
        _write(git, change, result)
    if pointers:
        result.data = checkout_pointers(project, pointers, force=True)
    return result


def _changed_pointers(
    project: Project, head: pygit2.Commit, target: pygit2.Commit
) -> dict[str, Pointer]:
    before = pointers_at(project.git, head.tree)
    inherited = inherited_in(target)
    return {
        path: pointer
        for path, pointer in pointers_at(project.git, target.tree).items()
        if before.get(path) != pointer and pointer_path(path) not in inherited
    }


def _refuse(plan: ApplyPlan, files: list[str], data: list[str]) -> None:
    """Raise when applying would lose uncommitted work or revert later commits."""
    if data:
        raise UncommittedChangesError(
            f"apply would overwrite data that is not in the cache: {_names(data)}",
            hint="run `gitexp add` on it to keep it, "
            "or pass --force to store it in the cache first",
        )
    if files:
        raise UncommittedChangesError(
            f"apply would overwrite uncommitted changes in {_names(files)}",
            hint="commit or stash them first, or pass --force to save them in a stash ref",
        )
    if plan.reverted:
        since = (
            "committed since its baseline"
            if not plan.diverged
            else "committed on HEAD's side since HEAD and its baseline parted"
        )
        raise ConflictError(
            f"apply '{plan.name}' would revert {len(plan.reverted)} file(s) {since}: "
            + _names(plan.reverted),
            hint="pass --force to apply it anyway (`git checkout HEAD -- PATH` brings a "
            "file back), or --dry-run to see every change",
        )


def _names(paths: Sequence[str], shown: int = 20) -> str:
    """Every path up to ``shown``; past that, where to see the rest (the plan lists all)."""
    more = len(paths) - shown
    rest = f" and {more} more (`gitexp apply --dry-run` lists them)" if more > 0 else ""
    return ", ".join(paths[:shown]) + rest


def _changes(git: GitRepo, old: pygit2.Tree, new: pygit2.Tree) -> list[_Change]:
    """The paths to write; `PathError` before anything is written for an unsafe one.

    A crafted commit may hold a pointer whose data path is in ``.git`` (or a file
    there): the whole apply is refused, naming it.
    """
    changes: list[_Change] = []
    for change in tree_changes(git, old, new):
        if change.path == RUN_DIR or change.path.startswith(RUN_DIR + "/"):
            continue
        if change.status != "deleted":
            check_data_path(data_path(change.path), change.path)
        blob = blob_bytes(git, change.new)
        if change.status != "deleted" and blob is None:
            continue
        changes.append(_Change(change.path, change.status, blob, change.new_mode))
    return changes


def _pending(git: GitRepo, changes: list[_Change]) -> list[_Change]:
    """The changes that would alter the workspace (a file may already match)."""
    return [c for c in changes if not _matches(git, c)]


def _matches(git: GitRepo, change: _Change) -> bool:
    full = git.root / change.path
    if change.blob is None:
        return not os.path.lexists(full)
    return _workspace_bytes(git, change.path) == change.blob and not _mode_differs(
        full, change.mode
    )


def _workspace_bytes(git: GitRepo, path: str) -> bytes | None:
    full = git.root / path
    try:
        info = os.lstat(full)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return os.fsencode(os.readlink(full))
    if stat.S_ISDIR(info.st_mode):
        return b"\x00directory"
    return full.read_bytes()


def _at_risk(git: GitRepo, head: pygit2.Tree, change: _Change) -> bool:
    """Whether writing ``change`` would destroy content that exists nowhere else."""
    current = _workspace_bytes(git, change.path)
    if current is None or current == change.blob:
        return False
    before = git.read_blob(head, change.path)
    if current == before:
        return False
    return pygit2.hash(current) not in git.repo.odb


def stash_workspace(git: GitRepo, head: pygit2.Commit) -> str:
    """Save the whole workspace (changes and untracked files) as a commit on a stash ref."""
    snap = snapshot(git, head.tree)
    stamp = iso_utc(utc_now()).replace(":", "").replace("-", "")
    commit = git.write_commit(snap.tree, [str(head.id)], "gitexp apply --force: saved work\n")
    ref = f"{STASH_REF_PREFIX}{stamp}-{commit[:8]}"
    create_ref(git, ref, commit)
    return ref


def _write(git: GitRepo, change: _Change, result: ApplyResult) -> None:
    full = git.root / change.path
    if change.blob is None:
        with contextlib.suppress(FileNotFoundError):
            full.unlink()
            result.deleted.append(change.path)
        return
    if change.mode == pygit2.GIT_FILEMODE_LINK:
        tmp = full.with_name(full.name + ".gitexp-link")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        full.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.fsdecode(change.blob), tmp)
        os.replace(tmp, full)
    else:
        if full.is_symlink() or full.is_dir():
            _remove_in_the_way(full)
        executable = change.mode == pygit2.GIT_FILEMODE_BLOB_EXECUTABLE
        atomic_write(full, change.blob, 0o755 if executable else 0o644)
    result.written.append(change.path)


def _mode_differs(full: os.PathLike[str], mode: int) -> bool:
    try:
        executable = bool(os.stat(full).st_mode & stat.S_IXUSR)
    except FileNotFoundError:
        return True
    return executable != (mode == pygit2.GIT_FILEMODE_BLOB_EXECUTABLE)


def _remove_in_the_way(full: os.PathLike[str]) -> None:
    path = os.fspath(full)
    if os.path.islink(path):
        os.unlink(path)
    elif os.path.isdir(path) and not os.listdir(path):
        os.rmdir(path)
