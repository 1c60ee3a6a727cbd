"""What a hook is given and what it has to say, and what every hook needs.

A plain class and a named tuple: a hook with nothing to do does not import
``dataclasses``, nor anything else it can do without.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from gitexp.core.filenames import RUN_DIR, SUFFIX
from gitexp.errors import GitexpError

if TYPE_CHECKING:
    from gitexp.project import Project


class HookResult:
    """What a hook has to say: notes, warnings, and errors that make git stop.

    ``advice`` is said after the errors (what to do about them as a whole).
    """

    __slots__ = ("advice", "errors", "notes", "warnings")

    def __init__(self) -> None:
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.errors: list[GitexpError] = []
        self.advice: list[str] = []


class HookCall(NamedTuple):
    """One run of a hook: its name, git's arguments and standard input.

    ``credentials`` is called only when storage is reached. ``data_pushed``: the push
    is ``gitexp push``'s own, which has moved (or, with ``--no-data``, chosen not to
    move) the data already.
    """

    name: str
    args: Sequence[str] = ()
    stdin: str = ""
    credentials: Callable[[], Mapping[str, str]] = dict
    data_pushed: bool = False


def is_pointer(path: str) -> bool:
    """Whether ``path`` is a pointer file (gitexp's own ``.gitexp/`` folder aside)."""
    name = os.path.basename(path)
    return name.endswith(SUFFIX) and name != SUFFIX and not path.startswith(RUN_DIR + "/")


def data_path(pointer: str) -> str:
    """The data path of pointer file ``pointer``."""
    return pointer[: -len(SUFFIX)]


def open_project(root: Path) -> Project:
    """The project at ``root``, loaded only when a hook has work to do."""
    from gitexp.project import Project

    return Project.open(root)


def quote(path: str) -> str:
    """``path`` quoted for a shell command the user may copy."""
    import shlex

    return shlex.quote(path)
