#!/usr/bin/env python3
"""A search's trials on an existing Dask cluster against the same search on local worktrees.

    python3 benchmarks/cluster_search.py [--trials 20] [--rounds 1]

A fresh repository with a bare git remote and a storage folder; ``--trials`` trials of
a 0.1 s command that logs its goal, searched with ``--sampler random --seed 1``, run
by ``-j 2`` (local worktrees) and by ``--executor dask://HOST:PORT`` (a scheduler and
two one-thread workers started here, each in its own folder). Prints each wall time,
the ratio to local and the overhead per trial over the command (wall time x 2 / trials
- 0.1 s), with the load average, and the driver's CPU time (its own and its git
processes'), which the load of a shared machine sways much less than wall time.
Needs ``gitexp[dask,sweep]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sweeps import IDENTITY, _cluster, git

TRIAL = "import time, gitexp; time.sleep(0.1); gitexp.log_metric('acc', gitexp.params()['x'])"


def main() -> None:
    parser = argparse.ArgumentParser(prog="benchmarks/cluster_search.py")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=1, help="repeat, interleaved")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        repo = base / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        (repo / "params.yaml").write_text("x: 0.5\n")
        (repo / "gitexp.yaml").write_text("remote: storage\nremotes:\n  storage: ../storage\n")
        git(repo, "add", "-A")
        git(repo, *IDENTITY, "commit", "-qm", "init")
        git(base, "init", "-q", "--bare", "remote.git")
        git(repo, "remote", "add", "origin", (base / "remote.git").as_uri())
        walls: dict[str, float] = {}
        with _cluster(base) as address:
            for round_ in range(1, args.rounds + 1):
                for label, where in (
                    ("local", ["-j", "2"]),
                    ("dask://", ["--executor", f"dask://{address}"]),
                ):
                    name = f"{'local' if label == 'local' else 'cluster'}-r{round_}"
                    wall, cpu = _search(repo, name, args.trials, where)
                    walls[label] = walls.get(label, 0.0) + wall
                    overhead = wall * 2 / args.trials - 0.1
                    print(
                        f"{label:8} {args.trials} trials in {wall:.1f} s, "
                        f"{overhead * 1000:.0f} ms overhead per trial, driver CPU {cpu:.1f} s "
                        f"(load {os.getloadavg()[0]:.1f})",
                        flush=True,
                    )
        print(f"dask:// / local: {walls['dask://'] / walls['local']:.2f}x")


def _search(repo: Path, name: str, trials: int, where: list[str]) -> tuple[float, float]:
    """The search's wall time, and the CPU time of its driver and the processes it waited for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.run(
        [
            sys.executable, "-m", "gitexp", "run", "-n", name, "-S", "x=uniform(0,1)",
            "--trials", str(trials), "--sampler", "random", "--seed", "1",
            "--goal", "acc:max", *where, "--", sys.executable, "-c", TRIAL,
        ],
        cwd=repo, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"the search {name} failed:\n{proc.stderr}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu


if __name__ == "__main__":
    main()
