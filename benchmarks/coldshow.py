"""The first `gitexp show --json` in a fresh clone, against git reading the same commits.

    .venv/bin/python benchmarks/coldshow.py [--sizes 1000 10000] [--repeat 7] [--realtime] [--ui]

Builds projects of N generated experiments (`harness.experiments`: the commits
`gitexp run` writes, in a pack, the refs loose, as after a fetch), then times whole
commands, a new process each, round after round:

- floor: ``git for-each-ref refs/experiments | git cat-file --batch``, git itself
  listing the experiments and reading their commits;
- cold: ``gitexp show --json`` with no summary index (removed before each run), as in
  a fresh clone (the index its readers append to afterwards, in processes of their
  own, is waited for, untimed, before the next command);
- warm: ``gitexp show --json`` again, the index built.

Each round runs the three back to back, so that one round's ratios see one load;
the table gives median wall times, the median of the rounds' ratios to the floor,
and the median CPU time (user and system, git's processes included), with the load
average before and after, since the machine may be shared. The cold
output is checked byte for byte against the warm one. gitexp's modules are compiled
to bytecode first, as an installed package's are. On a machine busy with other work,
wall times are mostly waiting for a core; ``--realtime`` runs the timed commands at
real-time priority (``chrt -r``), which stands in for an idle machine.

``--ui`` times `gitexp ui` too, a new process each round: from its launch until it
says where it serves, until its page is in (``/``, gzipped as a browser asks: the
table's rows are in the page), and then until ``/api/data`` answers (the same rows as
JSON, made when first asked for), with no summary index (cold, a fresh clone) and
with it (warm).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness.experiments import GitexpExperiments  # noqa: E402 - after the path above

IDENTITY = {
    "GIT_AUTHOR_NAME": "Bench",
    "GIT_AUTHOR_EMAIL": "bench@example.com",
    "GIT_COMMITTER_NAME": "Bench",
    "GIT_COMMITTER_EMAIL": "bench@example.com",
}
PREFIX: list[str] = []
"""What the timed commands run under (``--realtime``: ``chrt -r 10``)."""
FLOOR = "git for-each-ref --format='%(objectname)' refs/experiments | git cat-file --batch"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds per size")
    parser.add_argument("--work", type=Path, help="where the projects are kept (reused)")
    parser.add_argument(
        "--source",
        type=Path,
        help="time the gitexp package under this folder instead of the installed one "
        "(an export of an earlier commit, for before and after figures)",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="run the timed commands under `chrt -r 10`, as if the machine were idle "
        "(on a machine shared with other work; needs the right to use real-time priority)",
    )
    parser.add_argument(
        "--ui",
        action="store_true",
        help="also time `gitexp ui` until its first page data is served, with no summary "
        "index (a fresh clone) and with one (needs the ui extra)",
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="coldshow-"))
    env = _env(work)
    package = _package()
    if args.source:
        env["PYTHONPATH"] = str(args.source.resolve())
        package = str(args.source.resolve() / "gitexp")
    subprocess.run([sys.executable, "-m", "compileall", "-q", package], check=True, env=env)
    print(f"gitexp show --json, first and warm, against `{FLOOR}`")
    at = " (timed at real-time priority)" if args.realtime else ""
    print(f"load average before: {_load()}{at}\n")
    if args.realtime:
        PREFIX[:] = ["chrt", "-r", "10"]
    print("| experiments | floor | cold | warm | cold/floor | warm/floor | CPU floor, cold, warm |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for size in args.sizes:
        project = _project(work / f"n{size}", size, env)
        row = _measure(project, env, args.repeat)
        print(
            f"| {size:,} | {row['floor']:.3f} s | {row['cold']:.3f} s | {row['warm']:.3f} s "
            f"| {row['cold/floor']:.2f} | {row['warm/floor']:.2f} "
            f"| {row['floor cpu']:.2f}, {row['cold cpu']:.2f}, {row['warm cpu']:.2f} s |"
        )
    print(f"\nload average after: {_load()}; {os.cpu_count()} CPUs; {args.repeat} rounds")
    if args.ui:
        print("\n`gitexp ui`: from its launch until the page (its table) and `/api/data` are in")
        print(f"load average before: {_load()} (not at real-time priority)\n")
        print(
            "| experiments | cold: listening | cold: page | cold: data "
            "| warm: listening | warm: page | warm: data |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.sizes:
            ui = _measure_ui(_project(work / f"n{size}", size, env), env, args.repeat)
            print(
                f"| {size:,} | {ui['cold listening']:.2f} s | {ui['cold page']:.2f} s "
                f"| {ui['cold data']:.2f} s | {ui['warm listening']:.2f} s "
                f"| {ui['warm page']:.2f} s | {ui['warm data']:.2f} s |"
            )
        print(f"\nload average after: {_load()}; {args.repeat} rounds")
    return 0


def _env(work: Path) -> dict[str, str]:
    home = work / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(IDENTITY, HOME=str(home), GIT_CONFIG_GLOBAL=str(home / "gitconfig"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _package() -> str:
    import gitexp

    return str(Path(gitexp.__file__).parent)


def _project(root: Path, size: int, env: dict[str, str]) -> GitexpExperiments:
    if (root / ".git").is_dir():
        project = GitexpExperiments.__new__(GitexpExperiments)
        project.root, project.env, project.count = root, env, size
        return project
    print(f"(generating {size:,} experiments in {root.name})", file=sys.stderr)
    project = GitexpExperiments(root, env)
    project.grow_to(size)
    return project


def _measure(project: GitexpExperiments, env: dict[str, str], repeat: int) -> dict[str, float]:
    show = [sys.executable, "-m", "gitexp", "show", "--json"]
    root = project.root
    folder = project.index_file.parent

    def drop() -> None:  # every version's file, for a --source of another version
        for index in folder.glob("experiments-*"):
            index.unlink()

    def written() -> None:
        """Wait for the index a cold show writes (by processes of its own, after it).

        Whole: the forked readers append their parts one after the other. An older
        version's file (``--source``) counts once it is there.
        """
        from gitexp.experiments.query.index import FILE_NAME, SummaryIndex

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            files = list(folder.glob("experiments-*"))
            if files and (
                files[0].name != FILE_NAME or len(SummaryIndex(files[0]).entries) >= project.count
            ):
                return
            time.sleep(0.01)

    def floor() -> tuple[float, float]:
        return _timed(["sh", "-c", f"{FLOOR} > /dev/null"], root, env)

    def cold() -> tuple[float, float]:
        timed = _timed(show, root, env, before=drop, out=root.parent / f"{root.name}-cold.json")
        written()
        return timed

    def warm() -> tuple[float, float]:
        return _timed(show, root, env, out=root.parent / f"{root.name}-warm.json")

    cold(), warm(), floor()  # warm-up: the page cache, the index file
    times: dict[str, list[float]] = {"floor": [], "cold": [], "warm": []}
    cpu: dict[str, list[float]] = {"floor": [], "cold": [], "warm": []}
    for _ in range(repeat):
        for name, step in (("floor", floor), ("cold", cold), ("warm", warm)):
            wall, used = step()
            times[name].append(wall)
            cpu[name].append(used)
    same = (root.parent / f"{root.name}-cold.json").read_bytes() == (
        root.parent / f"{root.name}-warm.json"
    ).read_bytes()
    if not same:
        raise SystemExit("the cold show printed something else than the warm one")
    result = {name: statistics.median(values) for name, values in times.items()}
    result.update({f"{name} cpu": statistics.median(values) for name, values in cpu.items()})
    for name in ("cold", "warm"):
        ratios = [t / f for t, f in zip(times[name], times["floor"], strict=True)]
        result[f"{name}/floor"] = statistics.median(ratios)
    return result


def _measure_ui(project: GitexpExperiments, env: dict[str, str], repeat: int) -> dict[str, float]:
    """Median seconds from launching `gitexp ui` until it listens and until its data is out.

    Cold: no summary index (a fresh clone), which the server's readers then write
    (waited for, untimed, before the warm round). Not at real-time priority: the
    server's readers and threads are timed as they share the cores normally.
    """
    folder = project.index_file.parent
    times: dict[str, list[float]] = {}
    for _ in range(repeat):
        for name in ("cold", "warm"):
            if name == "cold":
                for index in folder.glob("experiments-*"):
                    index.unlink()
            listening, page, data = _ui_once(project.root, env)
            times.setdefault(f"{name} listening", []).append(listening)
            times.setdefault(f"{name} page", []).append(page)
            times.setdefault(f"{name} data", []).append(data)
            if name == "cold":
                _wait_for_index(project)
    return {name: statistics.median(values) for name, values in times.items()}


def _ui_once(root: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Launch `gitexp ui --port 0` in ``root``: seconds until it listens, until the page
    (what a browser opens, the table's rows in it) is in, and until ``/api/data`` is."""
    import re
    import signal
    import urllib.request

    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gitexp", "ui", "--port", "0"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = None
        while url is None:
            line = proc.stdout.readline()
            if not line:
                raise SystemExit("gitexp ui ended before it said where it serves")
            found = re.search(r"http://\S+", line)
            url = found.group(0).rstrip("/") if found else None
        listening = time.perf_counter() - start
        gzipped = {"Accept-Encoding": "gzip"}  # as a browser asks
        with urllib.request.urlopen(urllib.request.Request(url + "/", headers=gzipped)) as answer:
            answer.read()
        page = time.perf_counter() - start
        with urllib.request.urlopen(url + "/api/data", timeout=60) as answer:
            answer.read()
        return listening, page, time.perf_counter() - start
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def _wait_for_index(project: GitexpExperiments) -> None:
    """Until the summary index holds every experiment (its readers append it after)."""
    from gitexp.experiments.query.index import FILE_NAME, SummaryIndex

    path = project.index_file.parent / FILE_NAME
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(SummaryIndex(path).entries) < project.count:
        time.sleep(0.02)


def _timed(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    *,
    before: Callable[[], None] | None = None,
    out: Path | None = None,
) -> tuple[float, float]:
    if before is not None:
        before()
    with open(out or os.devnull, "wb") as sink:
        used = _children_cpu()
        start = time.perf_counter()
        subprocess.run([*PREFIX, *argv], cwd=cwd, env=env, stdout=sink, check=True)
        return time.perf_counter() - start, _children_cpu() - used


def _children_cpu() -> float:
    """User and system time of every finished child process (and theirs) so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
