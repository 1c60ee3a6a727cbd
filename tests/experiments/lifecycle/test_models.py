"""The model registry: versions are tags, aliases move by compare-and-swap, both travel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from tests.conftest import git, run_gitexp
from tests.data.syncsetup import clone, make_origin, make_project


@pytest.fixture
def project(tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Clone A with two experiments (lr-1, lr-2) whose out is model.pkl."""
    origin = make_origin(tmp_path)
    root = make_project(tmp_path / "a", origin, "../storage")
    monkeypatch.chdir(root)
    for number, lr in ((1, "0.1"), (2, "0.2")):
        assert cli("run", "-n", f"lr-{number}", "-S", f"train.lr={lr}").code == 0
    return root


def model_bytes(root: Path, experiment: str) -> bytes:
    """The bytes of ``experiment``'s model.pkl, as its pointer names them, from the cache."""
    pointer = git(root, "show", f"refs/experiments/{experiment}:model.pkl.gitexp")
    digest = next(line for line in pointer.splitlines() if line.startswith("hash:"))
    hexa = digest.split("blake3:")[1].strip()
    return (root / ".git" / "gitexp" / "cache" / "blake3" / hexa[:2] / hexa[2:]).read_bytes()


def test_register_makes_numbered_annotated_tags(project: Path, cli) -> None:
    first = cli("model", "register", "clf", "--from", "lr-1", "--json")
    assert first.code == 0, first.err
    doc = orjson.loads(first.out)
    assert doc["version"] == 1 and doc["tag"] == "model/clf/v1" and doc["path"] == "model.pkl"
    assert doc["metrics"] == {"metrics.json": {"acc": 0.6, "loss": 0.9}}
    second = cli("model", "register", "clf", "--from", "lr-2")
    assert second.code == 0
    assert "registered model 'clf' v2 (tag model/clf/v2)" in second.err
    assert git(project, "tag", "-l", "model/*").split() == ["model/clf/v1", "model/clf/v2"]
    assert git(project, "cat-file", "-t", "model/clf/v2").strip() == "tag"
    commit = git(project, "rev-parse", "model/clf/v2^{commit}").strip()
    assert commit == git(project, "rev-parse", "refs/experiments/lr-2").strip()
    message = git(project, "tag", "-l", "--format=%(contents)", "model/clf/v2")
    assert "model.pkl" in message and "lr-2" in message and '"size"' in message


def test_register_refuses_what_it_cannot_name(project: Path, cli) -> None:
    missing = cli("model", "register", "clf", "--from", "nope")
    assert missing.code == 1 and "experiment 'nope' does not exist" in missing.err
    bad_path = cli("model", "register", "clf", "--from", "lr-1", "--path", "weights.bin")
    assert bad_path.code == 1
    assert "has no content-addressed file 'weights.bin'" in bad_path.err
    assert "model.pkl" in bad_path.err
    bad_name = cli("model", "register", "a..b", "--from", "lr-1")
    assert bad_name.code == 1 and "not a valid model name" in bad_name.err
    assert git(project, "tag", "-l") == ""


def test_concurrent_registrations_get_distinct_versions(project: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gitexp", "model", "register", "clf", "--from", exp, "--json"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for exp in ("lr-1", "lr-2", "lr-1", "lr-2")
    ]
    versions = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        versions.append(orjson.loads(out)["version"])
    assert sorted(versions) == [1, 2, 3, 4]
    assert len(git(project, "tag", "-l", "model/clf/*").split()) == 4


def test_alias_moves_by_compare_and_swap(project: Path, cli) -> None:
    for exp in ("lr-1", "lr-2"):
        assert cli("model", "register", "clf", "--from", exp).code == 0
    moved = cli("model", "alias", "clf", "v1", "prod")
    assert moved.code == 0 and "from nothing to v1" in moved.err
    target = git(project, "rev-parse", "refs/models/clf/prod").strip()
    assert target == git(project, "rev-parse", "refs/tags/model/clf/v1").strip()
    assert cli("model", "alias", "clf", "v2", "prod", "--expect", "v1").code == 0
    stale = cli("model", "alias", "clf", "v1", "prod", "--expect", "v1")
    assert stale.code == 1
    assert "alias 'prod' of model 'clf' was moved by someone else: it points at v2" in stale.err
    assert (
        git(project, "rev-parse", "refs/models/clf/prod").strip()
        == git(project, "rev-parse", "refs/tags/model/clf/v2").strip()
    )
    assert cli("model", "alias", "clf", "v9", "prod").code == 1
    assert cli("model", "alias", "clf", "v1", "v2").code == 1  # an alias may not look like one
    listed = orjson.loads(cli("model", "list", "--json").out)["models"]
    assert [(m["name"], m["latest"], m["aliases"]) for m in listed] == [("clf", 2, {"prod": 2})]


