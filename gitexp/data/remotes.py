"""``gitexp remote``: storage remotes in ``gitexp.yaml`` and secrets in the local config.

``gitexp.yaml`` is edited as a round trip (its comments and order stay) and checked
before it is written; a secret is refused there, because it would be committed, and
goes to the local config (``<common dir>/gitexp/config.yaml``, mode 0600) instead.
Every write is atomic, and every read-modify-write holds a lock on the file's folder.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitexp.cache.atomic import atomic_write
from gitexp.cache.locks import folder_lock
from gitexp.core.config import PROJECT_CONFIG, parse_local_config, parse_project_config
from gitexp.core.remotes import (
    SECRET_OPTIONS,
    Option,
    check_entry,
    check_remote_name,
    redact_url,
    url_scheme,
)
from gitexp.core.results import JsonResult
from gitexp.errors import ConfigError, ConflictError, NotFoundError
from gitexp.project import Project
from gitexp.storage.open import local_folder


def _load(path: Path) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap

    yaml = YAML(typ="rt")
    try:
        text = path.read_text()
    except FileNotFoundError:
        return CommentedMap()
    doc = yaml.load(text)
    return CommentedMap() if doc is None else doc


def _dump(doc: Any) -> bytes:
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    buffer = io.StringIO()
    yaml.dump(doc, buffer)
    return buffer.getvalue().encode()


@contextlib.contextmanager
def _editing(path: Path) -> Iterator[None]:
    """Hold the lock for a read-modify-write of config file ``path``: no writer's change is lost."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with folder_lock(path.parent):
        yield


def _save_project(project: Project, doc: Any) -> None:
    data = _dump(doc)
    parse_project_config(data, PROJECT_CONFIG)
    atomic_write(project.root / PROJECT_CONFIG, data)


def _save_local(project: Project, doc: Any) -> None:
    data = _dump(doc)
    path = project.layout.local_config
    parse_local_config(data, str(path))
    atomic_write(path, data, 0o600)


def add(
    project: Project,
    name: str,
    url: str,
    *,
    options: Mapping[str, Option] | None = None,
    default: bool = False,
    local: bool = False,
    force: bool = False,
) -> Path | None:
    """Declare storage remote ``name`` at ``url`` (shared in gitexp.yaml, or ``local``).

    Returns the folder the first push will make, when a local remote's folder does not
    exist yet. Raises `ConflictError` if it exists (unless ``force``), `ConfigError`
    for a bad URL or option, a secret bound for ``gitexp.yaml``, or a local path whose
    parent folder does not exist (a typo, which push would otherwise make).
    """
    check_remote_name(name)
    entry: dict[str, Option] = {"url": url, **(options or {})}
    check_entry(
        name,
        entry if len(entry) > 1 else url,
        PROJECT_CONFIG if not local else "local config",
        shared=not local,
    )
    path = project.layout.local_config if local else project.root / PROJECT_CONFIG
    with _editing(path):
        doc = _load(path)
        remotes = doc.setdefault("remotes", {})
        if name in remotes and not force:
            raise ConflictError(
                f"storage remote '{name}' already exists",
                hint="pass --force to replace it, or pick another name",
            )
        to_make = _check_folder(project, name, url)
        remotes[name] = url if len(entry) == 1 else entry
        if default:
            doc["remote"] = name
        (_save_local if local else _save_project)(project, doc)
    return to_make


def _check_folder(project: Project, name: str, url: str) -> Path | None:
    """A local remote's folder if it is still to be made; `ConfigError` if it cannot be."""
    if url_scheme(url) != "file":
        return None
    folder = local_folder(url, project.root)
    if folder.is_dir():
        return None
    if folder.exists():
        raise ConfigError(f"storage remote '{name}': {folder} is not a folder")
    if not folder.parent.is_dir():
        raise ConfigError(
            f"storage remote '{name}': the folder {folder.parent} does not exist",
            hint="create it first, or check the path for a typo",
        )
    return folder


def remove(project: Project, name: str) -> None:
    """Forget storage remote ``name`` in gitexp.yaml and the local config (its data stays)."""
    found = False
    for path, save in (
        (project.root / PROJECT_CONFIG, _save_project),
        (project.layout.local_config, _save_local),
    ):
        with _editing(path):
            doc = _load(path)
            remotes = doc.get("remotes") or {}
            if name in remotes:
                del remotes[name]
                found = True
                if doc.get("remote") == name:
                    del doc["remote"]
                save(project, doc)
    if not found:
        raise NotFoundError(f"unknown storage remote '{name}'", hint="see `gitexp remote list`")


def set_default(project: Project, name: str) -> None:
    """Make ``name`` the default storage remote (in gitexp.yaml)."""
    if name not in _known(project):
        raise NotFoundError(f"unknown storage remote '{name}'", hint="see `gitexp remote list`")
    with _editing(project.root / PROJECT_CONFIG):
        doc = _load(project.root / PROJECT_CONFIG)
        doc["remote"] = name
        _save_project(project, doc)


def modify(project: Project, name: str, option: str, value: Option | None, *, local: bool) -> None:
    """Set (or with None unset) one option of remote ``name``.

    Secrets go only to the local config: `ConfigError` when one is set without ``local``.
    """
    if name not in _known(project):
        raise NotFoundError(f"unknown storage remote '{name}'", hint="see `gitexp remote list`")
    if option in SECRET_OPTIONS and not local and value is not None:
        raise ConfigError(
            f"'{option}' is a secret and would be committed in {PROJECT_CONFIG}",
            hint=f"use `gitexp remote modify --local {name} {option} VALUE`",
        )
    path = project.layout.local_config if local else project.root / PROJECT_CONFIG
    with _editing(path):
        doc = _load(path)
        _set_option(doc, name, option, value)
        (_save_local if local else _save_project)(project, doc)


def _set_option(doc: Any, name: str, option: str, value: Option | None) -> None:
    remotes = doc.setdefault("remotes", {})
    current = remotes.get(name)
    entry = (
        {"url": current} if isinstance(current, str) else (current if current is not None else {})
    )
    if value is None:
        entry.pop(option, None)
    else:
        entry[option] = value
    if not entry:
        remotes.pop(name, None)
    else:
        remotes[name] = entry["url"] if list(entry) == ["url"] else entry


def _known(project: Project) -> set[str]:
    local = {n for n, v in project.local.remotes.items() if isinstance(v, dict) and "url" in v}
    return set(project.config.remotes) | local


@dataclass(frozen=True, slots=True)
class RemoteRow(JsonResult):
    """One storage remote as ``remote list`` shows it: secrets never appear."""

    name: str
    url: str
    """Redacted: no password or token."""
    default: bool
    options: Mapping[str, object]
    """Its options, each secret one as ``***``."""

    def to_json(self) -> dict[str, object]:
        """The ``remote list --json`` object."""
        return {
            "name": self.name,
            "url": self.url,
            "default": self.default,
            "options": self.options,
        }


def listing(project: Project) -> tuple[RemoteRow, ...]:
    """Every storage remote: name, URL (redacted), default or not, options (secrets as ***)."""
    rows = []
    for name in sorted(_known(project)):
        merged: dict[str, object] = {}
        merged.update(project.config.remotes.get(name) or {})  # type: ignore[call-overload]
        local = project.local.remotes.get(name)
        if isinstance(local, dict):
            merged.update(local)
        url = str(merged.pop("url", ""))
        options = {k: ("***" if k in SECRET_OPTIONS else v) for k, v in sorted(merged.items())}
        rows.append(RemoteRow(name, redact_url(url), name == project.config.remote, options))
    return tuple(rows)
