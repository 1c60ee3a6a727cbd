"""A SIGINT or SIGTERM at any moment of ``gitexp run``: exit code, record and words agree.

Real ``gitexp run`` processes get a signal after a random delay: before the command
starts, while it runs, while the run is recorded, just after the ref is written and
while gitexp shuts down. For every trial, the exit code, the status ``show --json``
gives and what gitexp said on stderr must tell the same story.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from tests.conftest import PARAMS_YAML, run_gitexp

PY = sys.executable
QUICK = "import time; print('go', flush=True); time.sleep(0.1)"


def interruptible() -> None:
    """In the child: Ctrl-C as a terminal gives it, even under a background shell."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(repo: Path, name: str) -> subprocess.Popen[str]:
    """``gitexp run`` of a quick command; Python's fatal errors say where they struck."""
    return subprocess.Popen(
        [PY, "-m", "gitexp", "run", "-n", name, "-S", "seed=7", "--", PY, "-c", QUICK],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        start_new_session=True,
        preexec_fn=interruptible,
    )


def verdict(code: int, status: object, err: str, name: str) -> str:
    """What the trial's three witnesses agree on; an AssertionError when they do not."""
    said = f"exit {code}, status {status}, stderr:\n{err}"
    if code == 0:
        assert status == "success", said
        assert f"recorded experiment '{name}'" in err and "error" not in err, said
        return "success"
    if code == 130 and status == "interrupted":
        assert f"recorded INTERRUPTED experiment '{name}'" in err, said
        assert "error: interrupted; the run was recorded" in err, said
        return "interrupted"
    if code == 130:
        assert status is None and "recorded experiment" not in err, said
        assert "error: interrupted" in err, said
        return "not started"
    # before gitexp's first line ran: Python itself died of the signal while starting
    startup = code in (1, -signal.SIGSEGV) and "Fatal Python error" in err
    assert code in (-signal.SIGINT, -signal.SIGTERM) or startup, said
    assert status is None and "recorded experiment" not in err, said
    return "killed at start-up"


@pytest.mark.slow
def test_a_signal_at_any_moment_leaves_exit_code_record_and_words_agreeing(repo: Path) -> None:
    clock = time.monotonic()
    assert run_gitexp(repo, "run", "-n", "warm", "--", PY, "-c", QUICK).returncode == 0
    whole = time.monotonic() - clock
    rng = random.Random(20261207)
    trials: list[tuple[str, int, str]] = []
    for number in range(48):
        name = f"t{number}"
        late = number % 2 == 1  # every other trial aims at the end: recording, ref, exit
        delay = rng.uniform(0.6 * whole, 1.2 * whole) if late else rng.uniform(0, whole)
        sig = signal.SIGINT if rng.random() < 0.5 else signal.SIGTERM
        proc = start(repo, name)
        time.sleep(delay)
        if sig == signal.SIGTERM and number % 4 == 0:
            proc.send_signal(sig)  # to gitexp alone, as `kill PID` does
        else:
            os.killpg(proc.pid, sig)  # to the group, as a terminal's Ctrl-C does
        _out, err = proc.communicate(timeout=60)
        trials.append((name, proc.returncode, err))
        assert (repo / "params.yaml").read_text() == PARAMS_YAML, err
    done = run_gitexp(repo, "show", "--json")
    assert done.returncode == 0, done.stderr
    statuses = {e["name"]: e["status"] for e in orjson.loads(done.stdout)["experiments"]}
    seen: Counter[str] = Counter()
    disagree = []
    for name, code, err in trials:
        try:
            seen[verdict(code, statuses.get(name), err, name)] += 1
        except AssertionError as exc:
            disagree.append(f"{name}: {exc}")
    print(f"outcomes of {len(trials)} trials: {dict(seen)}")
    assert not disagree, f"{len(disagree)} of {len(trials)} disagree:\n" + "\n".join(disagree)
    assert seen["success"] and seen["interrupted"], seen
    assert not list((repo / ".git" / "gitexp" / "runs").iterdir())


@pytest.mark.slow
def test_a_signal_just_after_the_ref_is_written_leaves_a_success(repo: Path) -> None:
    """The moment the ref appears, the run is done: no 130, no death by the signal."""
    trials = []
    for number in range(16):
        name = f"late{number}"
        ref = repo / ".git" / "refs" / "experiments" / name
        proc = start(repo, name)
        while not ref.exists() and proc.poll() is None:
            time.sleep(0.001)
        sig = signal.SIGINT if number % 2 else signal.SIGTERM
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        _out, err = proc.communicate(timeout=60)
        trials.append((name, proc.returncode, err))
    statuses = {
        e["name"]: e["status"]
        for e in orjson.loads(run_gitexp(repo, "show", "--json").stdout)["experiments"]
    }
    disagree = [
        f"{name}: exit {code}, status {statuses.get(name)}, stderr:\n{err}"
        for name, code, err in trials
        if code != 0 or statuses.get(name) != "success" or "error" in err
    ]
    assert not disagree, f"{len(disagree)} of {len(trials)} disagree:\n" + "\n".join(disagree)
