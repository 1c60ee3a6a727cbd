"""Experiments carry their data: pointers in the commit, outs in the cache, show's
``data`` field and ``data:PATH==HASH`` filters, diff's artifacts, and apply."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pygit2
import pytest

from gitexp.api import Repo
from gitexp.core.hashing import hash_bytes
from gitexp.errors import UncommittedChangesError
from tests.conftest import commit_all, git
from tests.data.datahelp import make_tree, pointer, store

CONFIG = f"command: {sys.executable} train.py\nouts: [model.pkl]\n"
WRITE_MODEL = """\
import sys
import gitexp
p = gitexp.params()
with open("model.pkl", "wb") as f:
    f.write(("model lr=%s" % p["train"]["lr"]).encode() * 1000)
gitexp.log_metric("acc", 0.9)
"""


def tree_blobs(repo: Path, ref: str) -> dict[str, bytes]:
    r = pygit2.Repository(str(repo))
    commit = r.revparse_single(ref).peel(pygit2.Commit)
    found = {}

    def walk(tree: pygit2.Tree, prefix: str) -> None:
        for entry in tree:
            if entry.type_str == "tree":
                walk(r[entry.id], f"{prefix}{entry.name}/")
            else:
                found[f"{prefix}{entry.name}"] = r[entry.id].data

    walk(commit.tree, "")
    return found


def test_show_json_lists_data_and_filters_by_version(repo: Path, cli) -> None:
    (repo / "data").mkdir()
    (repo / "data/train.csv").write_bytes(b"v1")
    assert cli("add", "data/train.csv").code == 0
    commit_all(repo, "data v1")
    assert cli("run", "-n", "first", "--", "python", "-c", "print(1)").code == 0
    (repo / "data/train.csv").write_bytes(b"v2")
    assert cli("add", "data/train.csv").code == 0
    assert cli("run", "-n", "second", "--", "python", "-c", "print(2)").code == 0
    shown = json.loads(cli("show", "--json").out)["experiments"]
    data = {e["name"]: e["data"] for e in shown}
    assert data == {
        "first": {"data/train.csv": str(hash_bytes(b"v1"))},
        "second": {"data/train.csv": str(hash_bytes(b"v2"))},
    }
    chosen = cli("show", "--json", "--filter", f"data:data/train.csv=={hash_bytes(b'v1')}")
    assert chosen.code == 0, chosen.err
    assert [e["name"] for e in json.loads(chosen.out)["experiments"]] == ["first"]


def test_outs_are_cached_and_recorded_as_pointers(repo: Path, cli) -> None:
    (repo / "gitexp.yaml").write_text(CONFIG)
    (repo / "train.py").write_text(WRITE_MODEL)
    commit_all(repo, "train writes a model")
    result = cli("run", "-n", "m1")
    assert result.code == 0, result.err
    model = (repo / "model.pkl").read_bytes()
    blobs = tree_blobs(repo, "refs/experiments/m1")
    assert "model.pkl" not in blobs
    assert model not in blobs.values()
    recorded = blobs["model.pkl.gitexp"]
    assert recorded == f"version: 1\nhash: {hash_bytes(model)}\nsize: {len(model)}\n".encode()
    assert store(repo).read_bytes(hash_bytes(model)) == model
    shown = json.loads(cli("show", "--json").out)["experiments"][0]
    assert shown["data"] == {"model.pkl": str(hash_bytes(model))}


def test_log_artifact_end_to_end(repo: Path, cli) -> None:
    (repo / "train.py").write_text(
        "import os, gitexp\n"
        "os.makedirs('plots', exist_ok=True)\n"
        "open('plots/a.png', 'wb').write(b'png bytes')\n"
        "gitexp.log_artifact('plots')\n"
    )
    commit_all(repo, "logs an artifact")
    assert cli("run", "-n", "art", "--", sys.executable, "train.py").code == 0
    blobs = tree_blobs(repo, "refs/experiments/art")
    assert "plots/a.png" not in blobs
    folder = blobs["plots.gitexp"].decode()
    assert "kind: dir\nfiles: 1\n" in folder
    assert store(repo).read_bytes(hash_bytes(b"png bytes")) == b"png bytes"


def test_large_files_are_content_addressed_with_a_note(repo: Path, cli) -> None:
    (repo / "gitexp.yaml").write_text("large_file_threshold: 1KiB\n")
    commit_all(repo, "small threshold")
    big = os.urandom(4096)
    result = cli("run", "-n", "big", "--", "python", "-c", f"open('big.bin','wb').write({big!r})")
    assert result.code == 0, result.err
    assert "'big.bin' (4.0 KiB) is over large_file_threshold" in result.err
    blobs = tree_blobs(repo, "refs/experiments/big")
    assert "big.bin" not in blobs and "big.bin.gitexp" in blobs
    assert store(repo).read_bytes(hash_bytes(big)) == big


def test_diff_lists_artifacts_from_pointers(repo: Path, cli) -> None:
    (repo / "gitexp.yaml").write_text(CONFIG)
    (repo / "train.py").write_text(WRITE_MODEL)
    commit_all(repo, "train writes a model")
    cli("run", "-n", "a", "-S", "train.lr=0.1")
    cli("run", "-n", "b", "-S", "train.lr=0.2")
    diff = json.loads(cli("diff", "a", "b", "--json").out)
    models = [pointer_of(repo, name) for name in ("a", "b")]
    assert diff["artifacts"] == [{"path": "model.pkl", "old": models[0], "new": models[1]}]


def pointer_of(repo: Path, name: str) -> str:
    text = tree_blobs(repo, f"refs/experiments/{name}")["model.pkl.gitexp"].decode()
    return text.split("hash: ")[1].split("\n")[0]


def test_apply_restores_data_and_outs(repo: Path, cli) -> None:
    (repo / "gitexp.yaml").write_text(CONFIG)
    (repo / "train.py").write_text(WRITE_MODEL)
    (repo / ".gitignore").write_text("metrics.json\n/model.pkl\n")
    files = make_tree(repo, 4)
    cli("add", "data")
    commit_all(repo, "data and a model")
    assert cli("run", "-n", "lr1", "-S", "train.lr=0.1").code == 0
    model_1 = (repo / "model.pkl").read_bytes()
    (repo / "data/part0/f0.csv").write_bytes(b"new version")
    cli("add", "data")
    commit_all(repo, "data v2")
    assert cli("run", "-n", "lr2", "-S", "train.lr=0.2").code == 0
    assert (repo / "model.pkl").read_bytes() != model_1
    # 'lr1' was run before "data v2": applying it takes that commit back, so only with --force
    refused = cli("apply", "lr1")
    assert refused.code == 1 and "committed since its baseline: data.gitexp" in refused.err
    result = cli("apply", "--force", "lr1")
    assert result.code == 0, result.err
    assert "checked out the experiment's data data" in result.err
    assert (repo / "model.pkl").read_bytes() == model_1
    assert (repo / "data/part0/f0.csv").read_bytes() == files["data/part0/f0.csv"]
    assert git(repo, "check-ignore", "model.pkl").strip() == "model.pkl"
    assert [s.state for s in Repo(repo).status().data] == ["unchanged", "unchanged"]


def test_apply_never_overwrites_data_only_the_workspace_holds(repo: Path, cli) -> None:
    (repo / "gitexp.yaml").write_text(CONFIG)
    (repo / "train.py").write_text(WRITE_MODEL)
    commit_all(repo, "a model")
    assert cli("run", "-n", "m", "-S", "train.lr=0.5").code == 0
    (repo / "model.pkl").write_bytes(b"hand tuned, nowhere else")
    with pytest.raises(UncommittedChangesError) as info:
        Repo(repo).apply("m")
    assert info.value.message == "apply would overwrite data that is not in the cache: model.pkl"
    assert (repo / "model.pkl").read_bytes() == b"hand tuned, nowhere else"
    assert not (repo / "model.pkl.gitexp").exists()
    forced = cli("apply", "m", "--force")
    assert forced.code == 0, forced.err
    mine = hash_bytes(b"hand tuned, nowhere else")
    assert f"stored your version of model.pkl in the cache as {mine}" in forced.err
    assert store(repo).read_bytes(mine) == b"hand tuned, nowhere else"
    assert pointer(repo, "model.pkl").oid == hash_bytes((repo / "model.pkl").read_bytes())
