"""``gitexp add`` against ``dvc add``: one big file, and a folder of many small files.

Each run starts from nothing tracked: the cache and state removed, the pointer (or
``.dvc`` file) removed, ``.gitignore`` as before, the data as generated.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness import data
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step

NAME = "add"
GROUP = "data"


def gitexp_step(ctx: Context, label: str, source: Path) -> Step:
    name = data.data_name(label)
    root = ctx.folder("add", label, "gitexp")
    data.gitexp_data_project(ctx, root, source, name)
    ignore = root / ".gitignore"
    resets = [
        data.removing(data.gitexp_state(root), root / f"{name}.gitexp"),
        data.write_file(ignore, ignore.read_text()),
        data.restore(source, root / name),
        data.sync,
    ]
    return Step([*ctx.gitexp, "add", name], root, before=resets)


def dvc_step(ctx: Context, label: str, source: Path) -> Step:
    assert ctx.dvc is not None
    name = data.data_name(label)
    root = ctx.folder("add", label, "dvc")
    data.dvc_data_project(ctx, root, source, name)
    ignore = root / ".gitignore"
    resets = [
        data.removing(*data.dvc_state(root), root / f"{name}.dvc"),
        data.write_file(ignore, ignore.read_text()),
        data.restore(source, root / name),
        data.sync,
    ]
    return Step([*ctx.dvc, "add", name], root, before=resets)


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add")
    for label, size, unit, make in data.workloads(ctx):
        operation = f"add ({label})"
        if missing:
            yield Case(operation, size, unit, None, unavailable=missing, group=GROUP)
            continue
        source = make()
        dvc = dvc_step(ctx, label, source) if ctx.dvc else None
        yield Case(
            operation,
            size,
            unit,
            gitexp_step(ctx, label, source),
            dvc=dvc,
            dvc_note="" if dvc else NO_DVC,
            group=GROUP,
        )
