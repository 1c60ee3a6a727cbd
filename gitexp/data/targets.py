"""Which remote push and pull mean: the words that name it, and that it exists.

In ``[GIT_REMOTE] [NAME…]`` the first word is the git remote when it names one of
this repository's remotes or is a URL or a path; otherwise every word is an
experiment and the remote is origin. A word that could be either and is neither is
an error naming both lists, never a silent fallback to origin: ``gitexp push backp
--all`` must not push to origin. A remote given by name, git or storage, must exist
even when nothing goes through it.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitexp.core.names import ExperimentName
from gitexp.core.remotes import RemoteConfig, resolve_remote
from gitexp.errors import GitexpError, NotFoundError, UsageError
from gitexp.git.refs import read_ref
from gitexp.git.repo import GitRepo
from gitexp.git.transport import check_git_remote, is_location, remote_names
from gitexp.project import Project


def split_targets(
    git: GitRepo, words: Sequence[str], *, everything: bool = False, local_names: bool = True
) -> tuple[str | None, list[str]]:
    """(git remote, names); the remote is None when none was named (origin is meant).

    ``everything`` (``--all``) takes no names, so a first word that is not a remote is
    an unknown remote, and names after a remote are `UsageError`. ``local_names``
    (push): names are experiments of this repository, so a first word that is neither
    a remote nor one of them is an error.
    Pull names experiments of the remote: an unknown one is reported by pull itself.
    Raises `NotFoundError`.
    """
    if not words:
        return None, []
    first = words[0]
    if is_location(first) or first in remote_names(git):
        _no_names_with_all(words[1:], everything)
        return first, list(words[1:])
    if everything:
        check_git_remote(git, first)
    if local_names and not _is_experiment(git, first):
        known = ", ".join(remote_names(git)) or "none"
        raise NotFoundError(
            f"no git remote or experiment named '{first}'; git remotes: {known} "
            "(see `git remote -v`)",
            hint="see `gitexp list` for the experiments",
        )
    return None, list(words)


def _no_names_with_all(names: Sequence[str], everything: bool) -> None:
    if everything and names:
        raise UsageError(
            f"--all takes no experiment names ({', '.join(names)}): give names or --all"
        )


def _is_experiment(git: GitRepo, word: str) -> bool:
    try:
        ref = ExperimentName(word).ref
    except GitexpError:
        return False
    return read_ref(git, ref) is not None


def check_remotes(
    project: Project, git_remote: str | None, storage: str | None, *, refs: bool
) -> None:
    """Refuse, before anything moves, a git or storage remote that does not exist.

    A remote that was named must exist even when nothing would go through it: a typo
    is an error, never a fallback to another remote. ``git_remote`` None means origin,
    which must exist only when ``refs`` move. Raises `NotFoundError`.
    """
    if git_remote is not None or refs:
        check_git_remote(project.git, git_remote or "origin")
    if storage is not None:
        storage_config(project, storage)


def storage_config(project: Project, name: str | None) -> RemoteConfig:
    """Storage remote ``name`` (None: the default) as configured; `NotFoundError` if none."""
    config = project.config
    return resolve_remote(name, config.remote, config.remotes, project.local.remotes)
