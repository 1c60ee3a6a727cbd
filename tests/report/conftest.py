"""Projects with experiments to draw: real runs, many generated commits, a real browser."""

from __future__ import annotations

import contextlib
import math
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pygit2
import pytest

from gitexp.core.runinfo import RunRecord

TRAIN_PY = """\
import csv, math, os
import gitexp

p = gitexp.params()
lr = p["train"]["lr"]
os.makedirs("plots", exist_ok=True)
with open("plots/val.csv", "w", newline="") as handle:
    out = csv.writer(handle)
    out.writerow(["epoch", "val_loss", "val_acc"])
    for epoch in range(p["train"]["epochs"]):
        acc = 0.5 + 0.4 * (1 - math.exp(-epoch * lr * 50))
        out.writerow([epoch, 1 / (1 + epoch * lr * 100), acc])
for step in range(20):
    gitexp.log_metric("loss", math.exp(-step * lr * 10), step=step)
gitexp.log_metric("acc", 0.5 + lr * 10)
"""

PARAMS = "train:\n  lr: 0.001\n  epochs: 4\nseed: 1\n"
CONFIG = "params: [params.yaml]\nmetrics: [metrics.json]\nplots: [plots/]\n"


def git(cwd: Path, *args: str) -> str:
    """Run real git in ``cwd``; its stdout."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout


def commit_all(root: Path, message: str) -> None:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)


def make_repo(path: Path, files: dict[str, str]) -> Path:
    """A real repository at ``path`` with one commit of ``files`` on main."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, text in files.items():
        (path / name).write_text(text)
    commit_all(path, "initial")
    return path


@contextlib.contextmanager
def _isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[pytest.MonkeyPatch]:
    """The environment isolation of the autouse fixture, for fixtures wider than a test."""
    home = tmp_path_factory.mktemp("report-home")
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = user@example.com\n")
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("GIT_", "GITEXP_")):
                env.delenv(name)
        env.setenv("HOME", str(home))
        env.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        env.setenv("GIT_CONFIG_NOSYSTEM", "1")
        yield env


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real runs, made once: ``base-1..3`` (lr 0.001, 0.01, 0.03) on main, ``feat-1..2``
    (lr 0.01, 0.02) on feature, which changes train.py."""
    with _isolated(tmp_path_factory) as env:
        root = make_repo(
            tmp_path_factory.mktemp("report") / "proj",
            {
                "params.yaml": PARAMS,
                "train.py": TRAIN_PY,
                "gitexp.yaml": CONFIG,
                ".gitignore": "metrics.json\nplots/\n",
            },
        )
        env.chdir(root)
        from gitexp.api import Repo
        from gitexp.experiments.run import tracking

        tracking.set_session(None)
        repo = Repo(root)
        runs = repo.run(
            [sys.executable, "train.py"], overrides=["train.lr=0.001,0.01,0.03"], name="base"
        )
        git(root, "checkout", "-q", "-b", "feature")
        (root / "train.py").write_text(TRAIN_PY.replace("0.4 *", "0.45 *"))
        commit_all(root, "better accuracy")
        runs += repo.run(
            [sys.executable, "train.py"], overrides=["train.lr=0.01,0.02"], name="feat"
        )
        git(root, "checkout", "-q", "main")
    assert [r.status for r in runs] == ["success"] * 5, [r.problems for r in runs]
    return root


@pytest.fixture
def project(project_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project of `project_template`, as the cwd."""
    root = tmp_path / "proj"
    shutil.copytree(project_template, root, symlinks=True)
    monkeypatch.chdir(root)
    return root


SCORED_PY = """\
import json, sys
import gitexp

p = gitexp.params()
with open("metrics.json", "w") as handle:
    json.dump({"acc": p["a"], "loss": p["l"], "speed": p["s"]}, handle)
sys.exit(1 if p["fail"] else 0)
"""

# name: (acc, loss, speed, fails); "broken" has the best numbers but failed
SCORED_RUNS = {
    "plain": (0.7, 0.5, 30, False),
    "better": (0.9, 0.3, 20, False),
    "broken": (0.99, 0.1, 5, True),
    "worse": (0.6, 0.8, 10, False),
}


@pytest.fixture(scope="session")
def scored_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real runs whose metrics are ``acc`` (higher is better by its name), ``loss`` (lower)
    and ``speed`` (no known goal), as `SCORED_RUNS` lists them."""
    with _isolated(tmp_path_factory) as env:
        root = make_repo(
            tmp_path_factory.mktemp("scored") / "proj",
            {
                "params.yaml": "a: 0.5\nl: 1.0\ns: 1\nfail: false\n",
                "train.py": SCORED_PY,
                "gitexp.yaml": "params: [params.yaml]\nmetrics: [metrics.json]\n",
                ".gitignore": "metrics.json\n",
            },
        )
        env.chdir(root)
        from gitexp.api import Repo
        from gitexp.experiments.run import tracking

        tracking.set_session(None)
        repo = Repo(root)
        statuses = {}
        for name, (acc, loss, speed, fails) in SCORED_RUNS.items():
            overrides = [f"a={acc}", f"l={loss}", f"s={speed}", f"fail={str(fails).lower()}"]
            (result,) = repo.run([sys.executable, "train.py"], overrides=overrides, name=name)
            statuses[name] = result.status
    assert statuses == {n: "failed" if r[3] else "success" for n, r in SCORED_RUNS.items()}
    return root


@pytest.fixture
def scored(scored_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the project of `scored_template`, as the cwd."""
    root = tmp_path / "scored"
    shutil.copytree(scored_template, root, symlinks=True)
    monkeypatch.chdir(root)
    return root


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty folder for pictures."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture(scope="module")
def many_experiments(tmp_path_factory: pytest.TempPathFactory) -> Callable[[int], Path]:
    """Make a project with N generated experiments (see `make_many`); returns its root."""

    def build(count: int) -> Path:
        with _isolated(tmp_path_factory):
            root = make_repo(
                tmp_path_factory.mktemp("many") / "proj",
                {
                    "params.yaml": "train:\n  lr: 0.001\n  batch: 32\n  optimizer: adam\n",
                    "train.py": TRAIN_PY,
                    "gitexp.yaml": CONFIG,
                    ".gitignore": "metrics.json\n",
                },
            )
            make_many(root, count)
        return root

    return build


