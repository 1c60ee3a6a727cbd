"""``gitexp diff``: params, metrics, files and artifacts that differ between two commits.

Computed from a git tree diff, so only the blobs that differ are read: unchanged
subtrees are skipped by id. A and B may be experiment names, branches, tags or commits;
with no arguments the workspace is compared with HEAD.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygit2

from gitexp.core.config import PROJECT_CONFIG
from gitexp.core.formats import flatten, load_mapping, to_json_value
from gitexp.core.names import EXPERIMENT_REF_PREFIX, check_name
from gitexp.core.pointer import SUFFIX, data_path, parse_pointer
from gitexp.core.runinfo import LOGGED_PARAMS, RUN_DIR
from gitexp.errors import GitexpError, InvalidNameError, NotFoundError
from gitexp.experiments.query.results import ArtifactChange, DiffResult, FileChange, ValueChange
from gitexp.experiments.query.summary import inherited_in
from gitexp.git.diff import blob_bytes, tree_changes
from gitexp.git.repo import GitRepo
from gitexp.project import config_at

_Changes = dict[str, dict[str, ValueChange]]


@dataclass(frozen=True, slots=True)
class Side:
    """One side of a diff: a label for output, its tree, and its commit when it has one."""

    label: str
    tree: pygit2.Tree
    commit: str | None
    inherited: frozenset[str] = frozenset()
    """Result paths the experiment holds but did not write: not its metrics or outs."""


def resolve(git: GitRepo, spec: str) -> pygit2.Commit:
    """An experiment name first, else any commit-ish; `NotFoundError` names ``spec``."""
    try:
        check_name(spec)
        ref = git.repo.references.get(EXPERIMENT_REF_PREFIX + spec)
    except InvalidNameError:
        ref = None
    if ref is not None:
        commit = ref.peel(pygit2.Commit)
        assert isinstance(commit, pygit2.Commit)  # noqa: S101 - peel returns the type asked
        return commit
    try:
        return git.resolve_commit(spec)
    except NotFoundError:
        raise NotFoundError(
            f"'{spec}' is not an experiment, branch, tag or commit",
            hint="see `gitexp list` for experiment names",
        ) from None


def side_of(commit: pygit2.Commit) -> Side:
    """A commit as a diff side."""
    return Side(str(commit.id), commit.tree, str(commit.id), inherited_in(commit))


def baseline_of(commit: pygit2.Commit) -> Side:
    """The commit an experiment (or any commit) started from: its first parent."""
    if not commit.parents:
        raise NotFoundError(f"commit {str(commit.id)[:12]} has no parent to compare with")
    return side_of(commit.parents[0])


def diff_sides(git: GitRepo, a: Side, b: Side) -> DiffResult:
    """What differs from ``a`` (old) to ``b`` (new), as ``diff --json`` says it."""
    config = config_at(git, b.tree) if _has(b.tree, PROJECT_CONFIG) else config_at(git, a.tree)
    params_files, metrics_files = set(config.params), set(config.metrics)
    params: _Changes = {}
    metrics: _Changes = {}
    files: list[FileChange] = []
    artifacts: list[ArtifactChange] = []
    for change in tree_changes(git, a.tree, b.tree):
        path = change.path
        if path == LOGGED_PARAMS:
            old, new = blob_bytes(git, change.old), blob_bytes(git, change.new)
            _add_changes(params, path, old, new, with_change=False)
        if path.startswith(RUN_DIR + "/"):
            continue
        old, new = blob_bytes(git, change.old), blob_bytes(git, change.new)
        if path.endswith(SUFFIX):
            old, new = _own(a, path, old), _own(b, path, new)
            if old != new:
                artifacts.append(_artifact(path, old, new))
            continue
        files.append(FileChange(path, change.status))
        if path in params_files:
            _add_changes(params, path, old, new, with_change=False)
    for path in sorted(metrics_files):
        _metrics_changes(git, metrics, a, b, path)
    return DiffResult(a.commit, b.commit, params, metrics, tuple(files), tuple(artifacts))


def _own(side: Side, path: str, data: bytes | None) -> bytes | None:
    """``data``, unless the side's run did not write ``path`` (then it has none)."""
    return None if path in side.inherited else data


def _metrics_changes(git: GitRepo, metrics: _Changes, a: Side, b: Side, path: str) -> None:
    """Each side's own metrics in ``path``: a file the run did not write counts as absent.

    Compared even when the blobs are the same, since one side may have written the
    bytes the other only inherited.
    """
    old_id, new_id = git.blob_id(a.tree, path), git.blob_id(b.tree, path)
    if old_id == new_id and (path in a.inherited) == (path in b.inherited):
        return
    old = _own(a, path, git.read_blob(a.tree, path))
    new = _own(b, path, git.read_blob(b.tree, path))
    _add_changes(metrics, path, old, new, with_change=True)


def _has(tree: pygit2.Tree, path: str) -> bool:
    try:
        tree[path]
    except KeyError:
        return False
    return True


def _flat(data: bytes | None, path: str) -> dict[str, object]:
    if data is None:
        return {}
    try:
        return flatten(load_mapping(data, path))
    except GitexpError:
        return {}


def _add_changes(
    out: _Changes, path: str, old: bytes | None, new: bytes | None, *, with_change: bool
) -> None:
    before, after = _flat(old, path), _flat(new, path)
    changes: dict[str, ValueChange] = {}
    for key in [*before, *(k for k in after if k not in before)]:
        x, y = before.get(key), after.get(key)
        if key in before and key in after and x == y and type(x) is type(y):
            continue
        by = y - x if with_change and _number(x) and _number(y) else None  # type: ignore[operator]
        changes[key] = ValueChange(to_json_value(x), to_json_value(y), by)
    if changes:
        out[path] = changes


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _artifact(path: str, old: bytes | None, new: bytes | None) -> ArtifactChange:
    return ArtifactChange(data_path(path), _pointer_hash(old, path), _pointer_hash(new, path))


def _pointer_hash(data: bytes | None, path: str) -> str | None:
    if data is None:
        return None
    try:
        return str(parse_pointer(data, path).oid)
    except GitexpError:
        return None
