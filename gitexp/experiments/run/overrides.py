"""From ``-S`` overrides to new params file contents, checked before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gitexp.core.config import ProjectConfig
from gitexp.core.formats import format_of, load_mapping
from gitexp.core.params import Override, Point, apply_overrides
from gitexp.errors import ParamsError


@dataclass(frozen=True)
class ParamsPlan:
    """The params files one run changes: its overrides and each file's bytes, before and after.

    ``point`` holds the overrides as given, each with its file named; the record's
    ``overrides`` (``{file: {key: value}}``) is read from them.
    """

    point: Point = ()
    files: Mapping[str, tuple[bytes, bytes]] = field(default_factory=dict)

    @property
    def changed(self) -> dict[str, bytes]:
        """The new bytes of each params file."""
        return {path: new for path, (_old, new) in self.files.items()}

    @property
    def record(self) -> dict[str, dict[str, object]]:
        """``{file: {dotted key: value}}``, as ``run.json`` lists the overrides."""
        found: dict[str, dict[str, object]] = {}
        for override in self.point:
            found.setdefault(str(override.file), {})[override.key] = override.value
        return found


def plan_params(
    root: Path, config: ProjectConfig, point: Point, given: Mapping[str, bytes] | None = None
) -> ParamsPlan:
    """The params files of ``root`` with the overrides of one grid point applied.

    ``given`` holds params files' bytes to start from instead of the files in
    ``root`` (the user's own, while a workspace run has its overrides there).

    Raises `ParamsError` for a missing params file or an unknown key (or, for
    ``+KEY``, a key that exists) and `FormatError` for a file that does not parse;
    nothing is written here.
    """
    named = tuple(o.in_file(_file_for(o, config)) for o in point)
    by_file: dict[str, dict[str, tuple[object, bool | None]]] = {}
    for override in named:
        by_file.setdefault(str(override.file), {})[override.key] = (override.value, override.add)
    files = {}
    for path, changes in by_file.items():
        original = given[path] if given and path in given else read_params_file(root, path)
        files[path] = (original, apply_overrides(original, path, changes))
    return ParamsPlan(named, files)


def read_params_file(root: Path, path: str) -> bytes:
    """The bytes of a params file; `ParamsError` that says how to fix a missing one."""
    format_of(path)
    try:
        return (root / path).read_bytes()
    except FileNotFoundError as exc:
        raise ParamsError(
            f"params file '{path}' does not exist",
            hint=f"create {path}, or list your params files under 'params:' in gitexp.yaml",
        ) from exc
    except IsADirectoryError as exc:
        raise ParamsError(f"params file '{path}' is a folder") from exc


def _file_for(override: Override, config: ProjectConfig) -> str:
    if override.file is not None:
        return override.file
    if not config.params:
        raise ParamsError(
            f"no params file to apply '{override.text}' to",
            hint="list one under 'params:' in gitexp.yaml, or write -S FILE:KEY=VALUE",
        )
    return config.params[0]


def load_params(root: Path, config: ProjectConfig) -> dict[str, object]:
    """Every declared params file that exists in ``root``, merged in order."""
    merged: dict[str, object] = {}
    for path in config.params:
        full = root / path
        if full.is_file():
            merged.update(load_mapping(full.read_bytes(), path))
    return merged
