"""`ref_files` and `read_loose`: the refs read from git's files as git lists them, or None."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitexp.git.reffiles import read_loose, ref_files
from gitexp.git.refs import list_refs
from gitexp.git.repo import GitRepo
from tests.conftest import git, make_repo

PREFIX = "refs/experiments/"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = make_repo(tmp_path / "r", {"a.txt": "a"})
    first = git(root, "rev-parse", "HEAD").strip()
    (root / "a.txt").write_text("b")
    git(root, "commit", "-qam", "b")
    second = git(root, "rev-parse", "HEAD").strip()
    for name, commit in {"b-2": first, "a.1": second, "c_3": first, "packed": second}.items():
        git(root, "update-ref", PREFIX + name, commit)
    git(root, "update-ref", "refs/heads/elsewhere", first)
    return root


def read_refs(repo: GitRepo, prefix: str) -> dict[str, str] | None:
    """The refs as the forked readers of a fresh clone read them, in name order."""
    files = ref_files(repo, prefix)
    if files is None:
        return None
    halves = (files.loose[::2], files.loose[1::2])  # two readers' shares
    found = dict(files.packed)
    for half in halves:
        loose = read_loose(repo, prefix, half)
        if loose is None:
            return None
        found.update(loose)
    return dict(sorted(found.items()))


def _same_as_git(root: Path) -> dict[str, str]:
    repo = GitRepo.discover(root)
    read = read_refs(repo, PREFIX)
    assert read is not None
    assert list(read.items()) == list(list_refs(repo, PREFIX).items())  # order too
    return read


def test_loose_and_packed_refs_read_as_git_lists_them(root: Path) -> None:
    assert len(_same_as_git(root)) == 4
    git(root, "pack-refs", "--all")  # now every ref is packed, none loose
    assert not (root / ".git" / PREFIX / "packed").exists()
    packed = _same_as_git(root)
    head = git(root, "rev-parse", "HEAD~1").strip()
    git(root, "update-ref", PREFIX + "packed", head)  # a loose ref over a packed one
    assert _same_as_git(root)[PREFIX + "packed"] == head != packed[PREFIX + "packed"]
    git(root, "update-ref", "-d", PREFIX + "a.1")
    assert PREFIX + "a.1" not in _same_as_git(root)


def test_no_refs_is_an_empty_listing(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r", {"a.txt": "a"})
    assert read_refs(GitRepo.discover(root), PREFIX) == {}
    git(root, "pack-refs", "--all")
    assert read_refs(GitRepo.discover(root), PREFIX) == {}


def test_a_ref_being_written_and_hidden_files_are_no_refs(root: Path) -> None:
    folder = root / ".git" / PREFIX
    (folder / "new.lock").write_text("0" * 40 + "\n")  # git update-ref holding its lock
    (folder / ".hidden").write_text("whatever")
    assert PREFIX + "new.lock" not in _same_as_git(root)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("sym", "ref: refs/heads/main\n"),  # a symbolic ref
        ("broken", "not an id\n"),  # git warns and skips it
        ("short", "abc\n"),
        ("trailing", "{head} extra\n"),  # git reads it; it is not what git writes
        ("twice", "{head}\n{head}\n"),  # one file, two lines: an id's length twice
        ("empty", ""),
        ("unended", "{head}"),  # no newline
        ("upper", "{upper}\n"),  # git writes lower case
        ("longer", "{head}{head}\n"),  # the length of no id
        ("long", "{head}" + "0" * 24 + "\n"),  # a SHA-256 length among SHA-1 ids
        ("dot.", "{head}\n"),  # not a valid ref name: git warns
        ("a..b", "{head}\n"),
        ("two\nlines", "{head}\n"),  # each line a fine name, the whole one no ref name
        ("nested/deeper", "{head}\n"),  # a folder under the prefix
    ],
)
def test_anything_git_does_not_write_itself_is_left_to_git(
    root: Path, name: str, content: str
) -> None:
    head = git(root, "rev-parse", "HEAD").strip()
    path = root / ".git" / PREFIX / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content.format(head=head, upper=head.upper()))
    assert read_refs(GitRepo.discover(root), PREFIX) is None


def test_an_odd_packed_ref_is_left_to_git(root: Path) -> None:
    git(root, "update-ref", PREFIX + "team/one", git(root, "rev-parse", "HEAD").strip())
    git(root, "pack-refs", "--all")
    assert read_refs(GitRepo.discover(root), PREFIX) is None


def test_a_loose_ref_gone_before_it_is_read_is_left_to_git(root: Path) -> None:
    """Packed or deleted since packed-refs was read: never silently left out."""
    repo = GitRepo.discover(root)
    files = ref_files(repo, PREFIX)
    assert files is not None and "b-2" in files.loose
    git(root, "pack-refs", "--all")  # the loose files go, into a packed-refs read too late
    assert read_loose(repo, PREFIX, files.loose) is None
