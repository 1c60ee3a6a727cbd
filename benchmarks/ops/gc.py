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
        data.remove(cache)
        shutil.copytree(saved, cache, symlinks=True)

    return action


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "gc")
    for count in ctx.sizes("small_files"):
        operation, unit = "gc (one old version)", "files of 1-4 KiB per version"
        if missing:
            yield Case(operation, count, unit, None, unavailable=missing, group=GROUP)
            continue
        first, second = data.small_files(ctx, count), data.small_files(ctx, count, seed=1)
        root = ctx.folder("gc", str(count), "gitexp")
        data.gitexp_data_project(ctx, root, first, "data")
        check_call([*ctx.gitexp, "add", "data"], root, ctx.env)
        data.retrack(ctx, root, second, "data", [*ctx.gitexp, "add", "data"])
        cache = data.gitexp_state(root) / "cache"
        saved = ctx.folder("gc", str(count), "gitexp-cache") / "cache"
        shutil.copytree(cache, saved, symlinks=True)
        step = Step(
            [*ctx.gitexp, "gc", "--now"], root, before=[_restore_cache(cache, saved), data.sync]
        )
        dvc_step, note = None, NO_DVC
        if ctx.dvc is not None:
            dvc_root = ctx.folder("gc", str(count), "dvc")
            data.dvc_data_project(ctx, dvc_root, first, "data")
            check_call([*ctx.dvc, "add", "-q", "data"], dvc_root, ctx.env)
            data.retrack(ctx, dvc_root, second, "data", [*ctx.dvc, "add", "-q", "data"])
            dvc_cache = dvc_root / ".dvc" / "cache"
            dvc_saved = ctx.folder("gc", str(count), "dvc-cache") / "cache"
            shutil.copytree(dvc_cache, dvc_saved, symlinks=True)
            dvc_step = Step(
                [*ctx.dvc, "gc", "-w", "-f"],
                dvc_root,
                before=[_restore_cache(dvc_cache, dvc_saved), data.sync],
            )
            note = ""
        yield Case(operation, count, unit, step, dvc=dvc_step, dvc_note=note, group=GROUP)
