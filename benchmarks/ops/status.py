"""``gitexp status`` against ``dvc status`` with nothing changed, as the tracked folder grows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness import data
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step

NAME = "status"
GROUP = "data"
SCALING = ("status (nothing changed)",)


def gitexp_step(ctx: Context, count: int, source: Path) -> Step:
    root = ctx.folder("status", str(count), "gitexp")
    data.tracked_gitexp(ctx, root, source, "data")
    return Step([*ctx.gitexp, "status"], root)


def dvc_step(ctx: Context, count: int, source: Path) -> Step:
    assert ctx.dvc is not None
    root = ctx.folder("status", str(count), "dvc")
    data.tracked_dvc(ctx, root, source, "data")
    return Step([*ctx.dvc, "status"], root)


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "status")
    for count in ctx.sizes("status"):
        unit = "files of 1-4 KiB"
        if missing:
            yield Case(SCALING[0], count, unit, None, unavailable=missing, group=GROUP)
            continue
        source = data.small_files(ctx, count)
        dvc = dvc_step(ctx, count, source) if ctx.dvc else None
        yield Case(
            SCALING[0],
            count,
            unit,
            gitexp_step(ctx, count, source),
            dvc=dvc,
            dvc_note="" if dvc else NO_DVC,
            group=GROUP,
        )
