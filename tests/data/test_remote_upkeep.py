"""``fsck --remote`` names every bad pack, index or object; ``remote upgrade`` moves a remote to layout 2."""

from __future__ import annotations

import json
import os
from pathlib import Path

import orjson
import pytest

from gitexp.storage.layout import MARKER
from tests.data.syncsetup import clone, make_origin, make_project


def project_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli, *, loose: bool) -> Path:
    origin = make_origin(tmp_path)
    storage = tmp_path / "storage"
    if loose:  # a remote that holds objects already is layout 1
        (storage / "blake3" / "00").mkdir(parents=True)
    a = make_project(tmp_path / "a", origin, "../storage")
    monkeypatch.chdir(a)
    (a / "data" / "big.bin").write_bytes(os.urandom((1 << 20) + 100))  # stays loose
    assert cli("add", "data/big.bin").code == 0
    assert cli("push").code == 0
    return storage


def rewrite(path: Path, change) -> None:
    os.chmod(path, 0o644)
    path.write_bytes(change(path.read_bytes()))


def test_fsck_of_a_good_remote_passes(tmp_path: Path, monkeypatch, cli) -> None:
    project_with(tmp_path, monkeypatch, cli, loose=False)
    result = cli("fsck", "--remote", "shared", "--json")
    assert result.code == 0, result.err
    doc = orjson.loads(result.out)
    assert doc["layout"] == 2 and doc["packs"] == 2 and doc["objects"] == 23 and not doc["faults"]


def test_fsck_names_each_bad_pack_index_and_object(tmp_path: Path, monkeypatch, cli) -> None:
    storage = project_with(tmp_path, monkeypatch, cli, loose=False)
    packs = sorted((storage / "packs").rglob("*.pack"))
    rewrite(packs[0], lambda d: d[:50] + bytes([d[50] ^ 1]) + d[51:])
    rewrite(packs[1].with_suffix(".idx"), lambda d: b"[" + d)
    big = next(p for p in (storage / "blake3").rglob("*") if p.is_file())
    rewrite(big, lambda d: d[:-1] + bytes([d[-1] ^ 1]))
    result = cli("fsck", "--remote", "shared")
    assert result.code == 1
    assert f"{packs[0].name}: object blake3:" in result.err
    assert f"{packs[0].name}: pack's bytes do not hash to its name" in result.err
    assert f"{packs[1].with_suffix('.idx').name}: index is damaged" in result.err
    assert f"{big.parent.name}/{big.name}: object does not match its hash" in result.err


def test_fsck_refuses_a_remote_of_an_unknown_layout(tmp_path: Path, monkeypatch, cli) -> None:
    storage = project_with(tmp_path, monkeypatch, cli, loose=False)
    rewrite(storage / MARKER, lambda _: b'{"layout": 3}')
    result = cli("fsck", "--remote", "shared")
    assert result.code == 1 and "says layout 3" in result.err


def test_upgrade_packs_a_layout_1_remote_once_and_it_still_pulls(
    tmp_path: Path, monkeypatch, cli
) -> None:
    storage = project_with(tmp_path, monkeypatch, cli, loose=True)
    assert not (storage / MARKER).exists()
    loose = [p for p in (storage / "blake3").rglob("*") if p.is_file()]
    assert len(loose) == 23
    result = cli("remote", "upgrade", "shared")
    assert result.code == 0, result.err
    assert "now layout 2 (22 objects packed)" in result.err  # the 300 kB file too; not the 1 MiB+
    assert json.loads((storage / MARKER).read_bytes()) == {"layout": 2}
    left = [p for p in (storage / "blake3").rglob("*") if p.is_file()]
    assert len(left) == 1
    again = cli("remote", "upgrade", "shared")
    assert again.code == 0 and "already layout 2" in again.err
    assert cli("fsck", "--remote", "shared").code == 0
    b = clone(tmp_path / "origin.git", tmp_path / "b")
    monkeypatch.chdir(b)
    assert cli("pull").code == 0
    a = tmp_path / "a"
    assert (b / "data" / "train.csv").read_bytes() == (a / "data" / "train.csv").read_bytes()
