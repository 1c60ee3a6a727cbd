"""Operations: one module each, in the order they run.

An operation module has ``NAME`` (what ``--only`` takes), ``GROUP`` and
``cases(ctx) -> Iterator[Case]``: it builds its workload for gitexp and for DVC and
yields one `Case` per size, measured as soon as it is yielded (so a workload can
grow from one size to the next). To add an operation, write a module here and list
it below.
"""

from __future__ import annotations

from types import ModuleType

from ops import add, checkout, diff, gc, hooks, pull, push, run_overhead, show, status

OPERATIONS: list[ModuleType] = [
    diff,
    show,
    run_overhead,
    add,
    status,
    checkout,
    gc,
    push,
    pull,
    hooks,
]
"""Every operation, in running order (diff first: it wants the smallest experiment repos)."""


def by_name() -> dict[str, ModuleType]:
    """Operations by the name ``--only`` takes."""
    return {module.NAME: module for module in OPERATIONS}
