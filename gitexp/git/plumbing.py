"""Quick questions to the git executable, for the hooks, without loading pygit2.

A git hook runs on every commit, checkout and push, so the question "is there anything
for gitexp to do?" must cost a few milliseconds: each function here is one small
``git`` process (diff, rev-list, cat-file) whose answer is parsed from NUL-separated
output. Run from inside a hook, git passes its own environment (``GIT_DIR``,
``GIT_INDEX_FILE`` of a ``commit -a``) down to these processes, so they see exactly
what the hook is about. Value types are named tuples here: a hook does not pay for
importing ``dataclasses``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from gitexp.errors import GitexpError, Interrupted, NotARepositoryError

POINTER_PATHSPEC = "*.gitexp"
"""Every pointer file at any depth (in a plain pathspec ``*`` also matches ``/``)."""


_NULL_IDS = frozenset(("0" * 40, "0" * 64))


def is_null(sha: str) -> bool:
    """Whether ``sha`` is git's all-zeros id (no commit: a new or deleted ref)."""
    return not sha or set(sha) == {"0"}


def _git(root: Path, args: Sequence[str], stdin: bytes | None = None) -> bytes:
    """Run ``git ARGS`` in ``root``; its stdout. `GitexpError` with git's message on failure."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=root,
            input=stdin if stdin is not None else b"",
            capture_output=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise GitexpError("the git executable was not found", hint="install git") from exc
    _check(args, proc.returncode, proc.stderr)
    return proc.stdout


def _git_batch(root: Path, args: Sequence[str], stdin: bytes) -> bytes:
    """`_git` for a large input and output: the input is written by a thread of its own.

    ``subprocess.run`` interleaves writing and reading through ``poll``, 512 bytes
    of input a turn; for a batch of ten thousand ids that is thousands of turns.
    Here one thread writes the whole input while this one reads the whole output.
    """
    import threading

    try:
        proc = subprocess.Popen(
            ["git", *args],
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except FileNotFoundError as exc:
        raise GitexpError("the git executable was not found", hint="install git") from exc
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None  # noqa: S101 - piped above
    with proc:  # closes the pipes and waits for git, however this ends
        writer = threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True)
        writer.start()
        out = proc.stdout.read()
        err = proc.stderr.read()
        writer.join()
    _check(args, proc.returncode, err)
    return out


def _feed(pipe: IO[bytes], data: bytes) -> None:
    """Write ``data`` to ``pipe`` and close it; a reader that went away ends the write."""
    with contextlib.suppress(BrokenPipeError, OSError):
        pipe.write(data)
    with contextlib.suppress(BrokenPipeError, OSError):
        pipe.close()


def _check(args: Sequence[str], code: int, stderr: bytes) -> None:
    """`Interrupted` or `GitexpError` for a git process that did not exit 0."""
    if code in (-signal.SIGINT, -signal.SIGTERM):  # Ctrl-C reached the group
        raise Interrupted(f"interrupted while git {args[0]} ran")
    if code != 0:
        detail = stderr.decode(errors="replace").strip().splitlines()
        raise GitexpError(
            f"git {args[0]} failed: {detail[-1] if detail else code}",
            hint="run the git command again; if it keeps failing, check the repository",
        )


class Places(NamedTuple):
    """Where a repository keeps things: the working tree, its git dir and the common dir."""

    root: Path
    git_dir: Path
    common_dir: Path


def places(cwd: str | os.PathLike[str] = ".") -> Places:
    """The repository around ``cwd``; `NotARepositoryError` outside a working tree."""
    start = Path(cwd).resolve()
    proc = subprocess.run(
        ["git", "rev-parse", "--show-toplevel", "--git-dir", "--git-common-dir"],
        cwd=start,
        capture_output=True,
        check=False,
    )
    lines = proc.stdout.decode(errors="surrogateescape").splitlines()
    if proc.returncode == 0 and len(lines) == 3:
        top, git_dir, common = (Path(line) for line in lines)
        return Places(top, (start / git_dir).resolve(), (start / common).resolve())
    if b"not a git repository" in proc.stderr:
        raise NotARepositoryError(
            f"'{start}' is not in a git repository",
            hint="run `git init` first, or change to your project's folder",
        )
    raise NotARepositoryError(
        f"'{start}' is not in a git working tree (it is a bare repository or a git folder)",
        hint="run gitexp in a clone with a working tree",
    )


def workspace_pointers(root: Path) -> list[str]:
    """Pointer files in the working tree: those in git's index and untracked ones.

    Folders that git ignores (tracked data among them) are not walked; files of the
    index that are gone from the working tree are left out.
    """
    args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    out = _git(root, [*args, "--", POINTER_PATHSPEC])
    return sorted(p for p in set(_split(out)) if os.path.isfile(root / p))


def worktree_roots(root: Path) -> list[Path]:
    """The working trees of the repository at ``root`` (its main one and every linked one).

    Those whose folder is gone are left out; a bare repository has none.
    """
    out = _git(root, ["worktree", "list", "--porcelain", "-z"])
    found: list[Path] = []
    for line in _split(out):
        if line.startswith("worktree "):
            found.append(Path(line[len("worktree ") :]))
        elif line == "bare" and found:
            found.pop()
    return [path for path in found if path.is_dir()]


def hooks_dir(root: Path) -> Path:
    """The folder git runs this working tree's hooks from.

    ``core.hooksPath`` when it is set (a relative one is relative to the working
    tree), else the ``hooks`` folder of the common dir, shared by every worktree.
    """
    out = _git(root, ["rev-parse", "--git-path", "hooks"]).decode(errors="surrogateescape")
    return (root / out.strip()).resolve()


def config_bool(root: Path, key: str) -> bool:
    """Whether the git config sets ``key`` to true (unset or invalid: false)."""
    proc = subprocess.run(
        ["git", "config", "--bool", key], cwd=root, capture_output=True, check=False
    )
    return proc.returncode == 0 and proc.stdout.strip() == b"true"


def head_commit(cwd: str | os.PathLike[str] = ".") -> str | None:
    """The commit HEAD names in the repository at ``cwd``; None before the first commit."""
    return resolve(Path(cwd), "HEAD")


def resolve(root: Path, rev: str) -> str | None:
    """The commit id ``rev`` names, or None when it names none."""
    proc = subprocess.run(
        ["git", "rev-parse", "-q", "--verify", f"{rev}^{{commit}}"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    out = proc.stdout.decode().strip()
    return out if proc.returncode == 0 and out else None


def _split(out: bytes) -> list[str]:
    return [p for p in out.decode(errors="surrogateescape").split("\0") if p]


def changed_pointers(root: Path, old: str, new: str) -> list[str]:
    """Pointer files that differ between commits ``old`` and ``new`` (added, changed, gone)."""
    args = ["diff", "--name-only", "-z", "--no-renames", "--no-ext-diff", old, new]
    return _split(_git(root, [*args, "--", POINTER_PATHSPEC]))


def staged_pointer_changes(root: Path) -> list[str]:
    """Pointer files whose staged version differs from HEAD's."""
    args = ["diff", "--cached", "--name-only", "-z", "--no-renames", "--no-ext-diff"]
    return _split(_git(root, [*args, "--", POINTER_PATHSPEC]))


