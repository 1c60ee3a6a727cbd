"""Searches: real Optuna on the driver, trials as real `gitexp run`s of real commands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pygit2
import pytest

import gitexp
from tests.conftest import git, make_repo

PY = sys.executable

PARAMS = "x: 0.5\nopt: adam\nsteps: 4\n"

TRAIN = """\
import os, gitexp
p = gitexp.params()
late = int(os.environ["GITEXP_EXPERIMENT"].rpartition("-")[2]) > int(os.environ.get("GOOD", "99"))
for step in range(p["steps"]):
    acc = p["x"] * (step + 1) * (0.01 if late else 1) + (0.1 if p["opt"] == "sgd" else 0)
    gitexp.log_metric("acc", acc, step=step)
    if gitexp.should_prune():
        break
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = make_repo(
        tmp_path / "project",
        {
            "params.yaml": PARAMS,
            "train.py": TRAIN,
            "gitexp.yaml": f"command: {PY} train.py\ngoals: {{acc: max}}\n",
            ".gitignore": "metrics.json\n",
        },
    )
    monkeypatch.chdir(root)
    return root


def run_json(root: Path, name: str) -> dict[str, object]:
    repo = pygit2.Repository(str(root))
    commit = repo.references[f"refs/experiments/{name}"].peel(pygit2.Commit)
    blob = repo[commit.tree[".gitexp"].id][  # type: ignore[index]
        "run.json"
    ]
    return orjson.loads(repo[blob.id].data)  # type: ignore[attr-defined, no-any-return]


