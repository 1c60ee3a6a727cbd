"""``gitexp checkout`` against ``dvc checkout`` into an empty workspace, and ``cp -r``.

The cache holds the data; the workspace copy is removed before each run. ``cp -r`` of
the same folder is the floor: what copying the files costs without any tool.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness import data
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step

NAME = "checkout"
GROUP = "data"


def gitexp_step(ctx: Context, count: int, source: Path) -> Step:
    root = ctx.folder("checkout", str(count), "gitexp")
    data.tracked_gitexp(ctx, root, source, "data")
    return Step([*ctx.gitexp, "checkout"], root, before=[data.removing(root / "data"), data.sync])


def dvc_step(ctx: Context, count: int, source: Path) -> Step:
    assert ctx.dvc is not None
    root = ctx.folder("checkout", str(count), "dvc")
    data.tracked_dvc(ctx, root, source, "data")
    return Step([*ctx.dvc, "checkout"], root, before=[data.removing(root / "data"), data.sync])


def copy_step(ctx: Context, count: int, source: Path) -> Step:
    root = ctx.folder("checkout", str(count), "cp")
    target = root / "data"
    return Step(
        ["cp", "-r", str(source), str(target)], root, before=[data.removing(target), data.sync]
    )


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add", "checkout")
    for count in ctx.sizes("small_files"):
        operation, unit = "checkout (empty workspace)", "files of 1-4 KiB"
        if missing:
            yield Case(operation, count, unit, None, unavailable=missing, group=GROUP)
            continue
        source = data.small_files(ctx, count)
        dvc = dvc_step(ctx, count, source) if ctx.dvc else None
        yield Case(
            operation,
            count,
            unit,
            gitexp_step(ctx, count, source),
            dvc=dvc,
            bare=copy_step(ctx, count, source),
            dvc_note="" if dvc else NO_DVC,
            group=GROUP,
        )
