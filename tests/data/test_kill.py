"""A killed ``add`` or ``checkout`` (SIGKILL, a real process) leaves no partial object
in the cache, and the same command run again completes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.core.hashing import hash_bytes
from tests.data.datahelp import cache_is_sound, pointer, store

pytestmark = pytest.mark.slow


def start(repo: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "gitexp", *args],
        cwd=repo,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], limit: float = 30) -> bool:
    """SIGKILL ``proc`` as soon as ``ready()``; False if it finished first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    raise AssertionError("the command never reached the point to kill it at")


def tmp_objects(repo: Path) -> list[Path]:
    folder = repo / ".git" / "gitexp" / "cache" / "tmp"
    try:
        return [p for p in folder.iterdir() if p.stat().st_size > 0]
    except FileNotFoundError:
        return []


def many_files(repo: Path, count: int) -> None:
    for number in range(count):
        folder = repo / "data" / f"d{number % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{number}.bin").write_bytes(number.to_bytes(4, "big") * 1024)


def test_killed_add_of_a_big_file(repo: Path) -> None:
    data = os.urandom(1 << 20) * 160
    (repo / "big.bin").write_bytes(data)
    killed = kill_when(start(repo, "add", "big.bin"), lambda: bool(tmp_objects(repo)))
    assert killed, "add finished before it could be killed"
    assert cache_is_sound(repo) == []
    assert not store(repo).has(hash_bytes(data))
    assert not (repo / "big.bin.gitexp").exists()
    assert (
        subprocess.run([sys.executable, "-m", "gitexp", "add", "big.bin"], cwd=repo).returncode == 0
    )
    assert pointer(repo, "big.bin").oid == hash_bytes(data)
    assert store(repo).path(hash_bytes(data)).stat().st_size == len(data)
    assert cache_is_sound(repo) == []


def test_killed_add_of_many_files(repo: Path) -> None:
    many_files(repo, 4000)
    objects = repo / ".git" / "gitexp" / "cache" / "blake3"

    def some_stored() -> bool:
        return objects.is_dir() and sum(1 for _ in objects.iterdir()) > 50

    assert kill_when(start(repo, "add", "data"), some_stored)
    assert cache_is_sound(repo) == []
    assert not (repo / "data.gitexp").exists()
    assert subprocess.run([sys.executable, "-m", "gitexp", "add", "data"], cwd=repo).returncode == 0
    assert pointer(repo, "data").files == 4000
    assert Repo(repo).status().data[0].state == "unchanged"
    assert cache_is_sound(repo) == []


def test_killed_checkout_of_a_folder(repo: Path) -> None:
    many_files(repo, 4000)
    Repo(repo).add(["data"])
    shutil.rmtree(repo / "data")

    def building() -> bool:
        return any(p.name.startswith(".data.gitexp-tmp-") for p in repo.iterdir())

    assert kill_when(start(repo, "checkout"), building)
    assert not (repo / "data").exists()  # all or nothing: the folder is swapped in at the end
    assert cache_is_sound(repo) == []
    done = subprocess.run([sys.executable, "-m", "gitexp", "checkout"], cwd=repo)
    assert done.returncode == 0
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []
    assert Repo(repo).status().to_json()["data"] == [
        {"path": "data", "state": "unchanged", "changed": []}
    ]


def test_killed_checkout_of_a_big_file(repo: Path) -> None:
    data = os.urandom(1 << 20) * 192
    (repo / "big.bin").write_bytes(data)
    Repo(repo).add(["big.bin"])
    (repo / "big.bin").write_bytes(b"older version")
    Repo(repo).add(["big.bin"])
    (repo / "big.bin.gitexp").write_bytes(
        f"version: 1\nhash: {hash_bytes(data)}\nsize: {len(data)}\n".encode()
    )
    shutil.rmtree(repo / ".git" / "gitexp" / "index")  # so the object is verified while copied

    def copying() -> bool:
        return any(p.name.startswith(".big.bin.gitexp-tmp-") for p in repo.iterdir())

    killed = kill_when(start(repo, "checkout"), copying)
    assert (repo / "big.bin").read_bytes() in (b"older version", data)
    if killed:
        assert (repo / "big.bin").read_bytes() == b"older version"
    assert subprocess.run([sys.executable, "-m", "gitexp", "checkout"], cwd=repo).returncode == 0
    assert (repo / "big.bin").read_bytes() == data
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []
