"""Workloads several operations share: the experiment repositories of each tool."""

from __future__ import annotations

import time

from harness.context import Context
from harness.experiments import DvcExperiments, GitexpExperiments
from harness.measure import NO_DVC


def gitexp_experiments(ctx: Context) -> GitexpExperiments:
    """The gitexp project with generated experiments (made on first use)."""
    repo = ctx.shared.get("gitexp-experiments")
    if repo is None:
        repo = GitexpExperiments(ctx.folder("experiments", "gitexp"), ctx.env)
        ctx.shared["gitexp-experiments"] = repo
    assert isinstance(repo, GitexpExperiments)
    return repo


def grow_gitexp(ctx: Context, size: int) -> GitexpExperiments:
    repo = gitexp_experiments(ctx)
    if repo.count < size:
        ctx.say(f"generating {size:,} gitexp experiments (git fast-import)")
        repo.grow_to(size)
    return repo


def dvc_experiments(ctx: Context, size: int) -> tuple[DvcExperiments | None, str]:
    """The DVC project grown to ``size`` experiments, or None and the reason it is not."""
    if ctx.dvc is None:
        return None, NO_DVC
    if size > ctx.dvc_max_experiments:
        each = ctx.shared.get("dvc-seconds-per-experiment")
        cost = (
            f"; at {each:.1f} s each, {size:,} would take {size * each / 60:,.0f} min"
            if each
            else ""
        )
        return None, (
            f"DVC not run at {size:,} experiments: creating them takes one real "
            f"`dvc exp run` each{cost} (limit --dvc-max-experiments {ctx.dvc_max_experiments:,})"
        )
    repo = ctx.shared.get("dvc-experiments")
    if repo is None:
        assert ctx.tools.dvc_python is not None
        repo = DvcExperiments(
            ctx.folder("experiments", "dvc"), ctx.env, ctx.dvc, ctx.tools.dvc_python
        )
        ctx.shared["dvc-experiments"] = repo
    assert isinstance(repo, DvcExperiments)
    if repo.count < size:
        added = size - repo.count
        ctx.say(f"creating {added:,} DVC experiments with `dvc exp run` (about 1 s each)")
        start = time.perf_counter()
        repo.grow_to(size)
        ctx.shared["dvc-seconds-per-experiment"] = (time.perf_counter() - start) / added
    return repo, ""
