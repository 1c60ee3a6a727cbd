"""Runs on an existing Dask cluster: a real scheduler and two workers on loopback.

Each worker has its own folder and repository; they share only a bare git remote
(a file URL) and a storage remote folder with the driver.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from gitexp.experiments.query.live import LiveSource
from gitexp.project import Project
from tests.conftest import IDENTITY, git, make_repo

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

PY = sys.executable

COUNTING = """\
import os, sys, gitexp
n = gitexp.params()["n"]
with open(os.environ["RAN_LOG"], "a") as log:
    log.write(os.environ["GITEXP_EXPERIMENT"] + "\\n")
with open("data.txt") as data:
    scale = int(data.read())
with open("model.bin", "w") as model:
    model.write(f"model {n}\\n")
gitexp.log_metric("acc", n * scale / 100)
sys.exit(3 if n == 13 else 0)
"""

SLEEPY = """\
import os, time, gitexp
with open(os.environ["RAN_LOG"], "a") as log:
    log.write(os.environ["GITEXP_EXPERIMENT"] + "\\n")
time.sleep(1.5)
with open("model.bin", "w") as model:
    model.write("slept\\n")
gitexp.log_metric("acc", gitexp.params()["n"] / 100)
"""

ORPHANING = """\
import os, subprocess, sys, time
name = os.environ["GITEXP_EXPERIMENT"]
late = os.path.join(os.environ["OUT_DIR"], f"late-{name}-{os.getpid()}")
if sys.argv[1:] == ["child"]:  # started by the run, in its process group
    time.sleep(30)
    open(late, "w").close()
    sys.exit()
log = os.environ["RAN_LOG"]
again = os.path.exists(log) and name in open(log).read().split()
with open(log, "a") as ran:
    ran.write(name + "\\n")
if not again:  # the first attempt outlives its worker unless killed with it
    subprocess.Popen([sys.executable, "orphaning.py", "child"])
    time.sleep(30)
    open(late, "w").close()
with open("model.bin", "w") as model:
    model.write("done\\n")
"""

LOGGING = """\
import os, time, gitexp
n = gitexp.params()["n"]
for step in range(3):
    gitexp.log_metric("loss", n + step / 10, step=step)
go = os.path.join(os.environ["OUT_DIR"], "go-" + os.environ["GITEXP_EXPERIMENT"])
while not os.path.exists(go):  # until the test has seen it running
    time.sleep(0.05)
with open("model.bin", "w") as model:
    model.write("logged\\n")
"""

CONFIG = """\
outs: [model.bin]
remote: storage
remotes:
  storage: ../storage
"""


@dataclass(frozen=True)
class Cluster:
    """A running scheduler and two workers, and the log file their runs write to."""

    address: str
    executor: str
    ran_log: Path
    out_dir: Path
    procs: tuple[subprocess.Popen[bytes], ...]

    def ran(self, prefix: str) -> list[str]:
        """The experiments whose command ran, once per time it ran."""
        lines = self.ran_log.read_text().split() if self.ran_log.exists() else []
        return sorted(n for n in lines if n.startswith(prefix + "-"))


def _worker_env(base: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITEXP_"))}
    (base / "home").mkdir(exist_ok=True)
    (base / "home" / ".gitconfig").write_text("")
    env.update(IDENTITY)
    env.update(
        HOME=str(base / "home"),
        GIT_CONFIG_GLOBAL=str(base / "home" / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_COUNT="2",
        GIT_CONFIG_KEY_0="user.name",
        GIT_CONFIG_VALUE_0="Worker",
        GIT_CONFIG_KEY_1="user.email",
        GIT_CONFIG_VALUE_1="worker@example.com",
        RAN_LOG=str(base / "ran.log"),
        OUT_DIR=str(base / "out"),
    )
    return env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """``dask scheduler`` and two ``dask worker`` (one thread each), each in its own folder."""
    base = tmp_path_factory.mktemp("cluster")
    (base / "out").mkdir()
    env = _worker_env(base)
    file = base / "scheduler.json"
    procs = []

    def start(args: list[str], cwd: Path, extra: dict[str, str]) -> None:
        cwd.mkdir(exist_ok=True)
        with open(cwd / "log.txt", "wb") as log:  # the process keeps its own copy
            procs.append(
                subprocess.Popen(
                    [PY, "-m", *args],
                    cwd=cwd,
                    env={**env, **extra},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )

    scheduler = ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"]
    start(
        [*scheduler, "--no-dashboard", "--scheduler-file", str(file)],
        base / "scheduler",
        {},
    )
    deadline = time.monotonic() + 60
    while not file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    address = orjson.loads(file.read_bytes())["address"]
    for n in (1, 2):
        folder = base / f"worker{n}"
        worker = ["distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"]
        start(
            [*worker, "--local-directory", str(folder / "dask"), "--name", f"w{n}"],
            folder,
            {"GITEXP_WORKER_DIR": str(folder / "gitexp")},
        )
    with distributed.Client(address, timeout=30) as client:
        client.wait_for_workers(2, timeout=60)
    host_port = address.removeprefix("tcp://")
    try:
        yield Cluster(address, f"dask://{host_port}", base / "ran.log", base / "out", tuple(procs))
    finally:
        for proc in procs:
            with _quiet():
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is ProcessLookupError


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> Path:  # type: ignore[no-untyped-def]
    """A project whose origin is a bare repository (file URL) and storage a folder beside it."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    root = make_repo(
        tmp_path / "project",
        {
            "params.yaml": "n: 0\n",
            "count.py": COUNTING,
            "sleepy.py": SLEEPY,
            "orphaning.py": ORPHANING,
            "logs.py": LOGGING,
            "gitexp.yaml": CONFIG,
            ".gitignore": "metrics.json\n",
        },
    )
    git(root, "remote", "add", "origin", remote.as_uri())
    monkeypatch.chdir(root)
    (root / "data.txt").write_text("2\n")
    assert cli("add", "data.txt").code == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "track data")
    return root


