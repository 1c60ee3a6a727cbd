"""Reading and writing refs: create-only creation and compare-and-swap updates.

A new experiment ref is created only if it does not exist (the same commit again is a
no-op, so a retried run adopts its own result); every update or delete names the value
it expects, through ``git update-ref --stdin`` transactions, so a lost race is an
error and never a silent overwrite.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pygit2

from gitexp.errors import ConflictError, GitexpError, NotFoundError
from gitexp.git.repo import GitRepo

ZERO = "0" * 40


@dataclass(frozen=True, slots=True)
class RefUpdate:
    """Move ``name`` from ``old`` to ``new``; None for ``new`` deletes, for ``old`` creates."""

    name: str
    new: str | None
    old: str | None


def list_refs(git: GitRepo, prefix: str) -> dict[str, str]:
    """Every ref under ``prefix`` and the commit it points to (hex), in name order.

    ``git for-each-ref`` lists 100,000 refs several times faster than walking them
    through libgit2, and reads only the refs under ``prefix``.
    """
    proc = subprocess.run(
        ["git", "for-each-ref", "--format=%(objectname) %(symref) %(refname)", prefix],
        cwd=git.root,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip()
        raise GitexpError(f"could not list the refs under {prefix}: {detail}")
    found: dict[str, str] = {}
    for line in proc.stdout.decode("utf-8", "surrogateescape").splitlines():
        target, symref, name = line.split(" ", 2)
        if not symref:
            found[name] = target
    return found


def read_ref(git: GitRepo, name: str) -> str | None:
    """The commit ``name`` points to, or None when the ref does not exist."""
    ref = git.repo.references.get(name)
    if ref is None:
        return None
    return str(ref.resolve().target)


def create_ref(git: GitRepo, name: str, target: str, *, force: bool = False) -> bool:
    """Create ``name`` at ``target``; True if created, False if it already pointed there.

    Without ``force`` an existing ref at another commit raises `ConflictError`. With
    ``force`` it is moved, compare-and-swap against the value just read.
    """
    try:
        git.repo.references.create(name, pygit2.Oid(hex=target), force=False)
        return True
    except (pygit2.AlreadyExistsError, ValueError, pygit2.GitError):
        current = read_ref(git, name)
    if current == target:
        return False
    if current is None:
        raise ConflictError(f"could not create ref '{name}': it is locked by another process")
    if not force:
        raise ConflictError(
            f"'{name}' already exists at {current[:12]}",
            hint="pick another name with -n, or pass --force to replace it",
        )
    update_refs(git, [RefUpdate(name, target, current)])
    return True


def update_refs(git: GitRepo, updates: Sequence[RefUpdate], message: str = "gitexp") -> None:
    """Apply every update atomically, each checked against its expected old value.

    Raises `ConflictError` when any ref is not at its expected value; then nothing moves.
    """
    if not updates:
        return
    lines = ["start"]
    for u in updates:
        if u.new is None:
            lines.append(f"delete {u.name} {u.old or ''}".rstrip())
        else:
            lines.append(f"update {u.name} {u.new} {u.old or ZERO}")
    lines += ["prepare", "commit", ""]
    proc = subprocess.run(
        ["git", "update-ref", "--stdin", "-m", message],
        input="\n".join(lines).encode(),
        cwd=git.root,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ConflictError(
            f"refs changed while gitexp was updating them: {detail[-1] if detail else 'failed'}",
            hint="look again (gitexp list) and retry",
        )
    _check_done(proc.stdout)


def _check_done(stdout: bytes) -> None:
    if b"commit: ok" not in stdout:
        raise GitexpError("git update-ref did not confirm the transaction; run `gitexp list`")


def delete_refs(git: GitRepo, refs: Iterable[tuple[str, str]]) -> None:
    """Delete each ``(name, expected target)`` in one transaction."""
    updates = [RefUpdate(name, None, old) for name, old in refs]
    update_refs(git, updates, "gitexp: remove")


def require_ref(git: GitRepo, name: str, what: str) -> str:
    """The target of ``name``, or `NotFoundError` saying which ``what`` is unknown."""
    target = read_ref(git, name)
    if target is None:
        raise NotFoundError(f"{what} does not exist", hint="see `gitexp list`")
    return target
