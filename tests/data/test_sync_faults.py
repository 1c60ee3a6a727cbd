"""Bad input and faults for push and pull: each one a clear message, nothing half-done."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import orjson
import pytest

from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import hash_bytes, oid_from_relpath
from gitexp.core.pointer import parse_pointer
from gitexp.core.remotes import RemoteConfig
from gitexp.storage.fs import FsspecBackend
from gitexp.storage.open import open_backend
from gitexp.storage.retry import RetryingBackend
from tests.conftest import git
from tests.data.syncsetup import clone, loose_remote, make_origin, make_project
from tests.servers import S3_KEY, S3_SECRET, free_port, make_bucket, start_http
from tests.servers import seaweedfs as seaweedfs  # the fixture


@pytest.fixture
def shared(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """Clone A with one experiment, pushed with its data to a local layout-1 storage remote."""
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    loose_remote(tmp_path / "storage")  # objects as files, to remove or damage one by one
    monkeypatch.chdir(a)
    assert cli("run", "-n", "exp-1", "-S", "train.lr=0.1").code == 0
    result = cli("push", "exp-1")
    assert result.code == 0, result.err
    return a, origin


def set_remote(root: Path, body: str) -> None:
    text = (root / "gitexp.yaml").read_text().split("remotes:")[0]
    (root / "gitexp.yaml").write_text(text + "remotes:\n" + body)


def test_unknown_storage_remote(shared, cli) -> None:
    result = cli("push", "-r", "nope")
    assert result.code == 1
    assert "unknown storage remote 'nope'" in result.err
    assert "known remotes: shared" in result.err


def test_unknown_git_remote(shared, cli) -> None:
    result = cli("push", "nowhere/else", "exp-1")
    assert result.code == 1
    assert "is not a git remote" in result.err or "failed" in result.err


def test_unreachable_endpoint_fails_fast_with_a_clear_message(shared, cli, monkeypatch) -> None:
    a, _ = shared
    set_remote(
        a, f"  shared:\n    url: s3://bucket/x\n    endpoint_url: http://127.0.0.1:{free_port()}\n"
    )
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    import time

    start = time.monotonic()
    result = cli("push")
    assert result.code == 1
    assert time.monotonic() - start < 30
    assert "did not answer" in result.err and "tried 3 times" in result.err
    assert "Traceback" not in result.err


def s3_project(a: Path, server, bucket: str = "faults") -> None:
    set_remote(a, f"  shared:\n    url: s3://{bucket}/store\n    endpoint_url: {server.url}\n")


def test_wrong_credentials_are_named_and_never_printed(shared, cli, seaweedfs, monkeypatch) -> None:
    a, _ = shared
    make_bucket(seaweedfs, "creds")
    s3_project(a, seaweedfs, "creds")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-wrong-secret-value")
    result = cli("push")
    assert result.code == 1
    assert "refused access" in result.err and "credentials" in result.err
    assert "a-wrong-secret-value" not in result.err + result.out


def test_missing_bucket(shared, cli, seaweedfs, monkeypatch, tmp_path) -> None:
    a, origin = shared
    s3_project(a, seaweedfs, "no-such-bucket")
    git(a, "commit", "-qam", "s3 remote")
    git(a, "push", "-q", "origin", "main")
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    result = cli("pull")
    assert result.code == 1
    assert "bucket is missing" in result.err


def test_a_server_that_does_not_answer_is_not_a_missing_bucket(tmp_path: Path) -> None:
    """A listing finds nothing, then the server dies: the bucket check can't tell, says so.

    s3fs's ``exists`` calls a bucket it cannot reach missing; the next request then
    reports the server not answering, rather than a bucket to create.
    """
    remote = RemoteConfig(
        "t",
        "s3://somebucket/store",
        {"endpoint_url": f"http://127.0.0.1:{free_port()}", "key": S3_KEY, "secret": S3_SECRET,
         "retries": 0},
    )  # fmt: skip
    backend = open_backend(remote, tmp_path)
    assert isinstance(backend, RetryingBackend) and isinstance(backend.inner, FsspecBackend)
    assert backend.inner._container_exists() is True  # cannot tell: not "missing"


def test_push_to_a_read_only_remote(shared, cli, tmp_path) -> None:
    a, _ = shared
    folder = tmp_path / "httpd"
    folder.mkdir()
    server = start_http(folder, tmp_path / "storage")
    try:
        set_remote(a, f"  shared: {server.url}\n")
        result = cli("push")
        assert result.code == 1
        assert "read-only" in result.err
        shutil.rmtree(a / ".git" / "gitexp" / "cache")
        pulled = cli("pull", "--json")
        assert pulled.code == 0, pulled.err
        assert orjson.loads(pulled.out)["objects"]["transferred"] > 0
    finally:
        server.stop()


def test_missing_extra_names_the_pip_install(shared, cli, monkeypatch) -> None:
    a, _ = shared
    set_remote(a, "  shared: gs://bucket/x\n")
    monkeypatch.setitem(sys.modules, "gcsfs", None)
    result = cli("push")
    assert result.code == 1
    assert "pip install 'gitexp[gs]'" in result.err


def objects_on(storage: Path) -> list[Path]:
    return [p for p in (storage / "blake3").rglob("*") if p.is_file()]


def test_object_missing_on_the_remote_names_it_and_who_needs_it(
    shared, cli, tmp_path, monkeypatch
) -> None:
    a, origin = shared
    model = parse_pointer(git(a, "show", "refs/experiments/exp-1:model.pkl.gitexp").encode(), "m")
    (tmp_path / "storage" / model.oid.relpath).unlink()
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    result = cli("pull", "exp-1")
    assert result.code == 1
    assert "missing on" in result.err
    assert "model.pkl" in result.err and "experiment 'exp-1'" in result.err
    assert str(model.oid) in result.err
    assert git(b, "rev-parse", "refs/experiments/exp-1").strip()  # refs still arrived


def test_corrupt_object_on_the_remote_is_refused(shared, cli, tmp_path, monkeypatch) -> None:
    a, origin = shared
    target = parse_pointer((a / "data" / "train.csv.gitexp").read_bytes(), "p")
    path = tmp_path / "storage" / target.oid.relpath
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered" + path.read_bytes()[8:])
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    result = cli("pull", "--json")
    assert result.code == 1
    assert "do not match their hash" in result.err and "data/train.csv" in result.err
    assert not ObjectStore(b / ".git" / "gitexp" / "cache").has(target.oid)


def test_same_name_different_commits_is_a_conflict_unless_forced(
    shared, cli, tmp_path, monkeypatch
) -> None:
    _, origin = shared
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    assert cli("run", "-n", "exp-1", "-S", "train.lr=0.5").code == 0
    mine = git(b, "rev-parse", "refs/experiments/exp-1").strip()
    pushed = cli("push", "exp-1")
    assert pushed.code == 1
    assert "at other commits: exp-1" in pushed.err and "--force" in pushed.err
    pulled = cli("pull", "exp-1")
    assert pulled.code == 1 and "exp-1" in pulled.err
    assert git(b, "rev-parse", "refs/experiments/exp-1").strip() == mine
    forced = cli("push", "--force", "exp-1")
    assert forced.code == 0, forced.err
    assert git(origin, "rev-parse", "refs/experiments/exp-1").strip() == mine


def test_pull_of_an_unknown_experiment(shared, cli, tmp_path, monkeypatch) -> None:
    _, origin = shared
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    result = cli("pull", "origin", "nope")
    assert result.code == 1
    assert "not on git remote 'origin': nope" in result.err


def test_pull_no_data_moves_refs_only(shared, cli, tmp_path, monkeypatch) -> None:
    _, origin = shared
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    result = cli("pull", "--all", "--no-data", "--json")
    assert result.code == 0
    doc = orjson.loads(result.out)
    assert doc["refs"]["moved"] == ["exp-1"] and doc["remote"] is None
    assert not (b / ".git" / "gitexp" / "cache").exists()
    shown = orjson.loads(cli("show", "--json").out)["experiments"]
    assert [e["name"] for e in shown] == ["exp-1"]


def test_every_pulled_object_is_verified(shared, cli, tmp_path, monkeypatch) -> None:
    _, origin = shared
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    assert cli("pull", "--all").code == 0
    cache = b / ".git" / "gitexp" / "cache"
    stored = [p for p in (cache / "blake3").rglob("*") if p.is_file()]
    assert stored
    for path in stored:
        oid = oid_from_relpath(path.relative_to(cache).as_posix())
        assert oid is not None and hash_bytes(path.read_bytes()) == oid
