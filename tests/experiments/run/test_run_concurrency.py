"""Runs started at once: in one workspace they take turns; one name has one winner.

Real ``gitexp run`` processes are started together. Each run's record holds exactly
the overrides it asked for on top of the user's params, the params file ends with
the user's bytes, and a run that finds the workspace busy says which experiment it
waits for.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pygit2
import pytest
from ruamel.yaml import YAML

from tests.conftest import PARAMS_YAML, git

PY = sys.executable
JOB = "import gitexp, time; p = gitexp.params(); time.sleep(0.5); gitexp.log_metric('acc', 0.5)\n"
ROUNDS = 3
SLOW = "import time; print('go', flush=True); time.sleep(60)"


def _start(repo: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PY, "-m", "gitexp", "run", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _recorded_params(repo: Path, name: str) -> object:
    g = pygit2.Repository(str(repo))
    commit = g.references[f"refs/experiments/{name}"].peel(pygit2.Commit)
    blob = g[commit.tree["params.yaml"].id]
    return YAML(typ="safe").load(blob.data)  # type: ignore[attr-defined]


def _expected(**train: object) -> object:
    params = YAML(typ="safe").load(PARAMS_YAML)
    params["train"].update(train)
    return params


def test_runs_in_one_workspace_take_turns_and_never_mix(repo: Path) -> None:
    (repo / "job.py").write_text(JOB)
    waited = 0
    for number in range(ROUNDS):
        asks = {
            f"a{number}": {"lr": 0.1},
            f"b{number}": {"lr": 0.2},
            f"c{number}": {"epochs": 99},
        }
        procs = {
            name: _start(repo, "-n", name, "-S", f"train.{key}={value}", "--", PY, "job.py")
            for name, ask in asks.items()
            for key, value in ask.items()
        }
        for name, proc in procs.items():
            _out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            waited += "waiting for experiment '" in err
            assert _recorded_params(repo, name) == _expected(**asks[name]), name
        assert (repo / "params.yaml").read_text() == PARAMS_YAML
    assert waited >= 1  # runs did meet (the load of the machine decides how often)


def interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_while_waiting_exits_130_and_runs_nothing(repo: Path) -> None:
    first = subprocess.Popen(
        [PY, "-m", "gitexp", "run", "-n", "first", "-S", "seed=5", "--", PY, "-c", SLOW],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == b"go"
        second = subprocess.Popen(
            [PY, "-m", "gitexp", "run", "-n", "second", "-S", "seed=6", "--", PY, "-c", "pass"],
            cwd=repo,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=interruptible,
            text=True,
        )
        assert second.stderr is not None
        line = second.stderr.readline()
        assert "waiting for experiment 'first' to finish in this workspace" in line
        os.killpg(second.pid, signal.SIGINT)
        _out, err = second.communicate(timeout=30)
        assert second.returncode == 130, err
        assert "Traceback" not in err
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.communicate(timeout=30)
    assert first.returncode == 130
    refs = git(repo, "for-each-ref", "--format=%(refname)", "refs/experiments/").split()
    assert refs == ["refs/experiments/first"]  # recorded as interrupted; 'second' never ran
    status = git(repo, "show", "refs/experiments/first:.gitexp/run.json")
    assert '"status":"interrupted"' in status.replace(" ", "")
    assert (repo / "params.yaml").read_text() == PARAMS_YAML


@pytest.mark.slow
def test_racing_runs_of_one_name_record_it_once(repo: Path) -> None:
    for number in range(2):
        name = f"same{number}"
        procs = [
            _start(repo, "-n", name, "-j", "2", "-S", f"seed={n}", "--", PY, "-c", "pass")
            for n in range(8)
        ]
        codes, errs = [], []
        for proc in procs:
            _out, err = proc.communicate(timeout=300)
            codes.append(proc.returncode)
            errs.append(err)
        winners = [err for err, code in zip(errs, codes, strict=True) if code == 0]
        assert len(winners) == 1, errs
        assert all(code in (0, 1) for code in codes), errs
        losers = [err for err, code in zip(errs, codes, strict=True) if code == 1]
        assert all(f"experiment '{name}' already exists" in err for err in losers), losers
        commit = git(repo, "rev-parse", f"refs/experiments/{name}").strip()
        assert commit[:8] in winners[0]
        assert git(repo, "worktree", "list").count("\n") == 1


@pytest.mark.slow
def test_a_parallel_run_plans_from_the_users_params_not_a_running_ones(repo: Path) -> None:
    first = subprocess.Popen(
        [PY, "-m", "gitexp", "run", "-n", "first", "-S", "seed=5", "--", PY, "-c", SLOW],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    try:
        assert first.stdout is not None and first.stdout.readline().strip() == b"go"
        assert b"seed: 5" in (repo / "params.yaml").read_bytes()
        iso = _start(repo, "-n", "iso", "-j", "2", "-S", "train.lr=0.5", "--", PY, "-c", "pass")
        _out, err = iso.communicate(timeout=120)
        assert iso.returncode == 0, err
    finally:
        os.killpg(first.pid, signal.SIGINT)
        first.communicate(timeout=30)
    expected = _expected(lr=0.5)
    assert _recorded_params(repo, "iso") == expected  # seed 1, the user's, not the run's 5
    assert (repo / "params.yaml").read_text() == PARAMS_YAML


def test_a_run_that_waited_for_its_own_name_runs_nothing(repo: Path) -> None:
    wait = (
        "import os, time; print('go', flush=True)\n"
        "while not os.path.exists('release'): time.sleep(0.05)\n"
    )
    first = subprocess.Popen(
        [PY, "-m", "gitexp", "run", "-n", "dup", "--", PY, "-c", wait],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert first.stdout is not None and first.stdout.readline().strip() == b"go"
    second = _start(repo, "-n", "dup", "--", PY, "-c", "open('ran', 'w')")
    assert second.stderr is not None
    waiting = second.stderr.readline()
    (repo / "release").touch()
    _out, err = second.communicate(timeout=120)
    first.communicate(timeout=120)
    assert first.returncode == 0
    assert second.returncode == 1, err
    assert "waiting for experiment 'dup'" in waiting
    assert "experiment 'dup' already exists" in err
    assert not (repo / "ran").exists()
