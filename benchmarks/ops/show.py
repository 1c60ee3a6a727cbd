"""``gitexp show --json`` against ``dvc exp show --json``, as experiments grow.

Two cases per size: the first show after the refs arrive (gitexp's summary index
removed before each run; DVC with ``-f``, which re-collects instead of reading its
cache) and a warm show (both tools' caches filled by the warm-up run).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness import shared
from harness.context import Context
from harness.measure import Case
from harness.timing import Step

NAME = "show"
GROUP = "experiments"
SCALING = ("show --json (first)", "show --json (warm)")
"""Operations whose time is fitted against size (see report.scaling)."""


def cases(ctx: Context) -> Iterator[Case]:
    for size in ctx.sizes("experiments"):
        repo = shared.grow_gitexp(ctx, size)
        dvc_repo, note = shared.dvc_experiments(ctx, size)

        def drop_index(index: Path = repo.index_file) -> None:
            index.unlink(missing_ok=True)

        show = [*ctx.gitexp, "show", "--json"]
        cold_dvc = warm_dvc = None
        if dvc_repo is not None:
            assert ctx.dvc is not None
            cold_dvc = Step([*ctx.dvc, "exp", "show", "--json", "-f"], dvc_repo.root)
            warm_dvc = Step([*ctx.dvc, "exp", "show", "--json"], dvc_repo.root)
        yield Case(
            SCALING[0],
            size,
            "experiments",
            Step(show, repo.root, before=[drop_index]),
            dvc=cold_dvc,
            dvc_note=note,
            group=GROUP,
        )
        yield Case(
            SCALING[1],
            size,
            "experiments",
            Step(show, repo.root),
            dvc=warm_dvc,
            dvc_note=note,
            group=GROUP,
        )