def tree_pointers(root: Path, commit: str) -> list[str]:
    """Every pointer file in ``commit``'s tree."""
    out = _git(root, ["ls-tree", "-r", "--name-only", "-z", commit])
    return [p for p in _split(out) if p.endswith(".gitexp")]


class Change(NamedTuple):
    """A file a diff reports: its path, old and new blob ids, git modes and status letter.

    ``commit`` is the commit it is a change of (for ``diff-tree``, else "").
    """

    path: str
    old: str
    new: str
    old_mode: str
    new_mode: str
    status: str
    commit: str = ""

    def is_file(self) -> bool:
        """Whether the new side is a regular file (not a link, a submodule or nothing)."""
        return self.new_mode in ("100644", "100755")


def _raw(out: bytes) -> list[Change]:
    """Parse ``--raw -z --no-abbrev`` output (two-sided, or combined ``::`` for merges)."""
    tokens = out.decode(errors="surrogateescape").split("\0")
    changes: list[Change] = []
    commit = ""
    number = 0
    while number < len(tokens):
        token = tokens[number]
        if token.startswith(":") and number + 1 < len(tokens):
            fields = token.lstrip(":").split()
            half = (len(fields) - 1) // 2
            modes, shas = fields[:half], fields[half:-1]
            path = tokens[number + 1]
            changes.append(Change(path, shas[0], shas[-1], modes[0], modes[-1], fields[-1], commit))
            number += 2
        else:
            commit = token or commit  # a commit id (diff-tree --stdin), or the last empty token
            number += 1
    return changes


