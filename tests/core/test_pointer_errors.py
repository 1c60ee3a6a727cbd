"""A broken pointer is named with its file and bad field; only a newer version asks to upgrade."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from gitexp.core.pointer import check_data_path, parse_pointer, unsafe_reason
from gitexp.errors import FormatError, PathError
from tests.conftest import PARAMS_YAML, git

HEX = "0123456789abcdef" * 4
REPAIR = "restore the file from git (`git checkout -- data/train.csv.gitexp`) or run `gitexp add data/train.csv`"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("version: 1\nhash: blake3:zzz\nsize: 3\n", "hash 'blake3:zzz' is not a blake3 hash"),
        ("version: 1\nsize: 3\n", "hash is missing"),
        (f"hash: blake3:{HEX}\nsize: 3\n", "version is missing"),
        (f"version: one\nhash: blake3:{HEX}\nsize: 3\n", "version 'one' is not a pointer version"),
        (f"version: 1.0\nhash: blake3:{HEX}\nsize: 3\n", "version 1.0 is not a pointer version"),
        (f"version: 0\nhash: blake3:{HEX}\nsize: 3\n", "version 0 is not a pointer version"),
        (f"version: true\nhash: blake3:{HEX}\nsize: 3\n", "version True is not a pointer version"),
        (f"version: 1\nhash: blake3:{HEX}\n", "size None is not a size in bytes"),
    ],
)
def test_broken_pointer_names_file_field_and_repair(text: str, problem: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_pointer(text.encode(), "data/train.csv.gitexp")
    assert info.value.message.startswith(f"data/train.csv.gitexp: {problem}")
    assert info.value.hint == REPAIR
    assert "upgrade" not in info.value.message + (info.value.hint or "")


def test_only_a_newer_version_asks_to_upgrade() -> None:
    with pytest.raises(FormatError) as info:
        parse_pointer(f"version: 7\nhash: blake3:{HEX}\nsize: 3\n".encode(), "a.gitexp")
    assert (
        info.value.message
        == "a.gitexp: pointer version 7 is newer than this gitexp reads (version 1)"
    )
    assert info.value.hint == "upgrade gitexp to read it"


@pytest.mark.parametrize(
    "data",
    [
        ".git",
        ".GIT",
        ".git.",
        ".git ",
        "a/.git/b",
        "a/.GiT",
        ".gitexp",
        "a/.gitexp/b",
        "",
        "/etc/x",
        "a/../b",
        "../b",
        "a//b",
        "./a",
        "a\\b",
        "C:x",
        "a\x00b",
    ],
)
def test_unsafe_data_paths(data: str) -> None:
    assert unsafe_reason(data) is not None
    with pytest.raises(PathError) as info:
        check_data_path(data, "p.gitexp")
    assert info.value.message.startswith(f"p.gitexp: unsafe data path {data!r}")
    assert "--force" not in (info.value.hint or "")


@pytest.mark.parametrize(
    "data", ["data", "a/.github/b", "a/.gitignore", "x.git", ".gitx", "a/b.gitexp.d"]
)
def test_safe_data_paths(data: str) -> None:
    assert unsafe_reason(data) is None


def test_cli_names_the_broken_pointer(repo: Path, cli) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "train.csv.gitexp").write_text("version: 1\nhash: blake3:zzz\nsize: 3\n")
    for command in (["status"], ["checkout"], ["gc"], ["fsck"]):
        result = cli(*command)
        assert result.code == 1, command
        assert result.err == (
            "error: data/train.csv.gitexp: hash 'blake3:zzz' is not a blake3 hash (blake3: and "
            f"64 lowercase hex digits); {REPAIR}\n"
        )


def test_run_refuses_while_a_pointer_is_broken(repo: Path, cli) -> None:
    (repo / "data").mkdir()
    (repo / "data" / "train.csv.gitexp").write_text(f"hash: blake3:{HEX}\nsize: 3\n")
    result = cli("run", "-S", "train.lr=0.5", "--", sys.executable, "-c", "open('ran', 'w')")
    assert result.code == 1
    assert result.err.startswith("error: data/train.csv.gitexp: version is missing;")
    assert not (repo / "ran").exists()
    assert (repo / "params.yaml").read_text() == PARAMS_YAML
    assert git(repo, "for-each-ref", "refs/experiments/") == ""
