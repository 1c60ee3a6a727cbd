"""``[GIT_REMOTE] [NAME…]``: which words of push and pull name the git remote.

The first word is the git remote when it names one of this repository's remotes or
is a URL or a path; otherwise every word is an experiment and the remote is origin.
A word that could be either and is neither is an error naming both lists, never a
silent fallback to origin: ``gitexp push backp --all`` must not push to origin.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitexp.core.names import ExperimentName
from gitexp.errors import GitexpError, NotFoundError
from gitexp.git.refs import read_ref
from gitexp.git.repo import GitRepo
from gitexp.git.transport import check_git_remote, is_location, remote_names


def split_targets(
    git: GitRepo, words: Sequence[str], *, everything: bool = False, local_names: bool = True
) -> tuple[str | None, list[str]]:
    """(git remote, names); the remote is None when none was named (origin is meant).

    ``everything`` (``--all``) takes no names, so a first word that is not a remote is
    an unknown remote. ``local_names`` (push): names are experiments of this
    repository, so a first word that is neither a remote nor one of them is an error.
    Pull names experiments of the remote: an unknown one is reported by pull itself.
    Raises `NotFoundError`.
    """
    if not words:
        return None, []
    first = words[0]
    if is_location(first) or first in remote_names(git):
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


def _is_experiment(git: GitRepo, word: str) -> bool:
    try:
        ref = ExperimentName(word).ref
    except GitexpError:
        return False
    return read_ref(git, ref) is not None
