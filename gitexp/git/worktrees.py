"""Worktrees for isolated runs: added, removed and swept one at a time.

A run gets a throwaway worktree (`isolated_worktree`), or one that a long-lived
process keeps and resets for each of its runs (`keep_worktree`, `reset_worktree`).

``git worktree add`` and ``remove`` race with themselves when several run at once
(they share ``$GIT_COMMON_DIR/worktrees``), so every change here holds one lock file.

A process killed outright cannot remove its worktrees, so each worktree has an owner
file beside it (``<folder>/<name>.owner``, holding the owner's pid) that the owner
keeps locked (``flock``) for as long as it uses the worktree. The kernel drops the
lock when the process dies, however it dies, so `remove_abandoned` can tell a dead
owner's worktree from a live one's without trusting pids (which are reused). The
owner file is locked before ``git worktree add`` and unlocked after the removal,
both under the same lock as the sweep, so a sweep never sees a live worktree
unowned.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from gitexp.errors import GitexpError
from gitexp.git.repo import GitRepo

OWNER_SUFFIX = ".owner"


@contextlib.contextmanager
def _serialized(git: GitRepo) -> Iterator[int]:
    """Hold the lock on worktree changes; yields its file descriptor."""
    lock = git.common_dir / "gitexp" / "worktree.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield handle.fileno()


@contextlib.contextmanager
def isolated_worktree(git: GitRepo, path: Path, commit: str) -> Iterator[GitRepo]:
    """A new worktree at ``path`` with ``commit`` checked out, detached, for the block.

    The worktree is removed when the block ends, however it ends; if this process is
    killed instead, the next `remove_abandoned` removes it. Git hooks do not run in
    it: what gitexp needs there, gitexp does itself. Raises `GitexpError` if git
    cannot add it (then nothing is left).
    """
    handle = _made(git, path, commit)
    owner = _owner_file(path)
    try:
        yield GitRepo.discover(path)
    finally:
        shutil.rmtree(path, ignore_errors=True)  # still ours: no sweep touches it
        with _serialized(git):
            _discard(git, path)
            _release(handle, owner)


def remove_abandoned(git: GitRepo, folder: Path) -> list[str]:
    """Remove the worktrees in ``folder`` whose owner process has ended; their names.

    Git's record of each goes with it, also the record of one whose folder is gone
    or half made. A worktree whose owner still runs is never touched, so concurrent
    sweeps and runs are safe. No git process is started, and with no worktree in
    ``folder`` no lock is taken either.
    """
    if not _candidates(git, folder):
        return []
    removed: list[str] = []
    with _serialized(git):
        for name in sorted(_candidates(git, folder)):
            path = folder / name
            owner = _owner_file(path)
            abandoned, handle = _claim_abandoned(owner)
            if not abandoned:
                continue
            _discard(git, path)
            if handle is not None:
                _release(handle, owner)
            removed.append(name)
    return removed


def _candidates(git: GitRepo, folder: Path) -> set[str]:
    """Names of worktrees in ``folder``: their folders, owner files and git's records."""
    names: set[str] = set()
    with contextlib.suppress(FileNotFoundError), os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(OWNER_SUFFIX):
                names.add(entry.name[: -len(OWNER_SUFFIX)])
            elif entry.is_dir(follow_symlinks=False):
                names.add(entry.name)
    return names | set(_registered(git, folder))


def _registered(git: GitRepo, folder: Path) -> dict[str, Path]:
    """Git's records of worktrees in ``folder``: worktree name → its admin folder."""
    found: dict[str, Path] = {}
    inside = os.path.realpath(folder)
    with contextlib.suppress(FileNotFoundError), os.scandir(git.common_dir / "worktrees") as it:
        for entry in it:
            try:
                gitdir = Path(entry.path, "gitdir").read_text().strip()
            except OSError:
                continue
            worktree = os.path.dirname(gitdir)
            if os.path.dirname(os.path.realpath(worktree)) == inside:
                found[os.path.basename(worktree)] = Path(entry.path)
    return found


