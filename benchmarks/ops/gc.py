"""``gitexp gc --now`` against ``dvc gc -w -f``: drop a replaced version of a folder.

Each project tracked a first version of the folder, then a second one (a different
set of files) that is committed; the first version's objects are garbage. The cache
is put back as it was (from a saved copy) before each run.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from harness import data
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step, check_call

NAME = "gc"
GROUP = "data"


def _restore_cache(cache: Path, saved: Path) -> Callable[[], None]:
    def action() -> None:
        data.discard(cache)
        shutil.copytree(saved, cache, symlinks=True)

    return action


def _two_versions(
    ctx: Context,
    tool: str,
    count: int,
    project: Callable[..., None],
    add: list[str],
    cache: Callable[[Path], Path],
) -> tuple[Path, Callable[[], None]]:
    """A project that tracked two versions of ``data``; its root and a cache reset."""
    first, second = data.small_files(ctx, count), data.small_files(ctx, count, seed=1)
    root = ctx.folder("gc", str(count), tool)
    project(ctx, root, first, "data")
    check_call(add, root, ctx.env)
    data.retrack(ctx, root, second, "data", add)
    saved = ctx.folder("gc", str(count), f"{tool}-cache") / "cache"
    shutil.copytree(cache(root), saved, symlinks=True)
    return root, _restore_cache(cache(root), saved)


def gitexp_step(ctx: Context, count: int) -> Step:
    root, reset = _two_versions(
        ctx,
        "gitexp",
        count,
        data.gitexp_data_project,
        [*ctx.gitexp, "add", "data"],
        lambda r: data.gitexp_state(r) / "cache",
    )
    return Step([*ctx.gitexp, "gc", "--now"], root, before=[reset, data.sync])


def dvc_step(ctx: Context, count: int) -> Step:
    assert ctx.dvc is not None
    root, reset = _two_versions(
        ctx,
        "dvc",
        count,
        data.dvc_data_project,
        [*ctx.dvc, "add", "-q", "data"],
        lambda r: r / ".dvc" / "cache",
    )
    return Step([*ctx.dvc, "gc", "-w", "-f"], root, before=[reset, data.sync])


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "gc")
    for count in ctx.sizes("small_files"):
        operation, unit = "gc (one old version)", "files of 1-4 KiB per version"
        if missing:
            yield Case(operation, count, unit, None, unavailable=missing, group=GROUP)
            continue
        dvc = dvc_step(ctx, count) if ctx.dvc else None
        yield Case(
            operation,
            count,
            unit,
            gitexp_step(ctx, count),
            dvc=dvc,
            dvc_note="" if dvc else NO_DVC,
            group=GROUP,
        )
