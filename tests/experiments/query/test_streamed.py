"""The stream reader (a fresh clone's first ``show``) gives what the per-commit reader gives.

Each commit below is a shape an experiment commit can have: with and without the
message trailers, with ``run.json`` or without, with a config naming files in
folders, logged params, pointers (valid, broken, unsafe, inherited), files that do
not parse, a symbolic link and a folder where a file is expected.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pygit2
import pytest

from gitexp.core.runinfo import RunRecord, trailers
from gitexp.errors import FormatError
from gitexp.experiments.query.index import FILE_NAME, SummaryIndex, entry_of
from gitexp.experiments.query.select import STREAM_FROM, read_summaries
from gitexp.experiments.query.streamed import StreamReader
from gitexp.experiments.query.summary import NotACommitError, Reader
from gitexp.experiments.query.workers import read_entries, read_refs_and_entries
from gitexp.git.reffiles import ref_files
from gitexp.git.repo import GitRepo
from tests.conftest import git, make_repo

HASH = "blake3:" + "ab" * 32
POINTER = f"version: 1\nhash: {HASH}\nsize: 12\n".encode()
DIR_POINTER = f"version: 1\nhash: {'blake3:' + 'cd' * 32}\nsize: 40\nkind: dir\nfiles: 2\n"
SIG = pygit2.Signature("Test User", "user@example.com", 1_767_225_600, 0)

Files = dict[str, bytes | tuple[str, bytes]]
"""Path to bytes, or to ``("link", target)`` for a symbolic link."""


def _tree(repo: pygit2.Repository, files: Files) -> pygit2.Oid:
    """A tree of ``files``, folders made as the paths say."""
    here: dict[str, object] = {}
    for path, content in files.items():
        *folders, name = path.split("/")
        node = here
        for folder in folders:
            node = node.setdefault(folder, {})  # type: ignore[assignment]
        node[name] = content
    return _write(repo, here)


def _write(repo: pygit2.Repository, node: dict[str, object]) -> pygit2.Oid:
    builder = repo.TreeBuilder()
    for name, value in node.items():
        if isinstance(value, dict):
            builder.insert(name, _write(repo, value), pygit2.GIT_FILEMODE_TREE)
        elif isinstance(value, tuple):
            builder.insert(name, repo.create_blob(value[1]), pygit2.GIT_FILEMODE_LINK)
        else:
            assert isinstance(value, bytes)
            builder.insert(name, repo.create_blob(value), pygit2.GIT_FILEMODE_BLOB)
    return builder.write()


def _record(name: str, base: str, **extra: object) -> RunRecord:
    return RunRecord(
        name=name,
        command=("python", "train.py"),
        overrides={},
        status="success",
        exit_code=0,
        started="2026-01-02T03:04:05.000Z",
        duration_s=1.0,
        baseline_commit=base,
        baseline_branch="main",
        **extra,  # type: ignore[arg-type]
    )


def _commit(repo: pygit2.Repository, files: Files, message: str, parents: list[pygit2.Oid]) -> str:
    return str(repo.create_commit(None, SIG, SIG, message, _tree(repo, files), parents))


def _shapes(root: Path) -> list[str]:
    """One commit of each shape; returns their ids."""
    repo = pygit2.Repository(str(root))
    base = repo.head.peel(pygit2.Commit).id
    baseline = str(base)
    params = b"train:\n  lr: 0.01\nseed: 1\n"
    metrics = b'{"acc": 0.9, "loss": 0.1}\n'
    rec = _record("plain", baseline)
    ids = [
        # a run as gitexp records it: trailers, params, metrics, data at two depths
        _commit(
            repo,
            {
                "params.yaml": params,
                "metrics.json": metrics,
                "model.pkl.gitexp": POINTER,
                "data/train.csv.gitexp": POINTER,
                "data/images.gitexp": DIR_POINTER.encode(),
                "data/deep/more/x.bin.gitexp": POINTER,
                "data/broken.gitexp": b"not: [a pointer\n",
                "data/.gitexp": POINTER,
                "src/train.py": b"print(1)\n",
                ".gitexp/run.json": rec.to_json(),
                ".gitexp/params.yaml": b"optimizer: adam\nlayers: [64, 64]\n",
                ".gitexp/model.gitexp": POINTER,
            },
            f"gitexp: plain\n\n{trailers(rec)}",
            [base],
        ),
        # no trailers: the facts come from run.json, which says what was inherited
        _commit(
            repo,
            {
                "params.yaml": params,
                "metrics.json": metrics,
                "model.pkl.gitexp": POINTER,
                "out.bin.gitexp": POINTER,
                ".gitexp/run.json": _record(
                    "old", baseline, inherited=("metrics.json", "model.pkl.gitexp")
                ).to_json(),
            },
            "gitexp: old\n",
            [base],
        ),
        # no trailers and no run.json: unknown status, the commit's own time and parent
        _commit(repo, {"params.yaml": params}, "a plain commit\n", [base]),
        # a root commit, nothing of gitexp at all
        _commit(repo, {"README": b"hello\n"}, "root\n", []),
        # a config naming files in folders and other formats; a YAML date
        _commit(
            repo,
            {
                "gitexp.yaml": b"params: [conf/params.yaml, conf/extra.toml]\n"
                b"metrics: [results/metrics.yaml, results/missing.json]\n",
                "conf/params.yaml": b"lr: 0.1\nwhen: 2026-01-02\n",
                "conf/extra.toml": b'name = "x"\n[opt]\nmomentum = 0.9\n',
                "results/metrics.yaml": b"acc: 0.5\n",
                "params.yaml": params,
            },
            f"gitexp: conf\n\n{trailers(_record('conf', baseline))}",
            [base],
        ),
        # files that do not parse, a config that does not parse, a folder, a link
        _commit(
            repo,
            {
                "gitexp.yaml": b"params: [params.yaml\n",
                "params.yaml": b"train: [unclosed\n",
                "metrics.json": ("link", b"elsewhere.json"),
                ".gitexp/params.yaml/inner": b"x: 1\n",
            },
            f"gitexp: broken\n\n{trailers(_record('broken', baseline))}",
            [base],
        ),
        # unsafe data paths are left out; a folder named like a pointer is not one
        _commit(
            repo,
            {
                "params.yaml": params,
                "sub/back\\slash.gitexp": POINTER,
                "sub/.gitexp/x.gitexp": POINTER,
                "dir.gitexp/inside.txt": b"x\n",
            },
            f"gitexp: unsafe\n\n{trailers(_record('unsafe', baseline))}",
            [base],
        ),
    ]
    return ids


def one_thread(test: Callable[..., None]) -> Callable[..., None]:
    """Run ``test`` in a pytest process of its own when this one has other threads.

    Readers are forked only from a process with one thread; a thread left by an earlier
    test (a server's, a client's) would make the test read everything here and show
    nothing of the forked path.
    """

    @functools.wraps(test)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        if threading.active_count() == 1:
            return test(*args, **kwargs)
        node = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", node],
            cwd=Path(__file__).parents[3],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        return None

    return wrapper


@pytest.fixture
def shapes(tmp_path: Path) -> tuple[GitRepo, list[str]]:
    root = make_repo(tmp_path / "p", {"params.yaml": "seed: 1\n", "train.py": "print(1)\n"})
    return GitRepo.discover(root), _shapes(root)


def test_stream_reader_gives_what_the_commit_reader_gives(
    shapes: tuple[GitRepo, list[str]],
) -> None:
    repo, ids = shapes
    streamed = StreamReader(repo).summaries(ids)
    one_by_one = {oid: Reader(repo).summary(oid) for oid in ids}
    assert list(streamed) == ids
    for oid in ids:  # byte for byte, key order included: show --json prints these
        assert orjson.dumps(streamed[oid]) == orjson.dumps(one_by_one[oid]), oid
    plain, old, bare, root, conf, broken, unsafe = (streamed[i] for i in ids)
    assert plain["data"] == {
        "data/deep/more/x.bin": HASH,
        "data/images": "blake3:" + "cd" * 32,
        "data/train.csv": HASH,
        "model.pkl": HASH,
    }
    assert plain["params"] == {
        "params.yaml": {"train": {"lr": 0.01}, "seed": 1},
        ".gitexp/params.yaml": {"optimizer": "adam", "layers": [64, 64]},
    }
    assert old["status"] == "success" and old["metrics"] == {} and old["data"] == {"out.bin": HASH}
    assert bare["status"] == "unknown" and bare["created"] == "2026-01-01T00:00:00Z"
    assert root["baseline"] == "" and root["params"] == {}
    assert conf["params"]["conf/params.yaml"] == {"lr": 0.1, "when": "2026-01-02"}  # type: ignore[index]
    assert conf["metrics"] == {"results/metrics.yaml": {"acc": 0.5}}
    assert broken["params"] == {} and broken["metrics"] == {}
    assert unsafe["data"] == {}


def test_stream_reader_skips_what_is_not_a_commit(shapes: tuple[GitRepo, list[str]]) -> None:
    repo, ids = shapes
    handle = pygit2.Repository(str(repo.root))
    tree = str(handle.get(ids[0]).tree_id)  # type: ignore[union-attr]
    blob = str(handle.create_blob(b"x\n"))
    asked = [ids[0], tree, blob, "0" * 40, "1" * 40]
    assert list(StreamReader(repo).summaries(asked)) == [ids[0]]


def test_a_cold_show_prints_what_a_warm_one_does(shapes: tuple[GitRepo, list[str]]) -> None:
    """Many experiments and no index: the streams are read; then the index answers."""
    repo, ids = shapes
    for number in range(STREAM_FROM + 2):
        oid = ids[number % len(ids)]
        git(repo.root, "update-ref", f"refs/experiments/e{number:02d}", oid)
    index = repo.common_dir / "gitexp" / "index"
    cold = _show(repo.root)
    assert index.is_dir() and any(index.iterdir())  # the cold show wrote the index
    warm = _show(repo.root)
    assert cold == warm
    rows = orjson.loads(cold)["experiments"]
    assert len(rows) == STREAM_FROM + 2
    by_commit = {oid: Reader(repo).summary(oid) for oid in ids}
    for row in rows:
        expected = {"name": row["name"], "ref": row["ref"], **by_commit[row["commit"]]}
        assert row == orjson.loads(orjson.dumps(expected))


def _show(root: Path) -> bytes:
    proc = subprocess.run(
        [sys.executable, "-m", "gitexp", "show", "--json"],
        cwd=root,
        capture_output=True,
        check=True,
    )
    return proc.stdout


def test_tags_show_whether_the_notes_ref_is_loose_or_packed(tmp_path: Path) -> None:
    """show skips reading notes only when their ref surely does not exist."""
    import gitexp
    from gitexp.experiments.tags import NOTES_REF
    from gitexp.git.refs import ref_may_exist

    root = make_repo(tmp_path / "r", {"params.yaml": "lr: 0.1\n", "gitexp.yaml": "{}\n"})
    project = gitexp.Repo(root)
    project.run(["true"], name="one")
    repo = GitRepo.discover(root)
    assert not ref_may_exist(repo, NOTES_REF)
    assert [r.tags for r in project.show().experiments] == [()]
    project.tag("one", ["best"])
    assert ref_may_exist(repo, NOTES_REF)
    git(root, "pack-refs", "--all")
    assert not (root / ".git" / NOTES_REF).exists()
    assert ref_may_exist(repo, NOTES_REF)
    assert [r.tags for r in project.show().experiments] == [("best",)]
    assert [r.name for r in project.show(filters=["tag==best"]).experiments] == ["one"]
    git(root, "update-ref", "-d", NOTES_REF)
    assert not ref_may_exist(repo, NOTES_REF)
    assert [r.tags for r in project.show().experiments] == [()]


@pytest.mark.parametrize(
    "tail",
    [
        trailers(_record("a", "b" * 40)),
        trailers(_record("a", "b" * 40, inherited=("metrics.json",))),
        trailers(_record("a", "b" * 40)).replace("Branch: main", "Branch: "),
        trailers(_record("a", "b" * 40)).replace("Branch: main", "Branch: été"),
        trailers(_record("a", "b" * 40)).replace("Branch: main", "Branch:"),
        trailers(_record("a", "b" * 40)).replace("\n", "\r\n"),
        trailers(_record("a", "b" * 40)) + "Signed-off-by: someone\n",
        trailers(_record("a", "b" * 40)).replace("Gitexp-Started", "Gitexp-Begun"),
        "Gitexp-Status: success\n",
    ],
)
def test_the_trailers_read_from_raw_bytes_are_those_of_the_message(tail: str) -> None:
    """The quick match of the trailers as written agrees with `parse_trailers` always."""
    from gitexp.core.runinfo import parse_trailers
    from gitexp.experiments.query.streamed import _trailers

    message = f"gitexp: a\n\npython train.py\n\n{tail}"
    raw = b"tree " + b"0" * 40 + b"\nauthor A <a> 1 +0000\n\n" + message.encode()
    assert _trailers(raw) == parse_trailers(message)
    top = b"tree " + b"0" * 40 + b"\n\n" + tail.encode()  # a message of trailers alone
    assert _trailers(top) is None and parse_trailers(tail) is None


@one_thread
def test_forked_readers_give_what_one_reader_gives(shapes: tuple[GitRepo, list[str]]) -> None:
    """The commits cut in parts, each read by a process of its own, give the same entries."""
    repo, ids = shapes
    alone = {c: entry_of(s) for c, s in StreamReader(repo).summaries(ids).items()}
    shared = read_entries(repo, ids, read_summaries, parts=3, per_part=2).entries
    assert sorted(shared) == sorted(alone)
    for oid, entry in alone.items():
        assert (shared[oid].created, shared[oid].shown) == (entry.created, entry.shown), oid
        assert shared[oid].compact == entry.compact, oid

    def by_whom(git: GitRepo, part: list[str]) -> dict[str, dict[str, object]]:
        return {c: {"commit": c, "branch": str(os.getpid())} for c in part}

    readers = {
        orjson.loads(e.compact)["branch"] for e in read_entries(repo, ids, by_whom).entries.values()
    }
    assert readers == {str(os.getpid())}  # too few commits for a process of their own
    readers = {
        orjson.loads(e.compact)["branch"]
        for e in read_entries(repo, ids, by_whom, parts=3, per_part=2).entries.values()
    }
    assert len(readers) == 3 and str(os.getpid()) not in readers


@one_thread
def test_what_a_forked_reader_failed_on_is_raised_here(shapes: tuple[GitRepo, list[str]]) -> None:
    repo, ids = shapes
    tree = str(pygit2.Repository(str(repo.root)).get(ids[0]).tree_id)  # type: ignore[union-attr]
    asked = [tree, *ids]  # the tree is in the first part, read by a forked reader
    with pytest.raises(NotACommitError) as caught:
        read_entries(repo, asked, read_summaries, parts=2, per_part=2)
    assert caught.value.oid == tree


@one_thread
def test_forked_readers_append_their_entries_to_the_index(
    shapes: tuple[GitRepo, list[str]], tmp_path: Path
) -> None:
    """The caller is sent the printed fields only; the index gets whole entries."""
    repo, ids = shapes
    alone = {c: entry_of(s) for c, s in StreamReader(repo).summaries(ids).items()}
    path = tmp_path / "index" / FILE_NAME
    index = SummaryIndex(path)
    target = index.appendable(ids)
    assert target == path and path.read_bytes().startswith(b"gitexp summary index")
    found = read_entries(repo, ids, read_summaries, index_file=target, parts=2, per_part=2)
    assert found.saved == set(alone) == set(found.entries)
    for oid, entry in alone.items():  # the compact fields, made from the printed ones
        assert orjson.loads(found.entries[oid].compact) == orjson.loads(entry.compact)
    deadline = time.monotonic() + 60  # the readers append once the caller has its answer
    while len(SummaryIndex(path).entries) < len(alone) and time.monotonic() < deadline:
        time.sleep(0.02)
    written = SummaryIndex(path).entries
    assert {c: (e.created, e.shown, e.compact) for c, e in written.items()} == {
        c: (e.created, e.shown, e.compact) for c, e in alone.items()
    }


def _refs_to(repo: GitRepo, commits: list[str], count: int) -> dict[str, str]:
    """``count`` experiment refs over ``commits``, half of them packed, as after a fetch."""
    refs = {f"refs/experiments/e{n:03d}": commits[n % len(commits)] for n in range(count)}
    for ref, commit in list(refs.items())[: count // 2]:
        git(repo.root, "update-ref", ref, commit)
    git(repo.root, "pack-refs", "--all")
    for ref, commit in list(refs.items())[count // 2 :]:
        git(repo.root, "update-ref", ref, commit)
    return dict(sorted(refs.items()))


@one_thread
def test_a_fresh_clone_is_read_refs_and_all_by_forked_readers(
    shapes: tuple[GitRepo, list[str]],
) -> None:
    repo, ids = shapes
    refs = _refs_to(repo, ids, 24)
    files = ref_files(repo, "refs/experiments/")
    assert files is not None and len(files.loose) == 12 and len(files.packed) == 12
    got = read_refs_and_entries(repo, "refs/experiments/", files, read_summaries, per_part=2)
    assert got is not None
    listed, found = got
    assert list(listed.items()) == list(refs.items())  # name order, as git lists them
    if Path("/proc/self/stat").exists():  # each reader reaped once its entries were in
        assert _children_left() == []
    alone = {c: entry_of(s) for c, s in StreamReader(repo).summaries(ids).items()}
    assert {c: (e.created, e.shown) for c, e in found.entries.items()} == {
        c: (e.created, e.shown) for c, e in alone.items()
    }
    assert found.saved == frozenset()  # no index to append to: the caller keeps them


def _children_left() -> list[str]:
    """This process's children that have ended but were not reaped (zombies)."""
    left = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == os.getpid() and fields[0] == "Z":
            left.append(stat.parent.name)
    return left


