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
