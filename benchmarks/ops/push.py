"""``gitexp push`` against ``dvc push``: into an empty remote, then again with nothing new.

The data of the current commit goes to the default storage remote: a local folder,
and (in a full run) an S3 bucket on SeaweedFS on loopback. The floor is the same
upload without a tool: ``cp -r`` of the workload, or one raw PUT per file (`s3floor`).
"""

from __future__ import annotations

from collections.abc import Iterator

from harness import data, sharing
from harness.context import Context
from harness.measure import NO_DVC, Case

NAME = "push"
GROUP = "sharing"


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "push")
    for kind in sharing.kinds(ctx):
        for label, size, unit, make in data.workloads(ctx):
            first, again = f"push ({label}, {kind})", f"push again, nothing new ({label}, {kind})"
            if missing:
                yield Case(first, size, unit, None, unavailable=missing, group=GROUP)
                yield Case(again, size, unit, None, unavailable=missing, group=GROUP)
                continue
            source = make()
            found = sharing.pair(ctx, kind, label, size, source)
            dvc_first = dvc_again = None
            note = NO_DVC
            if found.dvc is not None and ctx.dvc is not None:
                dvc_first = sharing.push_step(ctx, found.dvc, ctx.dvc, fresh=True)
                dvc_again = sharing.push_step(ctx, found.dvc, ctx.dvc, fresh=False)
                note = ""
            yield Case(
                first,
                size,
                unit,
                sharing.push_step(ctx, found.gitexp, ctx.gitexp, fresh=True),
                dvc=dvc_first,
                bare=sharing.floor_step(ctx, kind, label, size, source),
                dvc_note=note,
                group=GROUP,
            )
            found.pushed = True
            yield Case(
                again,
                size,
                unit,
                sharing.push_step(ctx, found.gitexp, ctx.gitexp, fresh=False),
                dvc=dvc_again,
                dvc_note=note,
                group=GROUP,
            )