def make_many(root: Path, count: int, *, steps: int = 50, seed: int = 7) -> list[str]:
    """Write ``count`` experiment commits and refs as ``gitexp run`` would, without running.

    Each has its params (lr, batch, optimizer), metrics (acc, loss), a logged loss
    series of ``steps`` points and a run record; one in 25 failed. They spread over
    three baseline commits whose train.py differ. Returns the names.
    """
    rand = random.Random(seed)
    repo = pygit2.Repository(str(root))
    baselines = _baselines(root, repo)
    sig = pygit2.Signature("Test User", "user@example.com", 1_767_225_600, 0)
    names = []
    for number in range(count):
        name = f"gen-{number:05d}"
        base = repo[baselines[number % len(baselines)]]
        lr = rand.choice([0.001, 0.003, 0.01, 0.03, 0.1])
        batch = rand.choice([16, 32, 64, 128])
        optimizer = rand.choice(["adam", "sgd", "rmsprop"])
        acc = round(0.6 + 0.3 * rand.random() + lr, 6)
        curve = [math.exp(-s * lr * 3) + rand.random() * 0.05 for s in range(steps)]
        status = "failed" if number % 25 == 24 else "success"
        files = {
            "params.yaml": f"train:\n  lr: {lr}\n  batch: {batch}\n  optimizer: {optimizer}\n",
            "metrics.json": f'{{"acc": {acc}, "loss": {curve[-1]:.6f}}}\n',
        }
        record = RunRecord(
            name=name,
            command=("python", "train.py"),
            overrides={},
            status=status,
            exit_code=0 if status == "success" else 1,
            started=f"2026-01-{1 + number % 28:02d}T{number % 24:02d}:{number % 60:02d}:00Z",
            duration_s=1.0,
            baseline_commit=str(base.id),
            baseline_branch="main",
        )
        series = "step\tvalue\n" + "".join(f"{s}\t{v!r}\n" for s, v in enumerate(curve))
        tree = _tree(
            repo, base.tree, files, {"run.json": record.to_json(), "series/loss.tsv": series}
        )
        commit = repo.create_commit(None, sig, sig, f"gitexp: {name}\n", tree, [base.id])
        repo.references.create(f"refs/experiments/{name}", commit)
        names.append(name)
    return names


def _baselines(root: Path, repo: pygit2.Repository) -> list[pygit2.Oid]:
    ids = []
    for version in range(3):
        (root / "train.py").write_text(f"# version {version}\n" + TRAIN_PY)
        commit_all(root, f"train.py version {version}")
        ids.append(repo.head.target)
    return ids


def _tree(
    repo: pygit2.Repository,
    base: pygit2.Tree,
    files: dict[str, str],
    run_files: dict[str, str | bytes],
) -> pygit2.Oid:
    top = repo.TreeBuilder(base)
    for path, text in files.items():
        top.insert(path, repo.create_blob(text.encode()), pygit2.GIT_FILEMODE_BLOB)
    series = repo.TreeBuilder()
    run = repo.TreeBuilder()
    for path, data in run_files.items():
        blob = repo.create_blob(data if isinstance(data, bytes) else data.encode())
        if path.startswith("series/"):
            series.insert(path.split("/", 1)[1], blob, pygit2.GIT_FILEMODE_BLOB)
        else:
            run.insert(path, blob, pygit2.GIT_FILEMODE_BLOB)
    run.insert("series", series.write(), pygit2.GIT_FILEMODE_TREE)
    top.insert(".gitexp", run.write(), pygit2.GIT_FILEMODE_TREE)
    return top.write()


CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright.

    scripts/install-test-deps.sh installs both; without them the browser tests skip,
    except under CI, where they fail.
    """
    if not (os.path.exists(CHROMIUM) and shutil.which("chromium")):
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: scripts/install-test-deps.sh installs it")
        pytest.skip("chromium is not installed (scripts/install-test-deps.sh installs it)")
    try:
        from playwright import sync_api
    except ModuleNotFoundError:
        if os.environ.get("CI"):
            pytest.fail("playwright is missing: scripts/install-test-deps.sh installs it")
        pytest.skip("playwright is not installed (scripts/install-test-deps.sh installs it)")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


@dataclass
class Visit:
    """A page opened from a file, with what it logged and what it asked the network for."""

    page: object
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def visit(chromium) -> Iterator[object]:
    contexts = []

    def open_file(path: Path) -> Visit:
        context = chromium.new_context(viewport={"width": 1400, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        seen = Visit(page)
        page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: seen.errors.append(str(e)))

        def route(request_route, request) -> None:
            seen.requests.append(request.url)
            if request.url == path.as_uri():
                request_route.continue_()
            else:
                request_route.abort()

        page.route("**/*", route)
        page.goto(path.as_uri())
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        return seen

    yield open_file
    for context in contexts:
        context.close()
