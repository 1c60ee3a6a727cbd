"""The README's commands for reproduce, bisect and the model registry run as written."""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

import pytest

from tests.conftest import commit_all, git, make_repo

ROOT = Path(__file__).resolve().parents[3]

TRAIN = """\
import gitexp
p = gitexp.params()
open("model.pkl", "wb").write(("lr=%s\\n" % p["train"]["lr"]).encode() * 100)
gitexp.log_metrics({{"acc": {acc}, "loss": {loss}}})
"""


def section_commands() -> list[list[str]]:
    """Every command in the code blocks of the README's lifecycle section."""
    text = (ROOT / "README.md").read_text()
    start = text.index("## Reproducing, bisecting, and a model registry")
    section = text[start : text.index("\n## ", start + 1)]
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", section, re.S):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


@pytest.mark.slow
def test_the_readme_lifecycle_commands_run_as_written(tmp_path: Path, cli, monkeypatch) -> None:
    root = make_repo(
        tmp_path / "project",
        {
            "train.py": TRAIN.format(acc=0.95, loss=0.2),
            "params.yaml": "train:\n  lr: 0.001\n",
            "gitexp.yaml": f"command: {sys.executable} train.py\nouts: [model.pkl]\n"
            "remote: storage\nremotes:\n  storage: ../storage\n",
            ".gitignore": "metrics.json\n",
        },
    )
    git(root, "tag", "v1.0")
    for number in range(2, 9):
        (root / "notes.txt").write_text(f"{number}\n")
        if number == 6:
            (root / "train.py").write_text(TRAIN.format(acc=0.85, loss=0.4))
        commit_all(root, f"change {number}")
    monkeypatch.chdir(root)
    assert cli("run", "-n", "lr-sweep", "-S", "train.lr=0.1,0.01").code == 0
    commands = section_commands()
    assert len(commands) >= 10
    for words in commands:
        assert words[0] == "gitexp", words
        done = cli(*words[1:])
        assert done.code == 0, (words, done.err)
    assert (root / "model.pkl").read_bytes() == (root / "model-v1.pkl").read_bytes()
