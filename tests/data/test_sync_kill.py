"""Interrupted transfers: the server or the client dies mid-way; the same command completes.

Nothing partial is ever visible: the remote lists only whole objects, the cache holds
only verified ones.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitexp.cache.objects import TMP_PREFIX
from gitexp.core.hashing import hash_bytes, oid_from_relpath
from gitexp.storage.backend import TMP_MARK
from tests.conftest import commit_all, git
from tests.data.syncsetup import clone, loose_remote, make_origin, make_project, track
from tests.servers import S3_KEY, S3_SECRET, make_bucket, start_seaweedfs

pytestmark = pytest.mark.slow


def gitexp_proc(cwd: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gitexp", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gitexp", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def add_many(root: Path, count: int, size: int) -> None:
    folder = root / "data" / "many"
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"f{i:04d}.bin").write_bytes(os.urandom(size))
    track(root, "data/many")
    commit_all(root, "many files")


def wait_for(check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def check_cache(root: Path) -> int:
    cache = root / ".git" / "gitexp" / "cache"
    count = 0
    for path in (cache / "blake3").rglob("*"):
        if path.is_file() and not path.name.startswith(TMP_PREFIX):  # a write cut short
            oid = oid_from_relpath(path.relative_to(cache).as_posix())
            assert oid is not None and hash_bytes(path.read_bytes()) == oid, path
            count += 1
    return count


def check_local_remote(storage: Path) -> int:
    count = 0
    for path in (storage / "blake3").rglob("*"):
        if path.is_file() and TMP_MARK not in path.name:  # an upload cut short: never listed
            oid = oid_from_relpath(path.relative_to(storage).as_posix())
            assert oid is not None, f"partial upload visible: {path}"
            assert hash_bytes(path.read_bytes()) == oid
            count += 1
    return count


def test_killed_push_and_pull_complete_when_run_again(tmp_path: Path, monkeypatch) -> None:
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    add_many(a, 400, 20_000)
    storage = tmp_path / "storage"
    loose_remote(storage)  # layout 2 has its own kill tests (tests/storage/test_kill_packs.py)
    proc = gitexp_proc(a, "push", "-j", "1")
    wait_for(
        lambda: (storage / "blake3").exists() and len(list((storage / "blake3").rglob("*"))) > 40
    )
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    partial = check_local_remote(storage)
    assert 0 < partial < 423
    done = run(a, "push")
    assert done.returncode == 0, done.stderr
    assert check_local_remote(storage) == 423
    git(a, "push", "-q", "origin", "main")

    b = clone(origin, tmp_path / "b")
    proc = gitexp_proc(b, "pull", "-j", "1")
    cache = b / ".git" / "gitexp" / "cache" / "blake3"
    wait_for(lambda: cache.exists() and len(list(cache.rglob("*"))) > 40)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert 0 < check_cache(b) < 423
    done = run(b, "pull")
    assert done.returncode == 0, done.stderr
    assert check_cache(b) == 423
    again = run(b, "pull", "--json")
    assert '"transferred": 0' in again.stdout


def test_server_killed_mid_push_and_mid_pull(tmp_path: Path, monkeypatch) -> None:
    server_dir = tmp_path / "seaweed"
    server = start_seaweedfs(server_dir)
    try:
        make_bucket(server, "killed")
        import s3fs

        fs = s3fs.S3FileSystem(key=S3_KEY, secret=S3_SECRET, endpoint_url=server.url)
        fs.pipe("killed/store/gitexp-remote.json", b'{"layout": 1}')  # one request per object
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
        origin = make_origin(tmp_path)
        storage = f"\n    url: s3://killed/store\n    endpoint_url: {server.url}"
        a = make_project(tmp_path / "a", origin, storage)
        add_many(a, 2000, 20_000)
        total = check_cache(a)
        git(a, "push", "-q", "origin", "main")
        proc = gitexp_proc(a, "push", "-j", "2")
        wait_for(lambda: len(fs.find("killed/store/blake3", refresh=True)) > 50)
        server.kill()  # once the push is under way, not at a guessed moment
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        assert b"did not answer" in err, err
        server = start_seaweedfs(server_dir, server.extra["ports"])  # type: ignore[arg-type]
        done = run(a, "push")
        assert done.returncode == 0, done.stderr

        b = clone(origin, tmp_path / "b")
        proc = gitexp_proc(b, "pull", "-j", "2")
        cache = b / ".git" / "gitexp" / "cache" / "blake3"
        wait_for(lambda: cache.exists() and len(list(cache.rglob("*"))) > 50)
        server.kill()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1, err
        assert b"did not answer" in err, err
        assert 0 < check_cache(b) < total
        server = start_seaweedfs(server_dir, server.extra["ports"])  # type: ignore[arg-type]
        done = run(b, "pull")
        assert done.returncode == 0, done.stderr
        assert check_cache(b) == total
    finally:
        server.stop()
