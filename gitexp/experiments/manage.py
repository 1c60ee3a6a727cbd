"""``gitexp remove``, ``branch`` and ``gc``: experiments as refs, changed safely."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pygit2

from gitexp.core.names import EXPERIMENT_REF_PREFIX, STASH_REF_PREFIX, ExperimentName, check_name
from gitexp.data.pointers import GcScope
from gitexp.errors import ConflictError, InvalidNameError, NotFoundError, UsageError
from gitexp.git.refs import create_ref, delete_refs, read_ref
from gitexp.git.repo import GitRepo
from gitexp.project import Project

if TYPE_CHECKING:
    from gitexp.data.sync import ProgressFn
    from gitexp.data.upkeep import GcResult
    from gitexp.experiments.run.runner import Notify


def experiment_commit(git: GitRepo, name: str) -> str:
    """The commit of experiment ``name``; `NotFoundError` if there is none."""
    target = read_ref(git, ExperimentName(check_name(name)).ref)
    if target is None:
        raise NotFoundError(
            f"experiment '{name}' does not exist", hint="see `gitexp list` for the names"
        )
    return target


def remove(git: GitRepo, names: Sequence[str]) -> list[str]:
    """Delete the refs of ``names`` in one transaction; all must exist, or none goes."""
    if not names:
        raise UsageError("name the experiments to remove", hint="or pass --failed or --all")
    refs = [(ExperimentName(check_name(n)).ref, experiment_commit(git, n)) for n in names]
    delete_refs(git, dict(refs).items())
    return list(dict.fromkeys(names))


def remove_chosen(
    project: Project, names: Sequence[str], *, failed: bool, everything: bool
) -> list[str]:
    """``gitexp remove``: ``names``, every unsuccessful one too, or all; the names removed.

    ``failed`` adds every experiment that did not succeed, ``everything`` every one;
    with either flag, nothing to remove is no error.
    """
    from gitexp.experiments.query.select import project_experiments

    chosen = list(names)
    if failed or everything:
        chosen += [
            str(row["name"])
            for row in project_experiments(project)
            if everything or row.get("status") != "success"
        ]
        if not chosen:
            return []
    return remove(project.git, list(dict.fromkeys(chosen)))


def branch(git: GitRepo, name: str, branch_name: str) -> str:
    """Create branch ``branch_name`` at the experiment's commit; refuses if it exists."""
    commit = experiment_commit(git, name)
    ref = f"refs/heads/{branch_name}"
    if not pygit2.reference_is_valid_name(ref) or branch_name.startswith("-"):
        raise InvalidNameError(
            f"'{branch_name}' is not a valid branch name", hint="see `git check-ref-format --help`"
        )
    if read_ref(git, ref) is not None:
        raise ConflictError(
            f"branch '{branch_name}' already exists", hint="pick another branch name"
        )
    create_ref(git, ref, commit)
    return commit


def gc_scope(*, workspace: bool, all_branches: bool, experiments: bool) -> GcScope:
    """What ``gitexp gc`` keeps, from its options.

    No option: every branch, tag, experiment and stash. Options given: only what they
    name (the workspace's data is always kept).
    """
    everything = not (workspace or all_branches or experiments)
    return GcScope(
        branches=everything or all_branches,
        tags=everything,
        commit_refs=(EXPERIMENT_REF_PREFIX,) if everything or experiments else (),
        history_refs=(STASH_REF_PREFIX,) if everything else (),
    )


def gc(
    project: Project,
    *,
    workspace: bool,
    all_branches: bool,
    experiments: bool,
    dry_run: bool,
    now: bool,
    notify: Notify | None,
    compact: bool = False,
    progress: ProgressFn | None = None,
) -> GcResult:
    """``gitexp gc``: worktrees of runs long dead first, then the cache by `gc_scope`."""
    from gitexp.data import upkeep
    from gitexp.experiments.run.crashed import remove_abandoned_worktrees

    if not dry_run:
        remove_abandoned_worktrees(project)
    scope = gc_scope(workspace=workspace, all_branches=all_branches, experiments=experiments)
    return upkeep.gc(
        project, scope, dry_run=dry_run, now=now, notify=notify, compact=compact, progress=progress
    )
