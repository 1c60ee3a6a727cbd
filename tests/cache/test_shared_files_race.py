"""Read-modify-writes of shared files lose no concurrent writer's change.

Real processes write at once: several ``gitexp add`` in one folder each need their
line in that folder's ``.gitignore``; several ``gitexp remote add`` each need their
remote in ``gitexp.yaml``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

from tests.conftest import make_repo

WRITERS = 6
NAMES = 25

_WRITER = """
import sys
from pathlib import Path
from gitexp.cache.gitignore import ensure_ignored

folder, tag, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
for n in range(count):
    ensure_ignored(folder / f"d{tag}-{n}")
"""


def _all(commands: list[list[str]], cwd: Path) -> None:
    procs = [
        subprocess.Popen(c, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    for proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err


def test_gitignore_lines_of_concurrent_writers_are_all_kept(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / ".gitignore").write_text("# mine\n*.tmp")
    _all(
        [[sys.executable, "-c", _WRITER, str(folder), str(t), str(NAMES)] for t in range(WRITERS)],
        tmp_path,
    )
    lines = (folder / ".gitignore").read_text().splitlines()
    expected = {f"/d{t}-{n}" for t in range(WRITERS) for n in range(NAMES)}
    assert expected - set(lines) == set()
    assert lines[:2] == ["# mine", "*.tmp"]
    assert len(lines) == len(expected) + 2


def test_concurrent_adds_in_one_folder_each_keep_their_gitignore_line(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"README": "r\n"})
    for round_number in range(2):
        names = [f"r{round_number}d{n}" for n in range(4)]
        for name in names:
            (root / name).write_text(name)
        _all([[sys.executable, "-m", "gitexp", "add", name] for name in names], root)
        lines = (root / ".gitignore").read_text().splitlines()
        assert {f"/{name}" for name in names} <= set(lines)


def test_concurrent_remote_adds_each_keep_their_remote(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"gitexp.yaml": "# project\nmetrics: [metrics.json]\n"})
    names = [f"s{n}" for n in range(5)]
    _all(
        [[sys.executable, "-m", "gitexp", "remote", "add", n, f"../store-{n}"] for n in names],
        root,
    )
    config = YAML(typ="safe").load((root / "gitexp.yaml").read_text())
    assert set(config["remotes"]) == set(names)
    assert (root / "gitexp.yaml").read_text().startswith("# project\n")
