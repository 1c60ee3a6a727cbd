"""``gitexp add`` against ``dvc add``: one big file, and a folder of many small files.

Each run starts from nothing tracked: the cache and state removed, the pointer (or
``.dvc`` file) removed, ``.gitignore`` as before, the data as generated.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness import data
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step

NAME = "add"
GROUP = "data"


def cases(ctx: Context) -> Iterator[Case]:
    missing = ctx.missing("add")
    for label, size, unit, make in data.workloads(ctx):
        operation = f"add ({label})"
        if missing:
            yield Case(operation, size, unit, None, unavailable=missing, group=GROUP)
            continue
        source = make()
        name = data.data_name(label)
        root = ctx.folder("add", label, "gitexp")
        data.gitexp_data_project(ctx, root, source, name)
        ignore = root / ".gitignore"
        step = Step(
            [*ctx.gitexp, "add", name],
            root,
            before=[
                data.removing(data.gitexp_state(root), root / f"{name}.gitexp"),
                data.write_file(ignore, ignore.read_text()),
                data.restore(source, root / name),
                data.sync,
            ],
        )
        dvc_step, note = None, NO_DVC
        if ctx.dvc is not None:
            dvc_root = ctx.folder("add", label, "dvc")
            data.dvc_data_project(ctx, dvc_root, source, name)
            dvc_ignore = dvc_root / ".gitignore"
            dvc_step, note = (
                Step(
                    [*ctx.dvc, "add", name],
                    dvc_root,
                    before=[
                        data.removing(*data.dvc_state(dvc_root), dvc_root / f"{name}.dvc"),
                        data.write_file(dvc_ignore, dvc_ignore.read_text()),
                        data.restore(source, dvc_root / name),
                        data.sync,
                    ],
                ),
                "",
            )
        yield Case(operation, size, unit, step, dvc=dvc_step, dvc_note=note, group=GROUP)