def test_two_concurrent_alias_moves_one_wins_one_conflicts(project: Path, cli) -> None:
    for exp in ("lr-1", "lr-2", "lr-1"):
        assert cli("model", "register", "clf", "--from", exp).code == 0
    assert cli("model", "alias", "clf", "v1", "prod").code == 0
    args = [sys.executable, "-m", "gitexp", "model", "alias", "clf"]
    procs = [
        subprocess.Popen(
            [*args, version, "prod", "--expect", "v1"],
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for version in ("v2", "v3")
    ]
    results = [(p.communicate(timeout=60)[1], p.returncode) for p in procs]
    results = [(code, err) for err, code in results]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, err in results if code == 1)
    assert "was moved by someone else" in loser and "nothing was changed" in loser
    winner = next(v for (code, _), v in zip(results, ("v2", "v3"), strict=True) if code == 0)
    now = orjson.loads(cli("model", "list", "clf", "--json").out)["models"][0]["aliases"]
    assert now == {"prod": int(winner[1:])}


def test_get_writes_verified_bytes_and_keeps_other_files(project: Path, cli) -> None:
    assert cli("model", "register", "clf", "--from", "lr-1").code == 0
    assert cli("model", "register", "clf", "--from", "lr-2").code == 0
    assert cli("model", "alias", "clf", "v1", "prod").code == 0
    assert cli("model", "get", "clf:prod", "-o", "m.pkl").code == 0
    assert (project / "m.pkl").read_bytes() == model_bytes(project, "lr-1")
    assert cli("model", "get", "clf", "-o", "latest.pkl").code == 0
    assert (project / "latest.pkl").read_bytes() == model_bytes(project, "lr-2")
    (project / "mine.pkl").write_bytes(b"my own work")
    refused = cli("model", "get", "clf@v1", "-o", "mine.pkl")
    assert refused.code == 1 and "exists and holds something else" in refused.err
    assert (project / "mine.pkl").read_bytes() == b"my own work"
    assert cli("model", "get", "clf@v1", "-o", "mine.pkl", "--force").code == 0
    assert (project / "mine.pkl").read_bytes() == model_bytes(project, "lr-1")
    unknown = cli("model", "get", "clf:staging")
    assert unknown.code == 1 and "model 'clf' has no alias 'staging'" in unknown.err


def test_models_travel_with_push_and_pull(project: Path, tmp_path: Path, cli, monkeypatch) -> None:
    assert cli("model", "register", "clf", "--from", "lr-2").code == 0
    assert cli("model", "alias", "clf", "v1", "prod").code == 0
    pushed = cli("push", "origin", "--all", "--json")
    assert pushed.code == 0, pushed.err
    assert orjson.loads(pushed.out)["models"]["moved"] == ["models/clf/prod", "tags/model/clf/v1"]
    again = cli("push", "origin", "--all", "--json")
    assert again.code == 0 and orjson.loads(again.out)["models"]["moved"] == []

    mate = clone(tmp_path / "origin.git", tmp_path / "b")
    monkeypatch.chdir(mate)
    pulled = cli("pull", "--all", "--no-data")  # refs only: get fetches the bytes it needs
    assert pulled.code == 0, pulled.err
    got = cli("model", "get", "clf:prod", "-o", "m.pkl", "--json")
    assert got.code == 0, got.err
    assert (mate / "m.pkl").read_bytes() == model_bytes(project, "lr-2")
    assert orjson.loads(got.out)["pulled"] is True
    assert orjson.loads(cli("model", "get", "clf:prod", "-o", "m.pkl", "--json").out) == {
        **orjson.loads(got.out),
        "pulled": False,
        "written": False,
    }

    # the teammate promotes v2; the first clone pulls the move since it did not move prod
    assert cli("model", "register", "clf", "--from", "lr-1").code == 0
    assert cli("model", "alias", "clf", "v2", "prod").code == 0
    assert cli("push", "--all").code == 0
    monkeypatch.chdir(project)
    pulled_again = cli("pull", "--all", "--json")
    assert pulled_again.code == 0, pulled_again.err
    moved = orjson.loads(pulled_again.out)["models"]["moved"]
    assert moved == ["models/clf/prod", "tags/model/clf/v2"]
    third = cli("pull", "--all", "--json")
    assert third.code == 0 and orjson.loads(third.out)["models"]["moved"] == []
    aliases = orjson.loads(cli("model", "list", "clf", "--json").out)["models"][0]["aliases"]
    assert aliases == {"prod": 2}


