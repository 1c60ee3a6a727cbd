"""``gitexp gc --remote NAME``: local gc's options and reachability, in two phases."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import orjson

from tests.conftest import commit_all
from tests.data.syncsetup import make_origin, make_project


def age_plans(storage: Path, seconds: float) -> None:
    for plan in (storage / "gc").glob("plan-*.json"):
        value = json.loads(plan.read_bytes())
        value["created"] -= seconds
        os.chmod(plan, 0o644)
        plan.write_text(json.dumps(value))


def test_gc_remote_marks_then_removes_and_the_data_still_pulls(
    tmp_path: Path, monkeypatch, cli
) -> None:
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    monkeypatch.chdir(a)
    assert cli("push").code == 0
    (a / "data" / "extra.bin").write_bytes(os.urandom(200_000))
    assert cli("add", "data/extra.bin").code == 0
    assert cli("push").code == 0  # a pack of its own
    (a / "data" / "extra.bin").unlink()
    (a / "data" / "extra.bin.gitexp").unlink()
    commit_all(a, "no extra data")
    storage = tmp_path / "storage"
    dry = orjson.loads(cli("gc", "--remote", "shared", "-w", "--dry-run", "--json").out)
    assert dry["removed"] == [] and dry["planned"] == 2 and not (storage / "gc").exists()
    first = orjson.loads(cli("gc", "--remote", "shared", "-w", "--json").out)
    assert first["removed"] == [] and first["planned"] == 2  # the extra pack and its index
    assert cli("gc", "--remote", "shared", "-w").code == 0
    age_plans(storage, 7200)
    late = cli("gc", "--remote", "shared", "-w", "--json")
    assert late.code == 0, late.err
    assert len(orjson.loads(late.out)["removed"]) == 2
    assert cli("fsck", "--remote", "shared").code == 0
    shutil.rmtree(a / ".git" / "gitexp" / "cache")
    assert cli("pull").code == 0
    assert cli("status").code == 0
