"""gitexp.log_image: bytes content-addressed in the cache, listed in .gitexp/media.jsonl."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import orjson
import pytest

import gitexp
from gitexp.core.hashing import hash_bytes
from gitexp.core.media import parse_media
from tests.conftest import git, make_repo

np = pytest.importorskip("numpy")
Image = pytest.importorskip("PIL.Image")


def png(seed: int, size: int = 16) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def media(root: Path, name: str) -> list[dict[str, object]]:
    text = git(root, "show", f"refs/experiments/{name}:.gitexp/media.jsonl")
    return [orjson.loads(line) for line in text.splitlines()]


def cache_file(root: Path, hash_: object) -> Path:
    digest = str(hash_).split(":")[1]
    return root / ".git" / "gitexp" / "cache" / "blake3" / digest[:2] / digest[2:]


TRAIN = """\
import sys
import numpy as np
import gitexp
from PIL import Image

open("sample.png", "wb").write(open("fixed.png", "rb").read())
for step in range(3):
    gitexp.log_image("samples/fixed", "sample.png", step=step)   # the same bytes 3 times
    gitexp.log_image("pred", np.full((4, 5), step / 2.0), step=step)   # floats 0..1, gray
gitexp.log_image("pil", Image.new("RGB", (3, 2), (255, 0, 0)))
gitexp.log_metric("acc", 0.5)
"""


def test_images_logged_under_run_are_listed_and_stored_once(repo: Path, cli) -> None:
    (repo / "fixed.png").write_bytes(png(1))
    (repo / "train.py").write_text(TRAIN)
    done = cli("run", "-n", "imgs", "--", sys.executable, "train.py")
    assert done.code == 0, done.err
    lines = media(repo, "imgs")
    assert [(line["key"], line["step"]) for line in lines] == [
        ("samples/fixed", 0),
        ("pred", 0),
        ("samples/fixed", 1),
        ("pred", 1),
        ("samples/fixed", 2),
        ("pred", 2),
        ("pil", None),
    ]
    fixed = png(1)
    assert {line["hash"] for line in lines[0::2][:3]} == {str(hash_bytes(fixed))}
    assert lines[0]["size"] == len(fixed) and lines[0]["type"] == "image/png"
    assert cache_file(repo, lines[0]["hash"]).read_bytes() == fixed  # stored as given
    for line in lines:
        data = cache_file(repo, line["hash"]).read_bytes()
        assert hash_bytes(data) == parse_media(orjson.dumps(line))[0].oid
    gray = Image.open(io.BytesIO(cache_file(repo, lines[3]["hash"]).read_bytes()))
    assert gray.size == (5, 4) and gray.getpixel((0, 0)) == 128  # 0.5 → 128
    assert git(repo, "ls-tree", "refs/experiments/imgs", "sample.png")  # the file too, as run


def test_pngs_a_run_writes_under_plots_are_images_too(repo: Path, cli) -> None:
    (repo / "gitexp.yaml").write_text("plots: [plots/]\n")
    (repo / "plots").mkdir()
    (repo / "plots" / "old.png").write_bytes(png(2))  # left from before: not this run's
    (repo / "fixed.png").write_bytes(png(3))
    (repo / "train.py").write_text(
        "import shutil\nshutil.copy('fixed.png', 'plots/confusion.png')\n"
        "open('plots/loss.tsv', 'w').write('step\\tvalue\\n0\\t1.0\\n')\n"
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "plots")
    assert cli("run", "-n", "p", "--", sys.executable, "train.py").code == 0
    assert [(m["key"], m["step"], m["hash"]) for m in media(repo, "p")] == [
        ("plots/confusion.png", None, str(hash_bytes(png(3))))
    ]


def test_standalone_experiment_logs_images(repo: Path) -> None:
    with gitexp.Experiment(name="nb") as exp:
        exp.log_image("digits", np.zeros((2, 2, 3), dtype=np.uint8), step=0)
        gitexp.log_image("digits", np.ones((2, 2, 3), dtype=np.uint8) * 255, step=1)
    assert [m["step"] for m in media(repo, "nb")] == [0, 1]
    assert exp.result is not None and exp.result.status == "success"


def test_bad_images_are_refused_naming_the_problem(repo: Path) -> None:
    (repo / "notes.txt").write_text("not an image")
    with gitexp.Experiment(name="bad") as exp:
        with pytest.raises(gitexp.GitexpError, match="is not a PNG, JPEG"):
            exp.log_image("x", "notes.txt")
        with pytest.raises(gitexp.GitexpError, match="cannot read image"):
            exp.log_image("x", "missing.png")
        with pytest.raises(gitexp.GitexpError, match="must be HxW"):
            exp.log_image("x", np.zeros((2, 2, 7)))
        with pytest.raises(gitexp.GitexpError, match="cannot log a dict"):
            exp.log_image("x", {"a": 1})
        with pytest.raises(gitexp.GitexpError, match="non-empty"):
            exp.log_image("", np.zeros((2, 2)))
    assert git(repo, "ls-tree", "refs/experiments/bad", ".gitexp/").count("media") == 0


def test_an_array_without_pillow_names_the_extra(repo: Path, cli) -> None:
    (repo / "train.py").write_text(
        "import sys\nsys.modules['PIL'] = None\nimport numpy as np\nimport gitexp\n"
        "gitexp.log_image('x', np.zeros((2, 2)))\n"
    )
    done = cli("run", "-n", "nopil", "--", sys.executable, "train.py")
    assert done.code == 1
    assert "needs Pillow" in done.out + done.err and "gitexp[images]" in done.out + done.err


def test_repeated_images_across_runs_cost_their_unique_bytes_once(repo: Path) -> None:
    """5 experiments x 200 images, 80% repeats: the cache holds at most 1.2x the unique bytes."""
    pool = [png(seed, 24) for seed in range(40)]  # shared by every run
    cache = repo / ".git" / "gitexp" / "cache"
    before = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file()) if cache.exists() else 0
    unique: dict[str, int] = {}
    for run in range(5):
        with gitexp.Experiment(name=f"many-{run}"):
            for step in range(200):
                if step % 5 == 0:  # 20% new to this run
                    data = png(1000 + run * 1000 + step, 24)
                else:
                    data = pool[(step * 7 + run) % len(pool)]
                unique[str(hash_bytes(data))] = len(data)
                gitexp.log_image("sample", _save(repo.parent / "imgs", data), step=step)
    stored = sum(f.stat().st_size for f in (cache / "blake3").rglob("*") if f.is_file())
    run_files = sum(
        f.stat().st_size for f in cache.rglob("*") if f.is_file() and "blake3" not in f.parts
    )
    assert stored - before <= 1.2 * sum(unique.values()), (stored, sum(unique.values()), run_files)
    assert len(media(repo, "many-4")) == 200


def _save(folder: Path, data: bytes) -> str:
    folder.mkdir(exist_ok=True)
    path = folder / f"img-{hash_bytes(data).hex[:12]}.png"
    if not path.exists():
        path.write_bytes(data)
    return str(path)


def test_images_travel_with_push_and_pull_and_survive_gc(
    tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.data.syncsetup import clone, make_origin

    origin = make_origin(tmp_path)
    a = make_repo(
        tmp_path / "a",
        {
            "gitexp.yaml": f"command: {sys.executable} train.py\nremote: s\nremotes:\n  s: ../storage\n",
            "train.py": "import gitexp, sys\ngitexp.log_image('x', 'x.png', step=0)\n",
            "x.png": "",
        },
    )
    (a / "x.png").write_bytes(png(9))
    git(a, "add", "-A")
    git(a, "commit", "-qm", "image")
    git(a, "remote", "add", "origin", str(origin))
    git(a, "push", "-q", "origin", "main")
    monkeypatch.chdir(a)
    assert cli("run", "-n", "e").code == 0
    assert cli("gc", "--now").code == 0  # the experiment's media list keeps the image
    line = media(a, "e")[0]
    assert cache_file(a, line["hash"]).read_bytes() == png(9)
    pushed = cli("push", "origin", "e", "--json")
    assert pushed.code == 0, pushed.err
    assert orjson.loads(pushed.out)["objects"]["transferred"] >= 1
    b = clone(origin, tmp_path / "b")
    monkeypatch.chdir(b)
    assert cli("pull", "origin", "e").code == 0
    assert cache_file(b, line["hash"]).read_bytes() == png(9)
    os.chdir(tmp_path)
