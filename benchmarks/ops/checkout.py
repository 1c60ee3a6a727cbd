"""``gitexp checkout`` against ``dvc checkout`` into an empty workspace, and ``cp -r``.

The cache holds the data; the workspace copy is removed before each run. ``cp -r`` of
the same folder is the floor: what copying the files costs without any tool.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness import data
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step

NAME = "checkout"
GROUP = "data"


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "checkout")
    for count in ctx.sizes("small_files"):
        operation, unit = "checkout (empty workspace)", "files of 1-4 KiB"
        if missing:
            yield Case(operation, count, unit, None, unavailable=missing, group=GROUP)
            continue
        source = data.small_files(ctx, count)
        root = ctx.folder("checkout", str(count), "gitexp")
        data.tracked_gitexp(ctx, root, source, "data")
        step = Step(
            [*ctx.gitexp, "checkout"], root, before=[data.removing(root / "data"), data.sync]
        )
        copy_root = ctx.folder("checkout", str(count), "cp")
        bare = Step(
            ["cp", "-r", str(source), str(copy_root / "data")],
            copy_root,
            before=[data.removing(copy_root / "data"), data.sync],
        )
        dvc_step, note = None, NO_DVC
        if ctx.dvc is not None:
            dvc_root = ctx.folder("checkout", str(count), "dvc")
            data.tracked_dvc(ctx, dvc_root, source, "data")
            dvc_step = Step(
                [*ctx.dvc, "checkout"],
                dvc_root,
                before=[data.removing(dvc_root / "data"), data.sync],
            )
            note = ""
        yield Case(
            operation, count, unit, step, dvc=dvc_step, bare=bare, dvc_note=note, group=GROUP
        )
