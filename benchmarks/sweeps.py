#!/usr/bin/env python3
"""Searches and the queue's executors, measured.

    python3 benchmarks/sweeps.py search [--trials 30] [--seeds 1,2,3] [-j 2]
    python3 benchmarks/sweeps.py throughput [--points 100] [--rounds 1] [--executors …]

``search``: the quickstart (examples/quickstart) in a fresh repository; the full grid
over a space of 4 x 4 x 4 = 64 points, then one TPE search per seed over the same
space (the same ``-S`` lists, which a search reads as choices) with ``--trials``.
Prints the best ``test_acc`` of each, the trial at which each search first reached
the grid's best, and whether that was within ``--trials`` and at most half the
grid's runs (issue 17's target). Needs scikit-learn and Optuna
(``pip install -e '.[example,sweep]'``).

``throughput``: ``--points`` queued runs of a 0.1 s command, run by ``queue start -j 2``
(local worktrees), by ``queue start --executor dask -j 2`` (a local Dask cluster of
two workers) and by ``queue start --executor dask://HOST:PORT`` (a scheduler and two
one-thread workers started here, each in its own folder, sharing a bare git remote
and a storage folder). Prints each wall time, the ratios to local and the overhead
per run over the command (wall time x 2 workers / points - 0.1 s). Needs
``gitexp[dask]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GRID = [
    "train.lr=0.001,0.003,0.01,0.03",
    "model.hidden=16,32,64,128",
    "model.alpha=0.0001,0.001,0.01,0.1",
]


def gitexp(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "gitexp", *args], cwd=cwd, capture_output=True, text=True
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"gitexp {' '.join(args)} failed:\n{proc.stderr}")
    return proc.stdout


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def quickstart(base: Path) -> Path:
    repo = base / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", repo)
    config = (
        (repo / "gitexp.yaml").read_text().replace("python train.py", f"{sys.executable} train.py")
    )
    (repo / "gitexp.yaml").write_text(config)
    git(repo, "init", "-q", "-b", "main")
    subprocess.run([sys.executable, "prepare.py"], cwd=repo, check=True, capture_output=True)
    gitexp(repo, "add", "data/digits.csv")
    git(repo, "add", "-A")
    git(
        repo, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-qm", "init"
    )
    return repo


def scores(repo: Path, prefix: str) -> list[tuple[int, float, str]]:
    """(trial number, test_acc, params as text) of each successful ``PREFIX-n``, by number."""
    rows = json.loads(gitexp(repo, "show", "--json"))["experiments"]
    found = []
    for row in rows:
        name = row["name"]
        if name.startswith(prefix + "-") and row["status"] == "success":
            value = row["metrics"].get("metrics.json", {}).get("test_acc")
            if isinstance(value, (int, float)):
                point = json.dumps(row["params"], sort_keys=True)
                found.append((int(name.rpartition("-")[2]), float(value), point))
    return sorted(found)


def search(args: argparse.Namespace) -> None:
    seeds = [int(seed) for seed in args.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        repo = quickstart(Path(tmp))
        sets = [arg for spec in GRID for arg in ("-S", spec)]
        start = time.monotonic()
        gitexp(repo, "run", "-n", "grid", *sets, "-j", str(args.jobs))
        grid_s = time.monotonic() - start
        grid = scores(repo, "grid")
        best = max(v for _n, v, _p in grid)
        winners = sum(v >= best for _n, v, _p in grid)
        print(
            f"grid: {len(grid)} runs, best test_acc {best:.4f} "
            f"(reached by {winners} point(s)), {grid_s:.0f} s"
        )
        met = 0
        for seed in seeds:
            met += _search_once(repo, sets, args, seed, best, len(grid))
        print(f"target met for {met} of {len(seeds)} seed(s)")


def _search_once(
    repo: Path, sets: list[str], args: argparse.Namespace, seed: int, best: float, runs: int
) -> bool:
    """One TPE search; True when it reached the grid's best within half the grid's runs."""
    name = f"tpe{seed}"
    start = time.monotonic()
    gitexp(
        repo, "run", "-n", name, *sets, "--trials", str(args.trials), "--seed", str(seed),
        "--goal", "test_acc:max", "-j", str(args.jobs),
    )  # fmt: skip
    tpe_s = time.monotonic() - start
    tpe = scores(repo, name)
    reached = next((n for n, v, _p in tpe if v >= best), None)
    distinct = len({point for _n, _v, point in tpe})
    met = reached is not None and reached <= min(args.trials, runs // 2)
    where = (
        "not reached" if reached is None else f"trial {reached} ({reached / runs:.0%} of the grid)"
    )
    print(
        f"tpe seed {seed}: {len(tpe)} trials ({distinct} distinct points), best test_acc "
        f"{max(v for _n, v, _p in tpe):.4f}, grid's best: {where}, {tpe_s:.0f} s"
        f"{'' if met else '  [target missed]'}"
    )
    return met


def throughput(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = base / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "params.yaml").write_text("k: 0\n")
        (repo / "gitexp.yaml").write_text("remote: storage\nremotes:\n  storage: ../storage\n")
        git(repo, "add", "-A")
        git(repo, *IDENTITY, "commit", "-qm", "init")
        git(base, "init", "-q", "--bare", "remote.git")
        git(repo, "remote", "add", "origin", (base / "remote.git").as_uri())
        command = [sys.executable, "-c", "import time; time.sleep(0.1)"]
        walls: dict[str, float] = {}
        chosen = args.executors.split(",")
        with _cluster(base) as address:
            for round_ in range(1, args.rounds + 1):  # interleaved: load that drifts hits all
                for executor in ("local", "dask", f"dask://{address}"):
                    label = executor.partition("://")[0] + ("://" if "://" in executor else "")
                    if label not in chosen:
                        continue
                    name = f"{label.replace('://', '-cluster')}-r{round_}"
                    wall = _queue_and_start(repo, name, executor, args.points, command)
                    walls[label] = walls.get(label, 0.0) + wall
                    overhead = wall * 2 / args.points - 0.1
                    print(
                        f"{label:8} {args.points} runs in {wall:.1f} s, "
                        f"{overhead * 1000:.0f} ms overhead per run "
                        f"(load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
        for label in ("dask", "dask://"):
            if label in walls and "local" in walls:
                print(f"{label} / local: {walls[label] / walls['local']:.2f}x")


def _queue_and_start(repo: Path, name: str, executor: str, count: int, command: list[str]) -> float:
    """Queue ``count`` runs of ``command``, then time ``queue start`` on ``executor``."""
    points = ",".join(str(n) for n in range(1, count + 1))
    gitexp(repo, "run", "--queue", "-n", name, "-S", f"k={points}", "--", *command)
    start = time.monotonic()
    gitexp(repo, "queue", "start", "-j", "2", "--executor", executor)
    return time.monotonic() - start


IDENTITY = ("-c", "user.name=bench", "-c", "user.email=bench@example.com")


@contextlib.contextmanager
def _cluster(base: Path) -> Iterator[str]:
    """A Dask scheduler and two one-thread workers on loopback, each in its own folder."""
    file = base / "scheduler.json"
    procs = []
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_COMMITTER_NAME": "bench"}
    env.update(GIT_AUTHOR_EMAIL="bench@example.com", GIT_COMMITTER_EMAIL="bench@example.com")
    try:
        scheduler = ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0"]
        procs.append(_spawn([*scheduler, "--no-dashboard", "--scheduler-file", str(file)], env))
        while not file.exists():
            time.sleep(0.05)
        address = json.loads(file.read_text())["address"]
        for n in (1, 2):
            folder = base / f"worker{n}"
            worker = ["distributed.cli.dask_worker", address, "--nthreads", "1"]
            worker += ["--no-dashboard", "--local-directory", str(folder)]
            procs.append(_spawn(worker, {**env, "GITEXP_WORKER_DIR": str(folder / "gitexp")}))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
        yield address.removeprefix("tcp://")
    finally:
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks/sweeps.py")
    sub = parser.add_subparsers(dest="what", required=True)
    s = sub.add_parser("search")
    s.add_argument("--trials", type=int, default=30)
    s.add_argument("--seeds", default="1,2,3", help="one search per seed, comma-separated")
    s.add_argument("-j", "--jobs", type=int, default=2)
    t = sub.add_parser("throughput")
    t.add_argument("--points", type=int, default=100)
    t.add_argument("--rounds", type=int, default=1, help="repeat, interleaved; ratios of sums")
    t.add_argument(
        "--executors", default="local,dask,dask://", help="which to time, comma-separated"
    )
    args = parser.parse_args()
    if args.what == "search":
        search(args)
    else:
        throughput(args)


if __name__ == "__main__":
    main()
