"""The generated project both tools work on: the same files, the same params.

A project is a git repository with ``params.yaml`` (10 keys), ``train.py`` (the
standard-library script in `trainer`) and ``metrics.json`` ignored, as a user of
either tool would have it. `DvcProject` adds ``dvc init`` and a ``train`` stage.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from harness import trainer
from harness.timing import check_call

PARAMS = """\
# training configuration
train:
  lr: 0.001
  epochs: 10
  batch_size: 32
  optimizer: adam
  weight_decay: 0.0001
model:
  layers: 4
  hidden: 256
  dropout: 0.1
  activation: relu
data:
  seed: 42
"""

TRAIN_COMMAND = ["python3", "train.py"]


def override_values(number: int) -> dict[str, object]:
    """The params of experiment ``number``: four keys that vary from one to the next."""
    return {
        "train.lr": float(f"{1 + number % 9}e-{2 + (number // 9) % 4}"),
        "train.epochs": 1 + number % 50,
        "train.batch_size": 2 ** (4 + number % 4),
        "model.dropout": float(f"0.{number % 10}"),
    }


def params_with(values: dict[str, object]) -> bytes:
    """``params.yaml`` with ``values`` set, byte for byte as ``gitexp run -S`` writes it.

    The template has no trailing comments, so each override is a one-line change;
    floats are written as ``repr`` writes them (as ruamel.yaml does).
    """
    lines = PARAMS.splitlines()
    section = ""
    out = []
    for line in lines:
        if line and not line.startswith((" ", "#")):
            section = line.rstrip(":")
        key = line.strip().split(":", 1)[0]
        dotted = f"{section}.{key}"
        if line.startswith("  ") and dotted in values:
            value = values[dotted]
            line = f"  {key}: {value!r}"
        out.append(line)
    return ("\n".join(out) + "\n").encode()


def override_args(values: dict[str, object]) -> list[str]:
    """``-S KEY=VALUE`` arguments for ``values`` (the same spelling for both tools)."""
    args: list[str] = []
    for key, value in values.items():
        args += ["-S", f"{key}={value!r}"]
    return args


def init_git(root: Path, env: dict[str, str]) -> None:
    """A new repository on branch ``main`` at ``root``."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    check_call(["git", "init", "-q", "-b", "main"], root, env)


def write_project(root: Path, *, ignore_metrics: bool = True) -> None:
    """The project's files: params, the training script, and (for gitexp) metrics ignored.

    DVC expects a metrics output with ``cache: false`` to be tracked by git, so its
    project leaves ``metrics.json`` out of ``.gitignore``.
    """
    (root / "params.yaml").write_text(PARAMS)
    shutil.copyfile(trainer.__file__, root / "train.py")
    if ignore_metrics:
        (root / ".gitignore").write_text("metrics.json\n")


def commit_all(root: Path, env: dict[str, str], message: str) -> str:
    """``git add -A`` and commit; the new commit id."""
    check_call(["git", "add", "-A"], root, env)
    check_call(["git", "commit", "-q", "-m", message], root, env)
    return check_call(["git", "rev-parse", "HEAD"], root, env).strip()


def gitexp_project(root: Path, env: dict[str, str]) -> str:
    """A gitexp project at ``root`` with one commit; returns its id."""
    init_git(root, env)
    write_project(root)
    return commit_all(root, env, "project")


DVC_YAML = """\
stages:
  train:
    cmd: {command}
    deps:
      - train.py
    params:
      - train
      - model
      - data
    metrics:
      - metrics.json:
          cache: false
"""


def dvc_project(
    root: Path, env: dict[str, str], dvc: list[str], *, command: str | None = None
) -> str:
    """A DVC project at ``root``: ``dvc init``, a ``train`` stage, reproduced once, committed.

    DVC's site cache (its state and experiment cache) is kept inside the project's
    ``.dvc/`` folder so that it can be reset and is removed with the project.
    """
    init_git(root, env)
    write_project(root, ignore_metrics=False)
    check_call([*dvc, "init", "-q"], root, env)
    check_call(
        [*dvc, "config", "--local", "core.site_cache_dir", str(root / ".dvc" / "site")], root, env
    )
    check_call([*dvc, "config", "core.analytics", "false"], root, env)
    (root / "dvc.yaml").write_text(DVC_YAML.format(command=command or " ".join(TRAIN_COMMAND)))
    check_call([*dvc, "repro", "-q"], root, env)
    return commit_all(root, env, "project")
