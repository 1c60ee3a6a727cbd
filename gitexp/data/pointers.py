"""Which content-addressed data commits, the workspace and the refs point to.

`pointers_at` reads every pointer file of a commit's tree, memoized per subtree id
(a tree id never changes meaning), so reading many commits that share subtrees walks
each shared subtree once. `needed_objects` expands pointers into the objects they
need (file objects, manifests, and the files a manifest lists). `kept_objects` is what
``gc`` must keep: the workspace's data and that of every commit reachable from the
branches, tags and the ref namespaces the caller names, narrowed by a `GcScope`.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid
from gitexp.core.manifest import Entry, parse_manifest
from gitexp.core.pointer import SUFFIX, Pointer, data_path, parse_pointer, unsafe_reason
from gitexp.core.runinfo import RUN_DIR
from gitexp.data.media import media_pointers
from gitexp.errors import GitexpError, NotFoundError
from gitexp.git import plumbing
from gitexp.git.repo import GitRepo
from gitexp.project import Project

if TYPE_CHECKING:
    import pygit2


@dataclass
class _Memo:
    """Parsed pointers by blob id and pointer files by subtree id, for one repository."""

    trees: dict[str, dict[str, Pointer]] = field(default_factory=dict)
    blobs: dict[str, Pointer | None] = field(default_factory=dict)


_MEMOS: weakref.WeakKeyDictionary[GitRepo, _Memo] = weakref.WeakKeyDictionary()


def pointers_at(git: GitRepo, tree: pygit2.Tree) -> dict[str, Pointer]:
    """Every valid pointer file in ``tree``, keyed by data path (without ``.gitexp``).

    gitexp's own ``.gitexp/`` folder at the root is skipped; a pointer file that does
    not parse, or whose data path is unsafe (see `unsafe_reason`), is left out: it
    names no content gitexp would read or write. Commands that act on the workspace
    read its pointer files again (`workspace_pointers`) and refuse such a one by name.
    """
    memo = _MEMOS.get(git)
    if memo is None:
        memo = _MEMOS[git] = _Memo()
    return {
        path: pointer
        for path, pointer in _under(git, memo, tree).items()
        if not path.startswith(RUN_DIR + "/") and unsafe_reason(path) is None
    }


def _under(git: GitRepo, memo: _Memo, tree: pygit2.Tree) -> dict[str, Pointer]:
    key = str(tree.id)
    cached = memo.trees.get(key)
    if cached is not None:
        return cached
    found: dict[str, Pointer] = {}
    for entry in tree:
        name = entry.name or ""
        kind = entry.type_str
        if kind == "tree":
            sub = cast("pygit2.Tree", git.repo[entry.id])  # type_str said so
            for path, inner in _under(git, memo, sub).items():
                found[f"{name}/{path}"] = inner
        elif kind == "blob" and name.endswith(SUFFIX) and name != SUFFIX:
            parsed = _parse_blob(git, memo, str(entry.id), name)
            if parsed is not None:
                found[data_path(name)] = parsed
    memo.trees[key] = found
    return found


def _parse_blob(git: GitRepo, memo: _Memo, blob: str, name: str) -> Pointer | None:
    if blob not in memo.blobs:
        try:
            memo.blobs[blob] = parse_pointer(git.repo[blob].data, name)  # type: ignore[attr-defined]
        except GitexpError:
            memo.blobs[blob] = None
    return memo.blobs[blob]


def workspace_pointer_files(project: Project) -> list[str]:
    """Pointer files in the working tree: those git's index has, and untracked ones.

    Folders that git ignores (tracked data among them) are not walked.
    """
    return [
        p
        for p in plumbing.workspace_pointers(project.root)
        if not p.startswith(RUN_DIR + "/") and os.path.basename(p) != SUFFIX
    ]


def workspace_pointers(project: Project) -> dict[str, Pointer]:
    """The pointers in the working tree, keyed by data path.

    Raises `FormatError` naming the first pointer file that does not parse.
    """
    pointers: dict[str, Pointer] = {}
    for path in workspace_pointer_files(project):
        data = (project.root / path).read_bytes()
        pointers[data_path(path)] = parse_pointer(data, path)
    return pointers


def read_manifest(store: ObjectStore, pointer: Pointer) -> list[Entry]:
    """The verified, checked manifest of a directory pointer.

    Raises `NotFoundError` when it is not in the cache, `IntegrityError` when it is
    corrupt, `FormatError`/`PathError` when it is not a valid manifest or does not
    agree with the pointer's size and file count.
    """
    entries = parse_manifest(store.read_bytes(pointer.oid), str(pointer.oid))
    check_dir_pointer(pointer, entries)
    return entries


def check_dir_pointer(pointer: Pointer, entries: list[Entry]) -> None:
    """`FormatError` when a directory pointer's size or count disagrees with its manifest."""
    from gitexp.errors import FormatError

    size = sum(e.size for e in entries)
    if pointer.size != size or (pointer.files is not None and pointer.files != len(entries)):
        raise FormatError(
            f"the pointer to {pointer.oid} says {pointer.size} bytes in {pointer.files} files, "
            f"its manifest lists {size} bytes in {len(entries)}",
            hint="the pointer was edited or is corrupt; restore it with git",
        )


