"""Searches on a real local Dask cluster: the driver asks and tells, workers run the trials."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pygit2
import pytest

from tests.conftest import git, make_repo

PY = sys.executable

TRAIN = """\
import os, gitexp
p = gitexp.params()
for step in range(3):
    gitexp.log_metric("acc", p["x"] * (step + 1) + (0.1 if p["opt"] == "sgd" else 0), step=step)
    if gitexp.should_prune():
        break
with open(os.environ["PIDS_LOG"], "a") as log:
    log.write(f"{os.getppid()}\\n")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    pytest.importorskip("distributed")
    root = make_repo(
        tmp_path / "project",
        {
            "params.yaml": "x: 0.5\nopt: adam\n",
            "train.py": TRAIN,
            "gitexp.yaml": f"command: {PY} train.py\ngoals: {{acc: max}}\n",
            ".gitignore": "metrics.json\n",
        },
    )
    monkeypatch.chdir(root)
    monkeypatch.setenv("PIDS_LOG", str(tmp_path / "pids.log"))
    return root


def sweep_info(root: Path, name: str) -> dict[str, object]:
    repo = pygit2.Repository(str(root))
    commit = repo.references[f"refs/experiments/{name}"].peel(pygit2.Commit)
    blob = repo.revparse_single(f"{commit.id}:.gitexp/run.json")
    info = orjson.loads(blob.data)["sweep"]  # type: ignore[attr-defined]
    assert isinstance(info, dict)
    return info


@pytest.mark.slow
def test_a_search_runs_its_trials_on_a_dask_cluster(project: Path, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = (project / "params.yaml").read_bytes()
    result = cli(
        "run", "-n", "dk", "-S", "x=uniform(0,1)", "-S", "opt=adam,sgd", "--trials", "4",
        "--seed", "2", "--executor", "dask", "-j", "2", "--prune", "median",
    )  # fmt: skip
    assert result.code == 0, result.err
    names = git(project, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/experiments/")
    assert names.split() == ["dk-1", "dk-2", "dk-3", "dk-4"]
    infos = [sweep_info(project, f"dk-{n}") for n in range(1, 5)]
    assert [i["trial"] for i in infos] == [1, 2, 3, 4]
    assert len({orjson.dumps(i["values"]) for i in infos}) == 4
    assert "4 trial(s): 4 done, 0 failed, 0 pruned" in result.err
    # the commands ran under the cluster's worker processes, not under this process
    parents = {int(pid) for pid in (tmp_path / "pids.log").read_text().split()}
    assert parents and os.getpid() not in parents
    assert (project / "params.yaml").read_bytes() == before  # worktrees: workspace untouched

    # the study lives in the refs: it resumes on the local executor and repeats nothing
    more = cli("run", "-n", "dk", "--resume", "--trials", "5")
    assert more.code == 0, more.err
    assert sweep_info(project, "dk-5")["trial"] == 5
    assert "started" in more.err and "trial 5/5" in more.err


def test_a_search_on_an_existing_cluster_needs_a_git_remote(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(
        "run", "-S", "x=uniform(0,1)", "--trials", "2", "--executor", "dask://127.0.0.1:8786"
    )  # fmt: skip
    assert result.code == 1
    assert result.err.splitlines()[0].startswith("error: no git remote 'origin'")
    assert git(project, "for-each-ref", "refs/e") == ""  # nothing queued, nothing run
    bad = cli("run", "-S", "x=uniform(0,1)", "--trials", "2", "--executor", "dask://nowhere")
    assert bad.code == 2 and "give the Dask scheduler as dask://HOST:PORT" in bad.err


@pytest.mark.slow
def test_ctrl_c_stops_the_trials_on_the_workers_and_records_them_interrupted(
    project: Path,
) -> None:
    stay = "import time, gitexp; gitexp.log_metric('acc', 1, step=0); time.sleep(120)"
    driver = subprocess.Popen(
        [
            PY, "-m", "gitexp", "run", "-n", "ci", "-S", "x=uniform(0,1)", "--trials", "4",
            "--executor", "dask", "-j", "2", "--", PY, "-c", stay,
        ],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    runs = project / ".git" / "gitexp" / "runs"
    deadline = time.monotonic() + 120
    while len(list(runs.glob("*/command.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(list(runs.glob("*/command.json"))) == 2  # both trials' commands are running
    driver.send_signal(signal.SIGINT)
    _out, err = driver.communicate(timeout=120)
    assert driver.returncode == 130, err
    assert "gitexp run -n ci --resume" in err
    names = git(project, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/experiments/")
    assert names.split() == ["ci-1", "ci-2"]  # the two not started were not run
    for name in names.split():
        commit = pygit2.Repository(str(project)).references[f"refs/experiments/{name}"]
        blob = pygit2.Repository(str(project)).revparse_single(f"{commit.target}:.gitexp/run.json")
        assert orjson.loads(blob.data)["status"] == "interrupted"  # type: ignore[attr-defined]
