"""Searches on an existing Dask cluster: a real scheduler and two workers on loopback.

The driver asks and tells; each trial is a queued run that a worker runs in its own
clone, records on the bare git remote, and the driver fetches. The cluster fixture
is the one of the cluster runs' tests (each worker in its own folder).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import orjson
import pytest

from tests.conftest import git, make_repo
from tests.experiments.run.test_dask_cluster import (
    PY,
    Cluster,
    _logged,
    _parent,
    _pids_running,
    _start,
    _wait_for,
    cluster,
    record,
    refs,
    remote_refs,
)

pytest.importorskip("distributed")
pytest.importorskip("optuna")
pytestmark = pytest.mark.slow
__all__ = ["cluster"]  # the module's fixture: a scheduler and two workers

TRIAL = """\
import os, sys, time, gitexp
name = os.environ["GITEXP_EXPERIMENT"]
with open(os.environ["RAN_LOG"], "a") as log:
    log.write(name + "\\n")
x = gitexp.params()["x"]
late = int(name.rpartition("-")[2]) >= 7  # trials 7 and up log a poor goal from step 1
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 0)
if len(sys.argv) > 2:  # a model of that many MiB: its push outlasts the command
    with open("model.bin", "wb") as model:
        model.write(os.urandom(int(sys.argv[2]) << 20))
for step in range(3):
    gitexp.log_metric("acc", 0.0 if late and step else 1 + x * (step + 1), step=step)
    if gitexp.should_prune():
        break
"""

CONFIG = f"""\
command: {PY} trial.py
goals: {{acc: max}}
remote: storage
remotes:
  storage: ../storage
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project whose origin is a bare repository and whose storage is a folder beside it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    root = make_repo(
        tmp_path / "project",
        {
            "params.yaml": "x: 0.5\n",
            "trial.py": TRIAL,
            "gitexp.yaml": CONFIG,
            ".gitignore": "metrics.json\n",
        },
    )
    git(root, "remote", "add", "origin", remote.as_uri())
    monkeypatch.chdir(root)
    return root


def sweep_info(root: Path, name: str) -> dict[str, object]:
    info = record(root, name)["sweep"]
    assert isinstance(info, dict)
    return info


def no_runs_left(root: Path) -> None:
    for prefix in ("refs/exps-queue/", "refs/exps-claimed/"):
        assert refs(root, prefix) == [] and remote_refs(root, prefix) == []


