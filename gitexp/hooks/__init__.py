"""What each git hook does: the logic behind the shims in ``hooks/``.

Every hook first asks git, through one or two small ``git`` processes, whether there
is anything for gitexp to do (a pointer file staged, pushed or moved); only then does
it load the rest of gitexp (pygit2, the cache, storage) and work through `gitexp.data`.
So a hook with nothing to do costs a Python start-up and a git diff.

- ``pre-commit`` refuses a staged file over ``large_file_threshold`` that gitexp does
  not track, data that gitexp does track, and a staged pointer that is invalid or
  whose object (for a folder: manifest and files) is not in the cache.
- ``pre-push`` uploads to the default storage remote the objects named by the pointer
  files that the pushed commits add or change (the commits the remote lacks), and
  stops the push when that fails, so no one gets a pointer without its data.
- ``post-checkout`` (branch checkouts), ``post-merge`` and ``post-rewrite`` (rebase)
  check out the data of the pointer files git changed; modified data the cache lacks
  is never overwritten (a warning says so) and git's command still succeeds. Data
  whose pointer file git removed is removed too when the cache holds all of it, as
  git removes the files it no longer tracks; otherwise a warning names it.

Each hook is a module of this package (`pre_commit`, `pre_push`, `follow` for the
last three). Nothing here prints or exits: a `HookResult` says what to tell the user, and the CLI
picks the exit code (1 when ``errors`` is not empty).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from gitexp.errors import NotFoundError
from gitexp.git import plumbing
from gitexp.git.hookfiles import HOOK_NAMES, READS_STDIN
from gitexp.hooks.call import HookCall, HookResult

__all__ = ["HOOK_NAMES", "READS_STDIN", "HookCall", "HookResult", "run", "run_hook"]


def run_hook(
    name: str,
    args: Sequence[str] = (),
    stdin: str = "",
    *,
    credentials: Callable[[], Mapping[str, str]] = dict,
    data_pushed: bool = False,
    cwd: str | os.PathLike[str] = ".",
) -> HookResult:
    """Run git hook ``name`` (one of `HOOK_NAMES`) as git would, in the repository at ``cwd``.

    ``credentials`` is called only when storage is reached; ``data_pushed`` says the
    push is ``gitexp push``'s own, whose data has moved already. Nothing is printed:
    the result says what to tell the user, and it has ``errors`` when git must stop.
    """
    call = HookCall(name, args, stdin, credentials=credentials, data_pushed=data_pushed)
    return run(call, cwd)


def run(call: HookCall, cwd: str | os.PathLike[str] = ".") -> HookResult:
    """Run hook ``call.name`` in the repository around ``cwd``."""
    from gitexp.hooks import follow, pre_commit, pre_push

    where = plumbing.places(cwd)
    args = list(call.args) + [""] * 3
    if call.name == "pre-commit":
        return pre_commit.pre_commit(where)
    if call.name == "pre-push":
        if call.data_pushed:
            return HookResult()
        remote = args[0] if args[0] != args[1] else ""
        return pre_push.pre_push(where.root, remote, call.stdin, call.credentials)
    if call.name == "post-checkout":
        if args[2] != "1":
            return HookResult()  # a file checkout: git did not switch commits
        return follow.follow(
            where.root, follow.moved_by_checkout(where.root, args[0], args[1]), call
        )
    if call.name == "post-merge":
        return follow.follow(where.root, follow.moved_by_merge(where.root, args[0] == "1"), call)
    if call.name == "post-rewrite":
        if args[0] != "rebase":
            return HookResult()  # an amend leaves the working tree as it was
        return follow.follow(where.root, follow.moved_by_rebase(where.root, call.stdin), call)
    raise NotFoundError(
        f"there is no gitexp hook '{call.name}'", hint="hooks: " + ", ".join(HOOK_NAMES)
    )
