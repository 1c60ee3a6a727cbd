"""What each git hook does: the logic behind the shims in ``hooks/``.

Every hook first asks git, through one or two small ``git`` processes, whether there
is anything for gitexp to do (a pointer file staged, pushed or moved); only then does
it load the rest of gitexp (pygit2, the cache, storage) and work through `gitexp.data`.
So a hook with nothing to do costs a Python start-up and a git diff.

- ``pre-commit`` refuses a staged file over ``large_file_threshold`` that gitexp does
  not track, data that gitexp does track, and a staged pointer that is invalid or
  whose object (for a folder: manifest and files) is not in the cache.
- ``pre-push`` uploads to the default storage remote the objects named by the pointer
  files that the pushed commits add or change (the commits the remote lacks), and
  stops the push when that fails, so no one gets a pointer without its data.
- ``post-checkout`` (branch checkouts), ``post-merge`` and ``post-rewrite`` (rebase)
  check out the data of the pointer files git changed; modified data the cache lacks
  is never overwritten (a warning says so) and git's command still succeeds. Data
  whose pointer file git removed is removed too when the cache holds all of it, as
  git removes the files it no longer tracks; otherwise a warning names it.

Nothing here prints or exits: a `HookResult` says what to tell the user, and the CLI
picks the exit code (1 when ``errors`` is not empty).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from gitexp.errors import GitexpError, NotFoundError, PathError
from gitexp.git import plumbing
from gitexp.git.hookfiles import HOOK_NAMES, READS_STDIN

if TYPE_CHECKING:
    from gitexp.core.pointer import Pointer
    from gitexp.project import Project

__all__ = ["HOOK_NAMES", "READS_STDIN", "HookCall", "HookResult", "run"]

SUFFIX = ".gitexp"
RUN_DIR = ".gitexp/"
CONFIG = "gitexp.yaml"
DEFAULT_THRESHOLD = 5 * 1024 * 1024


class HookResult:
    """What a hook has to say: notes, warnings, and errors that make git stop.

    ``advice`` is said after the errors (what to do about them as a whole). A plain
    class, like `HookCall` a named tuple: a hook does not import ``dataclasses``.
    """

    __slots__ = ("advice", "errors", "notes", "warnings")

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.errors: list[GitexpError] = []
        self.advice: list[str] = []


class HookCall(NamedTuple):
    """One run of a hook: its name, git's arguments and standard input.

    ``credentials`` is called only when storage is reached. ``data_pushed``: the push
    is ``gitexp push``'s own, which has moved (or, with ``--no-data``, chosen not to
    move) the data already.
    """

    name: str
    args: Sequence[str] = ()
    stdin: str = ""
    credentials: Callable[[], Mapping[str, str]] = dict
    data_pushed: bool = False


def run(call: HookCall, cwd: str | os.PathLike[str] = ".") -> HookResult:
    """Run hook ``call.name`` in the repository around ``cwd``."""
    where = plumbing.places(cwd)
    args = list(call.args) + [""] * 3
    if call.name == "pre-commit":
        return pre_commit(where)
    if call.name == "pre-push":
        if call.data_pushed:
            return HookResult()
        remote = args[0] if args[0] != args[1] else ""
        return pre_push(where.root, remote, call.stdin, call.credentials)
    if call.name == "post-checkout":
        if args[2] != "1":
            return HookResult()  # a file checkout: git did not switch commits
        return _follow(where.root, _moved_by_checkout(where.root, args[0], args[1]), call)
    if call.name == "post-merge":
        return _follow(where.root, _moved_by_merge(where.root, args[0] == "1"), call)
    if call.name == "post-rewrite":
        if args[0] != "rebase":
            return HookResult()  # an amend leaves the working tree as it was
        return _follow(where.root, _moved_by_rebase(where.root, call.stdin), call)
    raise NotFoundError(
        f"there is no gitexp hook '{call.name}'", hint="hooks: " + ", ".join(HOOK_NAMES)
    )


def is_pointer(path: str) -> bool:
    """Whether ``path`` is a pointer file (gitexp's own ``.gitexp/`` folder aside)."""
    name = os.path.basename(path)
    return name.endswith(SUFFIX) and name != SUFFIX and not path.startswith(RUN_DIR)


def _data_path(pointer: str) -> str:
    return pointer[: -len(SUFFIX)]


def _project(root: Path) -> Project:
    from gitexp.project import Project

    return Project.open(root)


# -- pre-commit


def pre_commit(where: plumbing.Places) -> HookResult:
    """Refuse what must not enter git; see the module docstring."""
    root = where.root
    changes = [c for c in plumbing.staged_changes(root) if c.is_file()]
    if changes and (where.git_dir / "MERGE_HEAD").is_file():
        merged = plumbing.resolve(root, "MERGE_HEAD")
        if merged:  # files the other side of the merge committed already are not new
            differ = {(c.path, c.new) for c in plumbing.staged_against(root, merged)}
            changes = [c for c in changes if (c.path, c.new) in differ]
    if not changes:
        return HookResult()
    result = HookResult()
    files = [c for c in changes if not is_pointer(c.path) and not c.path.startswith(RUN_DIR)]
    tracked = _tracked_by_gitexp(root, [c.path for c in files])
    if tracked:
        result.errors.append(_tracked_error(tracked))
    rest = [c for c in files if c.path not in tracked]
    if rest:
        _check_sizes(root, rest, result)
    pointers = [c for c in changes if is_pointer(c.path)]
    if pointers:
        _check_pointers(root, pointers, result)
    return result


def _tracked_by_gitexp(root: Path, paths: Sequence[str]) -> dict[str, str]:
    """Staged path → the pointer file through which gitexp tracks it (it or a folder above)."""
    found: dict[str, str] = {}
    known: dict[str, bool] = {}
    for path in paths:
        head = path
        while head:
            if head not in known:
                known[head] = os.path.isfile(root / (head + SUFFIX))
            if known[head]:
                found[path] = head + SUFFIX
                break
            head = head.rpartition("/")[0]
    return found


def _tracked_error(tracked: Mapping[str, str]) -> GitexpError:
    first, pointer = next(iter(tracked.items()))
    more = f" and {len(tracked) - 1} more file(s)" if len(tracked) > 1 else ""
    return PathError(
        f"commit refused: '{first}'{more} is data that gitexp tracks ({pointer}), "
        "so it does not belong in git",
        hint=f"unstage it with `git rm --cached {_quote(first)}`; git keeps its pointer instead",
    )


def _threshold(root: Path) -> int:
    """``large_file_threshold`` from the workspace's gitexp.yaml.

    Read with yaml-rs alone: importing the whole config parser costs a commit about
    20 ms more. A file that does not parse goes to the config parser, whose error
    names it.
    """
    try:
        data = (root / CONFIG).read_bytes()
    except FileNotFoundError:
        return DEFAULT_THRESHOLD
    if b"large_file_threshold" not in data:
        return DEFAULT_THRESHOLD
    import yaml_rs

    from gitexp.core.sizes import parse_size

    try:
        doc = yaml_rs.loads(data.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        from gitexp.core.config import parse_project_config

        return parse_project_config(data, CONFIG).large_file_threshold
    value = doc.get("large_file_threshold") if isinstance(doc, dict) else None
    return DEFAULT_THRESHOLD if value is None else parse_size(value, "large_file_threshold")


def _check_sizes(root: Path, files: Sequence[plumbing.Change], result: HookResult) -> None:
    sizes = plumbing.object_sizes(root, [c.new for c in files] + [c.old for c in files])
    try:
        limit = _threshold(root)
    except GitexpError as exc:
        result.errors.append(exc)
        return
    large = [
        (c.path, sizes.get(c.new, 0))
        for c in files
        if sizes.get(c.new, 0) > limit and sizes.get(c.old, 0) <= limit
    ]
    if large:
        result.errors.append(_large_error(large, limit))


def _large_error(large: Sequence[tuple[str, int]], limit: int) -> GitexpError:
    from gitexp.core.sizes import format_size

    shown = ", ".join(f"{p} ({format_size(s)})" for p, s in large[:5])
    more = f" and {len(large) - 5} more" if len(large) > 5 else ""
    first = _quote(large[0][0])
    return PathError(
        f"commit refused: {len(large)} staged file(s) over large_file_threshold "
        f"({format_size(limit)}) that gitexp does not track: {shown}{more}",
        hint=f"track it by content instead: `git rm --cached {first} && gitexp add {first}`, "
        f"then stage {first}{SUFFIX} and the .gitignore beside it",
    )


def _check_pointers(root: Path, changes: Sequence[plumbing.Change], result: HookResult) -> None:
    from gitexp.core.pointer import parse_pointer

    blobs = plumbing.read_blobs(root, [c.new for c in changes])
    pointers: dict[str, Pointer] = {}
    for change in changes:
        try:
            pointers[_data_path(change.path)] = parse_pointer(blobs[change.new], change.path)
        except GitexpError as exc:
            exc.message = f"commit refused: the staged pointer {exc.message}"
            exc.hint = f"restore it with `git restore --staged --worktree {_quote(change.path)}`"
            result.errors.append(exc)
    if not pointers:
        return
    try:
        from gitexp.data import follow

        absent = {
            rel: [str(o) for o in oids]
            for rel, oids in follow.absent_objects(_project(root), pointers).items()
        }
    except GitexpError as exc:
        result.errors.append(exc)
        return
    for rel, oids in sorted(absent.items()):
        pointer = pointers[rel]
        what = (
            f"its object {oids[0]}"
            if oids == [str(pointer.oid)]
            else f"{len(oids)} of its folder's file objects"
        )
        result.errors.append(
            NotFoundError(
                f"commit refused: the staged pointer {rel}{SUFFIX} names data that is not in "
                f"the cache ({what})",
                hint=f"store the data with `gitexp add {_quote(rel)}` (or fetch it with "
                "`gitexp pull`), then stage the pointer again",
            )
        )


def _quote(path: str) -> str:
    import shlex

    return shlex.quote(path)


# -- pre-push


def pre_push(
    root: Path, remote: str, stdin: str, credentials: Callable[[], Mapping[str, str]]
) -> HookResult:
    """Upload what the pushed commits' new pointers need; see the module docstring.

    ``remote`` is the git remote's name ("" when pushing to a URL): its remote-tracking
    branches say which commits it already has.
    """
    tips: list[str] = []
    hidden: list[str] = []
    for line in stdin.splitlines():
        parts = line.split()
        if len(parts) != 4 or plumbing.is_null(parts[1]):
            continue  # not a ref line, or a deletion
        tips.append(parts[1])
        if not plumbing.is_null(parts[3]):
            hidden.append(parts[3])
    if not tips:
        return HookResult()
    commits = plumbing.commits_between(root, tips, hidden, remote)
    changes = [c for c in plumbing.pointer_changes_in(root, commits) if is_pointer(c.path)]
    if not changes:
        return HookResult()
    result = HookResult()
    pointers = _pushed_pointers(root, changes, result)
    if pointers:
        _upload(root, pointers, len(commits), credentials, result)
    return result


def _pushed_pointers(
    root: Path, changes: Sequence[plumbing.Change], result: HookResult
) -> dict[str, Pointer]:
    """The distinct pointers of ``changes``, keyed by data path.

    A path with several versions gets its commit in the key; invalid pointers are
    warned about and left out.
    """
    from gitexp.core.pointer import parse_pointer

    blobs = plumbing.read_blobs(root, [c.new for c in changes])
    pointers: dict[str, Pointer] = {}
    seen: set[str] = set()
    for change in changes:
        if change.new in seen or change.new not in blobs:
            continue
        seen.add(change.new)
        try:
            pointer = parse_pointer(blobs[change.new], change.path)
        except GitexpError as exc:
            result.warnings.append(f"{exc.message} (in commit {change.commit[:12]}); skipped")
            continue
        key = _data_path(change.path)
        if key in pointers:
            key = f"{key} (in commit {change.commit[:12]})"
        pointers[key] = pointer
    return pointers


def _upload(
    root: Path,
    pointers: Mapping[str, Pointer],
    commits: int,
    credentials: Callable[[], Mapping[str, str]],
    result: HookResult,
) -> None:
    from gitexp.core.sizes import format_size

    try:
        project = _project(root)
        if not (project.config.remotes or project.local.remotes):
            result.notes.append(
                f"no storage remote is set, so the data of {len(pointers)} pointer(s) in the "
                "pushed commits was not uploaded; add one with `gitexp remote add NAME URL "
                "--default`"
            )
            return
        from gitexp.data import follow

        moved = follow.push_needed(project, pointers, dict(credentials()))
    except GitexpError as exc:
        result.errors.append(exc)
        result.advice.append(
            "the push was stopped so that no one gets pointers without their data; fix "
            "this and push again (`git push --no-verify` pushes without the data)"
        )
        return
    sent = int(moved["transferred"])  # type: ignore[call-overload]
    size = format_size(int(moved["bytes"]))  # type: ignore[call-overload]
    result.notes.append(
        f"uploaded {sent} object(s) ({size}) to {moved['remote']} for {commits} commit(s)"
        + (f"; {moved['present']} already there" if moved["present"] else "")
    )


# -- post-checkout, post-merge, post-rewrite


def _moved_by_checkout(root: Path, old: str, new: str) -> list[str]:
    if plumbing.is_null(old):
        return plumbing.tree_pointers(root, new)  # a clone, or a new worktree
    if old == new:
        return []
    return plumbing.changed_pointers(root, old, new)


def _moved_by_merge(root: Path, squash: bool) -> list[str]:
    if squash:  # HEAD did not move: the merged pointers are staged
        return plumbing.staged_pointer_changes(root)
    before = plumbing.resolve(root, "ORIG_HEAD")
    if before is None:
        return plumbing.tree_pointers(root, "HEAD")
    return plumbing.changed_pointers(root, before, "HEAD")


def _moved_by_rebase(root: Path, stdin: str) -> list[str]:
    """Pointer files the rebase moved: against where it started, and in each new commit.

    The start of a rebase checks out its base, which post-checkout has followed; the
    commits it then writes may move pointers back and forth.
    """
    found: list[str] = []
    before = plumbing.resolve(root, "ORIG_HEAD")
    if before is not None:
        found += plumbing.changed_pointers(root, before, "HEAD")
    rewritten = [parts[1] for line in stdin.splitlines() if len(parts := line.split()) >= 2]
    found += [c.path for c in plumbing.pointer_changes_in(root, rewritten)]
    return list(dict.fromkeys(found))


def _follow(root: Path, pointer_files: Sequence[str], call: HookCall) -> HookResult:
    paths = [_data_path(p) for p in pointer_files if is_pointer(p)]
    result = HookResult()
    if not paths:
        return result
    try:
        from gitexp.data import follow

        project = _project(root)
        done = follow.follow(
            project, paths, pull=project.config.hooks.pull, env=dict(call.credentials())
        )
    except GitexpError as exc:
        result.warnings.append(
            f"the data was not checked out: {exc.message}; fix this, then run `gitexp checkout`"
        )
        return result
    _report_follow(done, result)
    return result


def _report_stale(done: Mapping[str, object], result: HookResult) -> None:
    removed = list(done.get("removed") or [])  # type: ignore[call-overload]
    if removed:
        result.notes.append(
            f"removed {', '.join(removed)}: no pointer file names it any more and the cache "
            "holds its data"
        )
    for rel in done.get("left") or []:  # type: ignore[attr-defined]
        result.warnings.append(
            f"{rel} stays in the workspace: no pointer file names it any more, and the cache "
            f"lacks some of its content; keep it with `gitexp add {_quote(rel)}`, or remove it"
        )


def _report_follow(done: Mapping[str, object], result: HookResult) -> None:
    written = list(done["written"])  # type: ignore[call-overload]
    if done["pulled"]:
        result.notes.append(f"pulled {done['pulled']} object(s) from the storage remote")
    if written:
        count = int(done["files"])  # type: ignore[call-overload]
        files = f" ({count} file{'s' if count != 1 else ''} written)" if count else ""
        result.notes.append(f"checked out {', '.join(written)}{files}")
    for item in done["kept"]:  # type: ignore[attr-defined]
        rel = item["path"]
        result.warnings.append(
            f"{rel} has changes that are not in the cache, so it was left as it was (its "
            f"pointer now names other data); keep them with `gitexp add {_quote(rel)}`, or "
            f"replace them with `gitexp checkout --force {_quote(rel)}` (which stores them "
            "in the cache first)"
        )
    missing = [str(m["path"]) for m in done["missing"]]  # type: ignore[attr-defined]
    if missing:
        why = f" (pulling failed: {done['pull_error']})" if done["pull_error"] else ""
        result.warnings.append(
            f"the cache lacks the data of {', '.join(missing)}{why}; run `gitexp pull` to "
            "fetch it (or set `hooks: {pull: true}` in gitexp.yaml to pull on checkout)"
        )
    _report_stale(done, result)
    for item in done["invalid"]:  # type: ignore[attr-defined]
        result.warnings.append(f"{item['message']}; its data was left as it was")
    for item in done["failed"]:  # type: ignore[attr-defined]
        result.warnings.append(f"could not check out {item['path']}: {item['message']}")
