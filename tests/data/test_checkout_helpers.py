"""Checkout of a big folder with helper processes writing shares of its subfolders."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.cache import checkout, copier, links
from gitexp.core.hashing import hash_bytes
from tests.data.datahelp import store

FOLDERS = ["a", "b", "c", "d", "e"]


@pytest.fixture
def helped(repo: Path, monkeypatch: pytest.MonkeyPatch) -> list[copier.Helper]:
    """Helpers for a few files each, three writers; the helpers started so far.

    The 60 files of `make_data` are cut in path order: folders a and b (part) stay
    with the checkout, c (whole) goes to the first helper, e (whole) to the second.
    """
    monkeypatch.setattr(checkout, "HELPED_FILES", 4)
    (repo / ".git" / "gitexp").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "gitexp" / "config.yaml").write_text("jobs: 3\n")
    started: list[copier.Helper] = []

    class Counted(copier.Helper):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            started.append(self)

    monkeypatch.setattr(links, "Helper", Counted)
    return started


def make_data(repo: Path) -> dict[str, bytes]:
    files = {}
    for n in range(60):
        rel = f"data/{FOLDERS[n % 5]}/f{n}.bin"
        files[rel] = os.urandom(n * 37)  # one empty file, the rest up to 2 KiB
    for rel, content in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(content)
    os.chmod(repo / "data/b/f6.bin", 0o755)  # noqa: S103 - an executable data file
    assert Repo(repo).add(["data"])[0].files == 60
    return files


def test_helpers_write_their_shares_whole(repo: Path, helped: list[copier.Helper]) -> None:
    files = make_data(repo)
    Repo(repo).checkout()  # once, so every object is known intact
    shutil.rmtree(repo / "data")
    told: list[str] = []
    result = Repo(repo).checkout(on_file=lambda _path, file: told.append(file))
    assert result.written == ("data",) and result.files == 60
    assert len(helped) == 2 and all(h.outcome == ("done",) for h in helped)
    assert sum(len(h.rows) for h in helped) > 0
    assert sorted(told) == sorted(rel.removeprefix("data/") for rel in files)
    for rel, content in files.items():
        assert (repo / rel).read_bytes() == content
    assert os.stat(repo / "data/b/f6.bin").st_mode & stat.S_IXUSR
    assert not os.stat(repo / "data/b/f1.bin").st_mode & stat.S_IXUSR
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []
    assert Repo(repo).status().data[0].state == "unchanged"


def test_objects_not_known_intact_are_hashed_and_a_corrupt_one_stops_it(
    repo: Path, helped: list[copier.Helper]
) -> None:
    files = make_data(repo)
    Repo(repo).checkout()
    shutil.rmtree(repo / "data")
    victim = hash_bytes(files["data/e/f4.bin"])  # folder e: the last helper's share
    path = store(repo).path(victim)
    os.chmod(path, 0o644)
    path.write_bytes(b"rotten" + files["data/e/f4.bin"][6:])  # same size, new mtime
    with pytest.raises(Exception, match=f"cache object {victim} is corrupt"):
        Repo(repo).checkout()
    assert any(h.skipped for h in helped)  # the helper left it to the checkout itself
    assert not (repo / "data").exists()
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []
    path.write_bytes(files["data/e/f4.bin"])
    assert Repo(repo).checkout().files == 60
    assert (repo / "data/e/f4.bin").read_bytes() == files["data/e/f4.bin"]


def test_an_object_missing_from_a_helper_s_share(
    repo: Path, helped: list[copier.Helper], cli
) -> None:
    files = make_data(repo)
    shutil.rmtree(repo / "data")
    gone = hash_bytes(files["data/c/f2.bin"])  # folder c: the first helper's share
    store(repo).remove(gone)
    result = cli("checkout", "--json")
    assert result.code == 1
    assert json.loads(result.out)["missing"] == [{"path": "data", "objects": [str(gone)]}]
    assert helped and not (repo / "data").exists()
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []


def test_a_helper_that_dies_stops_the_checkout_and_leaves_nothing(
    repo: Path, helped: list[copier.Helper], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli
) -> None:
    make_data(repo)
    shutil.rmtree(repo / "data")
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'out of memory' >&2\nexit 1\n")
    broken.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(broken))
    result = cli("checkout")
    assert result.code == 1
    assert result.err.startswith(
        "error: a checkout helper process stopped (out of memory); nothing was changed"
    )
    assert "jobs: 1" in result.err
    assert not (repo / "data").exists()
    assert [p.name for p in repo.iterdir() if "gitexp-tmp" in p.name] == []


def test_a_helper_that_cannot_start_leaves_its_share_to_the_checkout(
    repo: Path, helped: list[copier.Helper], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = make_data(repo)
    shutil.rmtree(repo / "data")
    python = sys.executable
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert Repo(repo).checkout().files == 60
    assert helped == []
    for rel, content in files.items():
        assert (repo / rel).read_bytes() == content
    shutil.rmtree(repo / "data")
    monkeypatch.setattr(sys, "executable", python)
    monkeypatch.setattr(sys, "frozen", True, raising=False)  # a frozen application
    assert Repo(repo).checkout().files == 60
    assert helped == []
    shutil.rmtree(repo / "data")
    monkeypatch.delattr(sys, "frozen")
    assert Repo(repo).checkout().files == 60
    assert len(helped) == 2  # this Python, not frozen: helpers again


def test_a_flat_folder_is_shared_between_writers_too(
    repo: Path, helped: list[copier.Helper]
) -> None:
    files = {f"data/f{n:03d}.bin": os.urandom(100 + n) for n in range(40)}
    (repo / "data").mkdir()
    for rel, content in files.items():
        (repo / rel).write_bytes(content)
    Repo(repo).add(["data"])
    shutil.rmtree(repo / "data")
    assert Repo(repo).checkout().files == 40
    assert len(helped) == 2 and all(len(h.rows) == 13 or len(h.rows) == 14 for h in helped)
    assert sorted(os.listdir(repo / "data")) == sorted(rel[5:] for rel in files)
    for rel, content in files.items():
        assert (repo / rel).read_bytes() == content


PARENT = """
import json, sys, time
from gitexp.cache.copier import Helper
objects, folder, files = json.load(sys.stdin)
jobs = [(h, path, executable, tuple(stamp)) for h, path, executable, stamp in files]
helper = Helper(objects, folder, False, jobs, lambda path: None)
print(helper.proc.pid, flush=True)
time.sleep(60)
"""


def test_a_helper_stops_soon_after_its_checkout_is_killed(tmp_path: Path) -> None:
    import subprocess
    import time

    objects = tmp_path / "cache" / "blake3"
    (objects / "ab").mkdir(parents=True)
    (objects / "ab" / ("c" * 62)).write_bytes(os.urandom(2048))
    info = os.stat(objects / "ab" / ("c" * 62))
    stamp = [info.st_ino, info.st_size, info.st_mtime_ns]
    folder = tmp_path / "new"
    folder.mkdir()
    files = [["ab" + "c" * 62, f"f{n}", False, stamp] for n in range(50_000)]
    job = json.dumps([f"{objects}/", str(folder), files])
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdin is not None and parent.stdout is not None
    parent.stdin.write(job)
    parent.stdin.close()
    helper = int(parent.stdout.readline())
    deadline = time.monotonic() + 20
    while len(os.listdir(folder)) < 100 and time.monotonic() < deadline:
        time.sleep(0.005)
    parent.kill()
    parent.wait()
    parent.stdout.close()
    while time.monotonic() < deadline and _running(helper):
        time.sleep(0.01)
    assert not _running(helper), "the helper went on after its checkout was killed"
    assert 100 <= len(os.listdir(folder)) < 50_000


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting for its reaper is not)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False