def test_alias_moved_on_both_sides_is_a_conflict(
    project: Path, tmp_path: Path, cli, monkeypatch
) -> None:
    for exp in ("lr-1", "lr-2"):
        assert cli("model", "register", "clf", "--from", exp).code == 0
    assert cli("model", "alias", "clf", "v1", "prod").code == 0
    assert cli("push", "--all").code == 0
    mate = clone(tmp_path / "origin.git", tmp_path / "b")
    monkeypatch.chdir(mate)
    assert cli("pull", "--all", "--no-data").code == 0
    assert cli("model", "alias", "clf", "v2", "prod").code == 0
    assert cli("push", "--all", "--no-data").code == 0
    monkeypatch.chdir(project)
    assert cli("model", "alias", "clf", "v2", "prod").code == 0  # same target: fine later
    assert cli("model", "register", "clf", "--from", "lr-1").code == 0
    assert cli("model", "alias", "clf", "v3", "prod").code == 0
    refused = cli("push", "--all", "--no-data")
    assert refused.code == 1
    assert "alias 'prod' of model 'clf' (moved there since your last pull)" in refused.err
    remote_prod = git(tmp_path / "origin.git", "rev-parse", "refs/models/clf/prod").strip()
    assert remote_prod == git(project, "rev-parse", "refs/tags/model/clf/v2").strip()


def test_plain_git_fetch_brings_versions_and_aliases(project: Path, tmp_path: Path, cli) -> None:
    assert cli("model", "register", "clf", "--from", "lr-1").code == 0
    assert cli("model", "alias", "clf", "v1", "prod").code == 0
    git(project, "push", "-q", "origin", "refs/tags/model/*:refs/tags/model/*")
    git(project, "push", "-q", "origin", "refs/models/*:refs/models/*")
    other = clone(tmp_path / "origin.git", tmp_path / "c")
    git(other, "fetch", "-q", "origin", "refs/models/*:refs/models/*")
    shown = run_gitexp(other, "model", "list", "--json")
    assert shown.returncode == 0, shown.stderr
    model = orjson.loads(shown.stdout)["models"][0]
    assert (model["name"], model["latest"], model["aliases"]) == ("clf", 1, {"prod": 1})


def test_the_report_shows_registered_models(project: Path, cli) -> None:
    assert cli("report", "-o", "before.html").code == 0
    assert "Registered models" not in (project / "before.html").read_text()
    assert cli("model", "register", "clf", "--from", "lr-1").code == 0
    assert cli("model", "register", "clf", "--from", "lr-2").code == 0
    assert cli("model", "alias", "clf", "v1", "prod").code == 0
    assert cli("report", "-o", "after.html").code == 0
    page = (project / "after.html").read_text()
    section = page[page.index('id="models-panel"') :]
    assert section.index("<td>v2</td>") < section.index("<td>v1</td><td>prod</td><td>lr-1</td>")


def test_a_model_push_uploads_its_file_even_without_its_experiment(
    project: Path, tmp_path: Path, cli, monkeypatch
) -> None:
    assert cli("model", "register", "clf", "--from", "lr-2").code == 0
    pushed = cli("push", "origin", "lr-1", "--json")  # lr-2 itself is not pushed
    assert pushed.code == 0, pushed.err
    assert orjson.loads(pushed.out)["refs"]["moved"] == ["lr-1"]
    mate = clone(tmp_path / "origin.git", tmp_path / "b")
    monkeypatch.chdir(mate)
    assert cli("pull", "origin", "lr-1", "--no-data").code == 0
    got = cli("model", "get", "clf", "-o", "m.pkl")
    assert got.code == 0, got.err
    assert (mate / "m.pkl").read_bytes() == model_bytes(project, "lr-2")
    assert "refs/experiments/lr-2" not in git(mate, "for-each-ref")


def test_a_logged_artifact_is_the_model_when_no_out_is_declared(
    tmp_path: Path, cli, monkeypatch
) -> None:
    from tests.conftest import make_repo

    script = (
        "import gitexp\n"
        "open('weights.bin', 'wb').write(b'w' * 3000)\n"
        "gitexp.log_artifact('weights.bin')\n"
        "gitexp.log_metric('acc', 0.9)\n"
    )
    root = make_repo(
        tmp_path / "p",
        {
            "train.py": script,
            "gitexp.yaml": f"command: {sys.executable} train.py\n",
            ".gitignore": "metrics.json\n",
        },
    )
    (root / "data.bin").write_bytes(b"d" * 100)
    monkeypatch.chdir(root)
    assert cli("add", "data.bin").code == 0
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "data")
    assert cli("run", "-n", "art").code == 0
    done = cli("model", "register", "w", "--from", "art", "--json")
    assert done.code == 0, done.err
    assert orjson.loads(done.out)["path"] == "weights.bin"  # not the input data.bin
    assert cli("model", "get", "w", "-o", "got.bin").code == 0
    assert (root / "got.bin").read_bytes() == b"w" * 3000
