"""The pre-push hook under real ``git push`` to a bare repository, with a local storage remote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git
from tests.data.syncsetup import make_origin
from tests.hooks.hookhelp import (
    BIN,
    add_data,
    cache_dir,
    commit,
    gitexp,
    install,
    project,
    run_git,
    storage_objects,
)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A project with a storage remote and a bare origin, hooks installed: (root, storage, origin)."""
    storage = tmp_path / "storage"
    root = project(tmp_path / "p", storage)
    origin = make_origin(tmp_path)
    git(root, "remote", "add", "origin", str(origin))
    install(root)
    return root, storage, origin


def needed(root: Path, rel: str) -> set[str]:
    """Every object the workspace pointer ``rel`` needs (a folder: manifest and files)."""
    import orjson

    text = (root / f"{rel}.gitexp").read_text()
    oid = text.split("hash: ")[1].split()[0]
    found = {oid}
    if "kind: dir" in text:
        manifest = (cache_dir(root) / "blake3" / oid[7:9] / oid[9:]).read_bytes()
        found |= {e["hash"] for e in orjson.loads(manifest)["entries"]}
    return found


def test_push_uploads_exactly_what_the_pushed_commits_pointers_need(
    setup: tuple[Path, Path, Path],
) -> None:
    root, storage, _origin = setup
    add_data(root, "data/train.csv", os.urandom(200_000))
    add_data(root, "images", {f"{i}.png": os.urandom(1000 + i) for i in range(4)})
    add_data(root, "scratch.bin", os.urandom(3000))  # in the cache, in no commit
    (root / "scratch.bin.gitexp").unlink()
    assert commit(root, "data").code == 0
    pushed = run_git(root, "push", "-q", "origin", "main")
    assert pushed.code == 0, pushed.err
    want = needed(root, "data/train.csv") | needed(root, "images")
    assert storage_objects(storage) == want
    assert "gitexp: uploaded 6 object(s) (" in pushed.err and "for 2 commit(s)" in pushed.err

    add_data(root, "data/train.csv", os.urandom(100_000))
    (root / "train.py").write_text("print(2)\n")
    assert commit(root, "new version").code == 0
    again = run_git(root, "push", "-q", "origin", "main")
    assert again.code == 0
    assert storage_objects(storage) == want | needed(root, "data/train.csv")
    assert "gitexp: uploaded 1 object(s)" in again.err and "for 1 commit(s)" in again.err


def test_a_push_without_pointer_changes_does_nothing_and_never_opens_storage(
    setup: tuple[Path, Path, Path],
) -> None:
    root, storage, _origin = setup
    storage.write_text("not a folder: any use of this storage remote fails\n")
    (root / "train.py").write_text("print(3)\n")
    assert commit(root, "code only").code == 0
    pushed = run_git(root, "push", "-q", "origin", "main")
    assert pushed.code == 0 and "gitexp" not in pushed.err
    assert run_git(root, "push", "-q", "origin", "main:side").code == 0
    deleted = run_git(root, "push", "-q", "origin", ":side")
    assert deleted.code == 0 and "gitexp" not in deleted.err


def test_without_a_storage_remote_the_push_goes_on_and_says_so_once(tmp_path: Path) -> None:
    root = project(tmp_path / "p")
    origin = make_origin(tmp_path)
    install(root)
    add_data(root, "a.bin", os.urandom(1000))
    add_data(root, "b.bin", os.urandom(1000))
    assert commit(root, "data").code == 0
    pushed = run_git(root, "push", "-q", str(origin), "main")
    assert pushed.code == 0
    assert pushed.err == (
        "gitexp: no storage remote is set, so the data of 2 pointer(s) in the pushed commits "
        "was not uploaded; add one with `gitexp remote add NAME URL --default`\n"
    )


