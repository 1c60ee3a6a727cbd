"""The benchmark harness: its quick mode end to end, and its experiment generator.

The quick run keeps ``benchmarks/run.py`` from rotting (gitexp only, small sizes, no
DVC); the generator test checks that generated experiments are what a real
``gitexp run`` records, so that what the benchmarks time is what users get.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


@pytest.fixture(scope="module")
def quick(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One ``run.py --quick`` for the whole module: its process and its output folder."""
    base = tmp_path_factory.mktemp("bench")
    out = base / "out"
    proc = subprocess.run(
        [
            sys.executable,
            str(BENCHMARKS / "run.py"),
            "--quick",
            "--work",
            str(base / "work"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, out


def _harness() -> None:
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))


def test_quick_run_prints_the_table_and_writes_json_and_chart(
    quick: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, out = quick
    assert proc.returncode == 0, proc.stderr[-3000:]
    header = next(line for line in proc.stdout.splitlines() if line.startswith("operation"))
    for column in ("size", "gitexp", "DVC", "gitexp/DVC", "gitexp peak mem"):
        assert column in header
    assert "DVC not run" in proc.stdout
    assert "Scaling (time ~ size^k):" in proc.stdout
    doc = json.loads((out / "results.json").read_text())
    assert doc["mode"] == "quick"
    assert doc["machine"]["cores"] >= 1
    assert doc["versions"]["gitexp"]
    png = (out / "ratios.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert "| operation |" in (out / "results.md").read_text()


def test_quick_run_times_each_experiment_operation(
    quick: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _proc, out = quick
    results = json.loads((out / "results.json").read_text())["results"]
    by_op: dict[str, list[dict[str, object]]] = {}
    for entry in results:
        by_op.setdefault(str(entry["operation"]), []).append(entry)
    for operation in ("show --json (first)", "show --json (warm)"):
        assert [e["size"] for e in by_op[operation]] == [10, 30, 100]
    for entry in by_op["show --json (first)"] + by_op["diff A B"] + by_op["run -- true"]:
        assert entry["status"] == "ok", entry
        gitexp = entry["gitexp"]
        assert isinstance(gitexp, dict)
        assert len(gitexp["times_s"]) == 3 and gitexp["median_s"] > 0
        assert 5 < gitexp["peak_rss_mib"] < 2000
        assert entry["dvc"] is None and entry["ratio_median"] is None
    run = by_op["run -- true"][0]
    assert run["bare"] is not None and run["overhead_median_s"] is not None
    fits = json.loads((out / "results.json").read_text())["scaling"]
    assert {f["operation"] for f in fits} >= {"show --json (first)", "show --json (warm)"}


def test_quick_run_reports_data_operations_cleanly(
    quick: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    """Data commands not yet in gitexp are 'unavailable', never a crash; present ones are timed."""
    from gitexp.cli.main import COMMANDS

    have = {name for name, _m, _h in COMMANDS}
    _proc, out = quick
    results = json.loads((out / "results.json").read_text())["results"]
    needs = {
        "add": {"add"},
        "status": {"add", "status"},
        "checkout": {"add", "checkout"},
        "gc": {"add", "gc"},
        "push": {"add", "push"},
        "pull": {"add", "push", "pull"},
    }
    seen = set()
    for entry in results:
        verb = str(entry["operation"]).split()[0]
        if verb not in needs:
            continue
        seen.add(verb)
        if needs[verb] <= have:
            assert entry["status"] == "ok", entry
        else:
            assert entry["status"] == "unavailable"
            assert "gitexp has no" in str(entry["message"])
    assert seen == set(needs)


def test_generated_experiments_match_a_real_run(tmp_path: Path) -> None:
    """Same tree, same files, same run.json keys and the same ``show --json`` fields."""
    _harness()
    from harness import projects, tools
    from harness.experiments import GitexpExperiments

    env = tools.base_env(tmp_path / "work")
    repo = GitexpExperiments(tmp_path / "project", env)
    repo.grow_to(3)
    number = 2
    values = projects.override_values(number)
    gitexp = tools.gitexp_argv()
    real = subprocess.run(
        [
            *gitexp,
            "run",
            "-n",
            "real",
            *projects.override_args(values),
            "--",
            *projects.TRAIN_COMMAND,
        ],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert real.returncode == 0, real.stderr
    import pygit2

    git = pygit2.Repository(str(repo.root))
    made = git.revparse_single("refs/experiments/exp-000002").peel(pygit2.Commit)
    ran = git.revparse_single("refs/experiments/real").peel(pygit2.Commit)
    assert made.parent_ids == ran.parent_ids == [git.head.target]

    def files(commit: pygit2.Commit) -> dict[str, tuple[int, bytes]]:
        found: dict[str, tuple[int, bytes]] = {}

        def walk(tree: pygit2.Tree, prefix: str) -> None:
            for entry in tree:
                obj = git[entry.id]
                if isinstance(obj, pygit2.Tree):
                    walk(obj, f"{prefix}{entry.name}/")
                else:
                    found[prefix + entry.name] = (entry.filemode, obj.data)

        walk(commit.tree, "")
        return found

    made_files, ran_files = files(made), files(ran)
    assert sorted(made_files) == sorted(ran_files)
    for path in ("params.yaml", "metrics.json", ".gitexp/output.log", "train.py", ".gitignore"):
        assert made_files[path] == ran_files[path], path
    made_run = json.loads(made_files[".gitexp/run.json"][1])
    ran_run = json.loads(ran_files[".gitexp/run.json"][1])
    assert list(made_run) == list(ran_run)
    for key in (
        "version",
        "command",
        "overrides",
        "status",
        "exit_code",
        "baseline",
        "host",
        "python",
        "platform",
    ):
        assert made_run[key] == ran_run[key], key
    from gitexp.core.runinfo import parse_trailers

    def head(message: str) -> str:
        return message.split("\n\nGitexp-Status: ")[0]

    assert head(made.message) == head(ran.message).replace("gitexp: real", "gitexp: exp-000002")
    made_facts, ran_facts = parse_trailers(made.message), parse_trailers(ran.message)
    assert made_facts is not None and ran_facts is not None
    assert {k: v for k, v in made_facts.items() if k != "started"} == {
        k: v for k, v in ran_facts.items() if k != "started"
    }
    show = subprocess.run(
        [*gitexp, "show", "--json"],
        cwd=repo.root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = {row["name"]: row for row in json.loads(show.stdout)["experiments"]}
    assert len(rows) == 4
    a, b = rows["exp-000002"], rows["real"]
    assert list(a) == list(b)
    for key in ("baseline", "branch", "status", "params", "metrics", "data"):
        assert a[key] == b[key], key


def test_scaling_fit_flags_a_quadratic_step() -> None:
    _harness()
    from harness.measure import Case, Result, Stats
    from harness.report import scaling

    def results(operation: str, times: dict[int, float]) -> list[Result]:
        return [
            Result(Case(operation, n, "experiments", None), gitexp=Stats([t], [1024]))
            for n, t in times.items()
        ]

    linear = results("linear", {100: 0.11, 1000: 0.2, 10000: 1.1})
    quadratic = results("quadratic", {100: 0.11, 1000: 0.3, 10000: 20.0})
    fits = {f["operation"]: f for f in scaling(linear + quadratic, ["linear", "quadratic"])}
    assert fits["linear"]["super_linear"] is False
    assert 0.6 < fits["linear"]["last_step_exponent"] < 0.9
    assert fits["quadratic"]["super_linear"] is True


def test_per_item_compares_at_the_largest_size_both_reached() -> None:
    _harness()
    from harness.measure import Case, Result, Stats
    from harness.report import per_item

    small = Result(
        Case("show", 100, "experiments", None), gitexp=Stats([0.2], [1]), dvc=Stats([2.0], [1])
    )
    big = Result(Case("show", 10_000, "experiments", None), gitexp=Stats([1.0], [1]))
    [item] = per_item([small, big])
    assert item["largest_common_size"] == 100 and item["size"] == 10_000
    assert item["dvc_per_item_at_common_ms"] == pytest.approx(20.0)
    assert item["gitexp_per_item_ms"] == pytest.approx(0.1)
    assert item["ratio"] == pytest.approx(0.005)
