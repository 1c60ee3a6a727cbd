"""Refs read straight from git's files backend, when they are plain; else git lists them.

``git for-each-ref`` spends a process and about 0.1 s of a core on ten thousand loose
refs (as a ``git fetch`` of many experiments leaves them), and the first ``show`` of a
fresh clone can do nothing before it has them. Read here, the files can be shared out
among processes, each reading some (`ref_files` names them, `read_loose` reads a
share, checking their names as it goes). Only refs as git writes them are read this
way: files directly in the prefix's folder, each holding one object id and a newline,
with names that are valid ref names, and ``packed-refs`` lines of the same kind.
Anything else (the reftable backend, a nested folder, a symbolic ref, a broken ref or
an odd name, which git would warn about) makes these answer None, so the caller asks
git and the user sees git's own answer and warnings.

A loose ref overrides a packed one, as in git. ``packed-refs`` is read first, so a
loose file gone by the time it is read (``git pack-refs`` packed it meanwhile, or it
was deleted) is an answer of None too, never a ref silently left out.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import NamedTuple

from gitexp.git.repo import GitRepo

_ID = re.compile(rb"(?:[0-9a-f]{40}|[0-9a-f]{64})\n")
"""A loose ref's whole content as git writes it (SHA-1 or SHA-256)."""
_IDS = {size + 1: re.compile(rb"(?:[0-9a-f]{%d}\n)*" % size) for size in (40, 64)}
"""Loose refs' contents one after the other, by the length of one (with its newline)."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""A last ref component that is surely valid, once ``..`` and the endings below are out."""
_NAMES = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:\n[A-Za-z0-9][A-Za-z0-9._-]*)*")
"""`_NAME` for each line."""
_READ = 128
"""More than a loose ref holds, so a longer file shows in its length."""


class RefFiles(NamedTuple):
    """The refs under a prefix as git's files hold them: loose names, and packed refs."""

    loose: list[str]
    """The names (after the prefix) of the loose refs, in no order."""
    packed: dict[str, str]
    """The object id of each packed ref, by ref."""


def ref_files(git: GitRepo, prefix: str) -> RefFiles | None:
    """The names of the loose refs under ``prefix`` and the packed ones, read now.

    None when they are not all plain. The loose refs are read by `read_loose`, by
    name, so that several processes can each read some of them.
    """
    common = os.fspath(git.common_dir)
    if os.path.isdir(os.path.join(common, "reftable")):
        return None
    names = _loose_names(os.path.join(common, prefix))
    packed: dict[str, str] = {}
    if names is None or not _add_packed(os.path.join(common, "packed-refs"), prefix, packed):
        return None
    return RefFiles(names, packed)


def read_loose(git: GitRepo, prefix: str, names: Iterable[str]) -> dict[str, str] | None:
    """The object id of each loose ref ``prefix + name``, by ref.

    None when one is not plain (its name or its content), or is gone (it may have been
    packed since `ref_files` read ``packed-refs``).
    """
    names = list(names)
    if not names:
        return {}
    if not _plain_names(names):
        return None
    folder = os.path.join(os.fspath(git.common_dir), prefix)
    contents: list[bytes] = []
    for name in names:
        try:
            fd = os.open(folder + name, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            contents.append(os.read(fd, _READ))
        finally:
            os.close(fd)
    # all checked at once: every file one line of an id's length, and all of them ids
    sizes = set(map(len, contents))
    ids = _IDS.get(sizes.pop()) if len(sizes) == 1 else None
    whole = b"".join(contents)
    if ids is None or not ids.fullmatch(whole):
        return None
    return {prefix + n: c for n, c in zip(names, whole.decode().split(), strict=True)}


def _plain_names(names: list[str]) -> bool:
    """Whether every one of ``names`` is `_plain`: all checked by one match."""
    lines = "\n".join(names)
    return (
        lines.count("\n") == len(names) - 1  # no name of two lines
        and _NAMES.fullmatch(lines) is not None
        and ".." not in lines
        and ".\n" not in lines
        and not lines.endswith(".")
    )


def _loose_names(folder: str) -> list[str] | None:
    """The names of the loose refs in ``folder``; None when any is not a file.

    As git does, names starting with a dot or ending in ``.lock`` (a ref being
    written) are no refs. Whether a name is plain is left to `read_loose`, so that
    the processes reading shares of the refs check their names too.
    """
    try:
        with os.scandir(folder) as listing:
            entries = [(e.name, e.is_file(follow_symlinks=False)) for e in listing]
    except FileNotFoundError:
        return []
    except OSError:
        return None
    names: list[str] = []
    for name, is_file in entries:
        if name.startswith(".") or name.endswith(".lock"):
            continue
        if not is_file:
            return None
        names.append(name)
    return names


def _plain(name: str) -> bool:
    return _NAME.fullmatch(name) is not None and ".." not in name and not name.endswith(".")


def _add_packed(path: str, prefix: str, found: dict[str, str]) -> bool:
    """Add the packed refs under ``prefix`` that no loose ref overrides; whether all are plain."""
    try:
        with open(path, "rb") as file:
            packed = file.read()
    except FileNotFoundError:
        return True
    marker = b" " + prefix.encode()
    if marker not in packed:
        return True
    for line in packed.split(b"\n"):
        oid, _, ref = line.partition(b" ")
        if not ref.startswith(marker[1:]):
            continue  # the header, a peeled line (^id) or another ref
        name = ref[len(marker) - 1 :].decode("ascii", "replace")
        if not _plain(name) or not _ID.fullmatch(oid + b"\n"):
            return False
        found.setdefault(prefix + name, oid.decode())
    return True