def experiments(root: Path) -> list[str]:
    refs = git(root, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/experiments/")
    return sorted(refs.split())


@pytest.mark.slow
def test_a_search_records_each_trial_with_its_sweep(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = (project / "params.yaml").read_bytes()
    result = cli(
        "run",
        "-n",
        "s",
        "-S",
        "x=uniform(0,1)",
        "-S",
        "opt=adam,sgd",
        "-S",
        "steps=2",
        "--trials",
        "3",
        "--sampler",
        "random",
        "--seed",
        "7",
        "--",
        PY,
        "train.py",
    )
    assert result.code == 0, result.err
    assert experiments(project) == ["s-1", "s-2", "s-3"]
    assert (project / "params.yaml").read_bytes() == before
    seen = []
    for number in (1, 2, 3):
        info = run_json(project, f"s-{number}")
        sweep = info["sweep"]
        assert isinstance(sweep, dict)
        assert sweep["name"] == "s" and sweep["trial"] == number and sweep["trials"] == 3
        assert sweep["sampler"] == "random" and sweep["seed"] == 7 and sweep["prune"] is None
        assert sweep["goal"] == {"key": "acc", "direction": "max"}
        assert sweep["space"] == {"x": "uniform(0.0,1.0)", "opt": "choice(adam,sgd)"}
        assert sweep["fixed"] == ["steps=2"]
        values = sweep["values"]
        assert 0 <= values["x"] <= 1 and values["opt"] in ("adam", "sgd")
        assert info["overrides"] == {"params.yaml": {"steps": 2, **values}}
        seen.append(values)
    again = make_repo(project.parent / "again", {"params.yaml": PARAMS, "train.py": TRAIN})
    results = gitexp.Repo(again).sweep(
        [PY, "train.py"],
        overrides=["x=uniform(0,1)", "opt=adam,sgd", "steps=2"],
        name="s",
        options=gitexp_options(trials=3, sampler="random", seed=7, goal="acc:max"),
        cwd=again,
    )
    assert [r.status for r in results] == ["success"] * 3
    assert [run_json(again, f"s-{n}")["sweep"]["values"] for n in (1, 2, 3)] == seen  # type: ignore[index]


def gitexp_options(**kw: object):  # type: ignore[no-untyped-def]
    from gitexp.core.search import SweepOptions

    return SweepOptions(**kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argv", "code", "words"),
    [
        (["-S", "x=logunifrom(1,2)", "--trials", "2"], 2, "unknown search space 'logunifrom'"),
        (["-S", "x=uniform(2,1)", "--trials", "2"], 2, "needs lo < hi"),
        (["-S", "x=uniform(0,1)"], 2, "a search needs --trials N"),
        (["-S", "x=0.1", "--trials", "2"], 2, "need a search space in -S"),
        (["-S", "x=uniform(0,1)", "--trials", "0"], 2, "--trials needs a number"),
        (["-S", "nope=uniform(0,1)", "--trials", "2"], 1, "key 'nope' does not exist"),
        (["-S", "x=uniform(0,1)", "--trials", "2", "--goal", "lr"], 1, "higher or a lower 'lr'"),
        (["-n", "ghost", "--resume"], 1, "no sweep named 'ghost'"),
        (["--resume"], 2, "--resume needs the sweep's name"),
        (["--goal", "acc:max"], 2, "--goal is for searches"),
    ],
)
def test_bad_searches_stop_before_any_trial(project: Path, cli, argv, code, words) -> None:  # type: ignore[no-untyped-def]
    result = cli("run", *argv)
    assert result.code == code
    assert words in result.err
    assert experiments(project) == []


def test_a_search_without_a_goal_refuses(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (project / "gitexp.yaml").write_text("command: python train.py\n")
    result = cli("run", "-S", "x=uniform(0,1)", "--trials", "2")
    assert result.code == 1 and "a search needs a goal" in result.err
    assert "--goal KEY:max" in result.err and experiments(project) == []


@pytest.mark.slow
def test_a_trial_that_lags_is_pruned(project: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("GOOD", "5")  # trials 6 and 7 learn a hundred times slower
    result = cli(
        "run",
        "-n",
        "p",
        "-S",
        "x=uniform(0.5,1)",
        "--trials",
        "7",
        "--sampler",
        "random",
        "--seed",
        "1",
        "--prune",
        "median",
    )
    assert result.code == 0, result.err
    statuses = {n: run_json(project, f"p-{n}")["status"] for n in range(1, 8)}
    assert statuses == {
        1: "success",
        2: "success",
        3: "success",
        4: "success",
        5: "success",
        6: "pruned",
        7: "pruned",
    }
    series = git(project, "show", "refs/experiments/p-6:.gitexp/series/acc.tsv")
    assert len(series.splitlines()) < 1 + 4  # stopped before its last step
    assert "recorded PRUNED experiment 'p-6'" in result.err


def test_should_prune_is_false_outside_a_pruning_sweep(project: Path) -> None:
    assert gitexp.should_prune() is False
    script = "import gitexp; gitexp.log_metric('acc', 1, step=0); print(gitexp.should_prune())"
    started = time.monotonic()
    results = gitexp.Repo().run([PY, "-c", script], name="plain")
    assert results[0].status == "success" and time.monotonic() - started < 10
    assert "False" in git(project, "show", "refs/experiments/plain:.gitexp/output.log")


def test_trials_run_in_worktrees_with_jobs(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    before = (project / "params.yaml").read_bytes()
    result = cli(
        "run", "-n", "j", "-S", "x=uniform(0,1)", "--trials", "3", "-j", "2", "--seed", "3"
    )
    assert result.code == 0, result.err
    assert experiments(project) == ["j-1", "j-2", "j-3"]
    assert (project / "params.yaml").read_bytes() == before
    assert not (project / "metrics.json").exists()  # the workspace was not touched
    values = [run_json(project, f"j-{n}")["sweep"]["values"]["x"] for n in (1, 2, 3)]  # type: ignore[index]
    assert len(set(values)) == 3


SLOW = """\
import time, gitexp
p = gitexp.params()
time.sleep(0.8)
gitexp.log_metric("acc", p["x"])
"""


@pytest.mark.slow
def test_a_killed_driver_resumes_and_repeats_no_trial(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (project / "slow.py").write_text(SLOW)
    driver = subprocess.Popen(
        [
            PY,
            "-m",
            "gitexp",
            "run",
            "-n",
            "k",
            "-S",
            "x=uniform(0,1)",
            "--trials",
            "5",
            "--seed",
            "4",
            "--",
            PY,
            "slow.py",
        ],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while len(experiments(project)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    running: list[str] = []
    while not running and time.monotonic() < deadline:  # show lists the trial going on
        shown = orjson.loads(cli("show", "--json").out)["experiments"]
        running = [e["name"] for e in shown if e["status"] == "running"]
    assert running and running[0].startswith("k-")
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the trial it was running
    driver.wait()
    before = {
        n: git(project, "rev-parse", f"refs/experiments/{n}").strip() for n in experiments(project)
    }
    assert 2 <= len(before) <= 5
    result = cli("run", "-n", "k", "--resume")
    assert result.code in (0, 1), result.err  # a trial killed mid-run is recorded crashed
    while len(experiments(project)) < 5 and time.monotonic() < deadline:
        cli("list")  # a trial whose command outlived its driver is recorded when it ends
        time.sleep(0.1)
    assert experiments(project) == [f"k-{n}" for n in range(1, 6)]
    for name, commit in before.items():  # nothing recorded before was run again
        assert git(project, "rev-parse", f"refs/experiments/{name}").strip() == commit
    numbers = [run_json(project, f"k-{n}")["sweep"]["trial"] for n in range(1, 6)]  # type: ignore[index]
    assert numbers == [1, 2, 3, 4, 5]
    xs = [run_json(project, f"k-{n}")["sweep"]["values"]["x"] for n in range(1, 6)]  # type: ignore[index]
    assert len(set(xs)) == 5  # the resumed study did not draw the first points again
    again = cli("run", "-n", "k", "--resume")
    assert again.code == 0 and experiments(project) == [f"k-{n}" for n in range(1, 6)]
    more = cli("run", "-n", "k", "--resume", "--trials", "6", "-S", "x=uniform(0,2)")
    assert more.code == 2 and "differs from sweep 'k'" in more.err


@pytest.mark.slow
def test_ctrl_c_stops_a_search_and_resume_finishes_it(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (project / "slow.py").write_text(SLOW)
    driver = subprocess.Popen(
        [
            PY,
            "-m",
            "gitexp",
            "run",
            "-n",
            "c",
            "-S",
            "x=uniform(0,1)",
            "--trials",
            "4",
            "--seed",
            "2",
            "--",
            PY,
            "slow.py",
        ],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not experiments(project) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the second trial is running now
    driver.send_signal(signal.SIGINT)
    _out, err = driver.communicate(timeout=60)
    assert driver.returncode == 130, err
    assert "gitexp run -n c --resume" in err
    statuses = [run_json(project, name)["status"] for name in experiments(project)]
    assert statuses[0] == "success" and len(statuses) < 4
    assert set(statuses[1:]) <= {"interrupted"}
    result = cli("run", "-n", "c", "--resume")
    assert result.code == 0, result.err
    assert experiments(project) == ["c-1", "c-2", "c-3", "c-4"]


def test_a_finite_space_is_not_drawn_twice_until_every_point_ran(project: Path, cli) -> None:  # type: ignore[no-untyped-def]
    # 4 points; random draws would repeat one within 4 trials 9 times in 10
    result = cli(
        "run", "-n", "d", "-S", "opt=adam,sgd", "-S", "steps=1,2", "--trials", "5",
        "--sampler", "random", "--seed", "5", "--", PY, "-c", "import gitexp; gitexp.log_metric('acc', 1)",
    )  # fmt: skip
    assert result.code == 0, result.err
    points = [
        tuple(sorted(run_json(project, f"d-{n}")["sweep"]["values"].items()))  # type: ignore[union-attr]
        for n in range(1, 6)
    ]
    assert len(set(points[:4])) == 4  # every point once before any repeats
    assert points[4] in points[:4]  # the fifth trial: the space has no fifth point


def test_numeric_choices_are_an_ordered_scale_to_the_sampler() -> None:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    from gitexp.core.search import parse_dimension
    from gitexp.experiments.run.sweepspace import Codec

    numbers = Codec(parse_dimension("choice(0.1,0.001,0.01)"))
    assert numbers.distribution() == IntDistribution(0, 2)  # sorted: 0.001, 0.01, 0.1
    assert [numbers.decode(i) for i in (0, 1, 2)] == [0.001, 0.01, 0.1]
    assert numbers.encode(0.01) == 1 and numbers.decode(numbers.encode(0.1)) == 0.1
    with pytest.raises(ValueError, match="not one of the choices"):
        numbers.encode(0.5)
    words = Codec(parse_dimension("choice(adam,sgd,1)"))
    assert isinstance(words.distribution(), CategoricalDistribution)
    assert words.decode(words.encode(1)) == 1 and words.decode("sgd") == "sgd"