def needed_objects(
    store: ObjectStore, pointers: Mapping[str, Pointer] | Iterable[Pointer]
) -> tuple[set[Oid], list[Oid]]:
    """Every object ``pointers`` need, and the manifests missing from the store.

    Files listed by a missing manifest cannot be known until it is fetched; the
    caller fetches those manifests and asks again.
    """
    values = pointers.values() if isinstance(pointers, Mapping) else pointers
    needed: set[Oid] = set()
    missing: list[Oid] = []
    manifests: set[Oid] = set()
    for pointer in values:
        needed.add(pointer.oid)
        if pointer.kind == "dir" and pointer.oid not in manifests:
            manifests.add(pointer.oid)
            try:
                entries = parse_manifest(store.read_bytes(pointer.oid), str(pointer.oid))
            except NotFoundError:
                missing.append(pointer.oid)
                continue
            needed.update(e.oid for e in entries)
    return needed, missing


@dataclass(frozen=True, slots=True)
class GcScope:
    """What ``gc`` keeps besides the workspace's data (which it always keeps).

    ``commit_refs`` are ref namespaces whose commits are kept without their history
    (an experiment's baseline is on a branch); ``history_refs`` namespaces keep their
    whole history, as branches and tags do. The caller names them: data knows no
    namespace but branches and tags.
    """

    branches: bool = True
    tags: bool = True
    commit_refs: tuple[str, ...] = ()
    history_refs: tuple[str, ...] = ()


def kept_pointers(project: Project, scope: GcScope) -> tuple[set[Pointer], int]:
    """The pointers ``gc`` keeps: the workspace's and those of each commit in scope.

    A commit's logged images (its media list) are kept with its pointers.

    Branches, tags and ``history_refs`` keep their whole history; a ref in
    ``commit_refs`` keeps its own commit. Returns the pointers and how many
    commits were read.
    """
    kept = set(workspace_pointers(project).values())
    commits = 0
    for commit in _commits(project.git, scope):
        kept.update(pointers_at(project.git, commit.tree).values())
        kept.update(media_pointers(project.git, commit.tree).values())
        commits += 1
    return kept, commits


def _commits(git: GitRepo, scope: GcScope) -> Iterator[pygit2.Commit]:
    import pygit2

    from gitexp.git.refs import list_refs

    seen: set[str] = set()
    tips = _history_tips(git, scope)
    if tips:
        walker = git.repo.walk(None)
        for tip in tips:
            walker.push(pygit2.Oid(hex=tip))
        for commit in walker:
            seen.add(str(commit.id))
            yield commit
    for prefix in scope.commit_refs:
        for target in list_refs(git, prefix).values():
            if target not in seen:
                seen.add(target)
                yield git.lookup_commit(target)


def _history_tips(git: GitRepo, scope: GcScope) -> list[str]:
    """The commits whose whole history is kept: branches (and HEAD), tags, stash refs."""
    from gitexp.git.refs import list_refs

    tips: list[str] = []
    if scope.branches:
        tips += list_refs(git, "refs/heads/").values()
        if not git.repo.head_is_unborn:
            tips.append(str(git.repo.head.target))
    if scope.tags:
        tips += _tag_commits(git)
    for prefix in scope.history_refs:
        tips += list_refs(git, prefix).values()
    return list(dict.fromkeys(tips))


def _tag_commits(git: GitRepo) -> list[str]:
    import pygit2

    found = []
    for ref in git.repo.references.iterator():
        if ref.name.startswith("refs/tags/"):
            try:
                found.append(str(ref.peel(pygit2.Commit).id))
            except (pygit2.InvalidSpecError, ValueError, KeyError):
                continue
    return found
