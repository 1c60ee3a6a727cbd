"""Data workloads: many small files or one big file, and projects that track them.

The same bytes go to both tools: each workload is generated once (seeded, so it is
the same on every machine) and copied into each tool's project. Resets put a project
back to where a timed command starts: an empty cache, a missing workspace copy, a
fresh copy of the data, with dirty pages written out first so that one run's
writeback does not land in the next run's time.
"""

from __future__ import annotations

import os
import random
import shutil
import stat
import time
from collections.abc import Callable
from pathlib import Path

from harness import projects
from harness.context import Context
from harness.timing import check_call

CHUNK = 16 << 20


def small_files(ctx: Context, count: int, seed: int = 0) -> Path:
    """A folder of ``count`` files of 1-4 KiB in subfolders of 100 (made once)."""
    folder = ctx.work / "data" / f"small-{count}-{seed}"
    done = folder.with_suffix(".done")
    if not done.exists():
        if folder.exists():
            shutil.rmtree(folder)
        rng = random.Random(seed * 1_000_003 + count)
        for number in range(count):
            path = folder / f"{number // 100:03d}" / f"{number:06d}.bin"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(rng.randbytes(rng.randint(1024, 4096)))
        done.touch()
    return folder


def big_file(ctx: Context, size: int) -> Path:
    """One file of ``size`` random bytes (made once)."""
    path = ctx.work / "data" / f"big-{size}.bin"
    done = path.with_suffix(".done")
    if not done.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = random.Random(size)
        with open(path, "wb") as handle:
            left = size
            while left > 0:
                handle.write(rng.randbytes(min(CHUNK, left)))
                left -= CHUNK
        done.touch()
    return path


def place(source: Path, target: Path) -> None:
    """Copy a workload file or folder to ``target`` (replacing what is there)."""
    discard(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)


def remove(path: Path) -> None:
    """Remove a file or folder, read-only files included."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():

        def writable(func: Callable[..., object], name: str, _exc: object) -> None:
            os.chmod(os.path.dirname(name), 0o755)
            if os.path.lexists(name) and not os.path.isdir(name):
                os.chmod(name, 0o644)
            func(name)

        shutil.rmtree(path, onerror=writable)


_TRASH: list[Path] = []
_MANY = 500
"""A folder with more entries than this is moved aside by a reset rather than deleted."""


def use_trash(folder: Path) -> None:
    """Make resets move big folders into ``folder`` (see `discard`) instead of deleting them."""
    _TRASH[:] = [folder]
    empty_trash()


def discard(path: Path) -> None:
    """A reset's removal: a folder of many files is moved into the trash, the rest removed.

    On ext4 without a journal (as on some virtual machines), the inode allocator skips
    inodes freed in the last minute or so, scanning past every one of them: creating
    thousands of files right after deleting thousands costs several times what it
    costs otherwise, for whichever tool runs next. Moving the old copy aside (a
    rename) frees nothing, so each timed run creates its files as a user's would;
    the trash is emptied between cases, outside any timing.
    """
    if _TRASH and path.is_dir() and not path.is_symlink() and _has_many(path):
        _TRASH[0].mkdir(parents=True, exist_ok=True)
        target = _TRASH[0] / f"{len(os.listdir(_TRASH[0]))}-{path.name}"
        os.rename(path, target)
        return
    remove(path)


def _has_many(path: Path) -> bool:
    count = 0
    for _folder, dirs, files in os.walk(path):
        count += len(dirs) + len(files)
        if count > _MANY:
            return True
    return False


SETTLE = 65.0
"""Seconds to wait after deleting many files before timing anything again (see `discard`)."""


def empty_trash(say: Callable[[str], None] | None = None) -> None:
    """Delete what resets moved aside (between cases, never during a timed run).

    After deleting many files, write everything out and wait `SETTLE` seconds: the
    allocator's memory of freed inodes lasts about a minute once written out.
    """
    if not _TRASH or not _TRASH[0].exists():
        return
    many = _has_many(_TRASH[0])
    remove(_TRASH[0])
    if many:
        if say is not None:
            say(f"letting the filesystem settle after deleting old copies ({SETTLE:.0f} s)")
        os.sync()
        time.sleep(SETTLE)


def pristine(path: Path) -> bool:
    """Whether every file under ``path`` is a plain writable file with one link.

    A tool that links workspace files to its cache, or makes them read-only, leaves
    them otherwise; then the workload is copied in again before the next run.
    """
    files = [path] if path.is_file() else [p for p in path.rglob("*") if not p.is_dir()]
    if not path.exists():
        return False
    for file in files:
        info = os.lstat(file)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or not info.st_mode & stat.S_IWUSR:
            return False
    return True


def restore(source: Path, target: Path) -> Callable[[], None]:
    """A reset: the workload at ``target`` as generated (copied only when it changed)."""

    def action() -> None:
        if not pristine(target):
            place(source, target)

    return action


def removing(*paths: Path) -> Callable[[], None]:
    """A reset: these files and folders gone (see `discard`)."""

    def action() -> None:
        for path in paths:
            discard(path)

    return action


def write_file(path: Path, text: str) -> Callable[[], None]:
    """A reset: ``path`` holds exactly ``text``."""

    def action() -> None:
        path.write_text(text)

    return action


def sync() -> None:
    """A reset: dirty pages written out, so the timed command starts on a quiet disk."""
    os.sync()


def gitexp_state(root: Path) -> Path:
    """gitexp's folder in the git common dir: cache, stat index, local config."""
    return root / ".git" / "gitexp"


