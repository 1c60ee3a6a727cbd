"""The UI server's own work at many experiments: its first page data, and a new run.

    .venv/bin/python benchmarks/ui_server.py [--experiments 10000] [--rounds 5] [--work DIR]

Builds a project of N generated experiments (as `benchmarks/ui.py` does), then, in
this process, round after round and back to back so that each round's ratio sees one
load:

- start: the page from nothing, as a new ``gitexp ui`` builds it before its first
  request (the recorded experiments read, their rows, the page with them in columns,
  gzipped), the summary index already built;
- new experiment: one more experiment commit and ref written, then the page brought
  up to date, as the server does on its next look at the refs;
- compare (kept reading only): the code files and images of two experiments, the
  newest and the oldest, as a page asks for them when they are ticked.

Each is done with the kept reading the server uses (``now``:
`gitexp.experiments.liveview.CachedSource`, which reads code files and images only
for the experiments compared) and with the reading from scratch (``before``:
`gitexp.experiments.query.live.LiveSource`, which reads them for every experiment).
Prints the median CPU seconds of this process (git's own processes not counted: the
ref listing is the same for both) and wall seconds, the median of the rounds' ratios
now/before, and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pygit2

from gitexp.experiments.liveview import CachedSource
from gitexp.experiments.query.live import LiveSource
from gitexp.project import Project
from gitexp.report.ui.state import PageState
from tests.report.conftest import CONFIG, TRAIN_PY, make_many, make_repo

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
Timing = tuple[float, float]


def timed(work: Callable[[], object]) -> Timing:
    """CPU and wall seconds of ``work()``."""
    cpu, wall = time.process_time(), time.perf_counter()
    work()
    return time.process_time() - cpu, time.perf_counter() - wall


def first_page(state: PageState) -> None:
    """What a new server does before its first page: the data, the page, gzipped."""
    state.refresh_recorded()
    state.page_html()  # the first is made by the refresh already; later ones on request


def compare(source: CachedSource, state: PageState) -> None:
    """The code files and images of the newest and the oldest experiment."""
    rows = state.snapshot.recorded["rows"]
    assert isinstance(rows, list)
    source.details({str(row["n"]): str(row["c"]) for row in (rows[0], rows[-1])})


def add_experiment(project: Path) -> None:
    """One more experiment commit (new metrics) and its ref, as a finished run leaves."""
    repo = pygit2.Repository(str(project))
    last = repo.references["refs/experiments/gen-00000"].peel(pygit2.Commit)
    builder = repo.TreeBuilder(last.tree)
    metrics = repo.create_blob(f'{{"acc": 0.999, "loss": {time.time_ns() % 997}}}\n'.encode())
    builder.insert("metrics.json", metrics, pygit2.enums.FileMode.BLOB)
    sig = pygit2.Signature("Bench", "bench@example.com")
    name = f"bench-{time.time_ns()}"
    commit = repo.create_commit(
        None, sig, sig, f"gitexp: {name}\n", builder.write(), list(last.parent_ids)
    )
    repo.references.create(f"refs/experiments/{name}", commit)


def one_round(project: Path, make: Callable[[Project], object]) -> dict[str, Timing]:
    """Start, a new experiment, then a comparison, with a fresh source made by ``make``."""
    source = make(Project.open(project))
    state = PageState(source)  # type: ignore[arg-type]
    start = timed(lambda: first_page(state))
    add_experiment(project)
    time.sleep(0.01)  # the refs folder's time stamp moves on
    new = timed(lambda: first_page(state))
    found = {"start": start, "new": new}
    if isinstance(source, CachedSource):
        found["compare"] = timed(lambda: compare(source, state))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", type=Path, help="build the project here, or reuse it")
    args = parser.parse_args()
    for name, value in IDENTITY.items():
        os.environ.setdefault(name, value)
    with tempfile.TemporaryDirectory() as scratch:
        project = (args.work or Path(scratch)) / "proj"
        if not project.exists():
            make_many(
                make_repo(
                    project,
                    {
                        "params.yaml": "train:\n  lr: 0.001\n  batch: 32\n  optimizer: adam\n",
                        "train.py": TRAIN_PY,
                        "gitexp.yaml": CONFIG,
                        ".gitignore": "metrics.json\n",
                    },
                ),
                args.experiments,
            )
        PageState(CachedSource(Project.open(project))).refresh_recorded()  # the index built
        load_before = os.getloadavg()[0]
        figures: dict[str, dict[str, list[Timing]]] = {"before": {}, "now": {}}
        for _ in range(args.rounds):
            for label, make in (("before", LiveSource), ("now", CachedSource)):
                for case, timing in one_round(project, make).items():
                    figures[label].setdefault(case, []).append(timing)
    report: dict[str, object] = {"experiments": args.experiments, "rounds": args.rounds}
    for case in ("start", "new"):
        before, now = figures["before"][case], figures["now"][case]
        report[case] = {
            "before_cpu_s": round(statistics.median(t[0] for t in before), 3),
            "now_cpu_s": round(statistics.median(t[0] for t in now), 3),
            "before_wall_s": round(statistics.median(t[1] for t in before), 3),
            "now_wall_s": round(statistics.median(t[1] for t in now), 3),
            "cpu_ratio": round(
                statistics.median(n[0] / b[0] for b, n in zip(before, now, strict=True)), 3
            ),
        }
    compared = figures["now"]["compare"]
    report["compare"] = {
        "now_cpu_s": round(statistics.median(t[0] for t in compared), 4),
        "now_wall_s": round(statistics.median(t[1] for t in compared), 4),
    }
    report["load"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
