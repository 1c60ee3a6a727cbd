"""The params guard: the one way a run writes its params, in a workspace or a worktree."""

from __future__ import annotations

from pathlib import Path

from gitexp.experiments.run.guard import ParamsGuard, restore_journaled


def test_the_guard_puts_the_params_back_and_forgets_its_journal(tmp_path: Path) -> None:
    root, run_dir = tmp_path / "work", tmp_path / "run"
    root.mkdir()
    run_dir.mkdir()
    (root / "params.yaml").write_bytes(b"lr: 1\n")
    guard = ParamsGuard(root, run_dir, {"params.yaml": (b"lr: 1\n", b"lr: 2\n")})
    guard.apply()
    assert (root / "params.yaml").read_bytes() == b"lr: 2\n"
    assert guard.restore() == []
    assert (root / "params.yaml").read_bytes() == b"lr: 1\n"
    assert not (run_dir / "journal.json").exists()


def test_in_a_worktree_the_guard_writes_and_nothing_is_put_back(tmp_path: Path) -> None:
    root, run_dir = tmp_path / "worktree", tmp_path / "run"
    root.mkdir()
    run_dir.mkdir()
    (root / "params.yaml").write_bytes(b"lr: 1\n")
    guard = ParamsGuard(root, run_dir, {"params.yaml": (b"lr: 1\n", b"lr: 2\n")}, put_back=False)
    guard.apply()
    assert (root / "params.yaml").read_bytes() == b"lr: 2\n"
    assert (run_dir / "journal.json").exists()  # journaled like a workspace run's
    assert restore_journaled(run_dir) == []  # a crash recovery has nothing to put back
    assert (root / "params.yaml").read_bytes() == b"lr: 2\n"
    assert not (run_dir / "journal.json").exists()
    assert guard.restore() == []
    assert (root / "params.yaml").read_bytes() == b"lr: 2\n"


def test_a_run_without_jobs_loads_no_worktree_machinery(repo: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from gitexp.cli.main import main\n"
        "code = main(['run', '-n', 'plain', '-S', 'seed=2', '--', sys.executable, '-c', 'pass'])\n"
        "print('CODE', code, 'gitexp.experiments.run.parallel' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert "CODE 0 False" in proc.stdout, proc.stderr
