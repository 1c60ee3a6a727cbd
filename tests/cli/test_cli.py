from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from gitexp.cli.main import COMMANDS, build_parser
from tests.conftest import make_repo, run_gitexp

PY = sys.executable


def test_help_lists_every_command_and_imports_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "from gitexp.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('pygit2', 'rich', 'ruamel.yaml', 'orjson', 'gitexp.api') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run([PY, "-c", code], capture_output=True, text=True, check=True)
    assert "HEAVY []" in proc.stdout
    for name, _module, _help in COMMANDS:  # a long name has its help on the next line
        assert f"    {name} " in proc.stdout or f"    {name}\n" in proc.stdout


def test_every_command_has_help() -> None:
    parser = build_parser(everything=True)
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, _module, _help in COMMANDS:
        text = sub.choices[name].format_help()  # type: ignore[union-attr]
        assert text.startswith(f"usage: gitexp {name}")


def test_usage_errors_exit_2(repo: Path, cli: object) -> None:
    result = cli("show", "--bogus")  # type: ignore[operator]
    assert result.code == 2 and "unrecognized arguments: --bogus" in result.err
    result = cli("frobnicate")  # type: ignore[operator]
    assert result.code == 2
    assert cli().code == 2  # type: ignore[operator]


def test_errors_are_one_line_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: object
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("show")  # type: ignore[operator]
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert (
        result.err.startswith("error: ")
        and "is not in a git repository; run `git init`" in result.err
    )


def test_a_bare_repository_is_refused_with_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: object
) -> None:
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "b.git")], check=True)
    monkeypatch.chdir(tmp_path / "b.git")
    for command in ("status", "checkout", "show"):
        result = cli(command)  # type: ignore[operator]
        assert result.code == 1 and result.err.count("\n") == 1
        assert "is not in a git working tree (it is a bare repository" in result.err
        assert "run gitexp in a clone with a working tree" in result.err


def test_data_commands_do_not_load_pygit2(repo: Path) -> None:
    """checkout and status find the repository and its pointers through git alone."""
    (repo / "data.bin").write_bytes(os.urandom(1000))
    assert run_gitexp(repo, "add", "data.bin").returncode == 0
    (repo / "data.bin").unlink()
    code = (
        "import sys\n"
        "from gitexp.cli.main import main\n"
        "for args in (['checkout'], ['status']):\n"
        "    try:\n        main(args)\n    except SystemExit:\n        pass\n"
        "print('PYGIT2', 'pygit2' in sys.modules)\n"
    )
    proc = subprocess.run([PY, "-c", code], cwd=repo, capture_output=True, text=True, check=True)
    assert "PYGIT2 False" in proc.stdout
    assert (repo / "data.bin").stat().st_size == 1000


def test_json_errors_are_a_json_object_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: object
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("show", "--json")  # type: ignore[operator]
    assert result.code == 1 and result.out == ""
    doc = orjson.loads(result.err)
    assert doc["error"] == "not_a_repository" and "git repository" in doc["message"]


def test_debug_shows_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: object
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("--debug", "show")  # type: ignore[operator]
    assert result.code == 1 and "Traceback" in result.err


def test_dash_c_runs_elsewhere(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: object
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli("-C", str(repo), "show").code == 0  # type: ignore[operator]


def test_run_cli_end_to_end_as_a_process(repo: Path) -> None:
    proc = run_gitexp(repo, "run", "-n", "p", "-S", "train.lr=0.01", "--", PY, "train.py")
    assert proc.returncode == 0, proc.stderr
    assert "trained 0.01" in proc.stdout
    assert "recorded experiment 'p'" in proc.stderr
    proc = run_gitexp(repo, "show", "--json")
    assert orjson.loads(proc.stdout)["experiments"][0]["name"] == "p"


def test_no_commits_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: object) -> None:
    monkeypatch.chdir(make_repo(tmp_path / "e"))
    result = cli("run", "--", "true")  # type: ignore[operator]
    assert result.code == 1
    assert "no commits yet" in result.err and "git commit" in result.err


def test_unknown_key_message(repo: Path, cli: object) -> None:
    result = cli("run", "-S", "train.lrr=1", "--", "true")  # type: ignore[operator]
    assert result.code == 1
    assert result.err == (
        "error: key 'train.lrr' does not exist in 'params.yaml'; "
        "check the spelling, or add it with -S +train.lrr=VALUE\n"
    )


def test_init_writes_config_once(repo: Path, cli: object) -> None:
    result = cli("init")  # type: ignore[operator]
    assert result.code == 0 and (repo / "gitexp.yaml").is_file()
    text = (repo / "gitexp.yaml").read_text()
    assert cli("init").code == 0  # type: ignore[operator]
    assert (repo / "gitexp.yaml").read_text() == text


SCRIPTS = Path(sys.executable).parent


@pytest.mark.skipif(not (SCRIPTS / "git-exp").exists(), reason="gitexp is not installed here")
def test_git_exp_runs_the_same_program(repo: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = str(SCRIPTS) + os.pathsep + env["PATH"]
    proc = subprocess.run(
        ["git", "exp", "show", "--json"], cwd=repo, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert orjson.loads(proc.stdout) == {"experiments": []}
