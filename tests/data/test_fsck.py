from __future__ import annotations

import json
import os
from pathlib import Path

from gitexp.api import Repo
from gitexp.core.hashing import hash_bytes
from tests.data.datahelp import make_tree, pointer, store


def test_fsck_clean_cache(repo: Path, cli) -> None:
    make_tree(repo, 5)
    Repo(repo).add(["data"])
    result = cli("fsck")
    assert result.code == 0
    assert result.err.strip() == "checked 6 objects: 0 corrupt, 0 data paths with missing objects"


def test_fsck_moves_corrupt_objects_aside_and_fails(repo: Path, cli) -> None:
    make_tree(repo, 5)
    Repo(repo).add(["data"])
    victim = hash_bytes((repo / "data/part0/f0.csv").read_bytes())
    path = store(repo).path(victim)
    os.chmod(path, 0o644)
    path.write_bytes(b"bit rot")
    result = cli("fsck", "--json")
    assert result.code == 1
    doc = json.loads(result.out)
    assert [c["hash"] for c in doc["corrupt"]] == [str(victim)]
    assert Path(doc["corrupt"][0]["moved_to"]).read_bytes() == b"bit rot"
    assert doc["missing"] == [{"path": "data", "objects": [str(victim)]}]
    assert f"corrupt: {victim}" in result.err
    assert "error: the cache is not complete; run `gitexp pull`" in result.err
    assert not store(repo).has(victim)
    assert Repo(repo).status().data[0].state == "unchanged"


def test_fsck_reports_missing_objects(repo: Path, cli) -> None:
    (repo / "m.bin").write_bytes(b"m")
    Repo(repo).add(["m.bin"])
    store(repo).remove(pointer(repo, "m.bin").oid)
    result = cli("fsck")
    assert result.code == 1
    assert "missing: m.bin needs 1 objects not in the cache" in result.err
