"""``pre-push``: upload the data the pushed commits' new pointers need, or stop the push."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.errors import GitexpError
from gitexp.git import plumbing
from gitexp.hooks.call import HookResult, data_path, is_pointer, open_project

if TYPE_CHECKING:
    from gitexp.core.pointer import Pointer


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
        key = data_path(change.path)
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
        project = open_project(root)
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
