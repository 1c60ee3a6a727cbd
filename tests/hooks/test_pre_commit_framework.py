"""The same hooks run by the pre-commit framework, from ``.pre-commit-hooks.yaml``.

The framework passes no git arguments or input to a hook's entry; ``gitexp hook`` reads
its ``PRE_COMMIT_*`` variables instead. The hooks are declared ``repo: local`` with the
manifest's entries (``language: system``), so nothing is downloaded.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.conftest import git
from tests.data.syncsetup import make_origin
from tests.hooks.hookhelp import BIN, REPO, add_data, commit, project, run_git, storage_objects

PRE_COMMIT = shutil.which("pre-commit", path=str(BIN))
pytestmark = pytest.mark.skipif(
    PRE_COMMIT is None, reason="the pre-commit framework is not installed (pip install -e .[test])"
)


def framework_config() -> str:
    hooks = YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        hook["language"] = "system"
        hook.pop("minimum_pre_commit_version", None)
    out = io.StringIO()
    YAML(typ="safe").dump({"repos": [{"repo": "local", "hooks": hooks}]}, out)
    return out.getvalue()


def test_the_framework_runs_the_guard_the_upload_and_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pc-home"))
    storage = tmp_path / "storage"
    root = project(tmp_path / "p", storage)
    (root / ".pre-commit-config.yaml").write_text(framework_config())
    git(root, "add", ".pre-commit-config.yaml")
    git(root, "commit", "-q", "-m", "framework")
    origin = make_origin(tmp_path)
    git(root, "remote", "add", "origin", str(origin))
    types = ["pre-commit", "pre-push", "post-checkout", "post-merge", "post-rewrite"]
    subprocess.run(
        [str(PRE_COMMIT), "install", *(f"-t{t}" for t in types)],
        cwd=root,
        check=True,
        capture_output=True,
    )
    (root / "big.bin").write_bytes(os.urandom(6 << 20))
    git(root, "add", "big.bin")
    refused = run_git(root, "commit", "-q", "-m", "big")
    assert refused.code != 0
    assert "commit refused: 1 staged file(s) over large_file_threshold" in refused.out + refused.err
    git(root, "rm", "-q", "--cached", "big.bin")
    (root / "big.bin").unlink()

    git(root, "switch", "-q", "-c", "data")
    add_data(root, "model.bin", b"weights" * 1000)
    assert commit(root, "model").code == 0
    pushed = run_git(root, "push", "-q", "origin", "data")
    assert pushed.code == 0, pushed.out + pushed.err
    assert len(storage_objects(storage)) == 1

    assert run_git(root, "switch", "-q", "main").code == 0
    assert not (root / "model.bin").exists()  # its pointer is gone and the cache holds it
    switched = run_git(root, "switch", "-q", "data")
    assert switched.code == 0
    assert (root / "model.bin").read_bytes() == b"weights" * 1000