def staged_changes(root: Path) -> list[Change]:
    """What the index adds or changes against HEAD (every file, before the first commit)."""
    args = ["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--diff-filter=d"]
    return _raw(_git(root, args))


def staged_against(root: Path, commit: str) -> list[Change]:
    """What the index adds or changes against ``commit`` (a merge's other side)."""
    args = ["diff", "--cached", "--raw", "-z", "--no-abbrev", "--no-renames", "--diff-filter=d"]
    return _raw(_git(root, [*args, commit]))


def commits_between(
    root: Path, tips: Iterable[str], hidden: Iterable[str], remote: str
) -> list[str]:
    """Commits reachable from ``tips`` that the remote lacks, newest first.

    Left out: commits reachable from ``hidden`` or from ``remote``'s remote-tracking
    branches (``remote`` "" for none). A hidden id this repository does not have is ignored.
    """
    lines = [*tips, *(f"^{h}" for h in hidden)]
    args = ["rev-list", "--ignore-missing", "--stdin"]
    if remote:
        args += ["--not", f"--remotes={remote}"]
    out = _git(root, args, ("\n".join(lines) + "\n").encode())
    return out.decode().split()


def pointer_changes_in(root: Path, commits: Sequence[str]) -> list[Change]:
    """Pointer files each commit adds or changes against its parent.

    A merge counts only what differs from every parent (a pointer taken whole from one
    side was brought by that side's own commits); a root commit counts all it has.
    """
    if not commits:
        return []
    args = ["diff-tree", "--stdin", "-r", "-c", "--root", "--raw", "-z", "--no-abbrev"]
    out = _git(root, [*args, "--", POINTER_PATHSPEC], ("\n".join(commits) + "\n").encode())
    return [c for c in _raw(out) if not is_null(c.new)]


def object_sizes(root: Path, shas: Iterable[str]) -> dict[str, int]:
    """The size of each object that exists, by id."""
    wanted = list(dict.fromkeys(s for s in shas if not is_null(s)))
    if not wanted:
        return {}
    out = _git(root, ["cat-file", "--batch-check"], ("\n".join(wanted) + "\n").encode())
    sizes: dict[str, int] = {}
    for line in out.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2].isdigit():
            sizes[parts[0]] = int(parts[2])
    return sizes


def read_blobs(root: Path, shas: Iterable[str]) -> dict[str, bytes]:
    """The bytes of each blob that exists, by id (for small files such as pointers)."""
    wanted = list(dict.fromkeys(s for s in shas if not is_null(s)))
    if not wanted:
        return {}
    out = _git(root, ["cat-file", "--batch"], ("\n".join(wanted) + "\n").encode())
    blobs: dict[str, bytes] = {}
    at = 0
    while at < len(out):
        end = out.index(b"\n", at)
        header = out[at:end].decode().split()
        at = end + 1
        if len(header) != 3 or not header[2].isdigit():
            continue  # "<id> missing"
        size = int(header[2])
        if header[1] == "blob":
            blobs[header[0]] = out[at : at + size]
        at += size + 1
    return blobs


