from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pygit2
import pytest

import gitexp
from gitexp.errors import (
    CommandError,
    ConflictError,
    FormatError,
    InvalidNameError,
    NoCommitsError,
    NotARepositoryError,
    ParamsError,
)
from tests.conftest import PARAMS_YAML, commit_all, git, make_repo

PY = sys.executable


def tree_of(root: Path, name: str) -> dict[str, bytes]:
    repo = pygit2.Repository(str(root))
    commit = repo.references[f"refs/experiments/{name}"].peel(pygit2.Commit)
    out: dict[str, bytes] = {}

    def walk(tree: pygit2.Tree, prefix: str) -> None:
        for entry in tree:
            obj = repo[entry.id]
            if isinstance(obj, pygit2.Tree):
                walk(obj, f"{prefix}{entry.name}/")
            else:
                out[f"{prefix}{entry.name}"] = obj.data  # type: ignore[attr-defined]

    walk(commit.tree, "")
    return out


def run_json(root: Path, name: str) -> dict[str, object]:
    return orjson.loads(tree_of(root, name)[".gitexp/run.json"])  # type: ignore[no-any-return]


def test_run_records_an_experiment_commit_with_everything(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD").strip()
    results = gitexp.Repo().run([PY, "train.py"], overrides=["train.lr=0.01"], name="first")
    assert [r.status for r in results] == ["success"]
    files = tree_of(repo, "first")
    assert b"lr: 0.01   # learning rate" in files["params.yaml"]
    assert orjson.loads(files["metrics.json"])["acc"] == pytest.approx(0.51)
    assert files[".gitexp/series/loss.tsv"].startswith(b"step\tvalue\n0\t100.0\n")
    assert b"trained 0.01" in files[".gitexp/output.log"]
    info = run_json(repo, "first")
    assert info["version"] == 1 and info["name"] == "first" and info["status"] == "success"
    assert info["command"] == [PY, "train.py"] and info["exit_code"] == 0
    assert info["overrides"] == {"params.yaml": {"train.lr": 0.01}}
    assert info["baseline"] == {"commit": head, "branch": "main"}
    assert str(info["started"]).endswith("Z") and isinstance(info["duration_s"], float)
    assert {"host", "python", "platform", "packages"} <= set(info)
    assert "pygit2" in info["packages"]  # type: ignore[operator]
    commit = pygit2.Repository(str(repo)).references["refs/experiments/first"].peel(pygit2.Commit)
    assert [str(p) for p in commit.parent_ids] == [head]


def test_params_are_restored_byte_for_byte_after_success_and_failure(repo: Path) -> None:
    original = (repo / "params.yaml").read_bytes()
    gitexp.Repo().run([PY, "train.py"], overrides=["seed=5"])
    assert (repo / "params.yaml").read_bytes() == original
    results = gitexp.Repo().run([PY, "-c", "import sys; sys.exit(3)"], overrides=["seed=6"])
    assert results[0].status == "failed" and results[0].exit_code == 3
    assert (repo / "params.yaml").read_bytes() == original


def test_failed_run_is_recorded_as_failed(repo: Path, cli: object) -> None:
    result = cli("run", "-n", "bad", "--", PY, "-c", "print('boom'); raise SystemExit(2)")  # type: ignore[operator]
    assert result.code == 1
    assert "recorded FAILED experiment 'bad'" in result.err and "exit code 2" in result.err
    info = run_json(repo, "bad")
    assert info["status"] == "failed" and info["exit_code"] == 2
    assert b"boom" in tree_of(repo, "bad")[".gitexp/output.log"]


def test_run_output_streams_to_the_terminal(repo: Path, cli: object) -> None:
    result = cli(
        "run", "--", PY, "-c", "import sys; print('to-out'); print('to-err', file=sys.stderr)"
    )  # type: ignore[operator]
    assert result.code == 0
    assert "to-out" in result.out and "to-err" in result.err


def test_user_edit_during_run_is_left_alone_with_a_warning(repo: Path, cli: object) -> None:
    script = (
        "import pathlib; p = pathlib.Path('params.yaml'); "
        "p.write_text(p.read_text().replace('seed: 9', 'seed: 77'))"
    )
    result = cli("run", "-S", "seed=9", "-n", "edited", "--", PY, "-c", script)  # type: ignore[operator]
    assert result.code == 0
    assert "'params.yaml' was edited during the run" in result.err
    assert "seed: 77" in (repo / "params.yaml").read_text()
    assert b"seed: 9" in tree_of(repo, "edited")["params.yaml"]


SLOW = "import time; print('go', flush=True); time.sleep(60)"


def interruptible() -> None:
    """In the child: Ctrl-C as a terminal gives it, even when this test runs in the
    background (a shell starts background jobs with SIGINT ignored, and Python then
    never turns it into KeyboardInterrupt)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def slow_run(repo: Path, *args: str, session: bool = True) -> subprocess.Popen[bytes]:
    """``gitexp run ARGS -- <a command that waits>``, returned once the command runs."""
    proc = subprocess.Popen(
        [PY, "-m", "gitexp", "run", *args, "--", PY, "-c", SLOW],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=session,
        preexec_fn=interruptible,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"go"
    return proc


def statuses(repo: Path) -> list[str]:
    """The recorded status of every experiment."""
    refs = git(repo, "for-each-ref", "--format=%(refname:lstrip=2)", "refs/experiments/")
    return [str(run_json(repo, name)["status"]) for name in refs.split()]


def test_ctrl_c_restores_params_and_records_the_run_as_interrupted(repo: Path) -> None:
    original = (repo / "params.yaml").read_bytes()
    proc = slow_run(repo, "-S", "seed=8")
    assert b"seed: 8" in (repo / "params.yaml").read_bytes()
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert (repo / "params.yaml").read_bytes() == original
    assert statuses(repo) == ["interrupted"]


def test_sigterm_to_gitexp_alone_stops_the_command_and_restores(repo: Path) -> None:
    original = (repo / "params.yaml").read_bytes()
    proc = slow_run(repo, "-S", "seed=8", session=False)
    proc.terminate()
    proc.communicate(timeout=30)  # well before the command's own 60 s
    assert proc.returncode == 130
    assert (repo / "params.yaml").read_bytes() == original


def test_killed_run_is_repaired_by_the_next_run(repo: Path) -> None:
    original = (repo / "params.yaml").read_bytes()
    proc = slow_run(repo, "-S", "seed=8")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert b"seed: 8" in (repo / "params.yaml").read_bytes()
    messages: list[str] = []
    gitexp.Repo().run([PY, "-c", "pass"], notify=messages.append)
    assert (repo / "params.yaml").read_bytes() == original
    assert any("restored 'params.yaml'" in m for m in messages)


def test_snapshot_holds_uncommitted_staged_and_untracked_work_and_leaves_it(repo: Path) -> None:
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# tweak\n")
    (repo / "util.py").write_text("X = 1\n")
    git(repo, "add", "util.py")
    (repo / "notes.txt").write_text("untracked\n")
    status_before = git(repo, "status", "--porcelain")
    index_before = (repo / ".git" / "index").read_bytes()
    gitexp.Repo().run([PY, "train.py"], name="wip")
    files = tree_of(repo, "wip")
    assert files["train.py"].endswith(b"# tweak\n")
    assert files["util.py"] == b"X = 1\n" and files["notes.txt"] == b"untracked\n"
    assert "metrics.json" in files  # ignored, but a metrics file: recorded
    assert git(repo, "status", "--porcelain") == status_before
    assert (repo / ".git" / "index").read_bytes() == index_before
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD").strip() == "main"


def test_sweep_runs_every_point_with_names(repo: Path) -> None:
    results = gitexp.Repo().run(
        [PY, "train.py"], overrides=["train.lr=0.1,0.01", "seed=1,2"], name="g"
    )
    assert [r.name for r in results] == ["g-1", "g-2", "g-3", "g-4"]
    overrides = [run_json(repo, f"g-{i}")["overrides"] for i in range(1, 5)]
    assert overrides[1] == {"params.yaml": {"train.lr": 0.1, "seed": 2}}
    assert overrides[2] == {"params.yaml": {"train.lr": 0.01, "seed": 1}}
    assert (repo / "params.yaml").read_text() == PARAMS_YAML


def test_generated_names_are_unique(repo: Path) -> None:
    results = gitexp.Repo().run([PY, "-c", "pass"], overrides=["seed=1,2,3"])
    assert len({r.name for r in results}) == 3


def test_name_taken_is_an_error_unless_force(repo: Path) -> None:
    gitexp.Repo().run([PY, "-c", "pass"], name="same")
    with pytest.raises(ConflictError, match="experiment 'same' already exists"):
        gitexp.Repo().run([PY, "-c", "pass"], name="same")
    gitexp.Repo().run([PY, "-c", "print(2)"], name="same", force=True)
    assert b"2" in tree_of(repo, "same")[".gitexp/output.log"]


def test_metrics_problems_mark_the_run_failed(repo: Path) -> None:
    bad_metrics = "open('metrics.json', 'w').write('[1, 2]')"
    result = gitexp.Repo().run([PY, "-c", bad_metrics], name="badm")[0]
    assert result.status == "failed"
    assert any("metrics.json" in p and "mapping" in p for p in result.problems)
    assert run_json(repo, "badm")["status"] == "failed"


def test_non_numeric_series_marks_the_run_failed(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("plots: [curves/]\n")
    commit_all(repo)
    script = "import os; os.makedirs('curves', exist_ok=True); open('curves/loss.tsv','w').write('step\\tloss\\n0\\tNaN?\\n')"
    result = gitexp.Repo().run([PY, "-c", script], name="bads")[0]
    assert result.status == "failed"
    assert any("curves/loss.tsv" in p for p in result.problems)


def test_stale_metrics_from_an_earlier_run_are_not_recorded(repo: Path) -> None:
    gitexp.Repo().run([PY, "train.py"], name="one")
    gitexp.Repo().run([PY, "-c", "pass"], name="two")
    assert "metrics.json" not in tree_of(repo, "two")


def test_large_new_files_are_content_addressed(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("large_file_threshold: 1KiB\n")
    commit_all(repo)
    script = "open('big.bin', 'wb').write(b'x' * 5000); open('small.txt', 'w').write('s')"
    result = gitexp.Repo().run([PY, "-c", script], name="big")[0]
    files = tree_of(repo, "big")
    assert "big.bin" not in files and "small.txt" in files
    assert files["big.bin.gitexp"].startswith(b"version: 1\nhash: blake3:")
    assert any("big.bin" in n and "large_file_threshold" in n for n in result.notes)


def test_outs_are_kept_in_the_cache_not_in_git(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("outs: [model.pkl]\n")
    commit_all(repo)
    gitexp.Repo().run([PY, "-c", "open('model.pkl', 'wb').write(b'weights')"], name="m")
    files = tree_of(repo, "m")
    assert "model.pkl" not in files
    pointer = files["model.pkl.gitexp"].decode()
    digest = pointer.split("hash: blake3:")[1].split()[0]
    cached = repo / ".git" / "gitexp" / "cache" / "blake3" / digest[:2] / digest[2:]
    assert cached.read_bytes() == b"weights"


def test_missing_out_marks_the_run_failed(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("outs: [model.pkl]\n")
    commit_all(repo)
    result = gitexp.Repo().run([PY, "-c", "pass"])[0]
    assert result.status == "failed"
    assert result.problems == ["out 'model.pkl' was not produced by the run"]


def test_config_command_is_the_default(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text(f"command: {PY} train.py\n")
    commit_all(repo)
    assert gitexp.Repo().run(name="cfg")[0].status == "success"


def test_shell_line_runs_through_the_shell(repo: Path) -> None:
    gitexp.Repo().run("echo one && echo two > out.txt", name="sh")
    files = tree_of(repo, "sh")
    assert files["out.txt"] == b"two\n"
    assert run_json(repo, "sh")["command"] == ["sh", "-c", "echo one && echo two > out.txt"]


# Bad input: a clear error, and nothing written.


def nothing_written(root: Path) -> None:
    assert git(root, "for-each-ref", "refs/experiments/") == ""
    assert (root / "params.yaml").read_text() == PARAMS_YAML
    assert git(root, "status", "--porcelain") == ""


def test_not_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NotARepositoryError, match="not in a git repository"):
        gitexp.Repo()


def test_no_commits_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_repo(tmp_path / "empty")
    monkeypatch.chdir(root)
    with pytest.raises(NoCommitsError, match="no commits yet"):
        gitexp.Repo().run([PY, "-c", "pass"])


@pytest.mark.parametrize(
    ("override", "error", "message"),
    [
        ("train.lrr=1", ParamsError, "key 'train.lrr' does not exist in 'params.yaml'"),
        ("+seed=1", ParamsError, "key 'seed' already exists"),
        ("seed=[1,", ParamsError, "not valid YAML"),
        ("missing.yaml:a=1", ParamsError, "params file 'missing.yaml' does not exist"),
        ("seed", ParamsError, "not KEY=VALUE"),
    ],
)
def test_bad_overrides(repo: Path, override: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        gitexp.Repo().run([PY, "-c", "pass"], overrides=[override])
    nothing_written(repo)


@pytest.mark.parametrize(
    ("name", "content"),
    [("params.yaml", "a: [1,\n"), ("p.json", "{"), ("p.toml", "a = = 1\n")],
)
def test_invalid_params_file(repo: Path, name: str, content: str) -> None:
    (repo / name).write_text(content)
    commit_all(repo)
    key = f"{name}:a=1" if name != "params.yaml" else "a=1"
    with pytest.raises(FormatError, match=name):
        gitexp.Repo().run([PY, "-c", "pass"], overrides=[key])
    assert git(repo, "for-each-ref", "refs/experiments/") == ""
    assert (repo / name).read_text() == content


def test_invalid_name(repo: Path) -> None:
    with pytest.raises(InvalidNameError):
        gitexp.Repo().run([PY, "-c", "pass"], name="bad name")
    nothing_written(repo)


def test_command_not_found(repo: Path) -> None:
    with pytest.raises(CommandError, match="command 'no-such-program-xyz' not found"):
        gitexp.Repo().run(["no-such-program-xyz"], overrides=["seed=3"])
    nothing_written(repo)


def test_no_command_at_all(repo: Path) -> None:
    with pytest.raises(CommandError, match="no command to run"):
        gitexp.Repo().run()


def test_second_run_in_the_same_workspace_waits_for_the_first(repo: Path) -> None:
    proc = slow_run(repo, "-n", "first", "-S", "seed=5", session=False)
    messages: list[str] = []
    results: list[object] = []
    second = threading.Thread(
        target=lambda: results.extend(
            gitexp.Repo().run([PY, "-c", "pass"], overrides=["seed=2"], notify=messages.append)
        )
    )
    try:
        second.start()
        deadline = time.monotonic() + 30
        while not messages and time.monotonic() < deadline:
            time.sleep(0.05)
        assert messages[0].startswith("waiting for experiment 'first' to finish in this workspace")
        assert not results
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
        second.join(timeout=60)
    assert len(results) == 1
    assert b"seed: 2" in tree_of(repo, results[0].name)["params.yaml"]  # type: ignore[attr-defined]
    assert (repo / "params.yaml").read_text() == PARAMS_YAML


def test_parallel_runs_in_worktrees_touch_nothing(repo: Path) -> None:
    (repo / "train.py").write_text((repo / "train.py").read_text() + "# uncommitted tweak\n")
    (repo / "extra.txt").write_text("untracked\n")
    script = (
        "import gitexp, time, pathlib\n"
        "time.sleep(0.5)\n"
        "p = gitexp.params()\n"
        "assert pathlib.Path('extra.txt').read_text() == 'untracked\\n'\n"
        "gitexp.log_metric('seed', p['seed'])\n"
    )
    (repo / "job.py").write_text(script)
    status = git(repo, "status", "--porcelain")
    results = gitexp.Repo().run([PY, "job.py"], overrides=["seed=1,2,3,4"], name="par", jobs=4)
    assert [r.name for r in results] == ["par-1", "par-2", "par-3", "par-4"]
    assert [r.status for r in results] == ["success"] * 4, [r.problems for r in results]
    for number in range(1, 5):
        files = tree_of(repo, f"par-{number}")
        assert orjson.loads(files["metrics.json"]) == {"seed": number}
        assert files["train.py"].endswith(b"# uncommitted tweak\n")
        assert f"seed: {number}".encode() in files["params.yaml"]
        assert (
            run_json(repo, f"par-{number}")["baseline"]["commit"]
            == git(repo, "rev-parse", "HEAD").strip()
        )  # type: ignore[index]
    assert (repo / "params.yaml").read_text() == PARAMS_YAML
    assert git(repo, "status", "--porcelain") == status
    assert git(repo, "worktree", "list").count("\n") == 1
    assert not (repo / "metrics.json").exists()


def test_parallel_runs_stop_on_ctrl_c(repo: Path) -> None:
    proc = subprocess.Popen(
        [
            PY,
            "-m",
            "gitexp",
            "run",
            "-j",
            "2",
            "-S",
            "seed=1,2,3",
            "--",
            PY,
            "-c",
            "import time; print('go', flush=True); time.sleep(60)",
        ],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=interruptible,
    )
    deadline = time.monotonic() + 30
    while git(repo, "worktree", "list").count("\n") < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    recorded = statuses(repo)  # the points that had started; the third never did
    assert 1 <= len(recorded) <= 2 and set(recorded) == {"interrupted"}
    assert git(repo, "worktree", "list").count("\n") == 1
    assert (repo / "params.yaml").read_text() == PARAMS_YAML


def test_outs_are_ignored_by_git_afterwards(repo: Path) -> None:
    (repo / "gitexp.yaml").write_text("outs: [models/model.pkl]\n")
    commit_all(repo)
    script = "import os; os.makedirs('models', exist_ok=True); open('models/model.pkl', 'wb').write(b'w')"
    gitexp.Repo().run([PY, "-c", script], name="m")
    assert not (repo / "models" / ".gitignore").exists()  # a run leaves no file to commit
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert tree_of(repo, "m")["models/.gitignore"] == b"/model.pkl\n"
