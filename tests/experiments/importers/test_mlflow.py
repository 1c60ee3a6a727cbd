"""``gitexp import mlflow`` on runs that real MLflow logged into a file store."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import git

pytest.importorskip("mlflow", reason="the MLflow tests need mlflow (the test extra)")
pytestmark = pytest.mark.slow  # MLflow logs the store once per module: 5-20 s

LOG = """\
import os, sys
import mlflow

mlflow.set_tracking_uri("file:" + sys.argv[1])
mlflow.set_experiment("vision")
commit = sys.argv[2]
with mlflow.start_run(run_name="baseline") as run:
    mlflow.set_tag("mlflow.source.git.commit", commit)
    mlflow.set_tag("team", "vision")
    mlflow.set_tag("mlflow.note.content", "the first try")
    mlflow.log_param("lr", 0.1)
    mlflow.log_param("optimizer", "adam")
    mlflow.log_param("layers", 3)
    for step in range(4):
        mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metric("val/acc", 0.5 + step / 10, step=step)
    mlflow.log_metric("acc", 0.93)
    os.makedirs("out/model", exist_ok=True)
    open("out/weights.bin", "wb").write(bytes(range(256)) * 8)
    open("out/model/config.json", "w").write('{"depth": 3}')
    mlflow.log_artifact("out/weights.bin")
    mlflow.log_artifacts("out/model", artifact_path="model")
with mlflow.start_run(run_name="no-commit"):
    mlflow.log_param("lr", 0.01)
    mlflow.log_metric("acc", 0.7)
with mlflow.start_run(run_name="broken"):
    mlflow.log_param("lr", 10)
    mlflow.end_run(status="FAILED")
