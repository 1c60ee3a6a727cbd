"""Edits an import makes to ``gitexp.yaml``: remotes, and the files a run reads and writes.

The file is edited as a round trip (its comments and order stay), only by adding: a
remote that exists is left as it is, a list keeps its entries and gains the missing
ones. The result is checked as any ``gitexp.yaml`` before anyone writes it.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

from gitexp.core.config import DEFAULT_METRICS, DEFAULT_PARAMS, PROJECT_CONFIG
from gitexp.core.config import parse_project_config as _check
from gitexp.core.remotes import Option

_DEFAULTS = {"params": DEFAULT_PARAMS, "metrics": DEFAULT_METRICS}


class ProjectFile:
    """A ``gitexp.yaml`` being edited (from its bytes, or empty)."""

    def __init__(self, data: bytes | None) -> None:
        from ruamel.yaml import YAML
        from ruamel.yaml.comments import CommentedMap

        self.original = data
        doc = YAML(typ="rt").load(data.decode()) if data else None
        self.doc: Any = doc if doc is not None else CommentedMap()
        self.dirty = False

    def remote(self, name: str) -> object:
        """The remote ``name`` as declared (a URL or a mapping), or None."""
        remotes = self.doc.get("remotes") or {}
        return remotes.get(name)

    def add_remote(self, name: str, url: str, options: Mapping[str, Option]) -> None:
        """Declare remote ``name`` (the caller checked it is not declared yet)."""
        remotes = self.doc.setdefault("remotes", {})
        remotes[name] = {"url": url, **options} if options else url
        self.dirty = True

    def set_default(self, name: str) -> bool:
        """Make ``name`` the default remote unless one is set already; whether it did."""
        if self.doc.get("remote"):
            return False
        self.doc["remote"] = name
        self.dirty = True
        return True

    def declare(self, key: str, paths: Iterable[str]) -> None:
        """Add ``paths`` to list ``key`` (``params``, ``metrics``, ``plots``, ``outs``)."""
        wanted = list(dict.fromkeys(paths))
        current = self.doc.get(key)
        have = list(current) if isinstance(current, list) else list(_DEFAULTS.get(key, ()))
        new = [p for p in wanted if p not in have]
        if not new:
            return
        from ruamel.yaml.comments import CommentedSeq

        seq = CommentedSeq([*have, *new])
        seq.fa.set_flow_style()
        self.doc[key] = seq
        self.dirty = True

    def dump(self) -> bytes:
        """The file's new bytes, checked (`ConfigError` if they would not load)."""
        from ruamel.yaml import YAML

        if not self.dirty:
            return self.original or b""
        yaml = YAML(typ="rt")
        yaml.indent(mapping=2, sequence=4, offset=2)
        buffer = io.StringIO()
        yaml.dump(self.doc, buffer)
        data = buffer.getvalue().encode()
        _check(data, PROJECT_CONFIG)
        return data

    def changed(self) -> bool:
        """Whether an edit changed the document."""
        return self.dirty