@pytest.mark.parametrize("odd", ["symref", "tree", "name"])
@one_thread
def test_a_fresh_clone_the_readers_cannot_read_is_left_to_the_caller(
    shapes: tuple[GitRepo, list[str]], odd: str
) -> None:
    repo, ids = shapes
    _refs_to(repo, ids, 24)
    folder = repo.common_dir / "refs" / "experiments"
    if odd == "symref":
        (folder / "e023").write_text("ref: refs/heads/main\n")
    elif odd == "tree":
        tree = str(pygit2.Repository(str(repo.root)).get(ids[0]).tree_id)  # type: ignore[union-attr]
        (folder / "e023").write_text(tree + "\n")
    else:  # a name git would warn about, left for git to list (and warn)
        (folder / "e023").rename(folder / "e023.")
    files = ref_files(repo, "refs/experiments/")
    assert files is not None
    assert (
        read_refs_and_entries(repo, "refs/experiments/", files, read_summaries, per_part=2) is None
    )
    if Path("/proc/self/stat").exists():  # every reader reaped, the failed one too
        assert _children_left() == []


@one_thread
def test_a_fresh_clone_shows_what_one_reader_shows(
    shapes: tuple[GitRepo, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """End to end: the same document from forked readers, and the index they wrote."""
    from gitexp.api import Repo
    from gitexp.experiments.query import workers

    repo, ids = shapes
    _refs_to(repo, ids, 24)
    index = repo.common_dir / "gitexp" / "index" / FILE_NAME
    one = Repo(repo.root).show_json()  # too few to share out: read here
    index.unlink()
    monkeypatch.setattr(workers, "PER_PART", 2)
    assert threading.active_count() == 1  # else nothing forks, and this shows nothing
    assert Repo(repo.root).show_json() == one
    deadline = time.monotonic() + 60  # the readers append once they have sent
    while len(SummaryIndex(index).entries) < len(ids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert set(SummaryIndex(index).entries) == set(ids)
    assert Repo(repo.root).show_json() == one
    tree = str(pygit2.Repository(str(repo.root)).get(ids[0]).tree_id)  # type: ignore[union-attr]
    git(repo.root, "update-ref", "refs/experiments/e000", tree)
    index.unlink()
    with pytest.raises(FormatError, match="refs/experiments/e000 points at a tree"):
        Repo(repo.root).show_json()


@one_thread
def test_a_listing_begun_ahead_is_the_listing(
    shapes: tuple[GitRepo, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its readers forked at once and taken in by a thread: what the listing would be."""
    from gitexp.api import Repo
    from gitexp.experiments.liveview import CachedSource
    from gitexp.experiments.query import workers
    from gitexp.experiments.query.select import listing_ahead, project_listing

    repo, ids = shapes
    _refs_to(repo, ids, 24)
    project = Repo(repo.root).project
    index = repo.common_dir / "gitexp" / "index" / FILE_NAME
    index.unlink(missing_ok=True)  # a fresh clone's: no index yet
    monkeypatch.setattr(workers, "PER_PART", 2)
    ahead = listing_ahead(project)
    assert not isinstance(ahead, functools.partial)  # readers at work, not a later listing
    listed = ahead()
    assert _children_left() == []  # taken in and reaped by the thread, nothing left
    index.unlink()
    monkeypatch.setattr(workers, "PER_PART", 1000)
    alone = project_listing(project)  # read here, by this process alone
    assert list(listed.refs.items()) == list(alone.refs.items())
    assert listed.docs() == alone.docs()
    alone.save()
    monkeypatch.setattr(workers, "PER_PART", 2)
    assert isinstance(listing_ahead(project), functools.partial)  # the index is built now

    index.unlink()
    first = CachedSource(project)
    first.read_ahead()
    assert not isinstance(first._ahead, functools.partial)  # its readers at work
    assert first.experiments() == CachedSource(project).experiments()
