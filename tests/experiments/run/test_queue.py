"""The queue: commits under refs/exps-queue/, taken by compare-and-swap, run once each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.conftest import git, make_repo

PY = sys.executable

COUNTING = """\
import os, sys, gitexp
n = gitexp.params()["n"]
with open(os.environ["RAN_LOG"], "a") as log:
    log.write(f"{n}\\n")
print("point", n)
gitexp.log_metric("acc", n / 100)
sys.exit(3 if n == 13 else 0)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(
        tmp_path / "project",
        {"params.yaml": "n: 0\n", "count.py": COUNTING, ".gitignore": "metrics.json\n"},
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("RAN_LOG", str(tmp_path / "ran.log"))
    return root


def refs(root: Path, prefix: str) -> list[str]:
    out = git(root, "for-each-ref", "--format=%(refname)", prefix)
    return sorted(line.rpartition("/")[2] for line in out.split())


def test_queued_runs_are_commits_listed_shown_removed_and_cleared(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = (project / "params.yaml").read_bytes()
    result = cli("run", "--queue", "-n", "q", "-S", "n=1,2,3", "--", PY, "count.py")
    assert result.code == 0, result.err
    assert result.out.split() == ["q-1", "q-2", "q-3"]
    assert refs(project, "refs/exps-queue/") == ["q-1", "q-2", "q-3"]
    assert refs(project, "refs/experiments/") == []
    assert (project / "params.yaml").read_bytes() == before  # nothing ran, nothing changed
    assert git(project, "show", "refs/exps-queue/q-2:params.yaml") == "n: 2\n"
    record = orjson.loads(git(project, "show", "refs/exps-queue/q-2:.gitexp/run.json"))
    assert record["status"] == "queued" and record["overrides"] == {"params.yaml": {"n": 2}}
    head = git(project, "rev-parse", "HEAD").strip()
    assert git(project, "rev-parse", "refs/exps-queue/q-2^").strip() == head
    listed = orjson.loads(cli("queue", "list", "--json").out)["queue"]
    assert [(q["name"], q["status"]) for q in listed] == [
        ("q-1", "queued"),
        ("q-2", "queued"),
        ("q-3", "queued"),
    ]
    shown = orjson.loads(cli("show", "--json").out)["experiments"]
    assert {(e["name"], e["status"], e["commit"]) for e in shown} == {
        ("q-1", "queued", None),
        ("q-2", "queued", None),
        ("q-3", "queued", None),
    }
    again = cli("run", "--queue", "-n", "q", "-S", "n=1,2,3", "--", PY, "count.py")
    assert again.code == 1 and "'q-1' already exists" in again.err
    assert cli("queue", "remove", "q-2").code == 0
    assert refs(project, "refs/exps-queue/") == ["q-1", "q-3"]
    missing = cli("queue", "remove", "nope")
    assert missing.code == 1 and "no queued run named 'nope'" in missing.err
    assert cli("queue", "clear").code == 0 and refs(project, "refs/exps-queue/") == []
    search = cli("run", "--queue", "-S", "n=int(1,3)", "--trials", "2")
    assert search.code == 2 and "not searches" in search.err


def test_a_failed_queued_run_keeps_its_output(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    assert cli("run", "--queue", "-n", "f", "-S", "n=12,13", "--", PY, "count.py").code == 0
    result = cli("queue", "start")
    assert result.code == 1 and "ran 2 queued run(s), 1 failed" in result.err
    record = orjson.loads(git(project, "show", "refs/experiments/f-2:.gitexp/run.json"))
    assert record["status"] == "failed" and record["exit_code"] == 3
    assert "point 13" in git(project, "show", "refs/experiments/f-2:.gitexp/output.log")
    assert refs(project, "refs/exps-queue/") == [] and refs(project, "refs/exps-claimed/") == []


@pytest.mark.slow
def test_two_queue_starts_at_once_run_every_point_exactly_once(
    project: Path, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    points = ",".join(str(n) for n in range(1, 13))
    assert cli("run", "--queue", "-n", "c", "-S", f"n={points}", "--", PY, "count.py").code == 0
    starts = [
        subprocess.Popen(
            [PY, "-m", "gitexp", "queue", "start", "-j", "2"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in starts]
    assert [p.returncode for p in starts] == [0, 0], outputs
    ran = (tmp_path / "ran.log").read_text().split()
    assert sorted(ran, key=int) == [str(n) for n in range(1, 13)]  # each once
    assert refs(project, "refs/experiments/") == sorted(f"c-{n}" for n in range(1, 13))
    assert refs(project, "refs/exps-queue/") == [] and refs(project, "refs/exps-claimed/") == []
    said = "".join(err for _out, err in outputs)
    assert said.count("recorded experiment 'c-") == 12


@pytest.mark.slow
def test_a_dask_cluster_and_a_local_start_run_each_point_once(
    project: Path, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("distributed")
    assert cli("run", "--queue", "-n", "d", "-S", "n=1,2,3,4,5,6", "--", PY, "count.py").code == 0
    local = subprocess.Popen(
        [PY, "-m", "gitexp", "queue", "start"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    result = cli("queue", "start", "--executor", "dask", "-j", "2")
    _out, err = local.communicate(timeout=300)
    assert result.code == 0 and local.returncode == 0, result.err + err
    assert sorted((tmp_path / "ran.log").read_text().split(), key=int) == [
        str(n) for n in range(1, 7)
    ]
    assert refs(project, "refs/experiments/") == [f"d-{n}" for n in range(1, 7)]
    assert refs(project, "refs/exps-queue/") == [] and refs(project, "refs/exps-claimed/") == []
    # each start reports only the runs it ran: none claims another's record as its own
    said = result.err + err
    assert said.count("recorded experiment 'd-") == 6, said
    unknown = cli("queue", "start", "--executor", "spark")
    assert unknown.code == 2 and "unknown executor 'spark'" in unknown.err


@pytest.mark.slow
def test_a_grid_runs_on_a_dask_cluster_and_leaves_the_queue_alone(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("distributed")
    assert cli("run", "--queue", "-n", "waits", "-S", "n=9", "--", PY, "count.py").code == 0
    result = cli(
        "run", "-n", "g", "-S", "n=1,13", "--executor", "dask", "-j", "2", "--", PY, "count.py"
    )
    assert result.code == 1, result.err  # n=13 fails
    assert refs(project, "refs/experiments/") == ["g-1", "g-2"]
    assert refs(project, "refs/exps-queue/") == ["waits"]  # not one of this grid's points
    assert "point 13" in git(project, "show", "refs/experiments/g-2:.gitexp/output.log")
    search = cli("run", "-S", "n=int(1,3)", "--trials", "2", "--executor", "spark")
    assert search.code == 2 and "unknown executor 'spark'" in search.err


SLEEPY = """\
import os, time, gitexp
n = gitexp.params()["n"]
with open(os.environ["RAN_LOG"], "a") as log:
    log.write(f"{n}\\n")
time.sleep(3)
gitexp.log_metric("acc", n / 100)
"""


def _pids_running(script: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                words = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if any(w.endswith(script.encode()) for w in words):
                found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_a_dask_worker_killed_mid_run_loses_and_duplicates_nothing(
    project: Path, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("distributed")
    import os
    import signal
    import time

    (project / "sleepy.py").write_text(SLEEPY)
    assert cli("run", "--queue", "-n", "w", "-S", "n=1,2,3", "--", PY, "sleepy.py").code == 0
    start = subprocess.Popen(
        [PY, "-m", "gitexp", "queue", "start", "--executor", "dask", "-j", "2"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (running := _pids_running("sleepy.py")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert running, "no run started"
    worker = int(
        (Path("/proc") / str(running[0]) / "stat").read_text().rsplit(")", 1)[1].split()[1]
    )
    os.kill(worker, signal.SIGKILL)  # the Dask worker process running it, mid-run
    _out, err = start.communicate(timeout=300)
    assert start.returncode == 0, err
    assert refs(project, "refs/experiments/") == ["w-1", "w-2", "w-3"]
    assert refs(project, "refs/exps-queue/") == [] and refs(project, "refs/exps-claimed/") == []
    cli("list")  # the killed worker's own journal, once its command ends, is not recorded
    time.sleep(3.5)
    listed = cli("list")
    assert listed.code == 0 and refs(project, "refs/experiments/") == ["w-1", "w-2", "w-3"]
    statuses = {
        n: orjson.loads(git(project, "show", f"refs/experiments/w-{n}:.gitexp/run.json"))["status"]
        for n in (1, 2, 3)
    }
    assert set(statuses.values()) == {"success"}


def _commands_under(root: Path) -> list[int]:
    """Processes whose folder is a worktree under ``root`` (the runs' commands)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if cwd.startswith(str(root)) and "/gitexp/worktrees/" in cwd:
                found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["local", "dask"])
def test_stopping_queue_start_stops_every_command_it_started(
    project: Path, cli, tmp_path: Path, executor: str
) -> None:  # type: ignore[no-untyped-def]
    if executor == "dask":
        pytest.importorskip("distributed")
    out = tmp_path / "out"
    out.mkdir()
    # a shell line: only a signal to its whole process group stops the sleep under it
    line = f'sleep 30; touch "{out}/$GITEXP_EXPERIMENT"'
    assert cli("run", "--queue", "-n", "s", "-S", "n=1,2,3", "--", line).code == 0
    start = subprocess.Popen(
        [PY, "-m", "gitexp", "queue", "start", "-j", "2", "--executor", executor],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while len(_commands_under(project)) < 4 and time.monotonic() < deadline:  # sh and sleep
        time.sleep(0.05)
    assert len(_commands_under(project)) == 4, "the runs did not start"
    start.send_signal(signal.SIGTERM)
    _out, err = start.communicate(timeout=60)
    assert start.returncode == 130, err
    assert not _commands_under(project), "a command runs on"  # so none will write its file
    assert list(out.iterdir()) == []
    stopped = refs(project, "refs/experiments/")
    assert len(stopped) == 2
    records = [git(project, "show", f"refs/experiments/{n}:.gitexp/run.json") for n in stopped]
    assert {orjson.loads(r)["status"] for r in records} == {"interrupted"}
    assert refs(project, "refs/exps-queue/") == sorted({"s-1", "s-2", "s-3"} - set(stopped))
    assert refs(project, "refs/exps-claimed/") == []
