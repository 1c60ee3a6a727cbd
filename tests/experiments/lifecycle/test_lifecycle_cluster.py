"""``reproduce`` and ``bisect`` on Dask: the runs go to a cluster's workers, the verdicts stay here.

The cluster is the one of the cluster runs' tests: a real scheduler and two workers
on loopback, each in its own folder, sharing only the bare git remote and the
storage remote folder with this project.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import commit_all, git, make_repo
from tests.experiments.run.test_dask_cluster import Cluster, cluster, record, refs, remote_refs

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow
__all__ = ["cluster"]  # the module's fixture: a scheduler and two workers

TRAIN = """\
import os, gitexp
with open(os.environ["RAN_LOG"], "a") as log:
    log.write(os.environ["GITEXP_EXPERIMENT"] + "\\n")
QUALITY = {quality}
scale = int(open("data.txt").read())
step = int(open("step.txt").read())
gitexp.log_metric("acc", QUALITY + gitexp.params()["boost"] * scale - step / 1000)
"""

CONFIG = f"""\
command: {sys.executable} train.py
remote: storage
remotes:
  storage: ../storage
"""


@pytest.fixture
def history(  # type: ignore[no-untyped-def]
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> list[str]:
    """Six commits on origin's main, tracked data; acc drops below 0.8 from commit 4 on."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    root = make_repo(
        tmp_path / "project",
        {
            "train.py": TRAIN.format(quality=0.9),
            "step.txt": "1\n",
            "params.yaml": "boost: 0.0\n",
            "gitexp.yaml": CONFIG,
            ".gitignore": "metrics.json\n",
        },
    )
    git(root, "remote", "add", "origin", remote.as_uri())
    monkeypatch.chdir(root)
    monkeypatch.setenv("RAN_LOG", str(tmp_path / "here.log"))
    (root / "data.txt").write_text("2\n")
    assert cli("add", "data.txt").code == 0
    commits = [commit_all(root, "track data")]
    for number in range(2, 7):
        (root / "step.txt").write_text(f"{number}\n")
        if number == 4:
            (root / "train.py").write_text(TRAIN.format(quality=0.5))
        commits.append(commit_all(root, f"commit {number}"))
    return commits


def test_reproduce_runs_on_a_cluster_worker_and_compares_here(  # type: ignore[no-untyped-def]
    history: list[str], cluster: Cluster, cli
) -> None:
    root = Path.cwd()
    assert cli("run", "-n", "lr", "-S", "boost=0.25").code == 0  # here: 0.5 + 0.25 * 2 - 0.006
    (root / "train.py").write_text("raise SystemExit('the workspace is not what runs')\n")
    again = cli("reproduce", "lr", "--executor", cluster.executor, "--json")
    assert again.code == 0, again.err
    doc = orjson.loads(again.out)
    assert doc["reproduced"] is True and doc["experiment"] == "lr-repro"
    assert [(m["key"], m["old"], m["new"]) for m in doc["metrics"]] == [("acc", 0.994, 0.994)]
    assert cluster.ran("lr") == ["lr-repro"]  # a worker ran it, with the data from storage
    assert remote_refs(root, "refs/experiments/") == ["lr-repro"]
    run = record(root, "lr-repro")
    assert run["reproduces"] == {"name": "lr", "commit": doc["commit"]}
    assert run["overrides"] == {"params.yaml": {"boost": 0.25}}
    assert run["baseline"]["commit"] == history[-1]  # type: ignore[index]
    for prefix in ("refs/exps-queue/", "refs/exps-claimed/"):
        assert refs(root, prefix) == [] and remote_refs(root, prefix) == []

    local = cli("reproduce", "lr", "--executor", "dask", "--json")  # a cluster on this machine
    assert local.code == 0, local.err
    assert orjson.loads(local.out)["experiment"] == "lr-repro-2"
    assert record(root, "lr-repro-2")["reproduces"] == {"name": "lr", "commit": doc["commit"]}


def test_bisect_runs_what_it_lacks_on_the_cluster(  # type: ignore[no-untyped-def]
    history: list[str], cluster: Cluster, cli
) -> None:
    root = Path.cwd()
    found = cli(
        "bisect", history[0], "main", "--metric", "acc", "--threshold", "0.8",
        "--executor", cluster.executor, "--json",
    )  # fmt: skip
    assert found.code == 0, found.err
    doc = orjson.loads(found.out)
    assert doc["first_bad"]["commit"] == history[3]
    assert doc["first_bad"]["value"] == pytest.approx(0.5 - 4 / 1000)
    ran = sorted(doc["experiments"])
    assert 1 <= doc["runs"] == len(ran) <= 4
    assert cluster.ran("bisect") == ran  # each judged commit ran once, on a worker
    assert remote_refs(root, "refs/experiments/") == refs(root, "refs/experiments/") == ran
    for step in doc["steps"]:
        assert record(root, step["experiment"])["baseline"]["commit"] == step["commit"]
    again = cli(
        "bisect", history[0], "main", "--metric", "acc", "--threshold", "0.8",
        "--executor", cluster.executor, "--json",
    )  # fmt: skip
    assert again.code == 0 and orjson.loads(again.out)["runs"] == 0  # all reused
    assert cluster.ran("bisect") == ran