def read_objects(root: Path, oids: Iterable[str]) -> dict[str, tuple[str, bytes]]:
    """The type and bytes of each object that exists, by id, read by one git process.

    Ids that name no object are left out. Raises `GitexpError` when git fails.
    """
    wanted = [o for o in dict.fromkeys(oids) if o and o not in _NULL_IDS]
    if not wanted:
        return {}
    # --buffer: git writes in large blocks, not one write (and one wake-up here) an object
    out = _git_batch(root, ["cat-file", "--batch", "--buffer"], ("\n".join(wanted) + "\n").encode())
    found: dict[str, tuple[str, bytes]] = {}
    kinds = {b"commit": "commit", b"tree": "tree", b"blob": "blob", b"tag": "tag"}
    at = 0
    index = out.index
    for oid in wanted:  # git answers in the order asked: "<id> <type> <size>\n<body>\n"
        end = index(b"\n", at)
        last = out.rfind(b" ", at, end)
        size = out[last + 1 : end]
        if not size.isdigit():  # "<request> missing" (or ambiguous)
            at = end + 1
            continue
        kind = kinds[out[out.rfind(b" ", at, last) + 1 : last]]
        at = end + 1 + int(size)
        found[oid] = (kind, out[end + 1 : at])
        at += 1
    return found


def read_objects_in_order(root: Path, oids: Sequence[str]) -> list[tuple[bytes, bytes] | None]:
    """The type (``b"blob"``…) and bytes of each of ``oids`` (hex), in their order.

    None for an id that names no object. The same git process as `read_objects`, told
    to frame each object by its type and size alone, so that many small objects cost
    little more than their slicing. Raises `GitexpError` when git fails.
    """
    if not oids:
        return []
    out = _git_batch(
        root,
        ["cat-file", "--batch=%(objecttype) %(objectsize)", "--buffer"],
        ("\n".join(oids) + "\n").encode(),
    )
    found: list[tuple[bytes, bytes] | None] = []
    append = found.append
    index = out.index
    at = 0
    for _ in oids:  # each answer is "<type> <size>\n<body>\n", or "<request> missing\n"
        end = index(b"\n", at)
        kind, _, size = out[at:end].partition(b" ")
        if not size.isdigit():
            append(None)
            at = end + 1
            continue
        at = end + 1 + int(size)
        append((kind, out[end + 1 : at]))
        at += 1
    return found


def resolve_paths(root: Path, requests: Iterable[str]) -> dict[str, tuple[str, str]]:
    """The id and type of each ``<tree or commit>:<path>`` that names an object.

    git walks the trees itself (one ``cat-file --batch-check`` for all), so a caller
    that needs one file of many trees reads none of those trees. Requests that name
    nothing are left out.
    """
    wanted = list(dict.fromkeys(requests))
    if not wanted:
        return {}
    out = _git_batch(
        root, ["cat-file", "--batch-check", "--buffer"], ("\n".join(wanted) + "\n").encode()
    )
    found: dict[str, tuple[str, str]] = {}
    for request, line in zip(wanted, out.split(b"\n"), strict=False):  # in the order asked
        parts = line.split(b" ")
        if len(parts) == 3 and parts[2].isdigit():
            found[request] = (parts[0].decode(), parts[1].decode())
    return found


def workspace_files(root: Path, pathspec: str) -> list[str]:
    """Files matching ``pathspec`` in the working tree: in git's index, and untracked ones.

    Folders git ignores are not walked (another tool's data among them).
    """
    args = ["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", pathspec]
    return sorted(p for p in set(_split(_git(root, args))) if os.path.isfile(root / p))