def refs(root: Path, prefix: str) -> list[str]:
    out = git(root, "for-each-ref", "--format=%(refname)", prefix)
    return sorted(line.rpartition("/")[2] for line in out.split())


def remote_refs(root: Path, prefix: str) -> list[str]:
    out = git(root, "ls-remote", "origin", f"{prefix}*")
    return sorted(line.rpartition("/")[2] for line in out.splitlines())


def record(root: Path, name: str, path: str = ".gitexp/run.json") -> dict[str, object]:
    return orjson.loads(git(root, "show", f"refs/experiments/{name}:{path}"))  # type: ignore[no-any-return]


def test_a_grid_on_the_cluster_is_recorded_once_each_with_its_data(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli, tmp_path: Path
) -> None:
    result = cli(
        "run", "-n", "g", "-S", "n=1,2,3,13", "--executor", cluster.executor, "--", PY, "count.py"
    )
    assert result.code == 1, result.err  # n=13 fails
    names = ["g-1", "g-2", "g-3", "g-4"]
    assert refs(project, "refs/experiments/") == names
    assert remote_refs(project, "refs/experiments/") == names
    assert cluster.ran("g") == names  # each ran once
    for name, n in zip(names, (1, 2, 3, 13), strict=True):
        assert record(project, name, "metrics.json") == {"acc": n * 2 / 100}
        run = record(project, name)
        assert run["overrides"] == {"params.yaml": {"n": n}}
        assert run["baseline"] == {
            "commit": git(project, "rev-parse", "HEAD").strip(),
            "branch": "main",
        }
    assert record(project, "g-4")["status"] == "failed" and record(project, "g-4")["exit_code"] == 3
    assert "recorded experiment 'g-1'" in result.err
    for prefix in ("refs/exps-queue/", "refs/exps-claimed/"):
        assert refs(project, prefix) == [] and remote_refs(project, prefix) == []
    workers = sorted(g.parent for g in cluster.ran_log.parent.glob("worker*/gitexp/repo-*/.git"))
    assert workers and all(refs(w, "refs/experiments/") == [] for w in workers)  # none piles up
    shown = orjson.loads(cli("show", "--json").out)["experiments"]
    assert {e["name"]: e["status"] for e in shown} == dict(
        zip(names, ["success", "success", "success", "failed"], strict=True)
    )
    # the model a worker made is in the storage remote: a fresh clone pulls it
    fresh = tmp_path / "fresh"
    git(project, "push", "-q", "origin", "main")
    git(tmp_path, "clone", "-q", (tmp_path / "remote.git").as_uri(), str(fresh))
    os.chdir(fresh)
    assert cli("pull", "origin", "g-2").code == 0
    assert cli("apply", "g-2").code == 0
    assert (fresh / "model.bin").read_text() == "model 2\n"
    os.chdir(project)
    again = cli("queue", "start", "--executor", cluster.executor)
    assert again.code == 0 and "ran 0 queued run(s)" in again.err


