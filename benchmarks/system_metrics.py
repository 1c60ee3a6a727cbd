#!/usr/bin/env python3
"""What sampling system metrics costs a run: ``gitexp run`` of a 5 s command, with and without.

    .venv/bin/python benchmarks/system_metrics.py [--repeat N] [--seconds S] [--interval I]

The command spins for S seconds (5 by default) counting loop turns and prints the
count and its own CPU time. Runs with ``system_metrics`` on (sampled every I seconds,
the default interval unless given) and off alternate, N times each (3 by default), in
one temporary repository. For each setting it prints the median wall time of the whole
``gitexp run``, the median work the command got done (loop turns: sampling steals
from it only if it competes for a core) and the median CPU time gitexp itself used
(all CPU of the ``gitexp run`` process tree minus the command's own). Then it times
one sample of a process tree of four (a shell, two sleeps, a Python) in this process:
its CPU time, and what that is in percent of one core at the interval.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPIN = """\
import sys, time
end = time.monotonic() + float(sys.argv[1])
turns = 0
while time.monotonic() < end:
    turns += 1
print("spun", turns, time.process_time())
"""


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def make_project(root: Path, config: str) -> None:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Bench")
    git(root, "config", "user.email", "bench@example.com")
    (root / "spin.py").write_text(SPIN)
    (root / "params.yaml").write_text("seed: 1\n")
    (root / "gitexp.yaml").write_text(config)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "bench")


def one_run(root: Path, name: str, seconds: float) -> tuple[float, int, float]:
    """Wall seconds, loop turns and gitexp's own CPU seconds of one ``gitexp run``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gitexp",
            "run",
            "-n",
            name,
            "--",
            sys.executable,
            "spin.py",
            str(seconds),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.monotonic() - clock
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    spun = [line.split() for line in done.stdout.splitlines() if line.startswith("spun ")]
    _word, turns_text, command_cpu = spun[-1]
    total_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, int(turns_text), total_cpu - float(command_cpu)


def sample_cost(interval: float) -> None:
    """CPU milliseconds of one sample of a four-process tree, and its share of a core."""
    from gitexp.experiments.run.sysmetrics import _ProcessTree

    child = subprocess.Popen(
        ["sh", "-c", f"sleep 30 & sleep 30 & {sys.executable} -c 'import time; time.sleep(30)'"]
    )
    try:
        time.sleep(1.0)
        tree = _ProcessTree(child.pid, time.time() - 10, time.monotonic())
        tree.sample()
        turns = 200
        clock = time.process_time()
        for _ in range(turns):
            tree.sample()
        cost = (time.process_time() - clock) / turns
    finally:
        child.kill()
        child.wait()
    print(
        f"one sample of a 4-process tree: {cost * 1000:.2f} ms CPU, "
        f"{100 * cost / interval:.3f}% of one core at an interval of {interval:g} s"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--interval", type=float, default=None)
    args = parser.parse_args(argv)
    on = (
        "system_metrics: true\n"
        if args.interval is None
        else (f"system_metrics: {{interval: {args.interval}}}\n")
    )
    settings = {"on": on, "off": "system_metrics: false\n"}
    found: dict[str, list[tuple[float, int, float]]] = {key: [] for key in settings}
    with tempfile.TemporaryDirectory() as tmp:
        roots = {key: Path(tmp) / key for key in settings}
        for key, config in settings.items():
            make_project(roots[key], config)
        for turn in range(args.repeat):
            for key in settings:
                found[key].append(one_run(roots[key], f"{key}-{turn}", args.seconds))
    print(f"gitexp run of a {args.seconds:g} s command, {args.repeat} runs each, medians:")
    print(f"{'system_metrics':<16}{'wall s':>10}{'loop turns':>14}{'gitexp CPU s':>15}")
    for key, rows in found.items():
        wall = statistics.median(r[0] for r in rows)
        turns = statistics.median(r[1] for r in rows)
        cpu = statistics.median(r[2] for r in rows)
        print(f"{key:<16}{wall:>10.3f}{turns:>14,.0f}{cpu:>15.3f}")
    sample_cost(args.interval or 5.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
