#!/usr/bin/env python3
"""Chaos: kill gitexp commands at random moments and race them, then check nothing broke.

    python3 benchmarks/chaos.py [--trials N] [--only WORD …] [--seed S]

Each scenario gets a generated project (params, a training script, a folder of data
files) with a bare git remote and a local folder storage remote. A "kill -9" trial
starts a command (add, run, run -j, push, pull, checkout, gc, remote gc) in its own process
group and kills the whole group with SIGKILL after a random delay, drawn from the
command's own duration measured on an unkilled run first. A "race" trial starts
commands together. After every trial the same commands are run again and must
complete, and then:

- ``gitexp fsck`` finds no corrupt object and no workspace data missing from the cache;
- every experiment ref names a commit with a ``.gitexp/run.json``, and each racer that
  said "recorded experiment X (commit)" finds X at that commit;
- the params file holds the user's bytes; no extra git worktree is registered;
- for push, pull and remote gc, a fresh clone pulls everything and verifies it, and
  ``gitexp fsck --remote`` finds nothing unreadable on the storage remote (a pack a
  killed push left without its index is no fault).

The data folder holds small files (packed on the layout-2 storage remote) and one
big file (``--big-mib``, cut into chunks), edited in ten places between trials; the
remote gc trials first drop nine files in ten, so the gc repacks what is left.

A trial is "corrupt" when a check of integrity fails (fsck, refs, params, worktrees,
a command that does not complete when run again) and "lost" when something a command
reported done is gone (a recorded experiment, added data). Prints one line per
scenario, such as ``kill -9 during push: 30 trials, 0 corrupt, 0 lost``, then what
went wrong. Exit code 1 when anything did. ``--trials 1`` takes about two minutes on
two busy cores, ``--trials 3`` (the default) about five; ``--only race`` (or any word
of the titles) picks scenarios.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness.tools import base_env, gitexp_argv  # noqa: E402 - after the path is set

PARAMS = "# user's params\ntrain:\n  lr: 0.01  # keep this comment\n  epochs: 2\nseed: 1\n"
TRAIN = (
    "import gitexp, time\n"
    "p = gitexp.params()\n"
    "time.sleep(0.3)\n"
    "open('model.bin', 'wb').write(str(p).encode() * 1000)\n"
    "gitexp.log_metric('acc', 0.5 + p['train']['lr'])\n"
)
CONFIG = (
    f"command: {sys.executable} train.py\nmetrics: [metrics.json]\nouts: [model.bin]\n"
    "remote: storage\nremotes:\n  storage: ../storage\n"
)
RECORDED = re.compile(r"recorded (?:FAILED )?experiment '([^']+)' \(([0-9a-f]{8})")


@dataclass
class Tally:
    """What the trials of one scenario found."""

    title: str
    trials: int = 0
    corrupt: int = 0
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.title}: {self.trials} trials, {self.corrupt} corrupt, {self.lost} lost"


class Project:
    """A generated project with its git remote, storage remote and a clone that pulls."""

    def __init__(self, folder: Path, env: dict[str, str], files: int, big_mib: int = 0) -> None:
        self.folder, self.env, self.files, self.big_mib = folder, env, files, big_mib
        self.root = folder / "project"
        self.clone = folder / "clone"
        self.serial = 0
        self.root.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")
        for name, text in {"params.yaml": PARAMS, "train.py": TRAIN, "gitexp.yaml": CONFIG}.items():
            (self.root / name).write_text(text)
        (self.root / ".gitignore").write_text("metrics.json\nmodel.bin\n")
        self.make_data()
        self.gitexp("add", "data")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "initial")
        self.git("init", "-q", "--bare", str(folder / "origin.git"), cwd=folder)
        self.git("remote", "add", "origin", str(folder / "origin.git"))
        self.git("push", "-q", "origin", "main")
        self.gitexp("push")
        self.git("clone", "-q", str(folder / "origin.git"), str(self.clone), cwd=folder)

    def make_data(self) -> None:
        """New content in a third of the data files (all of them the first time)."""
        self.serial += 1
        for n in range(self.files):
            path = self.root / "data" / f"part{n % 4}" / f"f{n}.txt"
            if not path.exists() or n % 3 == self.serial % 3:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"{self.serial} {n} {random.random()}\n" * 20)
        if self.big_mib:
            self.edit_big()

    def edit_big(self) -> None:
        """The big file: random bytes the first time, then ten small edits each time."""
        path = self.root / "data" / "big.bin"
        size = self.big_mib << 20
        data = bytearray(path.read_bytes() if path.exists() else random.randbytes(size))
        if path.exists():
            for k in range(10):
                at = k * (size // 10) + random.randrange(size // 10 - 4096)
                data[at : at + 4096] = random.randbytes(4096)
            path.chmod(0o644)
        path.write_bytes(bytes(data))

    def git(self, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=cwd or self.root, env=self.env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout

    def gitexp(self, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*gitexp_argv(), *args],
            cwd=cwd or self.root,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def start(self, *args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [*gitexp_argv(), *args],
            cwd=cwd or self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # so kill -9 takes its children (git, the command) too
        )


@dataclass(frozen=True)
class Scenario:
    """A command line to kill, what to do before it, and where it runs."""

    title: str
    argv: Callable[[Project, int], list[str]]
    before: Callable[[Project], None] = lambda _p: None
    in_clone: bool = False
    verify: Callable[[Project], list[str]] = lambda _p: []


def _new_data(p: Project) -> None:
    p.make_data()
    _must(p.gitexp("add", "data"))


def _new_commit(p: Project, *, push: bool = True, fresh: bool = True) -> None:
    """New data committed, its commit pushed (its data too if ``push``); the clone follows."""
    if fresh:
        p.make_data()
    _must(p.gitexp("add", "data"))
    p.git("add", "-A")
    p.git("commit", "-q", "-m", f"data {p.serial}")
    p.git("push", "-q", "origin", "main")
    if push:
        _must(p.gitexp("push"))
    p.git("pull", "-q", "--ff-only", cwd=p.clone)
    shutil.rmtree(p.clone / ".git" / "gitexp", ignore_errors=True)
    shutil.rmtree(p.clone / "data", ignore_errors=True)


def _clone_pulls_everything(p: Project) -> list[str]:
    """The storage remote holds the current commit's data: a cache-less clone pulls it whole.

    And nothing on the remote is unreadable (``fsck --remote``).
    """
    shutil.rmtree(p.clone / ".git" / "gitexp", ignore_errors=True)
    shutil.rmtree(p.clone / "data", ignore_errors=True)
    problems = _remote_readable(p)
    pulled = p.gitexp("pull", cwd=p.clone)
    if pulled.returncode != 0:
        return [*problems, f"lost: a clone cannot pull the pushed data: {pulled.stderr[-300:]}"]
    status = json.loads(p.gitexp("status", "--json", cwd=p.clone).stdout or '{"data": []}')
    return problems + [
        f"lost: the clone's {d['path']} is {d['state']} after a pull"
        for d in status["data"]
        if d["state"] != "unchanged"
    ]


def _remote_readable(p: Project) -> list[str]:
    """What ``gitexp fsck --remote`` finds wrong on the storage remote, one line each."""
    fsck = p.gitexp("fsck", "--remote", "storage", "--json")
    try:
        faults = json.loads(fsck.stdout)["faults"]
    except (json.JSONDecodeError, KeyError):
        return [f"fsck --remote did not complete: {fsck.stderr.strip()[-300:]}"]
    return [f"remote: {f['key']}: {f['problem']}" for f in faults]


def _drop_most(p: Project) -> None:
    """A new commit, pushed; then one without nine data files in ten, pushed too.

    So most of what the remote gc finds is garbage, in packs that also hold live
    files: it repacks them.
    """
    _new_commit(p)
    for path in sorted((p.root / "data").rglob("f*.txt")):
        if int(path.stem[1:]) % 10:
            path.unlink()
    _new_commit(p, fresh=False)


def _remove_data(p: Project) -> None:
    shutil.rmtree(p.root / "data", ignore_errors=True)


def _must(proc: subprocess.CompletedProcess[str]) -> None:
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, proc.args))}: {proc.stderr.strip()}")


KILLS = [
    Scenario("kill -9 during add", lambda p, n: ["add", "data"], lambda p: p.make_data()),
    Scenario("kill -9 during run", lambda p, n: ["run", "-n", f"k{n}", "-S", f"seed={n}"]),
    Scenario(
        "kill -9 during run -j",
        lambda p, n: ["run", "-j", "2", "-n", f"j{n}", "-S", f"seed={n},{n + 100}"],
    ),
    Scenario(
        "kill -9 during push",
        lambda p, n: ["push"],
        lambda p: _new_commit(p, push=False),
        verify=_clone_pulls_everything,
    ),
    Scenario(
        "kill -9 during pull",
        lambda p, n: ["pull"],
        _new_commit,
        in_clone=True,
        verify=_remote_readable,
    ),
    Scenario("kill -9 during checkout", lambda p, n: ["checkout"], _remove_data),
    Scenario("kill -9 during gc", lambda p, n: ["gc", "--now"], _new_data),
    Scenario(
        "kill -9 during remote gc",
        lambda p, n: ["gc", "--remote", "storage", "-w", "--now"],
        _drop_most,
        verify=_clone_pulls_everything,
    ),
]


def kill_trial(p: Project, sc: Scenario, number: int, delay: float, tally: Tally) -> float:
    """One trial: start, kill -9 after ``delay`` (none if negative), run again, check.

    Returns how long the command ran (the first, unkilled trial calibrates the delays).
    """
    sc.before(p)
    where = p.clone if sc.in_clone else p.root
    began = time.monotonic()
    proc = p.start(*sc.argv(p, number), cwd=where)
    if delay >= 0:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    _out, err = proc.communicate(timeout=300)
    took = time.monotonic() - began
    recorded = dict(RECORDED.findall(err))
    again = p.gitexp(*sc.argv(p, number + 10_000), cwd=where)
    problems = []
    if again.returncode != 0:
        problems.append(f"run again failed: {again.stderr.strip()[-300:]}")
    recorded.update(RECORDED.findall(again.stderr))
    problems += check(p, where, recorded) + sc.verify(p)
    _count(tally, number, problems)
    return took


def _count(tally: Tally, number: int, problems: list[str]) -> None:
    tally.trials += 1
    lost = [x for x in problems if x.startswith("lost")]
    if lost:
        tally.lost += 1
    if len(lost) < len(problems):
        tally.corrupt += 1
    tally.problems += [f"trial {number}: {x}" for x in problems]


def check(p: Project, where: Path, recorded: dict[str, str]) -> list[str]:
    """Everything that must hold once the commands ran again; one line per problem."""
    problems = []
    fsck = p.gitexp("fsck", "--json", cwd=where)
    try:
        found = json.loads(fsck.stdout)
    except json.JSONDecodeError:
        return [f"fsck did not complete: {fsck.stderr.strip()[-300:]}"]
    problems += [f"corrupt object {c['hash']}" for c in found["corrupt"]]
    problems += [f"lost: {m['path']} misses {len(m['objects'])} objects" for m in found["missing"]]
    status = json.loads(p.gitexp("status", "--json", cwd=where).stdout or '{"data": []}')
    problems += [
        f"status: {d['path']} is {d['state']}" for d in status["data"] if d["state"] != "unchanged"
    ]
    if (p.root / "params.yaml").read_text() != PARAMS:
        problems.append("params.yaml does not hold the user's bytes")
    worktrees = p.git("worktree", "list", "--porcelain").count("worktree ")
    if worktrees != 1:
        problems.append(f"{worktrees - 1} extra worktree(s) still registered")
    problems += _check_refs(p, recorded)
    return problems


def _check_refs(p: Project, recorded: dict[str, str]) -> list[str]:
    problems = []
    refs = p.git("for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/experiments/")
    current = dict(line.split() for line in refs.splitlines())
    for name, commit in current.items():
        proc = subprocess.run(
            ["git", "cat-file", "-e", f"{commit}:.gitexp/run.json"], cwd=p.root, env=p.env
        )
        if proc.returncode != 0:
            problems.append(f"experiment {name} has no run.json")
    for name, short in recorded.items():
        if not current.get(name, "").startswith(short):
            problems.append(
                f"lost: experiment {name} was reported at {short}, ref says {current.get(name)}"
            )
    return problems


@dataclass(frozen=True)
class Race:
    """Commands started together (each after its own small random delay), then checked."""

    title: str
    commands: Callable[[Project, int], list[tuple[list[str], Path]]]
    before: Callable[[Project], None] = lambda _p: None
    verify: Callable[[Project, int, list[subprocess.Popen[str]], list[str]], list[str]] = (
        lambda _p, _n, _procs, _errs: []
    )


def _all_succeed(
    p: Project, n: int, procs: list[subprocess.Popen[str]], errs: list[str]
) -> list[str]:
    return [
        f"a racer failed: {e.strip()[-300:]}"
        for q, e in zip(procs, errs, strict=True)
        if q.returncode != 0
    ]


def _runs_kept_apart(
    p: Project, n: int, procs: list[subprocess.Popen[str]], errs: list[str]
) -> list[str]:
    problems = _all_succeed(p, n, procs, errs)
    for letter, lr in zip("abc", ("0.1", "0.2", "0.3"), strict=True):
        try:
            params = p.git("show", f"refs/experiments/w{n}{letter}:params.yaml")
        except RuntimeError:
            problems.append(f"experiment w{n}{letter} was not recorded")
            continue
        values = re.findall(r"(lr|epochs|seed): (\S+)", params)
        if values != [("lr", lr), ("epochs", "2"), ("seed", "1")]:
            problems.append(f"experiment w{n}{letter} recorded params it did not ask for: {values}")
    return problems


def _one_winner(
    p: Project, n: int, procs: list[subprocess.Popen[str]], errs: list[str]
) -> list[str]:
    codes = [q.returncode for q in procs]
    problems = [] if codes.count(0) == 1 else [f"{codes.count(0)} racers won name s{n}"]
    problems += [
        f"a loser said: {e.strip()[-200:]}"
        for q, e in zip(procs, errs, strict=True)
        if q.returncode != 0 and f"experiment 's{n}' already exists" not in e
    ]
    return problems


def _ignored(p: Project, n: int, procs: list[subprocess.Popen[str]], errs: list[str]) -> list[str]:
    lines = set((p.root / ".gitignore").read_text().splitlines())
    gone = [f"/g{n}-{k}" for k in range(4) if f"/g{n}-{k}" not in lines]
    return _all_succeed(p, n, procs, errs) + [f"lost: .gitignore line {g}" for g in gone]


def _new_files(p: Project, n: int) -> list[tuple[list[str], Path]]:
    for k in range(4):
        (p.root / f"g{n}-{k}").write_text(f"{n} {k} {random.random()}\n")
    return [(["add", f"g{n}-{k}"], p.root) for k in range(4)]


RACES = [
    Race(
        "race add vs gc --now",
        lambda p, n: [(["add", "data"], p.root), (["gc", "--now"], p.root)],
        lambda p: p.make_data(),
        _all_succeed,
    ),
    Race(
        "race runs in one workspace",
        lambda p, n: [
            (["run", "-n", f"w{n}{x}", "-S", f"train.lr={lr}"], p.root)
            for x, lr in zip("abc", ("0.1", "0.2", "0.3"), strict=True)
        ],
        verify=_runs_kept_apart,
    ),
    Race(
        "race run -j for one name",
        lambda p, n: [
            (["run", "-j", "2", "-n", f"s{n}", "-S", f"seed={k}"], p.root) for k in range(4)
        ],
        verify=_one_winner,
    ),
    Race("race adds in one folder", _new_files, verify=_ignored),
    Race(
        "race push vs gc --now",
        lambda p, n: [(["push"], p.root), (["gc", "--now"], p.root)],
        lambda p: _new_commit(p, push=False),
        _all_succeed,
    ),
    Race(
        "race pull vs gc --now",
        lambda p, n: [(["pull"], p.clone), (["gc", "--now"], p.clone)],
        _new_commit,
        _all_succeed,
    ),
]


def race_trial(p: Project, race: Race, number: int, tally: Tally) -> None:
    race.before(p)
    commands = race.commands(p, number)
    procs = []
    for argv, cwd in commands:
        procs.append(p.start(*argv, cwd=cwd))
        time.sleep(random.uniform(0, 0.3))
    errs = [q.communicate(timeout=300)[1] for q in procs]
    recorded = {name: c for e in errs for name, c in RECORDED.findall(e)}
    problems = race.verify(p, number, procs, errs) + check(p, p.root, recorded)
    if any(cwd == p.clone for _a, cwd in commands):
        problems += check(p, p.clone, {})
    _count(tally, number, problems)


def run_kills(sc: Scenario, work: Path, env: dict[str, str], args: argparse.Namespace) -> Tally:
    tally = Tally(sc.title)
    p = Project(Path(tempfile.mkdtemp(dir=work)), env, args.files, args.big_mib)
    calibration = Tally(sc.title)
    took = kill_trial(p, sc, 0, -1.0, calibration)  # unkilled: how long the command takes
    tally.problems += [f"unkilled run: {x}" for x in calibration.problems]
    for number in range(1, args.trials + 1):
        kill_trial(p, sc, number, random.uniform(0.0, took * 1.1), tally)
    return tally


def run_races(race: Race, work: Path, env: dict[str, str], args: argparse.Namespace) -> Tally:
    tally = Tally(race.title)
    p = Project(Path(tempfile.mkdtemp(dir=work)), env, args.files)
    for number in range(args.trials):
        race_trial(p, race, number, tally)
    return tally


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="benchmarks/chaos.py", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--trials", type=int, default=3, help="trials per scenario (default 3)")
    parser.add_argument("--files", type=int, default=200, help="files in the data folder")
    parser.add_argument(
        "--big-mib",
        type=int,
        default=17,
        help="MiB of the data folder's big file, chunked on the remote (0: none; default 17)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        default=[],
        metavar="WORD",
        help="scenarios whose title holds one of these words",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the projects")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    work = Path(tempfile.mkdtemp(prefix="gitexp-chaos-", dir=args.work))
    env = base_env(work)
    print(f"chaos: seed {seed}, {args.trials} trials per scenario, projects in {work}")
    wanted = lambda title: not args.only or any(w in title for w in args.only)  # noqa: E731
    tallies = []
    started = time.monotonic()
    for sc in KILLS:
        if wanted(sc.title):
            tallies.append(run_kills(sc, work, env, args))
            print(tallies[-1].line(), flush=True)
    for race in RACES:
        if wanted(race.title):
            tallies.append(run_races(race, work, env, args))
            print(tallies[-1].line(), flush=True)
    print(f"({time.monotonic() - started:.0f} s)")
    for tally in tallies:
        for problem in tally.problems:
            print(f"  {tally.title}, {problem}")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if any(t.problems for t in tallies) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
