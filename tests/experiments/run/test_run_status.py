"""How a run ended, as ``show`` tells it: running, interrupted, crashed.

Real ``gitexp run`` processes, stopped by real signals: Ctrl-C (SIGINT to the process
group, as a terminal sends it), SIGTERM to gitexp alone, and SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

import gitexp
from gitexp.errors import ConflictError, Interrupted
from tests.conftest import PARAMS_YAML, git, run_gitexp

PY = sys.executable

LOGS_THEN_WAITS = """\
import pathlib, time
import gitexp
gitexp.log_metric("loss", 0.9, step=0)
gitexp.log_metric("loss", 0.5, step=1)
gitexp.log_metric("acc", 0.7)
print("go", flush=True)
gate = pathlib.Path("gate")
while not gate.exists():
    time.sleep(0.02)
gitexp.log_metric("loss", 0.25, step=2)
print("more", flush=True)
while gate.exists():
    time.sleep(0.02)
"""


def interruptible() -> None:
    """In the child: Ctrl-C as a terminal gives it, even under a background shell."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_run(repo: Path, *args: str) -> subprocess.Popen[bytes]:
    """``gitexp run ARGS`` of a script that logs, then waits; returned once it logged."""
    (repo / "waits.py").write_text(LOGS_THEN_WAITS)
    proc = subprocess.Popen(
        [PY, "-m", "gitexp", "run", *args, "--", PY, "waits.py"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"go"
    return proc


def shown(repo: Path) -> dict[str, dict[str, object]]:
    """``gitexp show --json`` (a real process) by experiment name."""
    done = run_gitexp(repo, "show", "--json")
    assert done.returncode == 0, done.stderr
    return {str(e["name"]): e for e in orjson.loads(done.stdout)["experiments"]}


def output_log(repo: Path, name: str) -> str:
    return git(repo, "show", f"refs/experiments/{name}:.gitexp/output.log")


def test_ctrl_c_records_the_run_as_interrupted_with_what_it_wrote(repo: Path) -> None:
    proc = start_run(repo, "-n", "stopped", "-S", "seed=8")
    assert b"seed: 8" in (repo / "params.yaml").read_bytes()
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"recorded INTERRUPTED experiment 'stopped'" in err
    assert (repo / "params.yaml").read_text() == PARAMS_YAML
    row = shown(repo)["stopped"]
    assert row["status"] == "interrupted"
    assert row["params"] == {"params.yaml": {"train": {"lr": 0.001, "epochs": 3}, "seed": 8}}
    assert row["metrics"] == {"metrics.json": {"loss": 0.5, "acc": 0.7}}
    assert "go" in output_log(repo, "stopped")
    series = git(repo, "show", "refs/experiments/stopped:.gitexp/series/loss.tsv")
    assert series == "step\tvalue\n0\t0.9\n1\t0.5\n"
    run = orjson.loads(git(repo, "show", "refs/experiments/stopped:.gitexp/run.json"))
    assert run["status"] == "interrupted"
    assert not list((repo / ".git" / "gitexp" / "runs").iterdir())


def test_sigterm_to_gitexp_alone_records_interrupted(repo: Path) -> None:
    proc = start_run(repo, "-n", "termed", "-S", "seed=8")
    proc.terminate()
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert shown(repo)["termed"]["status"] == "interrupted"
    assert (repo / "params.yaml").read_text() == PARAMS_YAML


def test_a_retry_after_an_interrupt_says_how_to_replace_the_record(repo: Path) -> None:
    proc = start_run(repo, "-n", "again")
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert b"--force" in err
    with pytest.raises(ConflictError, match="already exists"):
        gitexp.Repo().run([PY, "-c", "pass"], name="again")
    gitexp.Repo().run([PY, "-c", "pass"], name="again", force=True)
    assert shown(repo)["again"]["status"] == "success"


def kill_run(repo: Path, name: str) -> None:
    proc = start_run(repo, "-n", name, "-S", "seed=8")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert b"seed: 8" in (repo / "params.yaml").read_bytes()


def test_a_killed_run_is_recorded_as_crashed_by_the_next_show(repo: Path) -> None:
    kill_run(repo, "killed")
    done = run_gitexp(repo, "show", "--json")
    assert done.returncode == 0, done.stderr
    row = orjson.loads(done.stdout)["experiments"][0]
    assert row["name"] == "killed" and row["status"] == "crashed"
    assert row["params"] == {"params.yaml": {"train": {"lr": 0.001, "epochs": 3}, "seed": 8}}
    assert row["metrics"] == {"metrics.json": {"loss": 0.5, "acc": 0.7}}
    assert "crashed" in done.stderr and "killed" in done.stderr
    assert "go" in output_log(repo, "killed")
    assert (repo / "params.yaml").read_text() == PARAMS_YAML
    assert not list((repo / ".git" / "gitexp" / "runs").iterdir())
    assert shown(repo)["killed"]["status"] == "crashed"  # once, and it stays


def test_a_command_that_outlives_its_killed_gitexp_runs_on_then_is_recorded(repo: Path) -> None:
    proc = start_run(repo, "-n", "orphan", "-S", "seed=8")
    proc.kill()  # gitexp alone: its command goes on, logging into the run's journal
    proc.communicate(timeout=30)
    try:
        assert shown(repo)["orphan"]["status"] == "running"
        assert b"seed: 8" in (repo / "params.yaml").read_bytes()  # still in use
    finally:
        (repo / "gate").write_text("")  # the command logs once more, then ends
    metrics = {"metrics.json": {"loss": 0.25, "acc": 0.7}}
    wait_for(lambda: shown(repo)["orphan"]["status"] == "crashed", timeout=30)
    row = shown(repo)["orphan"]
    assert row["metrics"] == metrics
    assert (repo / "params.yaml").read_text() == PARAMS_YAML


@pytest.mark.parametrize("command", ["list", "run"])
def test_list_and_run_record_a_crashed_run_too(repo: Path, command: str) -> None:
    kill_run(repo, "gone")
    args = ["run", "--", PY, "-c", "pass"] if command == "run" else ["list", "--json"]
    done = run_gitexp(repo, *args)
    assert done.returncode == 0, done.stderr
    assert "recorded experiment 'gone' as crashed" in done.stderr
    assert (repo / "params.yaml").read_text() == PARAMS_YAML
    rows = orjson.loads(run_gitexp(repo, "list", "--json").stdout)["experiments"]
    assert [r["status"] for r in rows if r["name"] == "gone"] == ["crashed"]


@pytest.mark.slow
def test_commands_that_find_one_crashed_run_at_once_record_it_once(repo: Path) -> None:
    for round_ in range(3):
        name = f"raced{round_}"
        kill_run(repo, name)
        procs = [
            subprocess.Popen(
                [PY, "-m", "gitexp", *args],
                cwd=repo,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for args in (["show", "--json"], ["list", "--json"], ["show"])
        ]
        said = [proc.communicate(timeout=60) for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0, 0], said
        told = [err for _out, err in said if f"'{name}' as crashed" in err]
        assert len(told) == 1, said
        assert shown(repo)[name]["status"] == "crashed"
        assert (repo / "params.yaml").read_text() == PARAMS_YAML
    assert not list((repo / ".git" / "gitexp" / "runs").iterdir())


def wait_for(check: object, timeout: float = 2.0) -> float:
    """Poll ``check()`` until true; the seconds it took (fails after ``timeout``)."""
    start = time.monotonic()
    while not check():  # type: ignore[operator]
        assert time.monotonic() - start < timeout, "not seen in time"
        time.sleep(0.05)
    return time.monotonic() - start


def test_show_lists_a_running_experiment_with_its_latest_values(repo: Path) -> None:
    proc = start_run(repo, "-n", "live", "-S", "seed=4")
    try:
        row = shown(repo)["live"]
        assert row["status"] == "running" and row["commit"] is None
        assert row["params"] == {"params.yaml": {"train": {"lr": 0.001, "epochs": 3}, "seed": 4}}
        assert row["metrics"] == {"metrics.json": {"loss": 0.5, "acc": 0.7}}
        api_rows = gitexp.Repo().show()["experiments"]
        assert [(r["name"], r["status"]) for r in api_rows] == [("live", "running")]
        assert "running" in run_gitexp(repo, "show").stdout
        (repo / "gate").write_text("")
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"more"

        def latest() -> bool:
            rows = gitexp.Repo().show()["experiments"]
            return rows[0]["metrics"] == {"metrics.json": {"loss": 0.25, "acc": 0.7}}

        wait_for(latest, timeout=2.0)
        (repo / "gate").unlink()
        _out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert shown(repo)["live"]["status"] == "success"
    assert [r["status"] for r in gitexp.Repo().list()] == ["success"]


def test_show_without_runs_reads_no_journal(repo: Path) -> None:
    gitexp.Repo().run([PY, "-c", "pass"], name="done")
    runs = repo / ".git" / "gitexp" / "runs"
    assert not runs.exists() or not list(runs.iterdir())
    assert [r["status"] for r in gitexp.Repo().show()["experiments"]] == ["success"]


def test_interrupted_parallel_points_are_recorded_as_interrupted(repo: Path) -> None:
    (repo / "waits.py").write_text(LOGS_THEN_WAITS)
    proc = subprocess.Popen(
        [PY, "-m", "gitexp", "run", "-j", "2", "-n", "par", "-S", "seed=1,2", "--", PY, "waits.py"],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    try:
        wait_for(lambda: {"par-1", "par-2"} <= set(_running(repo)), timeout=30)
        wait_for(lambda: all(r["metrics"] for r in _running(repo).values()), timeout=30)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    rows = shown(repo)
    assert rows["par-1"]["status"] == rows["par-2"]["status"] == "interrupted"
    assert (repo / "params.yaml").read_text() == PARAMS_YAML


def _running(repo: Path) -> dict[str, dict[str, object]]:
    rows = gitexp.Repo().show()["experiments"]
    return {str(r["name"]): r for r in rows if r["status"] == "running"}


def test_the_api_stops_a_run_when_asked_and_records_it_interrupted(repo: Path) -> None:
    stop = threading.Event()
    heard: list[str] = []
    with pytest.raises(Interrupted, match="recorded as experiment 'asked'"):
        gitexp.Repo().run(
            [PY, "-c", "import time; print('go', flush=True); time.sleep(60)"],
            name="asked",
            overrides=["seed=3"],
            stop=stop,
            on_output=lambda _chunk, _is_err: stop.set(),  # as soon as it runs
            on_result=lambda result: heard.append(result.status),
        )
    assert heard == ["interrupted"]
    assert gitexp.Repo().show()["experiments"][0]["status"] == "interrupted"
    assert (repo / "params.yaml").read_text() == PARAMS_YAML
