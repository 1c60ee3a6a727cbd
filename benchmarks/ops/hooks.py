"""Git commands with gitexp's hooks against the same commands without hooks, and DVC's.

The repository tracks a folder of small files (10,000 in a full run) and has a
storage remote; each timed command has nothing for the hooks to do (no pointer file
changes), which is what almost every commit, checkout and push is:

- ``git checkout`` to a branch that differs in code only (reset: back to ``main``);
- ``git commit`` of a one-line code change (reset: the change written and staged);
- ``git push`` of one new commit to a bare repository (reset: an empty commit made).

The bare column is the same command in the same repository without hooks, so the
overhead column is what the hooks add. DVC's hooks come from ``dvc install``
(post-checkout runs ``dvc checkout``, pre-commit ``dvc status``, pre-push ``dvc push``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from harness import data
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step, check_call

NAME = "hooks"
GROUP = "data"
UNIT = "files tracked, nothing to do"


def _env(ctx: Context, tool: list[str]) -> dict[str, str]:
    """The run's environment with the tool's own bin folder first (the hooks call it)."""
    env = dict(ctx.env)
    env["PATH"] = str(Path(tool[0]).parent) + os.pathsep + env["PATH"]
    return env


def _git(root: Path, env: dict[str, str], *args: str) -> str:
    return check_call(["git", *args], root, env)


def _finish(root: Path, env: dict[str, str]) -> None:
    """Branch ``b`` (a code change), a bare ``origin`` with main pushed, back on main."""
    _git(root, env, "checkout", "-q", "-b", "b")
    (root / "train.py").write_text("print('branch b')\n")
    _git(root, env, "commit", "-q", "-am", "code on b", "--no-verify")
    _git(root, env, "checkout", "-q", "main")
    bare = root.parent / f"{root.name}-origin.git"
    if bare.exists():
        data.remove(bare)
    _git(root.parent, env, "init", "-q", "--bare", str(bare))
    _git(root, env, "remote", "add", "origin", str(bare))


def gitexp_repo(ctx: Context, count: int, source: Path, *, hooks: bool) -> Path:
    root = ctx.folder("hooks", str(count), "gitexp" if hooks else "bare")
    storage = root.parent / f"{root.name}-storage"
    if storage.exists():
        data.remove(storage)
    config = f"large_file_threshold: 5MiB\nremote: s\nremotes:\n  s: ../{storage.name}\n"
    data.tracked_gitexp(ctx, root, source, "data", config=config)
    env = _env(ctx, ctx.gitexp)
    _finish(root, env)
    if hooks:
        check_call([*ctx.gitexp, "hooks", "install"], root, env)
    _git(root, env, "push", "-q", "origin", "main", "b")
    return root


def dvc_repo(ctx: Context, count: int, source: Path) -> Path:
    assert ctx.dvc is not None
    root = ctx.folder("hooks", str(count), "dvc")
    storage = root.parent / f"{root.name}-storage"
    if storage.exists():
        data.remove(storage)
    remote = [["add", "-d", "s", str(storage)]]
    data.tracked_dvc(ctx, root, source, "data", remote=remote)
    env = _env(ctx, ctx.dvc)
    _finish(root, env)
    check_call([*ctx.dvc, "install"], root, env)
    _git(root, env, "push", "-q", "origin", "main", "b")
    return root


def _back_to_main(root: Path, env: dict[str, str]) -> Callable[[], None]:
    return lambda: _git(root, env, "checkout", "-q", "main")


def _staged_change(root: Path, env: dict[str, str]) -> Callable[[], None]:
    counter = itertools.count()

    def action() -> None:
        (root / "train.py").write_text(f"print({next(counter)})\n")
        _git(root, env, "add", "train.py")

    return action


def _new_commit(root: Path, env: dict[str, str]) -> Callable[[], None]:
    return lambda: _git(root, env, "commit", "-q", "--allow-empty", "--no-verify", "-m", "x")


RESETS = {
    "checkout": (["git", "checkout", "-q", "b"], _back_to_main),
    "commit": (["git", "commit", "-q", "-m", "change"], _staged_change),
    "push": (["git", "push", "-q", "origin", "main"], _new_commit),
}


def _step(root: Path, env: dict[str, str], what: str) -> Step:
    argv, reset = RESETS[what]
    return Step(argv, root, before=[_back_to_main(root, env), reset(root, env)], env=env)


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "hooks")
    for count in ctx.sizes("small_files"):
        if missing:
            for what in RESETS:
                yield Case(
                    f"git {what} (hooks)", count, UNIT, None, unavailable=missing, group=GROUP
                )
            continue
        source = data.small_files(ctx, count)
        hooked = gitexp_repo(ctx, count, source, hooks=True)
        plain = gitexp_repo(ctx, count, source, hooks=False)
        dvc = dvc_repo(ctx, count, source) if ctx.dvc else None
        for what in RESETS:
            yield Case(
                f"git {what} (hooks)",
                count,
                UNIT,
                _step(hooked, _env(ctx, ctx.gitexp), what),
                dvc=_step(dvc, _env(ctx, ctx.dvc), what) if dvc and ctx.dvc else None,
                bare=_step(plain, ctx.env, what),
                dvc_note="" if dvc else NO_DVC,
                group=GROUP,
            )
