"""Link types from the local config: reflink (default, copy where unsupported), copy,
hardlink and symlink; linked files are read-only so the cache cannot be edited."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from gitexp.api import Repo
from gitexp.core.hashing import hash_bytes
from tests.data.datahelp import make_tree, store


def use_link(repo: Path, link: str) -> None:
    (repo / ".git" / "gitexp").mkdir(parents=True, exist_ok=True)
    (repo / ".git" / "gitexp" / "config.yaml").write_text(f"link: {link}\n")


@pytest.mark.parametrize("link", ["reflink", "copy"])
def test_copies_are_independent_of_the_cache(repo: Path, link: str) -> None:
    use_link(repo, link)
    (repo / "d.bin").write_bytes(b"content")
    Repo(repo).add(["d.bin"])
    os.unlink(repo / "d.bin")
    Repo(repo).checkout()
    info = os.stat(repo / "d.bin")
    assert info.st_ino != os.stat(store(repo).path(hash_bytes(b"content"))).st_ino
    assert info.st_mode & stat.S_IWUSR
    (repo / "d.bin").write_bytes(b"edited")
    assert store(repo).read_bytes(hash_bytes(b"content")) == b"content"


def test_hardlinks_share_the_object_and_are_read_only(repo: Path) -> None:
    use_link(repo, "hardlink")
    make_tree(repo, 4)
    os.chmod(repo / "data/part0/f2.csv", 0o755)  # noqa: S103 - an executable data file
    Repo(repo).add(["data"])
    shutil.rmtree(repo / "data")
    Repo(repo).checkout()
    plain = repo / "data/part0/f0.csv"
    oid = hash_bytes(plain.read_bytes())
    assert os.stat(plain).st_ino == os.stat(store(repo).path(oid)).st_ino
    assert stat.S_IMODE(os.stat(plain).st_mode) == 0o444
    executable = repo / "data/part0/f2.csv"
    assert stat.S_IMODE(os.stat(executable).st_mode) == 0o555
    assert Repo(repo).status().data[0].state == "unchanged"


def test_symlinks_point_into_the_cache(repo: Path) -> None:
    use_link(repo, "symlink")
    make_tree(repo, 3)
    (repo / "one.bin").write_bytes(b"single")
    Repo(repo).add(["data", "one.bin"])
    shutil.rmtree(repo / "data")
    os.unlink(repo / "one.bin")
    assert Repo(repo).checkout().files == 4
    assert os.readlink(repo / "one.bin") == str(store(repo).path(hash_bytes(b"single")))
    assert (repo / "data/part0/f0.csv").is_symlink()
    assert [s.state for s in Repo(repo).status().data] == ["unchanged", "unchanged"]
    assert Repo(repo).checkout().written == ()


def test_bad_link_type_is_a_config_error(repo: Path, cli) -> None:
    use_link(repo, "teleport")
    result = cli("status")
    assert result.code == 1
    assert "'link' is 'teleport'" in result.err
    assert "use one of: reflink, copy, hardlink, symlink" in result.err
