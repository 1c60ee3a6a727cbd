"""Moving refs to and from git remotes with the git executable.

The user's own git does the network work, so their ssh keys, credential helpers and
proxies just work. Pushes are compare-and-swap on the remote side
(``--force-with-lease`` with the value read just before) and atomic when the server
supports it; fetches land in a private namespace first, so local refs move only
through `gitexp.git.refs.update_refs` (compare-and-swap) and never silently.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gitexp.core.remotes import redact_url
from gitexp.errors import ConflictError, NotFoundError, TransportError
from gitexp.git.refs import list_refs
from gitexp.git.repo import GitRepo

INCOMING_PREFIX = "refs/gitexp/incoming/"
"""Where fetched refs wait before they are compared with and moved into place."""

_ERROR_LINE = re.compile(r"^(fatal|error|remote): ?", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RefPush:
    """Set ``ref`` on the remote to ``new``, expecting it at ``expected`` (None: absent)."""

    ref: str
    new: str
    expected: str | None


PUSHING = "GITEXP_PUSHING"
"""Set for the git push gitexp runs: its pre-push hook leaves the data to gitexp push."""


def _run(
    git: GitRepo, args: Sequence[str], extra: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env.update(extra or {})
    return subprocess.run(
        ["git", *args],
        cwd=git.root,
        capture_output=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def _git(git: GitRepo, args: Sequence[str], remote: str) -> str:
    proc = _run(git, args)
    if proc.returncode != 0:
        raise _transport_error(remote, proc.stderr.decode(errors="replace"), args[0])
    return proc.stdout.decode(errors="replace")


def _transport_error(remote: str, stderr: str, action: str) -> TransportError:
    lines = [_ERROR_LINE.sub("", line).strip() for line in stderr.splitlines() if line.strip()]
    detail = next((ln for ln in lines if ln), "git failed")
    shown = redact_url(remote)
    detail = detail.replace(remote, shown)
    text = stderr.lower()
    if "does not appear to be a git repository" in text or "no such remote" in text:
        return TransportError(
            f"'{shown}' is not a git remote of this repository",
            hint="name one of `git remote -v` (default: origin), or add it with "
            "`git remote add NAME URL`",
        )
    return TransportError(
        f"git {action} with '{shown}' failed: {detail}",
        hint="check the remote's URL and your access, then run the command again",
    )


def remote_names(git: GitRepo) -> list[str]:
    """This repository's git remotes (``git remote``), sorted."""
    return sorted(name for name in git.repo.remotes.names() if name)


def is_location(word: str) -> bool:
    """Whether ``word`` is a URL or a path rather than a remote's name.

    A remote's name and an experiment's name hold neither ``/`` nor ``:``.
    """
    return "/" in word or ":" in word


def check_git_remote(git: GitRepo, remote: str) -> None:
    """Raise `NotFoundError` naming the known remotes unless ``remote`` is usable.

    A URL or a path is left to git (which says when it is not a repository); a name
    must be one of this repository's remotes: a typo is never sent somewhere else.
    """
    if is_location(remote):
        return
    known = remote_names(git)
    if remote not in known:
        raise NotFoundError(
            f"no git remote '{remote}'; known: {', '.join(known) or 'none'} (see `git remote -v`)",
            hint="name one of them, or add it with `git remote add NAME URL`",
        )


def ls_remote(git: GitRepo, remote: str, prefix: str) -> dict[str, str]:
    """The refs under ``prefix`` on ``remote`` and their commits, in one round trip."""
    out = _git(git, ["ls-remote", "--refs", remote, f"{prefix}*"], remote)
    found: dict[str, str] = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        if ref.startswith(prefix):
            found[ref] = sha
    return found


def fetch_refs(git: GitRepo, remote: str, refs: Sequence[str]) -> dict[str, str]:
    """Fetch ``refs`` from ``remote`` into the incoming namespace; returns ref → commit.

    Nothing outside ``refs/gitexp/incoming/`` moves. The caller clears it with
    `clear_incoming` once it has moved what it wanted.
    """
    if not refs:
        return {}
    specs = [f"+{ref}:{INCOMING_PREFIX}{ref[len('refs/') :]}" for ref in refs]
    _git(git, ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote, *specs], remote)
    fetched = list_refs(git, INCOMING_PREFIX)
    return {f"refs/{name[len(INCOMING_PREFIX) :]}": sha for name, sha in fetched.items()}


def clear_incoming(git: GitRepo) -> None:
    """Delete every ref of the incoming namespace (what a fetch left behind)."""
    for name in list_refs(git, INCOMING_PREFIX):
        reference = git.repo.references.get(name)
        if reference is not None:
            reference.delete()


def push_refs(git: GitRepo, remote: str, pushes: Sequence[RefPush]) -> None:
    """Set every ref of ``pushes`` on ``remote`` in one atomic, compare-and-swap push.

    Raises `ConflictError` when a ref on the remote is no longer at its expected value
    (someone pushed meanwhile); then nothing moves.
    """
    if not pushes:
        return
    leases = [f"--force-with-lease={p.ref}:{p.expected or ''}" for p in pushes]
    specs = [f"{p.new}:{p.ref}" for p in pushes]  # no `+`: git would force past the lease
    proc = _run(git, ["push", "--atomic", *leases, remote, *specs], {PUSHING: "1"})
    if proc.returncode == 0:
        return
    stderr = proc.stderr.decode(errors="replace")
    if "stale info" in stderr or "[rejected]" in stderr:
        raise ConflictError(
            f"experiments changed on '{redact_url(remote)}' while pushing",
            hint="run `gitexp pull` for them, then push again",
        )
    raise _transport_error(remote, stderr, "push")


def missing_refs(
    wanted: Sequence[str], remote_refs: Mapping[str, str], remote: str, known: Sequence[str] = ()
) -> None:
    """Raise `NotFoundError` naming every ref of ``wanted`` that ``remote_refs`` lacks.

    ``known`` (this repository's git remotes) goes into the hint, for a name that was
    meant as a remote.
    """
    absent = [ref for ref in wanted if ref not in remote_refs]
    if absent:
        names = ", ".join(ref.rsplit("/", 1)[-1] for ref in absent)
        shown = redact_url(remote)
        here = f"; git remotes here: {', '.join(known)}" if known else ""
        raise NotFoundError(
            f"not on git remote '{shown}': {names}",
            hint=f"see what it has with `git ls-remote {shown} 'refs/experiments/*'`{here}",
        )