def _pids_running(script: str, where: Path) -> list[int]:
    """The processes running ``script`` in a folder under ``where`` (the cluster's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                words = (entry / "cmdline").read_bytes().split(b"\0")
                cwd = os.readlink(entry / "cwd")
            except OSError:
                continue
            if words[-2:] == [script.encode(), b""] and cwd.startswith(str(where)):
                found.append(int(entry.name))
    return found


def _commands(where: Path) -> list[int]:
    """Processes whose folder is a run's worktree under ``where``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cwd = os.readlink(entry / "cwd")
                if cwd.startswith(str(where)) and "/gitexp/worktrees/" in cwd:
                    found.append(int(entry.name))
    return found


def _parent(pid: int) -> int:
    return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])


def _start(project: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PY, "-m", "gitexp", *args],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _experiment(pid: int) -> str:
    """The experiment whose command process ``pid`` is."""
    env = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    return next(e for e in env if e.startswith(b"GITEXP_EXPERIMENT=")).decode().partition("=")[2]


def _logged(cluster: Cluster, script: str, prefix: str) -> int:
    """A process running ``script`` whose experiment has written its line in the run log."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for pid in _pids_running(script, cluster.ran_log.parent):
            with contextlib.suppress(OSError, StopIteration):
                if _experiment(pid) in cluster.ran(prefix):
                    return pid
        time.sleep(0.05)
    raise AssertionError(f"{script} did not start")


def _wait_for(script: str, where: Path, count: int = 1) -> list[int]:
    deadline = time.monotonic() + 120
    while len(running := _pids_running(script, where)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(running) >= count, f"{script} did not start"
    return running


def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    assert cli("run", "--queue", "-n", "k", "-S", "n=1,2,3", "--", PY, "sleepy.py").code == 0
    start = _start(project, "queue", "start", "--executor", cluster.executor)
    killed = _logged(cluster, "sleepy.py", "k")
    name = _experiment(killed)
    os.kill(_parent(killed), signal.SIGKILL)  # the Dask worker process running it
    _out, err = start.communicate(timeout=300)
    assert start.returncode == 0, err
    names = ["k-1", "k-2", "k-3"]
    assert refs(project, "refs/experiments/") == names
    assert remote_refs(project, "refs/experiments/") == names
    assert {record(project, n)["status"] for n in names} == {"success"}
    assert cluster.ran("k") == sorted([*names, name])  # it ran again, elsewhere
    for prefix in ("refs/exps-queue/", "refs/exps-claimed/"):
        assert refs(project, prefix) == [] and remote_refs(project, prefix) == []


def test_a_killed_workers_command_and_what_it_started_die_with_it(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    assert cli("run", "--queue", "-n", "o", "--", PY, "orphaning.py").code == 0
    start = _start(project, "queue", "start", "--executor", cluster.executor)
    (command,) = _wait_for("orphaning.py", cluster.ran_log.parent)
    _wait_for("child", cluster.ran_log.parent)  # what the command started runs too
    os.kill(_parent(command), signal.SIGKILL)  # the Dask worker process running it
    _out, err = start.communicate(timeout=300)
    assert start.returncode == 0, err
    assert refs(project, "refs/experiments/") == ["o"]
    assert remote_refs(project, "refs/experiments/") == ["o"]
    assert record(project, "o")["status"] == "success"
    assert cluster.ran_log.read_text().split().count("o") == 2  # killed once, recorded once
    # the killed worker's nanny started it again: it ends what the command had started
    deadline = time.monotonic() + 20  # well before either would write its file
    while time.monotonic() < deadline and (
        _pids_running("orphaning.py", cluster.ran_log.parent)
        or _pids_running("child", cluster.ran_log.parent)
    ):
        time.sleep(0.1)
    assert not _pids_running("orphaning.py", cluster.ran_log.parent), "the command ran on"
    assert not _pids_running("child", cluster.ran_log.parent), "what it started ran on"
    assert not [p.name for p in cluster.out_dir.iterdir() if p.name.startswith("late-o-")]


def _shown(cli) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    result = cli("show", "--json")
    assert result.code == 0, result.err
    return {e["name"]: e for e in orjson.loads(result.out)["experiments"]}


def test_show_lists_the_cluster_runs_while_they_run(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    assert cli("run", "--queue", "-n", "v", "-S", "n=1,2,3", "--", PY, "logs.py").code == 0
    start = _start(project, "queue", "start", "--executor", cluster.executor)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert start.poll() is None, start.communicate()[1]
            shown = _shown(cli)
            running = {n: e for n, e in shown.items() if e["status"] == "running"}
            if len(running) == 2 and all(
                e["metrics"] == {"metrics.json": {"loss": e["params"]["params.yaml"]["n"] + 0.2}}
                for e in running.values()
            ):
                break
            time.sleep(0.2)
        # two one-thread workers: two run, with their params and latest values; one waits
        assert sorted(running) in (["v-1", "v-2"], ["v-1", "v-3"], ["v-2", "v-3"]), shown
        for name, row in running.items():
            assert row["commit"] is None and row["params"]["params.yaml"]["n"] == int(name[-1])
            assert row["metrics"] == {"metrics.json": {"loss": int(name[-1]) + 0.2}}
        (waiting,) = set(shown) - set(running)
        assert shown[waiting]["status"] == "queued"
        assert shown[waiting]["params"] == {"params.yaml": {"n": int(waiting[-1])}}
        live = LiveSource(Project.open(project)).running().experiments  # what the UI shows
        assert sorted(r.name for r in live) == sorted(running)
        assert {r.name: list(r.series["loss"].steps) for r in live} == {
            name: [0, 1, 2] for name in running
        }
    finally:
        for name in ("v-1", "v-2", "v-3"):
            (cluster.out_dir / f"go-{name}").touch()
        _out, err = start.communicate(timeout=300)
    assert start.returncode == 0, err
    shown = _shown(cli)  # each once, recorded
    assert {n: e["status"] for n, e in shown.items()} == dict.fromkeys(
        ["v-1", "v-2", "v-3"], "success"
    )
    assert not (project / ".git" / "gitexp" / "cluster-runs").exists() or not list(
        (project / ".git" / "gitexp" / "cluster-runs").iterdir()
    )


def test_stopping_the_driver_stops_the_commands_on_the_workers(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    # a shell line: only a signal to its whole process group stops the sleep under it
    line = f'sleep 30; touch "$OUT_DIR/$GITEXP_EXPERIMENT"; echo {project.name}'
    assert cli("run", "--queue", "-n", "c", "-S", "n=1,2,3,4", "--", line).code == 0
    start = _start(project, "queue", "start", "--executor", cluster.executor)
    _wait_for("30", cluster.ran_log.parent, count=2)  # `sleep 30` under two workers
    start.send_signal(signal.SIGTERM)
    _out, err = start.communicate(timeout=120)
    assert start.returncode == 130, err
    assert not _pids_running("30", cluster.ran_log.parent), "a command runs on"
    assert not _commands(cluster.ran_log.parent), "a command runs on"  # none will write
    assert sorted(p.name for p in cluster.out_dir.iterdir() if p.name.startswith("c-")) == []
    stopped = refs(project, "refs/experiments/")
    assert len(stopped) == 2 and {record(project, n)["status"] for n in stopped} == {"interrupted"}
    assert refs(project, "refs/exps-queue/") == sorted({"c-1", "c-2", "c-3", "c-4"} - set(stopped))
    assert refs(project, "refs/exps-claimed/") == []


def test_what_a_cluster_run_needs_is_checked_before_anything_moves(  # type: ignore[no-untyped-def]
    project: Path, cli, tmp_path: Path
) -> None:
    assert cli("run", "--queue", "-n", "e", "-S", "n=1,2", "--", PY, "count.py").code == 0
    bad = cli("queue", "start", "--executor", "dask://nowhere")
    assert bad.code == 2 and "give the Dask scheduler as dask://HOST:PORT" in bad.err
    down = cli("queue", "start", "--executor", "dask://127.0.0.1:9")
    assert down.code == 1
    assert "cannot reach the Dask scheduler at 127.0.0.1:9" in down.err.splitlines()[0]
    hidden = subprocess.run(  # a gitexp without Dask's distributed installed
        [PY, "-c", "import sys; sys.modules['distributed'] = None; "
         "from gitexp.cli.main import main; sys.exit(main(sys.argv[1:]))",
         "queue", "start", "--executor", "dask://127.0.0.1:9"],
        cwd=project, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert hidden.returncode == 1 and "pip install 'gitexp[dask]'" in hidden.stderr
    git(project, "remote", "rename", "origin", "upstream")  # never a fallback to another one
    lost = cli("queue", "start", "--executor", "dask://127.0.0.1:9")
    assert lost.code == 1
    assert lost.err.splitlines()[0].startswith(
        "error: no git remote 'origin'; known: upstream (see `git remote -v`): "
        "a Dask cluster's workers get the runs through it"
    )
    assert "git remote add NAME URL" in lost.err
    git(project, "remote", "rename", "upstream", "origin")
    (project / "gitexp.yaml").write_text("outs: [model.bin]\n")
    bare = cli("queue", "start", "--executor", "dask://127.0.0.1:9")
    assert bare.code == 1 and "no storage remote is set" in bare.err
    assert "gitexp remote add NAME URL --default" in bare.err
    assert refs(project, "refs/exps-queue/") == ["e-1", "e-2"]  # nothing moved
    assert refs(project, "refs/exps-claimed/") == [] and remote_refs(project, "refs/") == []


def test_a_driver_killed_mid_run_is_resumed_by_the_next_start(  # type: ignore[no-untyped-def]
    project: Path, cluster: Cluster, cli
) -> None:
    assert cli("run", "--queue", "-n", "d", "-S", "n=1,2,3", "--", PY, "sleepy.py").code == 0
    start = _start(project, "queue", "start", "--executor", cluster.executor)
    _wait_for("sleepy.py", cluster.ran_log.parent)
    start.kill()  # SIGKILL: no chance to clean up
    start.communicate()
    assert refs(project, "refs/exps-claimed/") == ["d-1", "d-2", "d-3"]  # left stale
    deadline = time.monotonic() + 60  # the runs it started go on, and are recorded there
    while time.monotonic() < deadline and (
        _pids_running("sleepy.py", cluster.ran_log.parent)
        or len(remote_refs(project, "refs/experiments/")) < len(set(cluster.ran("d")))
    ):
        time.sleep(0.1)
    assert remote_refs(project, "refs/experiments/")
    again = cli("queue", "start", "--executor", cluster.executor)
    assert again.code == 0, again.err
    names = ["d-1", "d-2", "d-3"]
    assert refs(project, "refs/experiments/") == names
    assert remote_refs(project, "refs/experiments/") == names
    assert {record(project, n)["status"] for n in names} == {"success"}
    assert cluster.ran("d") == names  # the runs recorded meanwhile were adopted, not run again
    for prefix in ("refs/exps-queue/", "refs/exps-claimed/"):
        assert refs(project, prefix) == [] and remote_refs(project, prefix) == []


def test_a_task_run_again_after_its_push_adopts_the_first_record(  # type: ignore[no-untyped-def]
    project: Path, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's tasks, called as Dask calls them: three at once, then one of them again."""
    from concurrent.futures import ThreadPoolExecutor

    from gitexp.experiments.run.executors.cluster import git_remote_url, storage_settings
    from gitexp.experiments.run.executors.worker import Task, run_task

    monkeypatch.setenv("RAN_LOG", str(tmp_path / "ran.log"))
    assert cli("run", "--queue", "-n", "t", "-S", "n=1,2,3", "--", PY, "count.py").code == 0
    assert cli("push").code == 0  # the data the runs need, on the storage remote
    names = ["t-1", "t-2", "t-3"]
    queued = {n: git(project, "rev-parse", f"refs/exps-queue/{n}").strip() for n in names}
    git(project, "push", "-q", "origin", *[f"{c}:refs/exps-claimed/{n}" for n, c in queued.items()])
    opened = Project.open(project)
    url, storage = git_remote_url(opened), storage_settings(opened)
    folder = str(tmp_path / "worker")
    tasks = [Task(f"key-{n}", n, c, url, storage, folder=folder) for n, c in queued.items()]
    with ThreadPoolExecutor(3) as pool:  # back to back: their refs may share a push
        first = list(pool.map(run_task, tasks))
    assert [o.name for o in first] == names and not any(o.adopted for o in first)
    there = dict(line.split("\t")[::-1] for line in git(project, "ls-remote", url).splitlines())
    assert {n: there.get(f"refs/experiments/{n}") for n in names} == {
        o.name: o.commit for o in first
    }
    again = run_task(tasks[0])  # Dask ran it again: its first worker died after pushing
    assert again.adopted and again.commit == first[0].commit  # the first record counts
    assert (tmp_path / "ran.log").read_text().split().count("t-1") == 2  # it did run again
    assert git(project, "ls-remote", url, "refs/experiments/t-1").split()[0] == first[0].commit
    (repo,) = (g.parent for g in (tmp_path / "worker").glob("repo-*/.git"))
    assert refs(repo, "refs/experiments/") == []  # neither attempt's ref stays on the worker
