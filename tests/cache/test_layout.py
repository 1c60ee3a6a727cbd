"""The local cache's layout marker: written when the cache is first opened, refused when unknown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitexp.cache.layout import MARKER


def test_a_new_cache_is_marked_layout_1(repo: Path, cli) -> None:
    (repo / "data.bin").write_bytes(b"x" * 1000)
    assert cli("add", "data.bin").code == 0
    cache = repo / ".git" / "gitexp" / "cache"
    assert json.loads((cache / MARKER).read_bytes()) == {"layout": 1}
    assert cli("add", "data.bin").code == 0  # marked once, read after


@pytest.mark.parametrize(
    ("marker", "says"),
    [
        (b'{"layout": 7}\n', "says layout 7"),
        (b"\x00\xffnot json", "is not a layout marker"),
        (b'{"version": 1}', "is not a layout marker"),
    ],
)
def test_an_unknown_cache_layout_is_refused_and_nothing_is_written(
    repo: Path, cli, marker: bytes, says: str
) -> None:
    cache = repo / ".git" / "gitexp" / "cache"
    cache.mkdir(parents=True)
    (cache / MARKER).write_bytes(marker)
    (repo / "data.bin").write_bytes(b"x" * 1000)
    result = cli("add", "data.bin")
    assert result.code == 1
    first = result.err.splitlines()[0]
    assert MARKER in first and says in first and "nothing was written" in first
    assert sorted(p.name for p in cache.iterdir()) == [MARKER]
    assert (cache / MARKER).read_bytes() == marker
    assert not (repo / "data.bin.gitexp").exists()
