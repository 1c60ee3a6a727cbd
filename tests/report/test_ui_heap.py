"""A UI left running collects the garbage its rebuilds froze (`Watcher`, `collect_frozen`).

Each rebuild of the recorded rows freezes every live object, so that the collector
skips them; a cycle among them that is dropped later is collected only by the
watcher's occasional sweep, which runs once the rows were built again.
"""

from __future__ import annotations

import gc
import time
import weakref
from collections.abc import Callable
from pathlib import Path

from gitexp.core.heap import kept_objects
from tests.report.conftest import git


class _Node:
    """Something that refers to itself: only a cyclic collection frees it."""

    me: object


def test_a_cycle_a_rebuild_froze_is_collected_once_the_rows_are_built_again(
    many_experiments: Callable[[int], Path],
) -> None:
    from gitexp.experiments.liveview import CachedSource
    from gitexp.project import Project
    from gitexp.report.ui.state import PageState
    from gitexp.report.ui.watch import Watcher

    root = many_experiments(5)
    state = PageState(CachedSource(Project.open(root)))
    watcher = Watcher(state, sweep_s=0.3)
    with kept_objects():
        node = _Node()
        node.me = node
    gone = weakref.ref(node)
    del node
    try:
        watcher.start()
        assert state.ready.wait(60)
        time.sleep(0.6)  # past a sweep's time, with no rebuild since: nothing to sweep
        gc.collect()
        assert gone() is not None, "frozen: a usual collection does not see it"
        commit = git(root, "rev-parse", "refs/experiments/" + _first(root)).strip()
        git(root, "update-ref", "refs/experiments/again", commit)  # a new ref: a rebuild
        deadline = time.monotonic() + 30
        while gone() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone() is None, "the sweep after the rebuild did not collect it"
        assert state.snapshot.version >= 2
    finally:
        watcher.stop()
        gc.unfreeze()


def _first(root: Path) -> str:
    names = git(root, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/experiments/")
    return names.split()[0]
