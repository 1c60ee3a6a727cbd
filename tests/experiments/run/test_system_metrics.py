"""System metrics: a run's CPU and memory use sampled into ``system/`` series."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gitexp
from gitexp.core.config import parse_project_config
from gitexp.errors import ConfigError
from gitexp.experiments.query.series import SeriesReader
from gitexp.experiments.run.sysmetrics import visible_devices
from gitexp.git.repo import GitRepo
from tests.conftest import commit_all, git, run_gitexp

PY = sys.executable
GROW = (
    "import time\n"
    "held = []\n"
    "for _ in range(6):\n"
    "    held.append(bytearray(b'x') * (25 * 2**20))\n"
    "    time.sleep(0.5)\n"
)


def configure(repo: Path, text: str) -> None:
    (repo / "gitexp.yaml").write_text(text)
    commit_all(repo, "config")


def series(repo: Path, name: str) -> dict[str, list[float]]:
    """Every series of experiment ``name`` by key, read as ``plots`` and the UI read them."""
    git_repo = GitRepo.discover(repo)
    commit = git(repo, "rev-parse", f"refs/experiments/{name}").strip()
    return {key: line.values for key, line in SeriesReader(git_repo).read(commit, name).items()}


def test_run_records_memory_rising_and_cpu(repo: Path) -> None:
    configure(repo, "system_metrics: {interval: 0.4}\n")
    (repo / "grow.py").write_text(GROW)
    done = run_gitexp(repo, "run", "-n", "grow", "--", PY, "grow.py")
    assert done.returncode == 0, done.stderr
    found = series(repo, "grow")
    memory = found["system/memory_rss"]
    assert len(memory) >= 4
    peak = memory.index(max(memory))
    assert memory[peak] - memory[0] > 60  # MiB: 25 MiB more every half second
    assert memory[: peak + 1] == sorted(memory[: peak + 1])  # rising until the command ends
    assert "system/cpu_percent" in found and all(v >= 0 for v in found["system/cpu_percent"])
    tree = git(repo, "ls-tree", "-r", "--name-only", "refs/experiments/grow")
    assert ".gitexp/series/system/memory_rss.tsv" in tree.split()
    rows = git(repo, "show", "refs/experiments/grow:.gitexp/series/system/memory_rss.tsv")
    assert rows.splitlines()[0] == "step\tvalue"
    metrics = gitexp.Repo(repo).show()["experiments"][0]["metrics"]
    assert "system/memory_rss" not in str(metrics)  # series only, not metrics


def test_samples_the_whole_process_tree(repo: Path) -> None:
    configure(repo, "system_metrics: {interval: 0.3}\n")
    (repo / "grow.py").write_text(GROW)
    done = run_gitexp(repo, "run", "-n", "tree", "--", f"sh -c '{PY} grow.py; true'")
    assert done.returncode == 0, done.stderr
    memory = series(repo, "tree")["system/memory_rss"]
    assert max(memory) > 100  # the Python child of the shell is counted


def test_off_means_no_system_series(repo: Path) -> None:
    configure(repo, "system_metrics: false\n")
    done = run_gitexp(repo, "run", "-n", "quiet", "--", PY, "-c", "import time; time.sleep(1.3)")
    assert done.returncode == 0, done.stderr
    tree = git(repo, "ls-tree", "-r", "--name-only", "refs/experiments/quiet")
    assert "system/" not in tree
    assert not any(key.startswith("system/") for key in series_keys(repo, "quiet"))


def series_keys(repo: Path, name: str) -> list[str]:
    try:
        return list(series(repo, name))
    except KeyError:
        return []


def test_standalone_experiment_samples_its_process(repo: Path) -> None:
    configure(repo, "system_metrics: {interval: 0.2}\n")
    with gitexp.Experiment(name="nb") as exp:
        held = bytearray(b"x") * (30 * 2**20)
        time.sleep(1.0)
        exp.log_metric("acc", 0.5)
    del held
    assert exp.result is not None and exp.result.status == "success"
    found = series(repo, "nb")
    assert max(found["system/memory_rss"]) > 30
    assert "system/cpu_percent" in found


SLEEPER = "import time; print('started', flush=True); time.sleep(30)"


def test_interrupted_run_keeps_its_samples_and_stops(repo: Path) -> None:
    configure(repo, "system_metrics: {interval: 0.2}\n")
    proc = subprocess.Popen(
        [PY, "-m", "gitexp", "run", "-n", "cut", "--", PY, "-c", SLEEPER],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"  # the command runs: now sampled
        time.sleep(1.5)
        os.killpg(proc.pid, signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err
    row = gitexp.Repo(repo).show()["experiments"][0]
    assert row["status"] == "interrupted"
    assert len(series(repo, "cut")["system/memory_rss"]) >= 2


HIDE_PSUTIL = """\
import sys


class Absent:
    \"\"\"Python as if psutil were not installed.\"\"\"

    def find_spec(self, name, path=None, target=None):
        if name == "psutil" or name.startswith("psutil."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, Absent())
"""


def test_missing_psutil_is_a_note_not_a_failure(repo: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(HIDE_PSUTIL)
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    configure(repo, "system_metrics: {interval: 0.2}\n")
    done = run_gitexp(
        repo, "run", "-n", "bare", "--", PY, "-c", "import time; time.sleep(1)", env=env
    )
    assert done.returncode == 0, done.stderr
    assert "system metrics are not recorded: psutil is not installed" in done.stderr
    assert "gitexp[system]" in done.stderr
    tree = git(repo, "ls-tree", "-r", "--name-only", "refs/experiments/bare")
    assert "system/" not in tree


@pytest.mark.parametrize(
    ("text", "enabled", "interval"),
    [
        ("", True, 5.0),
        ("system_metrics: true\n", True, 5.0),
        ("system_metrics: false\n", False, 5.0),
        ("system_metrics: {interval: 0.5}\n", True, 0.5),
    ],
)
def test_config_values(text: str, enabled: bool, interval: float) -> None:
    settings = parse_project_config(text.encode()).system_metrics
    assert (settings.enabled, settings.interval) == (enabled, interval)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("system_metrics: sometimes\n", "must be true, false or {interval: SECONDS}"),
        ("system_metrics: {interval: 0}\n", "'system_metrics.interval' in gitexp.yaml is 0"),
        ("system_metrics: {every: 3}\n", "unknown key 'system_metrics.every'"),
    ],
)
def test_config_errors(text: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_project_config(text.encode())
    assert words in caught.value.message


def test_bad_config_stops_the_run_before_it_starts(repo: Path) -> None:
    configure(repo, "system_metrics: sometimes\n")
    done = run_gitexp(repo, "run", "-n", "never", "--", PY, "-c", "print(1)")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].endswith(
        "'system_metrics' in gitexp.yaml must be true, false or {interval: SECONDS} "
        "(got 'sometimes')"
    )
    assert git(repo, "for-each-ref", "refs/experiments") == ""


UUIDS = ["GPU-aaaa-1111", "GPU-bbbb-2222", "GPU-cccc-3333"]


@pytest.mark.parametrize(
    ("visible", "expected"),
    [
        (None, [0, 1, 2]),
        ("", []),
        ("2,0", [2, 0]),
        ("1,7,2", [1]),  # CUDA stops at the first entry that names no device
        ("GPU-cccc,bbbb", [2, 1]),
        ("GPU-", []),  # a prefix of several devices names none
        ("0,0", [0]),
    ],
)
def test_visible_devices_as_cuda_reads_them(visible: str | None, expected: list[int]) -> None:
    assert visible_devices(visible, UUIDS) == expected