def dvc_state(root: Path) -> list[Path]:
    """DVC's cache, temporary folder and site cache (state database, indexes)."""
    return [root / ".dvc" / "cache", root / ".dvc" / "tmp", root / ".dvc" / "site"]


def gitexp_data_project(ctx: Context, root: Path, source: Path, name: str) -> None:
    """A gitexp project with the workload at ``root/name``, not yet tracked."""
    projects.gitexp_project(root, ctx.env)
    place(source, root / name)


def dvc_data_project(ctx: Context, root: Path, source: Path, name: str) -> None:
    """A DVC project (``dvc init``, site cache inside) with the workload at ``root/name``."""
    assert ctx.dvc is not None
    projects.init_git(root, ctx.env)
    projects.write_project(root)
    check_call([*ctx.dvc, "init", "-q"], root, ctx.env)
    check_call(
        [*ctx.dvc, "config", "--local", "core.site_cache_dir", str(root / ".dvc" / "site")],
        root,
        ctx.env,
    )
    projects.commit_all(root, ctx.env, "project")
    place(source, root / name)


def workloads(ctx: Context) -> list[tuple[str, int, str, Callable[[], Path]]]:
    """(label, size, unit, make) for the small-files and big-file workloads."""
    found: list[tuple[str, int, str, Callable[[], Path]]] = []
    for count in ctx.sizes("small_files"):
        found.append(("files", count, "files of 1-4 KiB", lambda c=count: small_files(ctx, c)))
    for size in ctx.sizes("big_file"):
        found.append(("file", size, "bytes in one file", lambda s=size: big_file(ctx, s)))
    return found


def data_name(label: str) -> str:
    """Where a workload lives in a project: a folder ``data`` or a file ``big.bin``."""
    return "data" if label == "files" else "big.bin"


def tracked_gitexp(ctx: Context, root: Path, source: Path, name: str, config: str = "") -> None:
    """A gitexp project whose commit tracks the workload (``gitexp add``, then commit).

    ``config`` is written as ``gitexp.yaml`` first (a storage remote, say).
    """
    gitexp_data_project(ctx, root, source, name)
    if config:
        (root / "gitexp.yaml").write_text(config)
    check_call([*ctx.gitexp, "add", name], root, ctx.env)
    projects.commit_all(root, ctx.env, f"track {name}")


def tracked_dvc(
    ctx: Context, root: Path, source: Path, name: str, remote: list[list[str]] = ()
) -> None:  # type: ignore[assignment]
    """A DVC project whose commit tracks the workload (``dvc add``, then commit).

    ``remote`` is a list of ``dvc remote …`` argument lists run first.
    """
    assert ctx.dvc is not None
    dvc_data_project(ctx, root, source, name)
    for args in remote:
        check_call([*ctx.dvc, "remote", *args], root, ctx.env)
    check_call([*ctx.dvc, "add", "-q", name], root, ctx.env)
    projects.commit_all(root, ctx.env, f"track {name}")


def retrack(ctx: Context, root: Path, source: Path, name: str, add: list[str]) -> None:
    """Replace the tracked workload with ``source``, track it with ``add`` and commit."""
    place(source, root / name)
    check_call(add, root, ctx.env)
    projects.commit_all(root, ctx.env, f"second version of {name}")
