"""``reproduce`` and ``bisect`` on Dask: the runs go to a cluster's workers, the verdicts stay here.

The cluster is the one of the cluster runs' tests: a real scheduler and two workers
on loopback, each in its own folder, sharing only the bare git remote and the
storage remote folder with this project.
"""

from __future__ import annotations

import sys
import threading
import time
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


def _pids(path: Path) -> list[int]:
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _gone(pid: int) -> bool:
    """The process ended (and was reaped): no cluster's worker is left behind."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_bisect_on_dask_judges_every_commit_on_one_cluster_and_closes_it(  # type: ignore[no-untyped-def]
    history: list[str], tmp_path: Path, cli
) -> None:
    workers = tmp_path / "workers.txt"  # the Dask worker that ran each judged commit
    line = f'echo $PPID >> "{workers}" && {sys.executable} train.py'
    found = cli(
        "bisect", history[0], "main", "--metric", "acc", "--threshold", "0.8",
        "--executor", "dask", "--command", line, "--json",
    )  # fmt: skip
    assert found.code == 0, found.err
    doc = orjson.loads(found.out)
    assert doc["first_bad"]["commit"] == history[3]
    assert doc["runs"] >= 3
    pids = _pids(workers)
    assert len(pids) == doc["runs"] and len(set(pids)) == 1  # one worker ran them all
    assert _gone(pids[0])  # the cluster ended with the bisect


def test_a_stopped_bisect_on_dask_closes_its_cluster(history: list[str], tmp_path: Path) -> None:
    from gitexp.api import Repo
    from gitexp.errors import Interrupted

    workers = tmp_path / "workers.txt"
    stop = threading.Event()

    def stop_once_running() -> None:
        while not _pids(workers):
            time.sleep(0.05)
        stop.set()  # what Ctrl-C does

    watcher = threading.Thread(target=stop_once_running, daemon=True)
    watcher.start()
    with pytest.raises(Interrupted):
        Repo(".").bisect(
            history[0], "main", metric="acc", threshold=0.8, executor="dask", stop=stop,
            command=[f'echo $PPID >> "{workers}"; sleep 30'],
        )  # fmt: skip
    watcher.join()
    assert _gone(_pids(workers)[0])
    assert refs(Path.cwd(), "refs/exps-queue/") == refs(Path.cwd(), "refs/exps-claimed/") == []


@pytest.mark.parametrize("where", ["dask", "cluster"])
def test_the_output_of_runs_on_dask_is_shown_as_it_comes_and_whole(  # type: ignore[no-untyped-def]
    history: list[str], tmp_path: Path, where: str, request
) -> None:
    from gitexp.api import Repo

    executor = "dask" if where == "dask" else request.getfixturevalue("cluster").executor
    go = tmp_path / "go"  # made once the first line was shown: the run goes on only then
    line = (
        f'echo "started $(cat step.txt)"; i=0; while [ ! -e "{go}" ] && [ $i -lt 1200 ]; '
        f'do sleep 0.05; i=$((i+1)); done; [ -e "{go}" ] || echo "never shown"; '
        f"{sys.executable} train.py; echo done"
    )
    shown = bytearray()

    def sink(chunk: bytes, _is_err: bool) -> None:
        shown.extend(chunk)
        if b"started" in shown:
            go.touch()

    result = Repo(".").bisect(
        history[0], "main", metric="acc", threshold=0.8, executor=executor, command=[line],
        on_output=sink,
    )  # fmt: skip
    assert result.first_bad.commit == history[3]
    ran = [step.experiment for step in result.steps if step.ran]
    logs = [git(Path.cwd(), "show", f"refs/experiments/{name}:.gitexp/output.log") for name in ran]
    assert bytes(shown).decode() == "".join(logs)  # each run's whole output once, in order
    assert "never shown" not in shown.decode() and shown.decode().count("done") == len(ran)


def test_git_remote_names_the_remote_of_a_clusters_workers_and_nothing_else_takes_it(  # type: ignore[no-untyped-def]
    history: list[str], cluster: Cluster, tmp_path: Path, cli
) -> None:
    root = Path.cwd()
    bisected = cluster.ran("bisect")  # by the tests before, on the same cluster
    lab = tmp_path / "lab.git"
    git(tmp_path, "init", "-q", "--bare", str(lab))
    git(root, "remote", "add", "lab", lab.as_uri())
    assert cli("run", "-n", "gr", "-S", "boost=0.25").code == 0
    again = cli("reproduce", "gr", "--executor", cluster.executor, "--git-remote", "lab", "--json")
    assert again.code == 0, again.err
    assert orjson.loads(again.out)["reproduced"] is True
    assert git(root, "ls-remote", "lab", "refs/experiments/*").split()[1::2] == [
        "refs/experiments/gr-repro"
    ]  # the workers got the run from lab and recorded it there
    assert remote_refs(root, "refs/") == []  # origin saw nothing
    assert cluster.ran("gr") == ["gr-repro"]
    bisect = ("bisect", history[0], "main", "--metric", "acc", "--threshold", "0.8")
    for words in (
        ("reproduce", "gr", "--git-remote", "lab"),
        (*bisect, "--executor", "dask", "--git-remote", "lab"),
        ("queue", "start", "--git-remote", "lab"),
        ("run", "--git-remote", "lab", "-S", "boost=0.5"),
    ):
        refused = cli(*words)
        assert refused.code == 2, words
        assert refused.err.startswith("error: --git-remote names the git remote of a Dask"), words
    unknown = cli(*bisect, "--executor", cluster.executor, "--git-remote", "nowhere")
    assert unknown.code == 1 and "'nowhere'" in unknown.err.splitlines()[0]
    assert refs(root, "refs/experiments/") == ["gr", "gr-repro"]  # nothing else ran
    assert cluster.ran("gr") == ["gr-repro"] and cluster.ran("bisect") == bisected
