"""A cluster search's trials asked for together go to the cluster as one batch."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from gitexp.errors import TransportError
from gitexp.experiments.run.record import RunResult
from gitexp.experiments.run.sweepbatch import Batches


def result(name: str) -> RunResult:
    return RunResult(name, f"refs/experiments/{name}", "0" * 40, "success", 0, 0.1)


def test_trials_asked_for_together_go_in_one_batch_each_handed_its_own_result() -> None:
    batches: list[list[str]] = []

    def run_batch(names: Sequence[str], recorded: Callable[[RunResult], None]) -> None:
        batches.append(list(names))
        for name in reversed(names):
            recorded(result(name))

    gather = Batches(run_batch, threading.Event(), slots=3)
    with ThreadPoolExecutor(3) as pool:
        got = list(pool.map(gather.run, ["s-1", "s-2", "s-3"]))
    gather.close()
    assert [r.name for r in got if r is not None] == ["s-1", "s-2", "s-3"]
    assert [sorted(batch) for batch in batches] == [["s-1", "s-2", "s-3"]]


def test_a_trial_gets_its_result_while_the_rest_of_its_batch_runs() -> None:
    later = threading.Event()

    def run_batch(names: Sequence[str], recorded: Callable[[RunResult], None]) -> None:
        recorded(result("s-1"))
        assert later.wait(60), "s-1 waited for s-2"  # set only once s-1 is back
        recorded(result("s-2"))

    gather = Batches(run_batch, threading.Event(), slots=2)
    with ThreadPoolExecutor(2) as pool:
        second = pool.submit(gather.run, "s-2")
        first = gather.run("s-1")
        later.set()
        assert first is not None and first.name == "s-1"
        assert second.result() is not None
    gather.close()


def test_what_a_batch_raises_each_of_its_trials_raises_and_one_not_run_is_none() -> None:
    def failing(names: Sequence[str], recorded: Callable[[RunResult], None]) -> None:
        raise TransportError("the git remote went away")

    gather = Batches(failing, threading.Event(), slots=1)
    with pytest.raises(TransportError, match="went away"):
        gather.run("s-1")
    quiet = Batches(lambda names, recorded: None, threading.Event(), slots=1)
    assert quiet.run("s-2") is None  # not run: the caller says why
    gather.close()
    quiet.close()