"""


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A file store with three runs that MLflow logged, once per module (MLflow is slow to start)."""
    base = tmp_path_factory.mktemp("mlflow-logged")
    (base / "log.py").write_text(LOG)
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "MLFLOW_TRACKING_URI": ""}
    args = [sys.executable, str(base / "log.py"), str(base / "mlruns"), "0" * 40]
    proc = subprocess.run(args, cwd=base, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return base / "mlruns"


@pytest.fixture
def project(repo: Path, tmp_path: Path, logged: Path) -> tuple[Path, Path]:
    """The repository (cwd) and a copy of the file store whose first run ran from HEAD."""
    store = tmp_path / "mlruns"
    shutil.copytree(logged, store)
    head = git(repo, "rev-parse", "HEAD").strip()
    for tag in store.glob("*/*/tags/mlflow.source.git.commit"):
        tag.write_text(head)
    return repo, store


def mlflow_runs(store: Path) -> dict[str, object]:
    """MLflow's own view of the runs, by run name (through its client)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"file:{store}")
    found = {}
    for exp in client.search_experiments():
        for run in client.search_runs([exp.experiment_id]):
            history = {
                k: [m.value for m in client.get_metric_history(run.info.run_id, k)]
                for k in run.data.metrics
            }
            found[run.info.run_name] = (run, history)
    return found


def test_each_run_becomes_an_experiment_as_mlflow_reports_it(
    project: tuple[Path, Path], cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, store = project
    result = cli("import", "mlflow", str(store), "--json")
    assert result.code == 0, result.err
    doc = json.loads(result.out)
    assert sorted(e["name"] for e in doc["experiments"]) == ["baseline", "broken", "no-commit"]
    assert "has no mlflow.source.git.commit tag: recorded on HEAD" in result.err

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    shown = {r["name"]: r for r in json.loads(cli("show", "--json").out)["experiments"]}
    from gitexp.core.formats import flatten

    for name, (run, _history) in mlflow_runs(store).items():
        row = shown[name]
        params = flatten(row["params"]["params.yaml"])
        for key, text in run.data.params.items():
            assert str(params[key]) == text
        assert flatten(row["metrics"].get("metrics.json", {})) == run.data.metrics
    baseline = shown["baseline"]
    assert baseline["status"] == "success" and shown["broken"]["status"] == "failed"
    assert baseline["baseline"] == git(repo, "rev-parse", "HEAD").strip()
    assert set(baseline["data"]) == {"artifacts/weights.bin", "artifacts/model"}
    assert (baseline["tags"], baseline["note"]) == (["team/vision"], "the first try")

    from gitexp import Repo

    series = Repo(".").series(["baseline"])["baseline"]
    run, history = mlflow_runs(store)["baseline"]
    # a key's "/" may name a folder or be spelled "_" in the file name: both say val/acc
    got = {k.replace("/", "_"): list(v["values"]) for k, v in series.items()}
    assert got == {"loss": history["loss"], "val_acc": history["val/acc"]}
    record = json.loads(git(repo, "show", "refs/experiments/baseline:.gitexp/run.json"))
    assert record["imported"]["id"] == run.info.run_id
    assert record["imported"]["tags"]["team"] == "vision"
    assert record["overrides"]["params.yaml"]["lr"] == 0.1
    diff = json.loads(cli("diff", "no-commit", "baseline", "--json").out)
    assert diff["metrics"]["metrics.json"]["acc"] == {
        "old": 0.7,
        "new": 0.93,
        "change": pytest.approx(0.23),
    }


def test_artifacts_come_back_byte_for_byte(project: tuple[Path, Path], cli) -> None:
    repo, store = project
    assert cli("import", "mlflow", f"file:{store}").code == 0
    result = cli("apply", "baseline")
    assert result.code == 0, result.err
    run_dir = next(p for p in store.glob("*/*") if (p / "artifacts/weights.bin").exists())
    assert (repo / "artifacts/weights.bin").read_bytes() == (
        run_dir / "artifacts/weights.bin"
    ).read_bytes()
    assert (repo / "artifacts/model/config.json").read_text() == '{"depth": 3}'


def test_second_import_changes_nothing(project: tuple[Path, Path], cli) -> None:
    repo, store = project
    assert cli("import", "mlflow", str(store)).code == 0
    refs = git(repo, "for-each-ref")
    again = cli("import", "mlflow", str(store), "--json")
    assert again.code == 0
    doc = json.loads(again.out)
    assert doc["experiments"] == [] and len(doc["skipped"]) == 3
    assert git(repo, "for-each-ref") == refs


def test_a_corrupt_meta_yaml_is_refused_and_nothing_is_written(
    project: tuple[Path, Path], cli
) -> None:
    repo, store = project
    meta = next(store.glob("*/*/meta.yaml"))
    meta.write_text("run_id: [unclosed\n")
    result = cli("import", "mlflow", str(store))
    assert result.code == 1
    assert "meta.yaml" in result.err.splitlines()[0]
    assert "refs/experiments/" not in git(repo, "for-each-ref")


def test_a_folder_that_is_no_file_store_is_refused(repo: Path, tmp_path: Path, cli) -> None:
    (tmp_path / "empty").mkdir()
    result = cli("import", "mlflow", str(tmp_path / "empty"))
    assert result.code == 1
    assert "is not an MLflow file store" in result.err


def test_the_client_reads_what_the_file_store_holds(
    project: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other tracking URIs go through MLflow's client; it must agree with the store reader."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    from gitexp.experiments.importers.mlflowclient import client_runs
    from gitexp.experiments.importers.mlflowstore import read_runs

    _repo, store = project
    direct = {r.run_id: r for r in read_runs(store)}
    with client_runs(f"file:{store}") as runs:
        assert {r.run_id for r in runs} == set(direct)
        for run in runs:
            mine = direct[run.run_id]
            assert (run.name, run.status, run.params, run.tags) == (
                mine.name,
                mine.status,
                mine.params,
                mine.tags,
            )
            assert {k: sorted(p.value for p in v) for k, v in run.metrics.items()} == {
                k: sorted(p.value for p in v) for k, v in mine.metrics.items()
            }
            assert (run.artifacts is None) == (mine.artifacts is None)


def test_a_run_still_going_on_is_left_for_a_later_import(project: tuple[Path, Path], cli) -> None:
    _repo, store = project
    meta = next(m for m in store.glob("*/*/meta.yaml") if "run_name: no-commit" in m.read_text())
    finished = meta.read_text()
    meta.write_text(finished.replace("status: 3", "status: 1"))
    first = cli("import", "mlflow", str(store), "--json")
    assert first.code == 0
    assert sorted(e["name"] for e in json.loads(first.out)["experiments"]) == ["baseline", "broken"]
    assert "is running; import it once it ends" in first.err
    meta.write_text(finished)
    later = json.loads(cli("import", "mlflow", str(store), "--json").out)
    assert [e["name"] for e in later["experiments"]] == ["no-commit"]


def test_a_tracking_server_without_mlflow_installed_says_which_extra(
    repo: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # as on a machine without it
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    result = cli("import", "mlflow", "http://127.0.0.1:9/")
    assert result.code == 1
    assert "needs MLflow" in result.err and "gitexp[mlflow]" in result.err
