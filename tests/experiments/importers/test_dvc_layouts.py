"""DVC layouts the real-tool tests do not make: a project in a subfolder, DVC 2's cache.

These projects are written by hand in DVC's formats (DVC 3's ``files/md5/`` cache and
DVC 2's older one, whose text files were hashed with CRLF read as LF), so they run in
a second, without DVC.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.conftest import commit_all


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _dvc_file(md5: str, path: str, *, legacy: bool = False) -> str:
    return (
        f"outs:\n- md5: {md5}\n  size: 9\n"
        + ("" if legacy else "  hash: md5\n")
        + f"  path: {path}\n"
    )


def test_a_dvc_project_in_a_subfolder_is_imported_from_there(repo: Path, cli, monkeypatch) -> None:
    sub = repo / "vision"
    data = b"a,b\n1,2\n"
    md5 = _md5(data)
    (sub / ".dvc/cache/files/md5" / md5[:2]).mkdir(parents=True)
    (sub / ".dvc/cache/files/md5" / md5[:2] / md5[2:]).write_bytes(data)
    (sub / ".dvc/config").write_text("[core]\n    autostage = true\n")
    (sub / "table.csv.dvc").write_text(_dvc_file(md5, "table.csv"))
    (sub / "table.csv").write_bytes(data)
    (sub / ".gitignore").write_text("/table.csv\n")
    commit_all(repo, "a DVC project in vision/")
    monkeypatch.chdir(sub)
    result = cli("import", "dvc", ".", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out)["pointers"] == ["vision/table.csv"]
    (sub / "table.csv").unlink()
    assert cli("checkout").code == 0
    assert (sub / "table.csv").read_bytes() == data


def test_dvc_2_cache_and_its_text_md5_are_read(repo: Path, cli) -> None:
    data = b"x\r\ny\r\nz\r\n"
    md5 = _md5(data.replace(b"\r\n", b"\n"))  # DVC 2 hashed text as if its lines ended in LF
    (repo / ".dvc/cache" / md5[:2]).mkdir(parents=True)
    (repo / ".dvc/cache" / md5[:2] / md5[2:]).write_bytes(data)
    (repo / ".dvc/config").write_text("")
    (repo / "notes.txt.dvc").write_text(_dvc_file(md5, "notes.txt", legacy=True))
    result = cli("import", "dvc")
    assert result.code == 0, result.err
    assert cli("checkout").code == 0
    assert (repo / "notes.txt").read_bytes() == data


def test_a_big_file_is_streamed_and_checked(repo: Path, cli) -> None:
    data = bytes(range(256)) * (5 * 4096 + 7)  # over 4 MiB: copied in chunks, never whole
    md5 = _md5(data)
    obj = repo / ".dvc/cache/files/md5" / md5[:2] / md5[2:]
    obj.parent.mkdir(parents=True)
    obj.write_bytes(data[:-1] + b"!")
    (repo / ".dvc/config").write_text("")
    (repo / "big.bin.dvc").write_text(_dvc_file(md5, "big.bin"))
    refused = cli("import", "dvc")
    assert refused.code == 1 and "does not have the md5 DVC recorded" in refused.err
    assert not (repo / "big.bin.gitexp").exists()
    tmp = repo / ".git/gitexp/cache/tmp"
    assert not tmp.exists() or not list(tmp.iterdir())
    obj.write_bytes(data)
    assert cli("import", "dvc").code == 0
    assert cli("checkout").code == 0
    assert (repo / "big.bin").read_bytes() == data
