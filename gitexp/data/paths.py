"""Which paths ``add`` may track and which pointers a ``checkout PATH`` names.

Everything is checked before anything is stored: a path must lie inside the working
tree (also after resolving symbolic links in its folders), must not be git's or
gitexp's own folder, a pointer file, a link, a file git tracks, or inside data that
gitexp already tracks as a whole.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from gitexp.core.pointer import SUFFIX, Pointer, parse_pointer, pointer_path, unsafe_reason
from gitexp.core.runinfo import RUN_DIR
from gitexp.errors import NotFoundError, PathError, UsageError
from gitexp.project import Project


def check_add_paths(
    project: Project, paths: Sequence[str], cwd: str | os.PathLike[str]
) -> list[str]:
    """The repository-relative paths to add, each checked; duplicates dropped."""
    if not paths:
        raise UsageError("name the files or folders to add", hint="e.g. gitexp add data/")
    rels = list(dict.fromkeys(_check_one(project, p, cwd) for p in paths))
    for rel in rels:
        for other in rels:
            if other != rel and rel.startswith(other + "/"):
                raise PathError(
                    f"'{rel}' is inside '{other}', which is added too",
                    hint=f"add '{other}' alone: a folder is tracked as a whole",
                )
    return rels


def _check_one(project: Project, given: str, cwd: str | os.PathLike[str]) -> str:
    rel = project.relpath(given, cwd)
    parts = rel.split("/")
    if rel == "":
        raise PathError(
            "gitexp cannot track the whole repository", hint="add the data's own files or folders"
        )
    if ".git" in parts or _inside_git_dir(project, rel):
        raise PathError(f"'{given}' is inside git's own folder .git", hint="add your data instead")
    if parts[0] == RUN_DIR:
        raise PathError(f"'{given}' is inside gitexp's own folder {RUN_DIR}/")
    reason = unsafe_reason(rel)
    if reason is not None:
        raise PathError(f"'{given}' cannot be tracked: {reason}", hint="add your data instead")
    if rel.endswith(SUFFIX):
        raise PathError(
            f"'{given}' is a pointer file",
            hint=f"add the data it stands for: {rel[: -len(SUFFIX)]}",
        )
    full = project.root / rel
    try:
        info = os.lstat(full)
    except FileNotFoundError:
        raise NotFoundError(f"'{given}' does not exist", hint="check the path") from None
    if stat.S_ISLNK(info.st_mode):
        raise PathError(
            f"'{given}' is a symbolic link; gitexp tracks files and folders, not links",
            hint="add the file or folder it points to",
        )
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode)):
        raise PathError(f"'{given}' is not a regular file or folder")
    check_inside(project, rel)
    _check_untracked(project, rel, stat.S_ISDIR(info.st_mode))
    _check_not_in_data(project, rel)
    return rel


def _inside_git_dir(project: Project, rel: str) -> bool:
    full = Path(os.path.realpath(project.root / rel))
    return any(full == folder or folder in full.parents for folder in _git_dirs(project))


def _git_dirs(project: Project) -> set[Path]:
    """Git's folders for this working tree: its own and the common one (they may differ).

    A folder that holds the working tree itself (a worktree that gitexp made for a
    run lives in the common one) is left out: only paths below the tree matter.
    """
    root = Path(os.path.realpath(project.root))
    found = {
        Path(os.path.realpath(project.git.git_dir)),
        Path(os.path.realpath(project.git.common_dir)),
    }
    return {folder for folder in found if folder not in root.parents}


def check_inside(project: Project, rel: str) -> None:
    """`PathError` unless gitexp may write at ``rel``: no link in its folders, not in git's.

    Every folder above ``rel`` inside the tree is looked at (one ``lstat`` each): a
    symbolic link among them is refused, wherever it leads, as git refuses to write
    beyond one; so is a folder that resolves into git's own folder.
    """
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        head = "/".join(parts[:depth])
        try:
            info = os.lstat(project.root / head)
        except (FileNotFoundError, NotADirectoryError):
            break
        if stat.S_ISLNK(info.st_mode):
            _refuse_link(project, rel, head)
    folder = Path(os.path.realpath((project.root / rel).parent))
    root = project.root
    if folder != root and root not in folder.parents:
        _refuse_link(project, rel, "")
    place = folder / os.path.basename(rel)  # the data itself may be a link into the cache
    if any(place == own or own in place.parents for own in _git_dirs(project)):
        raise PathError(
            f"'{rel}' is inside git's own folder; gitexp will not read or write it",
            hint="track data in the working tree only",
        )


def _refuse_link(project: Project, rel: str, head: str) -> None:
    target = Path(os.path.realpath(project.root / (head or os.path.dirname(rel))))
    if target != project.root and project.root not in target.parents:
        raise PathError(
            f"'{rel}' leads outside the repository through a symbolic link",
            hint="gitexp reads and writes data only inside the repository",
        )
    raise PathError(
        f"'{rel}' lies beyond the symbolic link '{head}'; gitexp will not read or write "
        "data through a link",
        hint=f"make '{head}' a real folder, or track the data where the link points",
    )


def _check_untracked(project: Project, rel: str, is_dir: bool) -> None:
    index = project.git.repo.index
    if is_dir:
        prefix = rel + "/"
        tracked = [e.path for e in index if e.path.startswith(prefix)]
        if tracked:
            raise PathError(
                f"'{rel}' holds files that git tracks ({tracked[0]}"
                + (f" and {len(tracked) - 1} more)" if len(tracked) > 1 else ")"),
                hint=f"untrack them first with `git rm -r --cached {rel}`, then `gitexp add {rel}`",
            )
    elif rel in index:
        raise PathError(
            f"'{rel}' is tracked by git",
            hint=f"untrack it first with `git rm --cached {rel}`, then `gitexp add {rel}`",
        )


def _check_not_in_data(project: Project, rel: str) -> None:
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        head = "/".join(parts[:depth])
        if (project.root / pointer_path(head)).is_file():
            raise PathError(
                f"'{rel}' is inside '{head}', which gitexp tracks as a whole",
                hint=f"run `gitexp add {head}` to record its new content",
            )


def select_pointers(
    project: Project,
    every: Callable[[], Mapping[str, Pointer]],
    paths: Sequence[str],
    cwd: str | os.PathLike[str],
) -> dict[str, Pointer]:
    """The pointers that ``paths`` name: data paths, pointer files, or folders holding them.

    When each of ``paths`` names a pointer file that is there (``checkout data``), those
    are read alone; otherwise ``every()`` lists the workspace's pointers (which asks
    git for the status of the whole working tree).
    """
    if paths:
        named = _named_pointers(project, paths, cwd)
        if named is not None:
            return named
    pointers = every()
    if not paths:
        return dict(pointers)
    chosen: dict[str, Pointer] = {}
    for given in paths:
        rel = project.relpath(given, cwd)
        if rel.endswith(SUFFIX):
            rel = rel[: -len(SUFFIX)]
        found = {
            p: v for p, v in pointers.items() if not rel or p == rel or p.startswith(rel + "/")
        }
        if not found:
            raise NotFoundError(
                f"'{given}' is not tracked data (no {pointer_path(rel or '.')} and no pointer "
                "files under it)",
                hint="see `gitexp status` for the tracked data",
            )
        chosen.update(found)
    return chosen


def _named_pointers(
    project: Project, paths: Sequence[str], cwd: str | os.PathLike[str]
) -> dict[str, Pointer] | None:
    """The pointers ``paths`` name directly, or None when one of them is not that simple.

    A folder may hold pointer files of its own only as files git tracks (tracked data
    is ignored, so git's status never looks inside it): the index says whether any do.
    """
    chosen: dict[str, Pointer] = {}
    tracked: list[str] | None = None
    for given in paths:
        rel = project.relpath(given, cwd)
        if rel.endswith(SUFFIX):
            rel = rel[: -len(SUFFIX)]
        if not rel or rel == RUN_DIR or rel.startswith(RUN_DIR + "/"):
            return None
        pointer_file = project.root / pointer_path(rel)
        try:
            info = pointer_file.lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        if not stat.S_ISREG(info.st_mode):
            return None
        if (project.root / rel).is_dir():
            if tracked is None:
                tracked = [e.path for e in project.git.repo.index if e.path.endswith(SUFFIX)]
            if any(p.startswith(rel + "/") for p in tracked):
                return None
        chosen[rel] = parse_pointer(pointer_file.read_bytes(), pointer_path(rel))
    return chosen
