"""``gitexp diff A B`` against ``dvc exp diff A B``: two experiments of the same project."""

from __future__ import annotations

from collections.abc import Iterator

from harness import shared
from harness.context import Context
from harness.experiments import experiment_name
from harness.measure import Case
from harness.timing import Step

NAME = "diff"
GROUP = "experiments"


def cases(ctx: Context) -> Iterator[Case]:
    for size in ctx.sizes("diff"):
        repo = shared.grow_gitexp(ctx, size)
        dvc_repo, note = shared.dvc_experiments(ctx, size)
        a, b = experiment_name(1), experiment_name(2)
        dvc_step = None
        if dvc_repo is not None:
            assert ctx.dvc is not None
            dvc_step = Step([*ctx.dvc, "exp", "diff", a, b], dvc_repo.root)
        yield Case(
            "diff A B",
            repo.count,
            "experiments in the repo",
            Step([*ctx.gitexp, "diff", a, b], repo.root),
            dvc=dvc_step,
            dvc_note=note,
            group=GROUP,
        )