def test_a_search_runs_each_trial_once_on_the_cluster_and_resumes(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    search = ("run", "-n", "s", "-S", "x=uniform(0,1)", "--seed", "3", "--sampler", "random")
    result = cli(*search, "--trials", "5", "--executor", cluster.executor)
    assert result.code == 0, result.err
    names = [f"s-{n}" for n in range(1, 6)]
    assert refs(project, "refs/experiments/") == names
    assert remote_refs(project, "refs/experiments/") == names
    assert cluster.ran("s") == names  # each trial ran once, on a worker
    infos = [sweep_info(project, name) for name in names]
    assert [i["trial"] for i in infos] == [1, 2, 3, 4, 5]
    assert len({orjson.dumps(i["values"]) for i in infos}) == 5
    for name, info in zip(names, infos, strict=True):
        x = info["values"]["x"]  # type: ignore[index]
        assert record(project, name, "metrics.json") == {"acc": 1 + x * 3}
        assert record(project, name)["overrides"] == {"params.yaml": {"x": x}}
        assert record(project, name)["status"] == "success"
    assert "5 trial(s): 5 done, 0 failed, 0 pruned" in result.err
    no_runs_left(project)
    assert (project / "params.yaml").read_text() == "x: 0.5\n"  # the workspace is untouched

    more = cli("run", "-n", "s", "--resume", "--trials", "6", "--executor", cluster.executor)
    assert more.code == 0, more.err
    assert sweep_info(project, "s-6")["trial"] == 6
    assert cluster.ran("s") == [*names, "s-6"]  # the study came from the refs: nothing again
    no_runs_left(project)


def test_pruning_reaches_the_driver_from_the_workers(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    result = cli(
        "run", "-n", "p", "-S", "x=uniform(0,1)", "--seed", "1", "--trials", "7",
        "--prune", "median", "--executor", cluster.executor,
    )  # fmt: skip
    assert result.code == 0, result.err
    statuses = {f"p-{n}": record(project, f"p-{n}")["status"] for n in range(1, 8)}
    # two at a time: trial 7 starts once five ended, enough for the median to judge
    assert statuses == {**{f"p-{n}": "success" for n in range(1, 7)}, "p-7": "pruned"}
    assert record(project, "p-7", "metrics.json") == {"acc": 0.0}  # stopped at step 1
    assert "7 trial(s): 6 done, 0 failed, 1 pruned" in result.err
    assert cluster.ran("p") == sorted(statuses)
    no_runs_left(project)


def test_a_worker_killed_mid_trial_records_the_trial_once(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    driver = _start(
        project, "run", "-n", "k", "-S", "x=uniform(0,1)", "--seed", "2", "--trials", "2",
        "--executor", cluster.executor, "--", PY, "trial.py", "1.5",
    )  # fmt: skip
    # once the trial has begun (its line in the log): the worker's death ends its command
    running = _logged(cluster, "1.5", "k")
    os.kill(_parent(running), signal.SIGKILL)  # the Dask worker process running it
    _out, err = driver.communicate(timeout=300)
    assert driver.returncode == 0, err
    names = ["k-1", "k-2"]
    assert refs(project, "refs/experiments/") == names
    assert remote_refs(project, "refs/experiments/") == names
    assert {record(project, n)["status"] for n in names} == {"success"}
    assert len(cluster.ran("k")) == 3 and sorted(set(cluster.ran("k"))) == names  # one again
    no_runs_left(project)


def test_a_driver_killed_mid_search_resumes_and_repeats_no_trial(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    driver = _start(
        project, "run", "-n", "d", "-S", "x=uniform(0,1)", "--seed", "4", "--trials", "3",
        "--executor", cluster.executor, "--", PY, "trial.py", "2.5",
    )  # fmt: skip
    _wait_for("2.5", cluster.ran_log.parent)
    driver.kill()  # SIGKILL: no chance to clean up
    driver.communicate()
    left = refs(project, "refs/exps-claimed/")
    assert left and set(left) <= {"d-1", "d-2"}
    # at once: the trials it started go on on the workers, to be waited for and adopted
    again = cli("run", "-n", "d", "--resume", "--executor", cluster.executor)
    assert again.code == 0, again.err
    assert "still running on the cluster" in again.err
    names = ["d-1", "d-2", "d-3"]
    assert refs(project, "refs/experiments/") == names
    assert remote_refs(project, "refs/experiments/") == names
    assert {record(project, n)["status"] for n in names} == {"success"}
    assert cluster.ran("d") == names  # what the workers recorded was adopted, not run again
    assert [sweep_info(project, n)["trial"] for n in names] == [1, 2, 3]
    no_runs_left(project)


def test_a_trial_whose_command_ended_is_waited_for_until_its_ref_is_pushed(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    """After its command, a trial's task still pushes its model, then its ref: not over yet."""
    config = project / "gitexp.yaml"
    config.write_text(config.read_text() + "outs: [model.bin]\n")
    git(project, "commit", "-qam", "a model")
    driver = _start(
        project, "run", "-n", "m", "-S", "x=uniform(0,1)", "--seed", "5", "--trials", "1",
        "--executor", cluster.executor, "--", PY, "trial.py", "1", "384",
    )  # fmt: skip
    _wait_for("384", cluster.ran_log.parent)
    driver.kill()
    driver.communicate()
    again = cli("run", "-n", "m", "--resume", "--executor", cluster.executor)
    assert again.code == 0, again.err
    assert refs(project, "refs/experiments/") == ["m-1"]
    assert record(project, "m-1")["status"] == "success"
    assert cluster.ran("m") == ["m-1"]  # adopted once its ref was on the remote
    no_runs_left(project)


def test_stopping_the_driver_records_the_running_trials_interrupted(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster
) -> None:
    driver = _start(
        project, "run", "-n", "c", "-S", "x=uniform(0,1)", "--trials", "4",
        "--executor", cluster.executor, "--", "sleep", "30",
    )  # fmt: skip
    _wait_for("30", cluster.ran_log.parent, count=2)  # one trial on each worker
    driver.send_signal(signal.SIGTERM)
    _out, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, err
    assert "continue the sweep with `gitexp run -n c --resume`" in err
    assert not _pids_running("30", cluster.ran_log.parent), "a trial's command runs on"
    assert refs(project, "refs/experiments/") == ["c-1", "c-2"]
    assert {record(project, n)["status"] for n in ("c-1", "c-2")} == {"interrupted"}
    no_runs_left(project)  # the trials not started are not left queued


def test_what_a_cluster_search_cannot_do_is_refused_before_anything_moves(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAN_LOG", str(tmp_path / "here.log"))
    search = ("run", "-n", "f", "-S", "x=uniform(0,1)", "--trials", "2")
    forced = cli(*search, "--force", "--executor", cluster.executor)
    assert forced.code == 2 and "--force cannot replace a sweep's trials" in forced.err
    down = cli(*search, "--executor", "dask://127.0.0.1:9")
    assert down.code == 1 and "cannot reach the Dask scheduler" in down.err.splitlines()[0]
    # an experiment the remote keeps under a trial's name would be adopted: refused
    assert cli("run", "-n", "f-2", "--", PY, "trial.py").code == 0
    git(project, "push", "-q", "origin", "refs/experiments/f-2")
    git(project, "update-ref", "-d", "refs/experiments/f-2")
    taken = cli(*search, "--executor", cluster.executor)
    assert taken.code == 1 and "experiment 'f-2' exists on the git remote" in taken.err
    assert refs(project, "refs/experiments/") == [] and cluster.ran("f") == []
    no_runs_left(project)


def test_a_second_driver_of_a_search_going_on_is_refused_at_once(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    search = ("run", "-n", "two", "-S", "x=uniform(0,1)", "--seed", "5", "--trials", "2")
    first = _start(project, *search, "--executor", cluster.executor, "--", PY, "trial.py", "2.25")
    _wait_for("2.25", cluster.ran_log.parent)  # its trials run on the workers
    for again in (search, ("run", "-n", "two", "--resume")):
        second = cli(*again, "--executor", cluster.executor)
        assert second.code == 1
        assert second.err.startswith(
            f"error: sweep 'two' is being run by another gitexp process (pid {first.pid}); "
            "a sweep has one driver at a time; wait for it to end, then continue with "
            "`gitexp run -n two --resume`"
        )
    _out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err  # the first went on undisturbed
    names = ["two-1", "two-2"]
    assert refs(project, "refs/experiments/") == remote_refs(project, "refs/experiments/") == names
    assert cluster.ran("two") == names
    no_runs_left(project)
    more = cli("run", "-n", "two", "--resume", "--trials", "3", "--executor", cluster.executor)
    assert more.code == 0, more.err  # once it ended, the sweep goes on
    assert cluster.ran("two") == [*names, "two-3"]


def test_resume_waits_for_a_killed_drivers_trial_only_so_long_then_ends_it(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gitexp.experiments.run import sweeporphans

    driver = _start(
        project, "run", "-n", "h", "-S", "x=uniform(0,1)", "--trials", "1",
        "--executor", cluster.executor, "--", PY, "trial.py", "299",
    )  # fmt: skip
    _wait_for("299", cluster.ran_log.parent)  # a trial that would hang for minutes
    driver.kill()
    driver.communicate()
    monkeypatch.setattr(sweeporphans, "ORPHAN_LIMIT_S", 1.0)
    again = cli("run", "-n", "h", "--resume", "--executor", cluster.executor)
    assert again.code == 1, again.err  # the trial ended failed
    assert "h-1 still running after 1s: ended on the cluster, recorded as it ended" in again.err
    assert not _pids_running("299", cluster.ran_log.parent), "the trial's command runs on"
    assert (
        refs(project, "refs/experiments/") == remote_refs(project, "refs/experiments/") == ["h-1"]
    )
    assert record(project, "h-1")["status"] == "failed"  # recorded once, by its own task
    assert cluster.ran("h") == ["h-1"]  # and not run again
    no_runs_left(project)


def test_a_resume_does_not_wait_for_a_worker_that_does_not_answer(  # type: ignore[no-untyped-def]
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import threading

    import distributed

    from gitexp.experiments.run import sweeporphans
    from gitexp.experiments.run.executors.worker import Task

    monkeypatch.setattr(sweeporphans, "PROBE_S", 1.0)
    probe = Task("", "", "", (tmp_path / "remote.git").as_uri(), {})
    answered: list[list[str]] = []
    with distributed.Client(cluster.address, timeout=30) as client:
        pids = client.run(os.getpid)  # each worker process, by address
        silent = pids[min(pids)]
        os.kill(silent, signal.SIGSTOP)  # alive to the scheduler, deaf to everyone
        try:
            asking = threading.Thread(
                target=lambda: answered.append(sweeporphans._running(client, probe, ["s-1"]))
            )
            asking.start()
            asking.join(120)  # a hang, not a speed: the probe gives up after PROBE_S
            assert not asking.is_alive(), "the resume waits for a silent worker"
        finally:
            os.kill(silent, signal.SIGCONT)
        asking.join()
    assert answered == [[]]  # the silent worker's trials run again
