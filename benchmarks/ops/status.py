"""``gitexp status`` against ``dvc status`` with nothing changed, as the tracked folder grows."""

from __future__ import annotations

from collections.abc import Iterator

from harness import data
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step

NAME = "status"
GROUP = "data"
SCALING = ("status (nothing changed)",)


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "status")
    for count in ctx.sizes("status"):
        unit = "files of 1-4 KiB"
        if missing:
            yield Case(SCALING[0], count, unit, None, unavailable=missing, group=GROUP)
            continue
        source = data.small_files(ctx, count)
        root = ctx.folder("status", str(count), "gitexp")
        data.tracked_gitexp(ctx, root, source, "data")
        dvc_step, note = None, NO_DVC
        if ctx.dvc is not None:
            dvc_root = ctx.folder("status", str(count), "dvc")
            data.tracked_dvc(ctx, dvc_root, source, "data")
            dvc_step, note = Step([*ctx.dvc, "status"], dvc_root), ""
        yield Case(
            SCALING[0],
            count,
            unit,
            Step([*ctx.gitexp, "status"], root),
            dvc=dvc_step,
            dvc_note=note,
            group=GROUP,
        )