def _made(git: GitRepo, path: Path, commit: str) -> BinaryIO:
    """Add the worktree ``path`` at ``commit``; its owner file's handle, locked.

    If git cannot add it, nothing is left and `GitexpError` is raised.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    owner = _owner_file(path)
    with _serialized(git) as serial:
        handle = _claim(owner)
        try:
            _add(git, path, commit, (serial, handle.fileno()))
        except BaseException:
            _discard(git, path)
            _release(handle, owner)
            raise
    return handle


def _owner_file(path: Path) -> Path:
    return path.with_name(path.name + OWNER_SUFFIX)


def _claim(owner: Path) -> BinaryIO:
    """Create and lock ``owner`` (ours alone: the name is new); the pid goes in it."""
    handle = open(owner, "w+b")  # noqa: SIM115 - held for the worktree's whole life
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    handle.write(f"{os.getpid()}\n".encode())
    handle.flush()
    return handle


def _claim_abandoned(owner: Path) -> tuple[bool, BinaryIO | None]:
    """Whether the owner is gone, and then its owner file, locked by us (if there is one).

    No owner file means no owner: every worktree gets one before it exists.
    """
    try:
        handle = open(owner, "r+b")  # noqa: SIM115 - closed by `_release`
    except FileNotFoundError:
        return True, None
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return False, None
    return True, handle


def _release(handle: BinaryIO, owner: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        owner.unlink()
    handle.close()


def _add(git: GitRepo, path: Path, commit: str, locks: tuple[int, ...]) -> None:
    """``git worktree add``; ``git`` holds ``locks`` too, so they outlive a killed gitexp.

    Were gitexp killed while git adds the worktree, git would go on writing it; a
    sweep must wait for git to end before it removes what git wrote.
    """
    argv = ["git", "-c", "core.hooksPath=/dev/null", "worktree", "add", "--detach", "--quiet"]
    proc = subprocess.run(
        [*argv, str(path), commit],
        cwd=git.root,
        capture_output=True,
        check=False,
        pass_fds=locks,
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()
        raise GitexpError(f"could not create a worktree for the run: {detail}")


def _discard(git: GitRepo, path: Path) -> None:
    """Remove the worktree's files, then git's record of it (also a half-made one).

    The record is removed as ``git worktree prune`` would, but only this one: a
    ``prune`` would also drop the user's worktrees whose folder is away for a while,
    and it keeps forever the record of a ``git worktree add`` killed midway (locked as
    "initializing").
    """
    shutil.rmtree(path, ignore_errors=True)
    admin = _registered(git, path.parent).get(path.name)
    if admin is not None:
        shutil.rmtree(admin, ignore_errors=True)


@dataclass
class KeptWorktree:
    """A worktree one process keeps for run after run (`keep_worktree`), one run at a time.

    Its owner file stays locked for as long as the process keeps it, so no sweep
    touches it meanwhile; when the process dies, `remove_abandoned` removes it.
    """

    path: Path
    git: GitRepo
    handle: BinaryIO


def keep_worktree(git: GitRepo, path: Path, commit: str) -> KeptWorktree:
    """A new worktree at ``path`` with ``commit`` checked out, detached, kept until dropped.

    As `isolated_worktree`, without removing it at the end of a block: `reset_worktree`
    brings it to the next run's commit without a git process, `drop_worktree` removes it.
    """
    handle = _made(git, path, commit)
    return KeptWorktree(path, GitRepo.discover(path), handle)


def empty_worktree(kept: KeptWorktree) -> bool:
    """Remove every file of the worktree but its ``.git`` link; True when none is left.

    What a run left (results, outs, ignored files, folders) goes, as with a new
    worktree; False (something could not be removed) means the worktree must not
    be used again.
    """
    with contextlib.suppress(FileNotFoundError), os.scandir(kept.path) as entries:
        for entry in list(entries):
            if entry.name == ".git":
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError, PermissionError):
                    os.unlink(entry.path)
    try:
        return os.listdir(kept.path) == [".git"]
    except OSError:
        return False


def reset_worktree(kept: KeptWorktree, commit: str) -> GitRepo:
    """The kept worktree, emptied, with ``commit`` checked out and HEAD detached at it.

    In this process (libgit2), with no ``git worktree add``: the same files, index and
    HEAD as a new worktree of ``commit``. Raises `GitexpError` when it cannot be
    emptied or checked out; then it must be dropped.
    """
    from pygit2 import GitError
    from pygit2.enums import CheckoutStrategy

    if not empty_worktree(kept):
        raise GitexpError(f"could not empty the worktree {kept.path} for the next run")
    repo = kept.git.repo
    try:
        target = kept.git.lookup_commit(commit)
        # pygit2 ships no annotation for it
        repo.checkout_tree(target.tree, strategy=CheckoutStrategy.FORCE)  # type: ignore[no-untyped-call]
        repo.set_head(target.id)
    except (GitError, KeyError, ValueError) as exc:
        raise GitexpError(f"could not check out {commit[:12]} in {kept.path}: {exc}") from exc
    return kept.git


def drop_worktree(git: GitRepo, kept: KeptWorktree) -> None:
    """Remove a kept worktree, its files and git's record of it, and let go of it."""
    shutil.rmtree(kept.path, ignore_errors=True)
    with _serialized(git):
        _discard(git, kept.path)
        _release(kept.handle, _owner_file(kept.path))
