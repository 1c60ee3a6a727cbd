"""The story: clone A runs experiments and pushes; clone B pulls, shows, diffs, applies."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from gitexp.cache.objects import ObjectStore
from gitexp.core.pointer import parse_pointer
from tests.conftest import git
from tests.data.syncsetup import clone, make_origin, make_project
from tests.servers import S3_KEY, S3_SECRET, make_bucket, start_git_daemon
from tests.servers import seaweedfs as seaweedfs  # the fixture
from tests.servers import sshd as sshd  # the fixture


def cache(root: Path) -> ObjectStore:
    return ObjectStore(root / ".git" / "gitexp" / "cache")


def test_two_clones_share_experiments_and_data(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    origin = make_origin(tmp_path)
    story(tmp_path, cli, monkeypatch, origin, "../storage")


def test_story_over_git_daemon_and_s3(tmp_path: Path, cli, monkeypatch, seaweedfs) -> None:
    base = tmp_path / "served"
    base.mkdir()
    make_origin(base)
    folder = tmp_path / "daemon"
    folder.mkdir()
    daemon = start_git_daemon(folder, base)
    try:
        make_bucket(seaweedfs, "story")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
        storage = f"\n    url: s3://story/store\n    endpoint_url: {seaweedfs.url}"
        story(tmp_path, cli, monkeypatch, f"{daemon.url}/origin.git", storage)
    finally:
        daemon.stop()


def test_story_over_ssh_and_sftp(tmp_path: Path, cli, monkeypatch, sshd) -> None:
    make_origin(tmp_path)
    monkeypatch.setenv("GIT_SSH_COMMAND", str(sshd.extra["git_ssh"]))
    login = f"ssh://{sshd.extra['user']}@{sshd.url}"
    storage = (
        f"\n    url: {login}{tmp_path}/sftp-store\n    key_file: {sshd.extra['key']}"
        f"\n    known_hosts: {sshd.extra['known_hosts']}"
    )
    story(tmp_path, cli, monkeypatch, f"{login}{tmp_path}/origin.git", storage)


def story(tmp_path: Path, cli, monkeypatch, origin: Path | str, storage: str) -> None:
    a = make_project(tmp_path / "a", origin, storage)
    monkeypatch.chdir(a)
    for lr in ("0.1", "0.2", "0.3"):
        assert cli("run", "-n", f"lr-{lr[-1]}", "-S", f"train.lr={lr}").code == 0
    model_a = {n: (a / "model.pkl").read_bytes() for n in ("lr-3",)}

    pushed = cli("push", "origin", "--all")
    assert pushed.code == 0, pushed.err
    assert "pushed 3 experiment(s)" in pushed.err
    again = cli("push", "origin", "--all", "--json")
    assert again.code == 0
    doc = orjson.loads(again.out)
    assert doc["refs"]["moved"] == [] and doc["objects"]["transferred"] == 0

    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    pulled = cli("pull", "--all", "--json")
    assert pulled.code == 0, pulled.err
    assert sorted(orjson.loads(pulled.out)["refs"]["moved"]) == ["lr-1", "lr-2", "lr-3"]

    shown = cli("show", "--json")
    rows = {r["name"]: r for r in orjson.loads(shown.out)["experiments"]}
    assert sorted(rows) == ["lr-1", "lr-2", "lr-3"]
    assert rows["lr-2"]["metrics"]["metrics.json"]["acc"] == pytest.approx(0.7)
    diff = cli("diff", "lr-1", "lr-3", "--json")
    assert orjson.loads(diff.out)["params"]["params.yaml"]["train.lr"] == {"old": 0.1, "new": 0.3}

    assert cli("apply", "lr-3").code == 0
    pointer = parse_pointer((b / "model.pkl.gitexp").read_bytes(), "model.pkl.gitexp")
    assert cache(b).read_bytes(pointer.oid) == model_a["lr-3"]
    for data in ("data/train.csv.gitexp", "data/images.gitexp"):
        p = parse_pointer((b / data).read_bytes(), data)
        assert cache(b).has(p.oid)

    # gc on A (its cache emptied) does not break B's pulls: the storage remote has it all
    shutil.rmtree(a / ".git" / "gitexp" / "cache")
    shutil.rmtree(b / ".git" / "gitexp" / "cache")
    again = cli("pull", "lr-1", "--json")
    assert again.code == 0, again.err
    assert orjson.loads(again.out)["objects"]["transferred"] > 0
    lr1 = git(b, "rev-parse", "refs/experiments/lr-1").strip()
    tree_pointer = git(b, "show", f"{lr1}:model.pkl.gitexp")
    assert cache(b).has(parse_pointer(tree_pointer.encode(), "model.pkl.gitexp").oid)
