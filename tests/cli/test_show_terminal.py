"""``show`` on a terminal: a table wider than the screen goes through the pager whole;
piped, plain text; a reader that leaves early ends gitexp quietly with exit 0."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gitexp.api import Repo
from tests.conftest import commit_all, run_gitexp
from tests.terminal import ANSI, on_screen

GITEXP = [sys.executable, "-m", "gitexp"]

PARAMS = """\
train:
  learning_rate: 0.001
  epochs: 3
  batch_size: 32
model:
  layers: 4
  hidden_units: 256
  dropout: 0.1
optimizer:
  beta_one: 0.9
  beta_two: 0.999
  weight_decay: 0.0001
seed: 1
"""

METRICS = [
    "val_accuracy",
    "val_loss",
    "train_accuracy",
    "train_loss",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "latency",
]

TRAIN = f"""\
import gitexp
p = gitexp.params()
lr = p["train"]["learning_rate"]
for number, key in enumerate({METRICS!r}):
    gitexp.log_metric(key, round(0.8573 + number / 1000 + lr, 6))
"""

PAGER = """\
import os, sys
with open(sys.argv[1], "wb") as out:
    out.write(("LESS=%s\\n" % os.environ.get("LESS", "")).encode())
    out.write(sys.stdin.buffer.read())
"""


@pytest.fixture
def wide(repo: Path) -> Path:
    """Two experiments with ten params and nine metrics each: 22 columns."""
    (repo / "params.yaml").write_text(PARAMS)
    (repo / "train.py").write_text(TRAIN)
    commit_all(repo, "a wide project")
    results = Repo(repo).run(
        [sys.executable, "train.py"], overrides=["train.learning_rate=0.001,0.002"], name="wide"
    )
    assert [r.status for r in results] == ["success", "success"]
    return repo


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "LESS", "PAGER")}
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


def _tiny_pager(tmp_path: Path) -> tuple[str, Path]:
    script, seen = tmp_path / "pager.py", tmp_path / "paged.txt"
    script.write_text(PAGER)
    return (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} {shlex.quote(str(seen))}",
        seen,
    )


def test_a_table_wider_than_the_screen_goes_whole_through_the_pager(
    wide: Path, tmp_path: Path
) -> None:
    pager, seen = _tiny_pager(tmp_path)
    code, screen = on_screen([*GITEXP, "show"], wide, size=(40, 120), env=_env(GITEXP_PAGER=pager))
    assert code == 0, screen
    lines = ANSI.sub(b"", seen.read_bytes()).decode().splitlines()
    assert lines[0] == "LESS=FRSX"
    header = next(line for line in lines if "Experiment" in line)
    for key in ("train.learning_rate", "optimizer.weight_decay", "seed", *METRICS):
        assert f" {key} " in header, header
    for name, lr in (("wide-1", 0.001), ("wide-2", 0.002)):
        row = next(line for line in lines if f" {name} " in line)
        values = [format(round(0.8573 + n / 1000 + lr, 6), ".6g") for n in range(len(METRICS))]
        assert all(f" {value} " in row for value in values), row
    # one line per header and per experiment: nothing wrapped or folded onto another line
    assert sum(1 for line in lines if "wide-" in line) == 2
    assert max(len(line) for line in lines) > 120


def test_a_table_that_fits_is_printed_without_a_pager(wide: Path, tmp_path: Path) -> None:
    pager, seen = _tiny_pager(tmp_path)
    code, screen = on_screen([*GITEXP, "show"], wide, size=(40, 400), env=_env(GITEXP_PAGER=pager))
    assert code == 0, screen
    assert not seen.exists()
    assert "wide-1" in screen and "train.learning_rate" in screen and "latency" in screen


def test_pager_is_gitexp_pager_then_pager_and_cat_means_none(wide: Path, tmp_path: Path) -> None:
    pager, seen = _tiny_pager(tmp_path)
    code, _ = on_screen([*GITEXP, "show"], wide, env=_env(PAGER=pager))
    assert code == 0 and seen.exists()
    seen.unlink()
    code, screen = on_screen([*GITEXP, "show"], wide, env=_env(PAGER=pager, GITEXP_PAGER="cat"))
    assert code == 0 and not seen.exists()
    assert "val_accuracy" in screen


@pytest.mark.skipif(shutil.which("less") is None, reason="less is not installed")
def test_real_less_scrolls_sideways_to_the_last_column(wide: Path) -> None:
    right = b"\x1bOC"  # the right arrow, in the keypad mode less turns on
    code, screen = on_screen(
        [*GITEXP, "show"],
        wide,
        size=(30, 120),
        env=_env(),
        keys=[(b"Experiment", right), (b"(END)", right * 4), (b"latency", b"q")],
        timeout=30,
    )
    assert code == 0, screen
    first = screen[: screen.index("(END)")]
    assert "Experiment" in first and "latency" not in first  # chopped at 120, not wrapped
    assert "latency" in screen


def test_piped_the_table_is_plain_text_and_never_paged(wide: Path, tmp_path: Path) -> None:
    pager, seen = _tiny_pager(tmp_path)
    result = run_gitexp(wide, "show", env=_env(GITEXP_PAGER=pager))
    assert result.returncode == 0, result.stderr
    assert not seen.exists()
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["Experiment", "Created", "Status"]
    assert lines[0].split()[-1] == "latency" and len(lines) == 3
    assert "│" not in result.stdout and "\x1b" not in result.stdout


COMMANDS = [
    ["show"],
    ["show", "--json"],
    ["show", "--csv"],
    ["list"],
    ["diff", "wide-1", "wide-2"],
    ["--help"],
]


def _reader_gone_at_once(argv: list[str], cwd: Path) -> tuple[int, str]:
    """A real pipe whose reader closed before gitexp wrote a byte."""
    read, write = os.pipe()
    os.close(read)
    proc = subprocess.Popen(argv, cwd=cwd, stdout=write, stderr=subprocess.PIPE)
    os.close(write)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err.decode()


def _head_one(argv: list[str], cwd: Path) -> tuple[int, str]:
    """``gitexp … | head -1`` through the shell; gitexp's own exit status."""
    err = cwd.parent / "err.txt"
    command = " ".join(shlex.quote(a) for a in argv)
    proc = subprocess.run(
        [
            "bash",
            "-c",
            f"{command} 2>{shlex.quote(str(err))} | head -1 >/dev/null; exit ${{PIPESTATUS[0]}}",
        ],
        cwd=cwd,
        check=False,
        timeout=60,
    )
    return proc.returncode, err.read_text()


@pytest.mark.slow
def test_a_reader_that_leaves_early_ends_gitexp_quietly_30_times(wide: Path) -> None:
    said = {tuple(c): run_gitexp(wide, *c).stderr for c in COMMANDS}  # messages, not errors
    failures = []
    for round_ in range(30):
        command = COMMANDS[round_ % len(COMMANDS)]
        argv = [*GITEXP, *command]
        reader = _reader_gone_at_once if round_ % 2 == 0 else _head_one
        code, err = reader(argv, wide)
        if code != 0 or err != said[tuple(command)]:
            failures.append((argv[2:], reader.__name__, code, err))
    assert failures == []
