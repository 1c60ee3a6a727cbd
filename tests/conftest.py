"""Test isolation: every test gets a scrubbed environment and real git repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Author",
    "GIT_AUTHOR_EMAIL": "author@example.com",
    "GIT_COMMITTER_NAME": "Test Committer",
    "GIT_COMMITTER_EMAIL": "committer@example.com",
}

PARAMS_YAML = """\
# training params
train:
  lr: 0.001  # learning rate
  epochs: 3
seed: 1
"""

TRAIN_PY = """\
import gitexp

p = gitexp.params()
for epoch in range(p["train"]["epochs"]):
    gitexp.log_metric("loss", 1.0 / (epoch + 1) / p["train"]["lr"], step=epoch)
gitexp.log_metric("acc", 0.5 + p["train"]["lr"])
print("trained", p["train"]["lr"])
"""


@pytest.fixture(autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No user or system git config, fixed identities, no inherited gitexp run."""
    home = tmp_path_factory.mktemp("home")
    for name in list(os.environ):
        if name.startswith("GIT_") or name.startswith("GITEXP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    (home / ".gitconfig").write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for key, value in IDENTITY.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GIT_CONFIG_COUNT", "3")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.name")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "Test User")
    monkeypatch.setenv("GIT_CONFIG_KEY_1", "user.email")
    monkeypatch.setenv("GIT_CONFIG_VALUE_1", "user@example.com")
    monkeypatch.setenv("GIT_CONFIG_KEY_2", "init.defaultBranch")
    monkeypatch.setenv("GIT_CONFIG_VALUE_2", "main")
    from gitexp.experiments.run import tracking

    tracking.set_session(None)


def git(cwd: Path, *args: str, check: bool = True) -> str:
    """Run real git in ``cwd``; its stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    """A real repository at ``path`` with one commit of ``files``."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test User")
    git(path, "config", "user.email", "user@example.com")
    for name, text in (files or {}).items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    if files:
        git(path, "add", "-A")
        git(path, "commit", "-q", "-m", "initial")
    return path


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with params.yaml, train.py and metrics.json ignored; the cwd."""
    root = make_repo(
        tmp_path / "project",
        {"params.yaml": PARAMS_YAML, "train.py": TRAIN_PY, ".gitignore": "metrics.json\n"},
    )
    monkeypatch.chdir(root)
    return root


@dataclass
class Result:
    """What a CLI call did."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capfd: pytest.CaptureFixture[str]) -> Iterator[object]:
    """Call ``gitexp.cli.main.main(argv)`` in-process; returns a `Result`."""
    from gitexp.cli.main import main

    def call(*argv: str) -> Result:
        capfd.readouterr()
        code = main(list(argv))
        captured = capfd.readouterr()
        return Result(code, captured.out, captured.err)

    yield call


def run_gitexp(
    cwd: Path, *args: str, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    """The installed entry point (``python -m gitexp``) as a separate process."""
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-m", "gitexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        **kw,
    )


def commit_all(root: Path, message: str = "change") -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


def names(rows: Sequence[dict[str, object]]) -> list[str]:
    return [str(r["name"]) for r in rows]
