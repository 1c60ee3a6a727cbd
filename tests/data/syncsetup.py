"""Two clones of one project sharing a bare git remote and a storage remote."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gitexp.cache.add import store_path
from gitexp.cache.objects import ObjectStore
from tests.conftest import commit_all, git, make_repo

TRAIN_WITH_MODEL = """\
import gitexp

p = gitexp.params()
lr = p["train"]["lr"]
with open("model.pkl", "wb") as f:
    f.write(("model trained with lr=%s\\n" % lr).encode() * 2000)
gitexp.log_metric("acc", 0.5 + lr)
gitexp.log_metric("loss", 1.0 - lr)
"""

PARAMS = "train:\n  lr: 0.001\n  epochs: 2\n"


def track(root: Path, rel: str) -> None:
    """Put ``rel`` (a file or folder) into the cache and write its pointer and ignore line."""
    store = ObjectStore(root / ".git" / "gitexp" / "cache")
    pointer = store_path(store, root / rel)
    (root / f"{rel}.gitexp").write_bytes(pointer.dump())
    folder, _, name = rel.rpartition("/")
    ignore = root / folder / ".gitignore" if folder else root / ".gitignore"
    existing = ignore.read_text() if ignore.exists() else ""
    ignore.write_text(existing + f"/{name}\n")


def make_origin(tmp: Path) -> Path:
    """A bare repository to serve as ``origin``."""
    bare = tmp / "origin.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    return bare


def make_project(root: Path, origin: Path | str, storage: str) -> Path:
    """Clone A: params, a training script with an ``outs`` model, tracked data; pushed."""
    make_repo(
        root,
        {
            "params.yaml": PARAMS,
            "train.py": TRAIN_WITH_MODEL,
            "gitexp.yaml": f"command: {sys.executable} train.py\nouts: [model.pkl]\n"
            "remote: shared\n"
            f"remotes:\n  shared: {storage}\n",
            ".gitignore": "metrics.json\n",
        },
    )
    data = root / "data"
    (data / "images").mkdir(parents=True)
    (data / "train.csv").write_bytes(os.urandom(300_000))
    for i in range(20):
        (data / "images" / f"img{i:02d}.bin").write_bytes(os.urandom(1000 + i))
    track(root, "data/train.csv")
    track(root, "data/images")
    commit_all(root, "track data")
    git(root, "remote", "add", "origin", str(origin))
    git(root, "push", "-q", "origin", "main")
    return root


def loose_remote(storage: Path) -> None:
    """Make the local storage remote ``storage`` a layout-1 one (loose objects only)."""
    storage.mkdir(parents=True, exist_ok=True)
    (storage / "gitexp-remote.json").write_text('{"layout": 1}\n')


def clone(origin: Path | str, dest: Path) -> Path:
    """Clone B of the shared remote."""
    git(dest.parent, "clone", "-q", str(origin), str(dest))
    return dest
