#!/usr/bin/env python3
"""``gitexp import dvc`` against ``dvc pull``, side by side, on one DVC project.

    .venv/bin/python benchmarks/import_dvc.py [--files 10000] [--experiments 100] [--repeat 3]

Builds (once, under --work) a DVC project made by DVC itself: a folder of small files
(1-4 KiB) added with ``dvc add``, a pipeline with params, metrics, a plot and a
model out, N experiments run through DVC's own experiment API (the ``train`` stage only, so that
DVC does not check the data folder again for each), everything pushed
(``dvc push``, ``dvc exp push``) to a local DVC remote and a bare git remote. Then,
each time in a fresh clone with empty caches (the clone made and its experiment refs
fetched untimed):

- ``dvc pull``: the data into DVC's cache and the workspace;
- ``gitexp import dvc``: every object read from the DVC remote, checked against its
  md5, stored by BLAKE3; pointers, remotes and all N experiments written;
- ``gitexp import dvc`` then ``gitexp checkout``: the same, plus the workspace copy,
  which is what ``dvc pull`` also writes.

Needs dvc and gitexp importable by the Python that runs it (the test extra has both).
Prints the median of each, and the ratio to ``dvc pull``.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
TRAIN = """\
import json, os, yaml
p = yaml.safe_load(open("params.yaml"))["train"]
os.makedirs("plots", exist_ok=True)
with open("plots/loss.tsv", "w") as f:
    f.write("step\\tloss\\n")
    for s in range(p["epochs"]):
        f.write(f"{s}\\t{p['lr'] / (s + 1)}\\n")
json.dump({"acc": 1 - p["lr"], "loss": p["lr"] / 2}, open("metrics.json", "w"))
open("model.bin", "w").write(f"model trained with lr={p['lr']}")
"""
DVC_YAML = """\
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    params: [train]
    outs: [model.bin]
    metrics: [metrics.json: {cache: false}]
    plots: [plots/loss.tsv: {cache: false}]
"""
EXPERIMENTS = """\
import sys
from dvc.repo import Repo

repo = Repo(".")
for number in range(int(sys.argv[1])):
    lr = round(0.001 + number / 1000, 6)
    repo.experiments.run(targets=["train"], params=[f"train.lr={lr}"], name=f"exp-{number:03d}")
"""


def env_for(work: Path) -> dict[str, str]:
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    (home / ".gitconfig").write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITEXP_"))}
    env.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(work / "dvc-site"),
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def call(args: list[str], cwd: Path, env: dict[str, str]) -> None:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(args)} failed in {cwd}:\n{proc.stdout}\n{proc.stderr}")


def build(work: Path, files: int, experiments: int, env: dict[str, str]) -> Path:
    """The DVC project and its remotes, made once per size."""
    base = work / f"dvc-{files}-{experiments}"
    if (base / "done").exists():
        return base
    shutil.rmtree(base, ignore_errors=True)
    root, origin = base / "project", base / "origin.git"
    (base / "dvc-remote").mkdir(parents=True)
    call(["git", "init", "-q", "--bare", "-b", "main", str(origin)], base, env)
    rng = random.Random(files)
    for number in range(files):
        path = root / "data" / f"{number // 100:03d}" / f"{number:06d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rng.randbytes(rng.randint(1024, 4096)))
    (root / "params.yaml").write_text("train:\n  lr: 0.1\n  epochs: 5\n")
    (root / "train.py").write_text(TRAIN)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "experiments.py").write_text(EXPERIMENTS)
    for args in (
        ["git", "init", "-q", "-b", "main"],
        ["dvc", "init", "-q"],
        ["dvc", "add", "-q", "data"],
        ["dvc", "remote", "add", "-q", "-d", "store", "../dvc-remote"],
        ["dvc", "repro", "-q"],
        ["git", "add", "-A"],
        ["git", "commit", "-q", "-m", "a DVC project"],
        ["git", "remote", "add", "origin", str(origin)],
        ["git", "push", "-q", "origin", "main"],
        ["dvc", "push", "-q"],
        [sys.executable, "experiments.py", str(experiments)],
        ["dvc", "exp", "push", "-q", "origin", "-A"],
    ):
        print("  " + " ".join(args[:4]), flush=True)
        call(args, root, env)
    (base / "done").touch()
    return base


def clone(base: Path, target: Path, env: dict[str, str]) -> Path:
    """A fresh clone beside the project (its DVC remote path is relative), with DVC's
    experiment refs and no data or cache (untimed)."""
    shutil.rmtree(target, ignore_errors=True)
    call(["git", "clone", "-q", str(base / "origin.git"), str(target)], base, env)
    call(["git", "fetch", "-q", "origin", "refs/exps/*:refs/exps/*"], target, env)
    return target


def timed(args_list: list[list[str]], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    for args in args_list:
        call(args, cwd, env)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--experiments", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work" / "import-dvc")
    args = parser.parse_args()
    work = args.work.resolve()
    env = env_for(work)
    print(f"building a DVC project: {args.files} files, {args.experiments} experiments")
    base = build(work, args.files, args.experiments, env)
    gitexp = str(BIN / "gitexp")
    commands = {
        "dvc pull": [["dvc", "pull", "-q"]],
        "gitexp import dvc": [[gitexp, "import", "dvc"]],
        "gitexp import dvc + checkout": [[gitexp, "import", "dvc"], [gitexp, "checkout"]],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for round_number in range(args.repeat):
        for name, argv in commands.items():
            target = clone(base, base / "clone", env)
            subprocess.run(["sync"], check=False)
            times[name].append(timed(argv, target, env))
            print(f"  round {round_number + 1}: {name}: {times[name][-1]:.2f} s", flush=True)
    check = clone(base, base / "clone", env)
    call([gitexp, "import", "dvc"], check, env)
    made = subprocess.run(
        ["git", "for-each-ref", "refs/experiments/"],
        cwd=check,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.count("\n")
    pull = statistics.median(times["dvc pull"])
    print(
        f"\n{args.files} files, {args.experiments} DVC experiments ({made} imported); "
        f"median of {args.repeat}:"
    )
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:<30} {median:8.2f} s   {median / pull:5.2f} x dvc pull")


if __name__ == "__main__":
    main()
