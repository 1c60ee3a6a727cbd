"""Live lines while several runs go on: drawn on a real terminal, absent when piped."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from tests.conftest import make_repo
from tests.terminal import ANSI, on_terminal

PY = sys.executable

# Each trial logs its goal, then stays a moment so that a running line shows it.
TRAIN = """\
import time, gitexp
p = gitexp.params()
gitexp.log_metric("acc", p["x"], step=0)
time.sleep(1.5)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(
        tmp_path / "project",
        {
            "params.yaml": "x: 0.5\n",
            "train.py": TRAIN,
            "gitexp.yaml": f"command: {PY} train.py\ngoals: {{acc: max}}\n",
            ".gitignore": "metrics.json\n",
        },
    )
    monkeypatch.chdir(root)
    return root


SEARCH = ("run", "-n", "s", "-S", "x=uniform(0,1)", "--trials", "3", "-j", "2", "--seed", "1")

RUNNING = re.compile(r"s-[123]\s+x=0\.\d+\s+0:0\d\s+acc=0\.\d+")
COUNT = re.compile(r"(\d) done, (\d) failed, (\d) pruned, (\d) running")


@pytest.mark.slow
def test_a_search_on_a_terminal_shows_a_line_per_running_trial(project: Path) -> None:
    code, seen = on_terminal([PY, "-m", "gitexp", *SEARCH], project)
    text = ANSI.sub(b"", seen.encode()).decode().replace("\r", "\n")
    assert code == 0, text
    assert RUNNING.search(text), text  # name, overrides, elapsed time, latest goal value
    counts = [tuple(map(int, m.groups())) for m in COUNT.finditer(text)]
    assert counts, text
    assert max(c[3] for c in counts) == 2  # -j 2: two trials at once, each with its line
    assert max(c[0] for c in counts) >= 1
    assert all(c[1] == c[2] == 0 for c in counts)
    assert "3 trial(s): 3 done, 0 failed, 0 pruned" in text
    for number in (1, 2, 3):
        assert f"recorded experiment 's-{number}'" in text


@pytest.mark.slow
def test_piped_output_has_no_live_lines(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    result = cli(*SEARCH)
    assert result.code == 0, result.err
    assert not COUNT.search(result.err)
    assert "\x1b" not in result.err
    lines = result.err.splitlines()
    assert sum(line.startswith("trial ") and " started: x=" in line for line in lines) == 3
    assert sum(line.startswith("recorded experiment 's-") for line in lines) == 3
    assert sorted(result.out.split()) == ["s-1", "s-2", "s-3"]
