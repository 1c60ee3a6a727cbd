"""``gitexp reproduce``: a run done again from its own commit and data, compared."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import orjson
import pytest

from tests.conftest import commit_all, git, make_repo, run_gitexp

ROOT = Path(__file__).resolve().parents[3]

NOISY = """\
import random
import gitexp
gitexp.log_metric("acc", random.random())
gitexp.log_metric("steps", 10)
"""

STEADY = """\
import gitexp
p = gitexp.params()
gitexp.log_metric("acc", 0.5 + p["lr"])
"""


def project(root: Path, script: str) -> Path:
    make_repo(
        root,
        {
            "train.py": script,
            "params.yaml": "lr: 0.1\n",
            "gitexp.yaml": f"command: {sys.executable} train.py\n",
            ".gitignore": "metrics.json\n",
        },
    )
    return root


def test_a_deterministic_run_reproduces_with_its_overrides(
    tmp_path: Path, cli, monkeypatch
) -> None:
    root = project(tmp_path / "p", STEADY)
    monkeypatch.chdir(root)
    assert cli("run", "-n", "lr", "-S", "lr=0.25").code == 0
    (root / "train.py").write_text("raise SystemExit('the workspace is not what runs')\n")
    again = cli("reproduce", "lr", "--json")
    assert again.code == 0, again.err
    doc = orjson.loads(again.out)
    assert doc["reproduced"] is True and doc["experiment"] == "lr-repro"
    assert doc["metrics"] == [
        {
            "key": "acc",
            "old": 0.75,
            "new": 0.75,
            "abs_diff": 0.0,
            "rel_diff": 0.0,
            "within_tolerance": True,
        }
    ]
    assert doc["environment"] == []
    record = orjson.loads(git(root, "show", "refs/experiments/lr-repro:.gitexp/run.json"))
    assert record["reproduces"] == {"name": "lr", "commit": doc["commit"]}
    assert record["overrides"] == {"params.yaml": {"lr": 0.25}}
    parent = git(root, "rev-parse", "refs/experiments/lr-repro^").strip()
    assert parent == git(root, "rev-parse", "refs/experiments/lr^").strip()
    assert (root / "params.yaml").read_text() == "lr: 0.1\n"
    second = cli("reproduce", "lr")
    assert second.code == 0 and "'lr-repro-2'" in second.err


def test_drift_is_reported_and_exits_1(tmp_path: Path, cli, monkeypatch) -> None:
    root = project(tmp_path / "p", NOISY)
    monkeypatch.chdir(root)
    assert cli("run", "-n", "noisy").code == 0
    again = cli("reproduce", "noisy", "--json")
    assert again.code == 1
    doc = orjson.loads(again.out)
    by_key = {m["key"]: m for m in doc["metrics"]}
    assert by_key["acc"]["within_tolerance"] is False and by_key["acc"]["abs_diff"] > 0
    assert by_key["steps"]["within_tolerance"] is True
    assert "did not reproduce within tolerance exact: acc drifted" in again.err
    loose = cli("reproduce", "noisy", "--tolerance", "1")
    assert loose.code == 0, loose.err
    assert cli("reproduce", "noisy", "--tolerance", "-1").code == 2
    assert cli("reproduce", "nope").code == 1
    other = cli("reproduce", "noisy", "--executor", "ray")
    assert other.code == 2 and "executor 'ray' is not available" in other.err


def test_missing_data_comes_from_the_storage_remote(tmp_path: Path, cli, monkeypatch) -> None:
    root = project(
        tmp_path / "p",
        STEADY.replace("p = ", "assert open('data.bin','rb').read() == b'x' * 5000\np = "),
    )
    (root / "data.bin").write_bytes(b"x" * 5000)
    (root / "gitexp.yaml").write_text(
        f"command: {sys.executable} train.py\nremote: s\nremotes:\n  s: ../storage\n"
    )
    monkeypatch.chdir(root)
    assert cli("add", "data.bin").code == 0
    commit_all(root, "data")
    assert cli("run", "-n", "base").code == 0
    assert cli("push").code == 0
    shutil.rmtree(root / ".git" / "gitexp" / "cache")
    os.remove(root / "data.bin")
    again = cli("reproduce", "base")
    assert again.code == 0, again.err
    shutil.rmtree(tmp_path / "storage")
    shutil.rmtree(root / ".git" / "gitexp" / "cache")
    gone = cli("reproduce", "base")
    assert gone.code == 1 and "data.bin" in gone.err
    assert "base-repro-2" not in git(root, "for-each-ref", "refs/experiments/")


def wheel(folder: Path, version: str) -> Path:
    """A real wheel of the tiny distribution ``tinydep``, built by hand."""
    name = f"tinydep-{version}-py3-none-any.whl"
    info = f"tinydep-{version}.dist-info"
    files = {
        "tinydep.py": f"VERSION = {version!r}\n",
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: tinydep\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(folder / name, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return folder / name


def venv_with_gitexp(folder: Path) -> Path:
    """A new virtual environment that sees this gitexp (and its dependencies); its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    ours = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "gitexp-under-test.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    return python


