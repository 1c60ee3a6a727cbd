"""Crafted pointers and manifests: refused with a clear error, nothing written outside."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import orjson
import pytest

from gitexp.core.hashing import Oid, hash_bytes
from gitexp.core.pointer import Pointer
from tests.conftest import commit_all
from tests.data.datahelp import store


def crafted_folder(repo: Path, entries: list[dict[str, object]]) -> None:
    """A pointer ``evil.gitexp`` to a manifest with these entries (objects stored)."""
    objects = store(repo)
    objects.put_bytes(b"payload")
    manifest = objects.put_bytes(orjson.dumps({"version": 1, "entries": entries}))
    size = sum(int(e["size"]) for e in entries)  # type: ignore[call-overload]
    (repo / "evil.gitexp").write_bytes(Pointer(manifest, size, "dir", len(entries)).dump())


def entry(path: str) -> dict[str, object]:
    return {"path": path, "hash": str(hash_bytes(b"payload")), "size": 7, "exec": False}


@pytest.mark.parametrize(
    "path", ["/tmp/gitexp-evil-abs", "../gitexp-evil-up", "a/../../gitexp-evil"]
)
def test_manifest_paths_that_escape_are_refused(repo: Path, cli, path: str, tmp_path: Path) -> None:
    crafted_folder(repo, [entry(path)])
    result = cli("checkout")
    assert result.code == 1
    assert f"unsafe path {path!r} (absolute, empty or with '..')" in result.err
    assert not (repo / "evil").exists()
    assert not (repo.parent / "gitexp-evil-up").exists()
    assert not Path("/tmp/gitexp-evil-abs").exists()


def test_manifest_written_through_a_symlink_out_of_the_repository(
    repo: Path, cli, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    crafted_folder(repo, [entry("ok.txt"), entry("sub/escape.txt")])
    (repo / "evil").mkdir()
    os.symlink(outside, repo / "evil" / "sub")
    result = cli("checkout", "--force")
    assert result.code == 1
    assert "'evil/sub' is a symbolic link or special file; gitexp will not write" in result.err
    assert list(outside.iterdir()) == []
    assert not (repo / "evil" / "ok.txt").exists()


def test_data_folder_reached_through_a_symlink(repo: Path, cli, tmp_path: Path) -> None:
    (repo / "sub").mkdir()
    (repo / "sub" / "x.bin").write_bytes(b"payload")
    assert cli("add", "sub/x.bin").code == 0
    commit_all(repo, "track sub/x.bin")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.rename(repo / "sub" / "x.bin.gitexp", outside / "x.bin.gitexp")
    shutil.rmtree(repo / "sub")
    os.symlink(outside, repo / "sub")
    result = cli("checkout")
    assert result.code == 1
    assert "'sub/x.bin' leads outside the repository through a symbolic link" in result.err
    assert sorted(p.name for p in outside.iterdir()) == ["x.bin.gitexp"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\nhash: [not yaml\n", "error: 'p.bin.gitexp'"),
        (
            "version: 1\nhash: sha1:" + "a" * 40 + "\nsize: 1\n",
            "p.bin.gitexp: hash 'sha1:" + "a" * 40 + "' is not a blake3 hash",
        ),
        (
            "version: 1\nhash: blake3:abc\nsize: 1\n",
            "p.bin.gitexp: hash 'blake3:abc' is not a blake3 hash (blake3: and 64",
        ),
    ],
)
def test_bad_pointer_files(repo: Path, cli, text: str, message: str) -> None:
    (repo / "p.bin.gitexp").write_text(text)
    for command in (["status"], ["checkout"], ["gc"]):
        result = cli(*command)
        assert result.code == 1, command
        assert message in result.err


def test_pointer_size_that_does_not_match(repo: Path, cli) -> None:
    (repo / "s.bin").write_bytes(b"12345")
    assert cli("add", "s.bin").code == 0
    os.unlink(repo / "s.bin")
    oid = hash_bytes(b"12345")
    (repo / "s.bin.gitexp").write_bytes(Pointer(oid, 999).dump())
    result = cli("checkout")
    assert result.code == 1
    assert f"pointer 's.bin.gitexp' says 999 bytes, but its object {oid} has 5" in result.err
    assert not (repo / "s.bin").exists()


def test_folder_pointer_size_that_does_not_match(repo: Path, cli) -> None:
    crafted_folder(repo, [entry("a.txt")])
    pointer = Pointer(Oid((repo / "evil.gitexp").read_text().split("blake3:")[1][:64]), 8, "dir", 1)
    (repo / "evil.gitexp").write_bytes(pointer.dump())
    result = cli("checkout")
    assert result.code == 1
    assert "says 8 bytes in 1 files, its manifest lists 7 bytes in 1" in result.err
