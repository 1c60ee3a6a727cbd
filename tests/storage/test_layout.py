"""A storage remote's layout marker: absent is layout 1; unknown or unreadable is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitexp.storage.layout import MARKER
from tests.data.syncsetup import clone, make_origin, make_project


@pytest.fixture
def pushed_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> tuple[Path, Path]:
    origin = make_origin(tmp_path)
    a = make_project(tmp_path / "a", origin, "../storage")
    monkeypatch.chdir(a)
    assert cli("push").code == 0
    return a, origin


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize(
    ("marker", "says"),
    [(b'{"layout": 99}', "says layout 99"), (b"{oops", "is not a layout marker")],
)
def test_every_command_refuses_a_remote_of_an_unknown_layout(
    pushed_project, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: bytes, says: str
) -> None:
    a, origin = pushed_project
    storage = tmp_path / "storage"
    (storage / MARKER).write_bytes(marker)
    before = files_under(storage)
    (a / "data" / "train.csv").write_bytes(b"changed" * 1000)
    assert cli("add", "data/train.csv").code == 0
    result = cli("push")
    assert result.code == 1
    assert MARKER in result.err.splitlines()[0] and says in result.err
    assert files_under(storage) == before
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    result = cli("pull")
    assert result.code == 1 and says in result.err
    assert not (b / "data" / "train.csv").exists()
