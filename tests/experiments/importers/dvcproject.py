"""A DVC project made by the real ``dvc`` command, once per test module, copied per test.

DVC's command line takes seconds to start, so the project is built once: ``dvc init``,
``dvc add`` of a file and a folder, a pipeline with params, metrics, plots and an out,
two ``dvc exp run``, and ``dvc push`` to a local remote. ``dvc exp show --json`` is
kept as DVC reported it, to compare what gitexp shows after an import.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TRAIN = """\
import json, os
import yaml

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
    deps: [train.py, data/train.csv]
    params: [train]
    outs: [model.bin]
    metrics: [metrics.json: {cache: false}]
    plots: [plots/loss.tsv: {cache: false}]
"""


@dataclass
class DvcProject:
    """The built project (``root``, with its DVC remote at ``remote``), and DVC's own view."""

    root: Path
    remote: Path
    exp_show: list[dict[str, object]]

    def copy(self, dest: Path) -> Path:
        """A copy of the project and its remote under ``dest`` (same relative layout)."""
        shutil.copytree(self.root.parent, dest, symlinks=True)
        return dest / self.root.name


def dvc_env(home: Path) -> dict[str, str]:
    """An environment for real dvc and git: own home, fixed identity, no analytics."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITEXP_"))}
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = user@example.com\n")
    env.update(
        HOME=str(home),
        GIT_CONFIG_GLOBAL=str(home / ".gitconfig"),
        GIT_CONFIG_NOSYSTEM="1",
        DVC_NO_ANALYTICS="1",
        DVC_SITE_CACHE_DIR=str(home / "dvc-site"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def run(cwd: Path, env: dict[str, str], *args: str) -> str:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed: {proc.stdout}\n{proc.stderr}")
    return proc.stdout


def build(base: Path) -> DvcProject:
    """``dvc init``, ``add``, two ``exp run`` and ``push``: about ten DVC invocations."""
    env = dvc_env(base)
    root, remote = base / "work" / "project", base / "work" / "dvc-remote"
    (root / "data" / "imgs").mkdir(parents=True)
    remote.mkdir()
    run(root, env, "git", "init", "-q", "-b", "main")
    (root / "data" / "train.csv").write_text("x,y\n1,2\n3,4\n")
    (root / "data" / "imgs" / "a.bin").write_bytes(bytes(range(256)) * 4)
    (root / "data" / "imgs" / "b.txt").write_text("second image\n")
    (root / "params.yaml").write_text("train:\n  lr: 0.1\n  epochs: 3\n")
    (root / "train.py").write_text(TRAIN)
    (root / "dvc.yaml").write_text(DVC_YAML)
    run(root, env, "dvc", "init", "-q")
    run(root, env, "dvc", "add", "-q", "data/train.csv", "data/imgs")
    run(root, env, "dvc", "remote", "add", "-q", "-d", "store", "../dvc-remote")
    run(root, env, "git", "add", "-A")
    run(root, env, "git", "commit", "-q", "-m", "a DVC project")
    run(root, env, "dvc", "exp", "run", "-q", "-n", "exp-a", "-S", "train.lr=0.2")
    run(
        root,
        env,
        "dvc",
        "exp",
        "run",
        "-q",
        "-n",
        "exp-b",
        "-S",
        "train.lr=0.05",
        "-S",
        "train.epochs=4",
    )
    run(root, env, "dvc", "push", "-q")
    shown = json.loads(run(root, env, "dvc", "exp", "show", "--json"))
    return DvcProject(root, remote, shown)


def dvc_experiments(shown: list[dict[str, object]]) -> dict[str, dict[str, object]]:
    """``dvc exp show --json``'s experiments by name: their params and metrics."""
    found: dict[str, dict[str, object]] = {}
    for row in shown:
        for exp in row.get("experiments") or []:  # type: ignore[attr-defined]
            rev = exp["revs"][0]
            data = rev["data"]
            found[rev["name"]] = {
                "rev": rev["rev"],
                "params": {f: v["data"] for f, v in data["params"].items()},
                "metrics": {f: v["data"] for f, v in data["metrics"].items()},
            }
    return found
