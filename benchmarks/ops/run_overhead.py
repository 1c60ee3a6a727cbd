"""What recording an experiment adds to a command: ``gitexp run -- true`` against bare ``true``.

DVC's counterpart is ``dvc exp run`` of a stage whose command is ``true`` (with the
params as dependencies and ``always_changed``, so that it really runs each time).
Every run records one more experiment, in a project of its own.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

from harness import projects
from harness.context import Context
from harness.measure import NO_DVC, Case
from harness.timing import Step, check_call

NAME = "run"
GROUP = "experiments"

NOOP_STAGE = """\
stages:
  noop:
    cmd: "true"
    params:
      - train
    always_changed: true
"""


def cases(ctx: Context) -> Iterator[Case]:
    root = ctx.folder("run", "gitexp")
    projects.gitexp_project(root, ctx.env)
    true = shutil.which("true") or "true"
    dvc_step = None
    note = NO_DVC
    if ctx.dvc is not None:
        dvc_root = ctx.folder("run", "dvc")
        projects.init_git(dvc_root, ctx.env)
        projects.write_project(dvc_root, ignore_metrics=False)
        check_call([*ctx.dvc, "init", "-q"], dvc_root, ctx.env)
        check_call(
            [*ctx.dvc, "config", "--local", "core.site_cache_dir", str(dvc_root / ".dvc" / "site")],
            dvc_root,
            ctx.env,
        )
        (dvc_root / "dvc.yaml").write_text(NOOP_STAGE)
        check_call([*ctx.dvc, "repro", "-q"], dvc_root, ctx.env)
        projects.commit_all(dvc_root, ctx.env, "project")
        dvc_step = Step([*ctx.dvc, "exp", "run"], dvc_root)
        note = ""
    yield Case(
        "run -- true",
        1,
        "run",
        Step([*ctx.gitexp, "run", "--", true], root),
        dvc=dvc_step,
        bare=Step([true], root),
        dvc_note=note,
        group=GROUP,
    )
