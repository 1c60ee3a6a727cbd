"""Reading and writing refs: create-only creation and compare-and-swap updates.

A new experiment ref is created only if it does not exist (the same commit again is a
no-op, so a retried run adopts its own result); every update or delete names the value
it expects, through ``git update-ref --stdin`` transactions, so a lost race is an
error and never a silent overwrite.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gitexp.core.names import EXPERIMENT_REF_PREFIX
from gitexp.errors import ConflictError, GitexpError, NotFoundError
from gitexp.git.repo import GitRepo

ZERO = "0" * 40
_CREATE_ATTEMPTS = 50


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
    return start_listing(git, prefix)()


def start_listing(git: GitRepo, prefix: str) -> Callable[[], dict[str, str]]:
    """`list_refs`, begun now and given by the call it returns: git lists while you work.

    Reading ten thousand loose refs is most of what a warm ``show`` waits for; started
    first, it runs on another core while the caller loads its index.
    """
    try:
        proc = subprocess.Popen(
            ["git", "for-each-ref", "--format=%(objectname) %(symref) %(refname)", prefix],
            cwd=git.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise GitexpError("the git executable was not found", hint="install git") from exc

    def listed() -> dict[str, str]:
        out, err = proc.communicate()
        if proc.returncode != 0:
            detail = err.decode(errors="replace").strip()
            raise GitexpError(f"could not list the refs under {prefix}: {detail}")
        found: dict[str, str] = {}
        for line in out.decode("utf-8", "surrogateescape").splitlines():
            target, symref, name = line.split(" ", 2)
            if not symref:
                found[name] = target
        return found

    return listed


def has_refs(git: GitRepo, prefix: str) -> bool:
    """Whether any ref lies under ``prefix``: a cheap test before listing them.

    With git's files backend the answer is on disk, in the loose refs' folder or a
    line of ``packed-refs``, so it costs no process; another backend (reftable) asks
    `list_refs`. ``prefix`` ends with ``/``.
    """
    common = git.common_dir
    if (common / "reftable").is_dir():
        return bool(list_refs(git, prefix))
    folder = common / prefix
    if folder.is_dir() and any(folder.iterdir()):
        return True
    try:
        packed = (common / "packed-refs").read_bytes()
    except FileNotFoundError:
        return False
    return (b" " + prefix.encode()) in packed


def ref_may_exist(git: GitRepo, name: str) -> bool:
    """Whether ref ``name`` may exist: False only when it surely does not.

    As `has_refs`, from the files on disk, with no process and no pygit2, so a
    command can skip loading libgit2 to learn that an optional ref (the notes) is
    absent. With the reftable backend the answer is always True.
    """
    common = git.common_dir
    if (common / "reftable").is_dir():
        return True
    if (common / name).is_file() or (git.git_dir / name).is_file():
        return True
    try:
        packed = (common / "packed-refs").read_bytes()
    except FileNotFoundError:
        return False
    return (b" " + name.encode() + b"\n") in packed


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

    Creation goes through git's own ref transaction, which checks that the ref does
    not exist while holding its lock file (loose and packed refs alike), so among any
    number of processes and worktrees creating one name exactly one wins. libgit2's
    create checks before it locks, so two racers could both "win"; it is not used.
    A busy lock or a lost compare-and-swap is looked at again: the ref may now hold
    this very commit (a no-op) or another one (a conflict).
    """
    for attempt in range(_CREATE_ATTEMPTS):
        current = read_ref(git, name)
        if current == target:
            return False
        if current is not None and not force:
            raise _exists(name, current, target)
        failure = _try_update(git, [RefUpdate(name, target, current)], "gitexp")
        if failure is None or read_ref(git, name) == target:
            return True  # (git may report a failure after committing, if it was killed)
        if "cannot lock ref" not in failure and not failure.startswith(_STOPPED):
            raise GitexpError(f"could not create {_describe(name)}: {failure}")
        # a race, or git stopped by a signal before it committed: look again and retry
        time.sleep(min(0.005 * (attempt + 1), 0.1))
    raise ConflictError(
        f"could not create {_describe(name)}: its ref stays locked by another process",
        hint="retry once other gitexp and git commands have finished",
    )


def _exists(name: str, current: str, target: str) -> ConflictError:
    return ConflictError(
        f"{_describe(name)} already exists (at {current[:12]})",
        hint=f"pick another name with -n, or pass --force to replace it "
        f"(the new commit {target[:12]} is on no ref)",
    )


def _describe(name: str) -> str:
    if name.startswith(EXPERIMENT_REF_PREFIX):
        return f"experiment '{name[len(EXPERIMENT_REF_PREFIX) :]}'"
    return f"'{name}'"


def update_refs(git: GitRepo, updates: Sequence[RefUpdate], message: str = "gitexp") -> None:
    """Apply every update atomically, each checked against its expected old value.

    Raises `ConflictError` when any ref is not at its expected value; then nothing moves.
    """
    if not updates:
        return
    detail = _try_update(git, updates, message)
    if detail is not None:
        raise ConflictError(
            f"refs changed while gitexp was updating them: {detail}",
            hint="look again (gitexp list) and retry",
        )


_STOPPED = "git update-ref was stopped by signal"


def _try_update(git: GitRepo, updates: Sequence[RefUpdate], message: str) -> str | None:
    """Run the updates as one ``git update-ref --stdin`` transaction; why it failed, or None."""
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
        start_new_session=True,  # a Ctrl-C to the terminal's group must not cut it short
    )
    if proc.returncode < 0:
        return f"{_STOPPED} {-proc.returncode}"
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        return detail[-1] if detail else f"git update-ref failed (exit {proc.returncode})"
    _check_done(proc.stdout)
    return None


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
