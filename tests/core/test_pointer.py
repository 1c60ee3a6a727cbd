import pytest

from gitexp.core.hashing import Oid
from gitexp.core.pointer import Pointer, data_path, parse_pointer, pointer_path
from gitexp.errors import FormatError

HEX = "0123456789abcdef" * 4


def test_round_trip_file_and_dir() -> None:
    file_pointer = Pointer(Oid(HEX), 12)
    assert file_pointer.dump() == f"version: 1\nhash: blake3:{HEX}\nsize: 12\n".encode()
    assert parse_pointer(file_pointer.dump(), "a.gitexp") == file_pointer
    folder = Pointer(Oid(HEX), 99, "dir", 3)
    assert b"kind: dir\nfiles: 3\n" in folder.dump()
    assert parse_pointer(folder.dump(), "d.gitexp") == folder


def test_paths() -> None:
    assert pointer_path("data/train.csv") == "data/train.csv.gitexp"
    assert data_path("data/train.csv.gitexp") == "data/train.csv"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("hash: [unclosed", "data.gitexp"),
        ("- a\n- b\n", "is not a mapping"),
        (
            f"version: 2\nhash: blake3:{HEX}\nsize: 1\n",
            "pointer version 2 is newer than this gitexp reads",
        ),
        (f"version: 1\nhash: sha256:{HEX}\nsize: 1\n", f"hash 'sha256:{HEX}' is not a blake3 hash"),
        (
            f"version: 1\nhash: blake3:{HEX[:-2]}\nsize: 1\n",
            "is not a blake3 hash (blake3: and 64 lowercase hex digits)",
        ),
        (f"version: 1\nhash: blake3:{HEX}\nsize: -1\n", "size -1 is not a size in bytes"),
        (f"version: 1\nhash: blake3:{HEX}\nsize: '12'\n", "size '12' is not a size in bytes"),
        (f"version: 1\nhash: blake3:{HEX}\nsize: true\n", "size True is not a size in bytes"),
        (
            f"version: 1\nhash: blake3:{HEX}\nsize: 1\nkind: link\n",
            "kind 'link' is neither file nor dir",
        ),
        (f"version: 1\nhash: blake3:{HEX}\nsize: 1\nkind: dir\n", "files None is not a file count"),
        (f"version: 1\nhash: blake3:{HEX}\nsize: 1\nmd5: x\n", "unknown field 'md5'"),
    ],
)
def test_bad_pointers(text: str, message: str) -> None:
    with pytest.raises(FormatError) as info:
        parse_pointer(text.encode(), "data.gitexp")
    assert message in info.value.message
