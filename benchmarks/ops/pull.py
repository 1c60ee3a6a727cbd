"""``gitexp pull`` against ``dvc pull``: into an empty cache and workspace."""

from __future__ import annotations

from collections.abc import Iterator

from harness import data, sharing
from harness.context import Context
from harness.measure import NO_DVC, Case

NAME = "pull"
GROUP = "sharing"


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "push", "pull")
    for kind in sharing.kinds(ctx):
        for label, size, unit, make in data.workloads(ctx):
            operation = f"pull ({label}, {kind})"
            if missing:
                yield Case(operation, size, unit, None, unavailable=missing, group=GROUP)
                continue
            found = sharing.pair(ctx, kind, label, size, make())
            sharing.ensure_pushed(ctx, found)
            dvc_step, note = None, NO_DVC
            if found.dvc is not None and ctx.dvc is not None:
                dvc_step, note = sharing.pull_step(ctx, found.dvc, ctx.dvc), ""
            yield Case(
                operation,
                size,
                unit,
                sharing.pull_step(ctx, found.gitexp, ctx.gitexp),
                dvc=dvc_step,
                dvc_note=note,
                group=GROUP,
            )
