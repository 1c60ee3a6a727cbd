"""Projects with gitexp's hooks installed, driven by real git commands."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import commit_all, git, make_repo

BIN = Path(sys.executable).parent
"""The folder of this environment's ``gitexp`` script (first on PATH in the hook tests)."""
REPO = Path(__file__).resolve().parents[2]


@dataclass
class Git:
    """A finished git command: exit code, stdout, stderr."""

    code: int
    out: str
    err: str


def run_git(cwd: Path, *args: str, stdin: str | None = None) -> Git:
    """Real git, hooks and all; never raises."""
    proc = subprocess.run(
        ["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=False
    )
    return Git(proc.returncode, proc.stdout, proc.stderr)


def gitexp(cwd: Path, *args: str) -> Git:
    """The installed ``gitexp`` entry point, as a user runs it."""
    proc = subprocess.run(
        [str(BIN / "gitexp"), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    return Git(proc.returncode, proc.stdout, proc.stderr)


def install(root: Path) -> Git:
    result = gitexp(root, "hooks", "install")
    assert result.code == 0, result.err
    return result


def project(root: Path, storage: Path | None = None, *, pull: bool = False) -> Path:
    """A repository with gitexp.yaml (a local storage remote when given), committed."""
    config = ""
    if storage is not None:
        config += f"remote: shared\nremotes:\n  shared: {os.path.relpath(storage, root)}\n"
    if pull:
        config += "hooks:\n  pull: true\n"
    make_repo(root, {"gitexp.yaml": config or "params: [params.yaml]\n", "train.py": "print(1)\n"})
    return root


def add_data(root: Path, rel: str, data: bytes | dict[str, bytes]) -> None:
    """Write a file (bytes) or folder (name → bytes) and track it with ``gitexp add``."""
    target = root / rel
    if isinstance(data, bytes):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    else:
        for name, content in data.items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(content)
    result = gitexp(root, "add", rel)
    assert result.code == 0, result.err


def commit(root: Path, message: str = "change") -> Git:
    git(root, "add", "-A")
    return run_git(root, "commit", "-q", "-m", message)


def storage_objects(storage: Path) -> set[str]:
    """``blake3:<hex>`` of every object in a local storage remote, loose or in a pack."""
    import json

    loose = {
        f"blake3:{p.parent.name}{p.name}" for p in (storage / "blake3").glob("*/*") if p.is_file()
    }
    for index in (storage / "packs").glob("*/*.idx"):
        loose.update(f"blake3:{row[0]}" for row in json.loads(index.read_bytes())["objects"])
    return loose


def cache_dir(root: Path) -> Path:
    common = git(root, "rev-parse", "--git-common-dir").strip()
    return (root / common).resolve() / "gitexp" / "cache"


__all__ = ["BIN", "REPO", "commit_all", "git", "make_repo"]