def test_a_failed_upload_stops_the_push_with_a_clear_message(
    setup: tuple[Path, Path, Path],
) -> None:
    root, storage, origin = setup
    add_data(root, "model.pkl", os.urandom(4000))
    assert commit(root, "model").code == 0
    shutil.rmtree(cache_dir(root))
    pushed = run_git(root, "push", "-q", "origin", "main")
    assert pushed.code != 0
    assert "gitexp: error: 1 object(s) are neither in the cache nor on" in pushed.err
    assert "model.pkl (blake3:" in pushed.err and "needed by the pushed commits" in pushed.err
    assert "gitexp: the push was stopped so that no one gets pointers without their data" in (
        pushed.err
    )
    assert git(origin, "for-each-ref", "refs/heads/").strip() == ""

    storage.mkdir(exist_ok=True)
    add_data(root, "model.pkl", (root / "model.pkl").read_bytes())
    for folder in ("blake3", "packs"):  # loose objects and packs alike
        (storage / folder).write_text("a file where a folder must be\n")
    failed = run_git(root, "push", "-q", "origin", "main")
    assert failed.code != 0 and "gitexp: error:" in failed.err
    assert git(origin, "for-each-ref", "refs/heads/").strip() == ""
    for folder in ("blake3", "packs"):
        (storage / folder).unlink()
    assert run_git(root, "push", "-q", "origin", "main").code == 0
    assert git(origin, "rev-parse", "main").strip() == git(root, "rev-parse", "main").strip()


TRAIN = """\
import os
with open("model.pkl", "wb") as f:
    f.write(os.urandom(20000))
with open("metrics.json", "w") as f:
    f.write('{"acc": 0.5}')
"""


def experiment_project(root: Path) -> str:
    (root / "train.py").write_text(TRAIN)
    (root / "params.yaml").write_text("lr: 0.1\n")
    config = (root / "gitexp.yaml").read_text()
    (root / "gitexp.yaml").write_text(
        config + f"command: {sys.executable} train.py\nouts: [model.pkl]\n"
    )
    (root / ".gitignore").write_text("metrics.json\nmodel.pkl\n")
    assert commit(root, "experiment setup").code == 0
    result = gitexp(root, "run", "-n", "first")
    assert result.code == 0, result.err
    show = subprocess.run(
        [str(BIN / "gitexp"), "show", "--json"], cwd=root, capture_output=True, text=True
    )
    import json

    return str(json.loads(show.stdout)["experiments"][0]["data"]["model.pkl"])


def test_experiment_refs_pushed_by_plain_git_push_carry_their_data(
    setup: tuple[Path, Path, Path],
) -> None:
    root, storage, origin = setup
    assert run_git(root, "push", "-q", "origin", "main").code == 0
    model = experiment_project(root)
    assert model not in storage_objects(storage)
    pushed = run_git(root, "push", "-q", "origin", "refs/experiments/*:refs/experiments/*")
    assert pushed.code == 0, pushed.err
    assert model in storage_objects(storage)
    assert git(origin, "for-each-ref", "--format=%(refname)", "refs/experiments/").split() == [
        "refs/experiments/first"
    ]


def test_gitexp_push_moves_its_own_data_and_no_data_means_none(
    setup: tuple[Path, Path, Path],
) -> None:
    root, storage, _origin = setup
    assert run_git(root, "push", "-q", "origin", "main").code == 0
    model = experiment_project(root)
    result = gitexp(root, "push", "--no-data", "first")
    assert result.code == 0, result.err
    assert model not in storage_objects(storage) and "gitexp: uploaded" not in result.err
    assert gitexp(root, "push", "first").code == 0
    assert model in storage_objects(storage)


def test_the_pre_commit_frameworks_variables_stand_in_for_gits_input(
    setup: tuple[Path, Path, Path],
) -> None:
    root, storage, origin = setup
    add_data(root, "w.bin", os.urandom(2000))
    assert commit(root, "w").code == 0
    head = git(root, "rev-parse", "HEAD").strip()
    env = {
        **os.environ,
        "PRE_COMMIT": "1",
        "PRE_COMMIT_REMOTE_NAME": "origin",
        "PRE_COMMIT_REMOTE_URL": str(origin),
        "PRE_COMMIT_TO_REF": head,
        "PRE_COMMIT_LOCAL_BRANCH": "refs/heads/main",
        "PRE_COMMIT_REMOTE_BRANCH": "refs/heads/main",
    }
    proc = subprocess.run(
        [str(BIN / "gitexp"), "hook", "pre-push"],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert needed(root, "w.bin") <= storage_objects(storage)
