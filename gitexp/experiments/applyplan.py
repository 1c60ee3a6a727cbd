"""What ``gitexp apply`` would do, worked out before it does anything.

apply makes the workspace match the experiment, so an experiment run on an older
commit takes back what later commits changed. That is allowed, never silent: the plan
names every file it would write or delete, which of them later commits changed (so
apply refuses them without ``--force``), and how far the baseline lies behind HEAD.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pygit2

from gitexp.git.repo import GitRepo

STATUSES = ("modified", "added", "deleted")


@dataclass(frozen=True, slots=True)
class ApplyPlan:
    """Every change apply would make, grouped, and why some of them need ``--force``.

    Paths are relative to the repository root, sorted. ``data`` holds the data paths
    (not pointer files) apply would check out. ``behind`` is how many commits HEAD has
    that the baseline lacks (0 when the experiment was run on HEAD or on a later
    commit); ``diverged`` when the baseline is not in HEAD's history (another branch,
    or a later commit). ``reverted``: files apply would change that those commits of
    HEAD changed (since the baseline, or since HEAD and the baseline parted).
    ``uncommitted``: files and data holding work that exists nowhere else, which apply
    overwrites only with ``--force`` (saving it first).
    """

    name: str
    commit: str
    head: str
    baseline: str | None
    behind: int = 0
    diverged: bool = False
    modified: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    data: tuple[str, ...] = ()
    reverted: tuple[str, ...] = ()
    uncommitted: tuple[str, ...] = ()

    @property
    def on_head(self) -> bool:
        """Whether the experiment was run on the commit the workspace is at."""
        return self.baseline == self.head

    @property
    def files(self) -> tuple[str, ...]:
        """Every file apply would write or delete."""
        return self.modified + self.added + self.deleted

    @property
    def empty(self) -> bool:
        """Whether the workspace already matches the experiment."""
        return not self.files and not self.data


def make_plan(
    git: GitRepo,
    name: str,
    target: pygit2.Commit,
    changes: Iterable[tuple[str, str]],
    data: Iterable[str],
    uncommitted: Iterable[str],
) -> ApplyPlan:
    """The plan for applying ``target``; ``changes`` are (path, status) pairs it would make."""
    head = git.head_commit()
    baseline = target.parents[0] if target.parents else None
    pending = sorted(changes)
    by_status = {s: tuple(p for p, status in pending if status == s) for s in STATUSES}
    behind, diverged, since = _history(git, head, baseline)
    return ApplyPlan(
        name=name,
        commit=str(target.id),
        head=str(head.id),
        baseline=str(baseline.id) if baseline is not None else None,
        behind=behind,
        diverged=diverged,
        data=tuple(sorted(data)),
        reverted=_reverted(git, head, since, [p for p, _ in pending]) if behind else (),
        uncommitted=tuple(sorted(uncommitted)),
        **by_status,
    )


def _history(
    git: GitRepo, head: pygit2.Commit, baseline: pygit2.Commit | None
) -> tuple[int, bool, pygit2.Commit | None]:
    """(commits HEAD has that the baseline lacks, diverged, where HEAD's own changes start)."""
    if baseline is None or baseline.id == head.id:
        return 0, False, baseline
    ahead, _ = git.repo.ahead_behind(head.id, baseline.id)
    if git.repo.descendant_of(head.id, baseline.id):
        return int(ahead), False, baseline
    base = git.repo.merge_base(head.id, baseline.id)
    return int(ahead), True, git.lookup_commit(str(base)) if base is not None else None


def _reverted(
    git: GitRepo, head: pygit2.Commit, since: pygit2.Commit | None, paths: list[str]
) -> tuple[str, ...]:
    """The paths among ``paths`` that HEAD's commits after ``since`` changed (None: all)."""
    if since is None:
        return tuple(paths)
    return tuple(p for p in paths if git.read_blob(since.tree, p) != git.read_blob(head.tree, p))
