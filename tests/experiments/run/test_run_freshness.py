"""A run's record is what that run did: results it did not write are never its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import orjson
import pytest

import gitexp
from tests.conftest import commit_all, git
from tests.experiments.run.test_run import run_json, tree_of

PY = sys.executable
LOG_LOSS = "import gitexp; gitexp.log_metric('loss', 0.5, step=0)"
WRITE_OLD = "import json; json.dump({'acc': 0.9, 'auc': 0.95}, open('metrics.json', 'w'))"


def metrics_of(name: str) -> dict[str, object]:
    for row in gitexp.Repo().experiments():
        if row["name"] == name:
            return row["metrics"]  # type: ignore[return-value]
    raise AssertionError(f"no experiment {name}")


def test_logging_one_metric_records_only_that_metric(repo: Path, cli: object) -> None:
    assert cli("run", "-n", "full", "--", PY, "-c", WRITE_OLD).code == 0  # type: ignore[operator]
    assert cli("run", "-n", "partial", "--", PY, "-c", LOG_LOSS).code == 0  # type: ignore[operator]
    assert orjson.loads(tree_of(repo, "partial")["metrics.json"]) == {"loss": 0.5}
    assert metrics_of("partial") == {"metrics.json": {"loss": 0.5}}
    best = gitexp.Repo().compare("main", "main", metric="auc", descending=True)
    assert "partial" not in json.dumps(best.to_json())


def test_a_run_that_writes_no_metrics_has_none_and_is_warned(repo: Path, cli: object) -> None:
    cli("run", "-n", "full", "--", PY, "-c", WRITE_OLD)  # type: ignore[operator]
    done = cli("run", "-n", "idle", "--", PY, "-c", "pass")  # type: ignore[operator]
    assert done.code == 0
    assert "metrics.json" not in tree_of(repo, "idle")
    assert "'metrics.json' was not written by this run" in done.err
    assert metrics_of("idle") == {}
    assert json.loads((repo / "metrics.json").read_text()) == {"acc": 0.9, "auc": 0.95}


def test_a_metrics_file_rewritten_with_the_same_bytes_is_fresh(repo: Path) -> None:
    same = '{"acc": 0.5}\n'
    for round_ in range(30):  # each write lands in the same clock tick as the one before
        (repo / "metrics.json").write_text(same)
        with gitexp.Experiment(name=f"same-{round_}"):
            (repo / "metrics.json").write_text(same)
        assert tree_of(repo, f"same-{round_}")["metrics.json"] == same.encode()


def test_the_logging_api_starts_empty_in_a_standalone_experiment(repo: Path) -> None:
    (repo / "metrics.json").write_text('{"acc": 0.9, "auc": 0.95}')
    with gitexp.Experiment(name="nb") as exp:
        exp.log_metric("loss", 0.25)
    assert metrics_of("nb") == {"metrics.json": {"loss": 0.25}}
    assert exp.result is not None and exp.result.notes == []


def test_metrics_committed_in_the_baseline_are_not_the_runs(repo: Path, cli: object) -> None:
    (repo / ".gitignore").write_text("")
    (repo / "metrics.json").write_text('{"acc": 0.9}\n')
    base = commit_all(repo)
    done = cli("run", "-n", "idle", "--", PY, "-c", "pass")  # type: ignore[operator]
    assert "'metrics.json' was not written by this run" in done.err
    assert git(repo, "diff", "--stat", base, "refs/experiments/idle", "--", "metrics.json") == ""
    assert metrics_of("idle") == {}
    assert run_json(repo, "idle")["inherited"] == ["metrics.json"]
    cli("run", "-n", "real", "--", PY, "-c", "open('metrics.json','w').write('{\"acc\": 0.9}\\n')")  # type: ignore[operator]
    assert metrics_of("real") == {"metrics.json": {"acc": 0.9}}
    diff = gitexp.Repo().diff("real", "idle")
    assert diff["metrics"] == {"metrics.json": {"acc": {"old": 0.9, "new": None}}}
    against_baseline = gitexp.Repo().diff("idle")
    assert against_baseline["files"] == []  # as `git diff`: the run changed no file
    assert against_baseline["metrics"] == {"metrics.json": {"acc": {"old": 0.9, "new": None}}}


def test_an_out_left_by_an_earlier_run_is_not_recorded(repo: Path, cli: object) -> None:
    (repo / "gitexp.yaml").write_text("outs: [model.pkl]\n")
    commit_all(repo)
    cli("run", "-n", "train", "--", PY, "-c", "open('model.pkl','wb').write(b'w1')")  # type: ignore[operator]
    done = cli("run", "-n", "noop", "--", "true")  # type: ignore[operator]
    assert done.code == 1
    assert "out 'model.pkl' was not written by this run" in done.err
    assert "model.pkl.gitexp" not in tree_of(repo, "noop")
    rows = {r["name"]: r for r in gitexp.Repo().experiments()}
    assert "model.pkl" in rows["train"]["data"]  # type: ignore[operator]
    assert rows["noop"]["data"] == {}
    assert gitexp.Repo().diff("noop")["artifacts"] == []
    assert (repo / "model.pkl").read_bytes() == b"w1"


def test_an_out_rewritten_with_the_same_bytes_is_recorded(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("outs: [model.pkl]\n")
    commit_all(repo)
    write = [PY, "-c", "open('model.pkl','wb').write(b'w1')"]
    gitexp.Repo().run(write, name="one")
    result = gitexp.Repo().run(write, name="two")[0]
    assert result.status == "success" and result.notes == []
    assert "model.pkl.gitexp" in tree_of(repo, "two")


def test_a_logged_artifact_the_run_did_not_write_is_not_recorded(repo: Path) -> None:
    log = "import gitexp; gitexp.log_artifact('out.bin')"
    gitexp.Repo().run([PY, "-c", "open('out.bin','wb').write(b'x'); " + log], name="one")
    result = gitexp.Repo().run([PY, "-c", log], name="two")[0]
    assert "out.bin.gitexp" in tree_of(repo, "one")
    assert "out.bin.gitexp" not in tree_of(repo, "two")
    assert any("'out.bin' was not written by this run" in n for n in result.notes)


def test_series_files_left_in_plots_are_not_the_runs(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("plots: [curves/]\n")
    (repo / ".gitignore").write_text("metrics.json\ncurves/\n")
    commit_all(repo)
    write = "import os; os.makedirs('curves', exist_ok=True); open('curves/{0}.tsv','w').write('step\\tv\\n0\\t1\\n')"
    gitexp.Repo().run([PY, "-c", write.format("a")], name="one")
    result = gitexp.Repo().run([PY, "-c", write.format("b")], name="two")[0]
    files = tree_of(repo, "two")
    assert "curves/b.tsv" in files and "curves/a.tsv" not in files
    assert any("'curves/a.tsv' was not written by this run" in n for n in result.notes)
    assert set(gitexp.Repo().series(["two"])["two"]) == {"curves/b.tsv:v"}


def test_series_committed_in_the_baseline_are_not_the_runs(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("plots: [curves/]\n")
    (repo / "curves").mkdir()
    (repo / "curves" / "old.tsv").write_text("step\tv\n0\t1\n")
    commit_all(repo)
    gitexp.Repo().run([PY, "-c", LOG_LOSS], name="two")
    assert "curves/old.tsv" in tree_of(repo, "two")
    assert set(gitexp.Repo().series(["two"])["two"]) == {"loss"}


def test_worktree_runs_record_only_what_each_point_wrote(repo: Path) -> None:
    (repo / ".gitignore").write_text("")
    (repo / "metrics.json").write_text('{"acc": 0.9, "auc": 0.95}\n')
    commit_all(repo)
    results = gitexp.Repo().run([PY, "-c", LOG_LOSS], overrides=["seed=1,2"], name="p", jobs=2)
    assert [r.status for r in results] == ["success", "success"]
    assert metrics_of("p-1") == metrics_of("p-2") == {"metrics.json": {"loss": 0.5}}
    results = gitexp.Repo().run([PY, "-c", "pass"], overrides=["seed=1,2"], name="q", jobs=2)
    assert metrics_of("q-1") == metrics_of("q-2") == {}
    assert all(any("metrics.json" in n for n in r.notes) for r in results)


@pytest.mark.parametrize("jobs", [1, 2])
def test_worktree_runs_with_an_out_they_did_not_write(repo: Path, jobs: int) -> None:
    (repo / "gitexp.yaml").write_text("outs: [model.pkl]\n")
    commit_all(repo)
    gitexp.Repo().run([PY, "-c", "open('model.pkl','wb').write(b'w1')"], name="train")
    gitexp.Repo().apply("train")
    commit_all(repo)
    results = gitexp.Repo().run(["true"], overrides=["seed=1,2"], name="n", jobs=jobs)
    assert [r.status for r in results] == ["failed", "failed"]
    for result in results:
        assert len(result.problems) == 1 and "out 'model.pkl'" in result.problems[0]
        assert run_json(repo, result.name)["inherited"] == ["model.pkl.gitexp"]
        assert gitexp.Repo().diff(result.name)["artifacts"] == []


def test_series_left_in_the_workspace_gitexp_folder_are_not_the_runs(repo: Path) -> None:
    (repo / ".gitexp" / "series").mkdir(parents=True)
    (repo / ".gitexp" / "series" / "old.tsv").write_text("step\tvalue\n0\t1\n")
    gitexp.Repo().run([PY, "-c", LOG_LOSS], name="two")
    logged = [p for p in tree_of(repo, "two") if p.startswith(".gitexp/series/")]
    assert [p for p in logged if not p.startswith(".gitexp/series/system/")] == [
        ".gitexp/series/loss.tsv"
    ]  # a slow machine may also sample the run's system metrics
    assert set(gitexp.Repo().series(["two"])["two"]) - {
        "system/cpu_percent",
        "system/memory_rss",
    } == {"loss"}


def test_metrics_the_script_wrote_itself_are_kept_beside_logged_ones(repo: Path) -> None:
    (repo / "metrics.json").write_text('{"auc": 0.95}')
    script = "import json; json.dump({'acc': 0.7}, open('metrics.json', 'w')); " + LOG_LOSS
    gitexp.Repo().run([PY, "-c", script], name="both")
    assert metrics_of("both") == {"metrics.json": {"acc": 0.7, "loss": 0.5}}


def test_apply_does_not_hand_back_an_out_the_run_did_not_write(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("outs: [model.pkl]\n")
    commit_all(repo)
    write = "open('model.pkl','wb').write(b'{}')"
    gitexp.Repo().run([PY, "-c", write.format("w1")], name="v1")
    gitexp.Repo().apply("v1")
    commit_all(repo)
    assert gitexp.Repo().run(["true"], name="noop")[0].status == "failed"
    gitexp.Repo().run([PY, "-c", write.format("w2")], name="v2")
    gitexp.Repo().apply("v2")
    commit_all(repo)
    gitexp.Repo().apply("noop")
    assert (repo / "model.pkl").read_bytes() == b"w2"
    assert "w2" not in git(repo, "status", "--porcelain")


def test_a_watch_resumed_from_its_run_folder_gives_the_same_answers(repo: Path) -> None:
    from gitexp.core.config import ProjectConfig
    from gitexp.experiments.run.freshness import ResultsWatch

    config = ProjectConfig(metrics=("metrics.json", "old.json"), plots=("curves",))
    (repo / "old.json").write_text("{}")
    (repo / "metrics.json").write_text("{}")
    run_dir = repo.parent / "run"
    run_dir.mkdir()
    began = ResultsWatch.begin(repo, config, run_dir)
    (repo / "metrics.json").write_text("{}")
    (repo / "curves").mkdir()
    (repo / "curves" / "new.tsv").write_text("step\tv\n0\t1\n")
    resumed = ResultsWatch.resume(repo, config, run_dir)
    for watch in (began, resumed):
        assert watch.written("metrics.json") and watch.written("curves/new.tsv")
        assert not watch.written("old.json") and not watch.written("train.py")
