"""``pre-commit``: refuse large files gitexp does not track, data it does, bad pointers."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from gitexp.core.filenames import PROJECT_CONFIG, RUN_DIR, SUFFIX
from gitexp.core.sizes import DEFAULT_THRESHOLD
from gitexp.errors import GitexpError, NotFoundError, PathError
from gitexp.git import plumbing
from gitexp.hooks.call import HookResult, data_path, is_pointer, open_project, quote

if TYPE_CHECKING:
    from gitexp.core.pointer import Pointer


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
    files = [c for c in changes if not is_pointer(c.path) and not c.path.startswith(RUN_DIR + "/")]
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
        hint=f"unstage it with `git rm --cached {quote(first)}`; git keeps its pointer instead",
    )


def _threshold(root: Path) -> int:
    """``large_file_threshold`` from the workspace's gitexp.yaml.

    Read with yaml-rs alone: importing the whole config parser costs a commit about
    20 ms more. A file that does not parse goes to the config parser, whose error
    names it.
    """
    try:
        data = (root / PROJECT_CONFIG).read_bytes()
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

        return parse_project_config(data, PROJECT_CONFIG).large_file_threshold
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
    first = quote(large[0][0])
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
            pointers[data_path(change.path)] = parse_pointer(blobs[change.new], change.path)
        except GitexpError as exc:
            exc.message = f"commit refused: the staged pointer {exc.message}"
            exc.hint = f"restore it with `git restore --staged --worktree {quote(change.path)}`"
            result.errors.append(exc)
    if not pointers:
        return
    try:
        from gitexp.data import follow

        absent = {
            rel: [str(o) for o in oids]
            for rel, oids in follow.absent_objects(open_project(root), pointers).items()
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
                hint=f"store the data with `gitexp add {quote(rel)}` (or fetch it with "
                "`gitexp pull`), then stage the pointer again",
            )
        )
