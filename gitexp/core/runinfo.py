"""``.gitexp/run.json``: how an experiment ran, format version 1."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import orjson

from gitexp.core.filenames import RUN_DIR as RUN_DIR
from gitexp.errors import FormatError

RUN_JSON = ".gitexp/run.json"
OUTPUT_LOG = ".gitexp/output.log"
SERIES_DIR = ".gitexp/series"
LOGGED_PARAMS = ".gitexp/params.yaml"
"""Params a run logged through the API (framework callbacks): shown beside its params files."""
VERSION = 1

Status = Literal["queued", "running", "success", "failed", "interrupted", "crashed", "pruned"]
STATUSES: tuple[Status, ...] = (
    "queued",
    "running",
    "success",
    "failed",
    "interrupted",
    "crashed",
    "pruned",
)
"""Every status of DESIGN section 2; a record with another one reads as ``failed``."""


@dataclass(frozen=True, slots=True)
class RunRecord:
    """The record every experiment commit carries; see DESIGN section 2."""

    name: str
    command: tuple[str, ...]
    overrides: Mapping[str, Mapping[str, object]]
    status: Status
    exit_code: int | None
    started: str
    duration_s: float
    baseline_commit: str
    baseline_branch: str | None
    host: str = ""
    python: str = ""
    platform: str = ""
    packages: Mapping[str, str] = field(default_factory=dict)
    inherited: tuple[str, ...] = ()
    """Result paths in the commit that the run did not write: the baseline's versions."""
    reproduces: Mapping[str, str] | None = None
    """The run this one did again (``gitexp reproduce``): its ``name`` and ``commit``."""
    sweep: Mapping[str, object] | None = None
    """A sweep's trial: its study, sampler, space, goal and trial number (`SweepInfo`)."""

    def to_json(self) -> bytes:
        """The bytes of ``run.json``: stable key order, two-space indent, final newline."""
        doc = {
            "version": VERSION,
            "name": self.name,
            "command": list(self.command),
            "overrides": {f: dict(v) for f, v in self.overrides.items()},
            "status": self.status,
            "exit_code": self.exit_code,
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "baseline": {"commit": self.baseline_commit, "branch": self.baseline_branch},
            "host": self.host,
            "python": self.python,
            "platform": self.platform,
            "packages": dict(sorted(self.packages.items())),
        }
        if self.inherited:
            doc["inherited"] = list(self.inherited)
        if self.reproduces:
            doc["reproduces"] = dict(self.reproduces)
        if self.sweep is not None:
            doc["sweep"] = dict(self.sweep)
        from gitexp.core.formats import to_json_value

        return orjson.dumps(to_json_value(doc), option=orjson.OPT_INDENT_2) + b"\n"


def parse_run_json(data: bytes, where: str) -> RunRecord:
    """Read ``run.json``; `FormatError` for bad JSON or a version this gitexp does not know."""
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"{where}: run.json is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise FormatError(f"{where}: run.json is not a JSON object")
    if doc.get("version") != VERSION:
        raise FormatError(
            f"{where}: run.json has version {doc.get('version')!r}; this gitexp reads version 1",
            hint="upgrade gitexp",
        )
    baseline = doc.get("baseline") or {}
    try:
        return RunRecord(
            name=str(doc["name"]),
            command=tuple(doc.get("command") or ()),
            overrides=doc.get("overrides") or {},
            status=_status(doc.get("status")),
            exit_code=doc.get("exit_code"),
            started=str(doc.get("started") or ""),
            duration_s=float(doc.get("duration_s") or 0.0),
            baseline_commit=str(baseline.get("commit") or ""),
            baseline_branch=baseline.get("branch"),
            host=str(doc.get("host") or ""),
            python=str(doc.get("python") or ""),
            platform=str(doc.get("platform") or ""),
            packages=doc.get("packages") or {},
            inherited=tuple(str(p) for p in doc.get("inherited") or ()),
            reproduces=_reproduces(doc.get("reproduces")),
            sweep=doc["sweep"] if isinstance(doc.get("sweep"), dict) else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"{where}: run.json is missing or mistypes {exc}") from exc


def _reproduces(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items()}


def _status(value: object) -> Status:
    for status in STATUSES:
        if value == status:
            return status
    return "failed"


TRAILER_KEYS = {
    "Gitexp-Status": "status",
    "Gitexp-Started": "started",
    "Gitexp-Baseline": "baseline",
    "Gitexp-Branch": "branch",
}
INHERITED_TRAILER = "Gitexp-Inherited"
"""Optional trailer: ``run.json``'s ``inherited`` as a JSON list, only when not empty."""


def trailers(record: RunRecord) -> str:
    """The lines ending an experiment commit's message: a copy of what ``show`` needs.

    ``show`` reads them from the commit it loads anyway, instead of two more objects
    (the ``.gitexp`` tree and ``run.json``); ``run.json`` stays the full record.
    """
    values = {
        "status": record.status,
        "started": record.started,
        "baseline": record.baseline_commit,
        "branch": record.baseline_branch or "",
    }
    lines = "".join(f"{key}: {values[field]}\n" for key, field in TRAILER_KEYS.items())
    if record.inherited:
        lines += f"{INHERITED_TRAILER}: {orjson.dumps(list(record.inherited)).decode()}\n"
    return lines


def parse_trailers(message: str) -> dict[str, str] | None:
    """The trailer values of an experiment commit message, None when any is missing."""
    found: dict[str, str] = {}
    start = message.rfind("\n\nGitexp-Status: ")
    tail = message[start + 2 :] if start >= 0 else ""
    for line in tail.splitlines():
        key, sep, value = line.partition(": ")
        if sep and key in TRAILER_KEYS:
            found[TRAILER_KEYS[key]] = value.strip()
        elif sep and key == INHERITED_TRAILER:
            found["inherited"] = value.strip()
    required = len(TRAILER_KEYS) + ("inherited" in found)
    return found if len(found) == required else None


def inherited_paths(value: object) -> frozenset[str]:
    """The inherited paths from a trailer value (a JSON list) or a run.json list."""
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            return frozenset()
    if not isinstance(value, list):
        return frozenset()
    return frozenset(p for p in value if isinstance(p, str))


def utc_now() -> _dt.datetime:
    """Now, in UTC."""
    return _dt.datetime.now(_dt.timezone.utc)


def iso_utc(moment: _dt.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the millisecond: ``2026-01-02T03:04:05.678Z``.

    Milliseconds keep the points of a fast sweep in the order they ran.
    """
    utc = moment.astimezone(_dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