def pip_install(python: Path, whl: Path) -> None:
    """``pip install --upgrade`` into the environment of ``python``, from the wheel alone."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--upgrade",
            str(whl),
        ],
        check=True,
        capture_output=True,
    )


def gitexp_in(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(python), "-m", "gitexp", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_a_package_upgrade_is_named_with_both_versions(tmp_path: Path) -> None:
    root = project(tmp_path / "p", STEADY)
    python = venv_with_gitexp(tmp_path / "env")
    pip_install(python, wheel(tmp_path, "1.0"))
    ran = gitexp_in(python, root, "run", "-n", "base")
    assert ran.returncode == 0, ran.stderr
    pip_install(python, wheel(tmp_path, "2.0"))
    again = gitexp_in(python, root, "reproduce", "base", "--json")
    assert again.returncode == 0, again.stderr
    changes = orjson.loads(again.stdout)["environment"]
    assert changes == [{"kind": "package", "name": "tinydep", "old": "1.0", "new": "2.0"}]
    assert "package: tinydep 1.0 -> 2.0" in again.stderr


@pytest.mark.slow
def test_the_quickstart_reproduces_exactly(tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="the example needs scikit-learn (the test extra has it)")
    work = tmp_path / "quickstart"
    shutil.copytree(ROOT / "examples" / "quickstart", work)
    git(work, "init", "-q", "-b", "main")
    subprocess.run([sys.executable, "prepare.py"], cwd=work, check=True, capture_output=True)
    assert run_gitexp(work, "add", "data/digits.csv").returncode == 0
    commit_all(work, "digits")
    ran = run_gitexp(
        work, "run", "-n", "base", "-S", "train.epochs=2", "--", sys.executable, "train.py"
    )
    assert ran.returncode == 0, ran.stderr
    again = run_gitexp(work, "reproduce", "base", "--json")
    assert again.returncode == 0, again.stderr
    doc = orjson.loads(again.stdout)
    assert doc["reproduced"] is True and doc["environment"] == []
    assert {m["key"] for m in doc["metrics"]} >= {"acc", "loss", "test_acc"}
    assert all(m["abs_diff"] == 0 for m in doc["metrics"])
    model = "refs/experiments/{}:model.pkl.gitexp"
    assert git(work, "show", model.format("base")) == git(work, "show", model.format("base-repro"))


def test_a_run_reproduces_only_when_it_ends_as_the_original(
    tmp_path: Path, cli, monkeypatch
) -> None:
    flag = tmp_path / "fail-now"
    script = STEADY + f"import os\nraise SystemExit(int(os.path.exists({str(flag)!r})))\n"
    root = project(tmp_path / "p", script)
    monkeypatch.chdir(root)
    assert cli("run", "-n", "fine").code == 0
    flag.write_text("x")
    assert cli("run", "-n", "broken").code == 1
    same = cli("reproduce", "broken", "--json")
    assert same.code == 0, same.err
    doc = orjson.loads(same.out)
    assert doc["status"] == doc["original_status"] == "failed" and doc["reproduced"] is True
    assert "(it ended failed again)" in same.err
    differs = cli("reproduce", "fine")
    assert differs.code == 1
    assert "the run again ended failed (it had ended success)" in differs.err


def test_concurrent_reproduces_of_one_run_each_keep_their_record(
    tmp_path: Path, cli, monkeypatch
) -> None:
    root = project(tmp_path / "p", STEADY)
    monkeypatch.chdir(root)
    assert cli("run", "-n", "base").code == 0
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gitexp", "reproduce", "base", "--json"],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    names = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        names.append(orjson.loads(out)["experiment"])
    assert sorted(names) == ["base-repro", "base-repro-2", "base-repro-3"]
    assert git(root, "for-each-ref", "refs/gitexp/claims/") == ""
    taken = cli("reproduce", "base", "-n", "base-repro")
    assert taken.code == 1 and "experiment 'base-repro' already exists" in taken.err
