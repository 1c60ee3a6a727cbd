"""What ``show``, ``list`` and ``diff`` give: frozen values, ``to_json()`` their ``--json``.

The documents are those of DESIGN section 4.

The query engine works on the JSON objects themselves (one per experiment, read from
the summary index); the values are made once, at the end, from those objects. Key
access (``row["name"]``) reads the same values, as the dicts returned before did.
"""

from __future__ import annotations

from collections.abc import Iterator, KeysView, Mapping, Sequence
from dataclasses import dataclass

from gitexp.core.results import JsonResult

Doc = dict[str, object]
Files = Mapping[str, object]
"""``{file: its parsed content}``: params or metrics files as ``show --json`` gives them."""


class _Fields(JsonResult):
    """A row read by key as its dict was, and equal to that dict.

    Key access reads the field itself (cheap, for rows read by the thousand); code
    written when these rows were dicts keeps working.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Fields):
            return type(self) is type(other) and self.to_json() == other.to_json()
        if isinstance(other, Mapping):
            return self.to_json() == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # rows hold dicts: they are not hashable

    def __getitem__(self, key: str) -> object:
        if key not in self.__dataclass_fields__:  # type: ignore[attr-defined]
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        """The keys of ``to_json()``, as iterating the dict gave them."""
        return iter(self.to_json())

    def keys(self) -> KeysView[str]:
        """The keys of ``to_json()``."""
        return self.to_json().keys()

    def get(self, key: str, default: object = None) -> object:
        """The field ``key``, or ``default`` when there is no such field."""
        return getattr(self, key, default) if key in self.__dataclass_fields__ else default  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True, eq=False)
class ExperimentRow(_Fields):
    """One experiment as ``show --json`` lists it.

    ``commit`` is None for a run going on now; ``data`` maps each content-addressed
    path of the experiment to its ``blake3:`` hash.
    """

    name: str
    ref: str
    commit: str | None
    baseline: str
    branch: str | None
    created: str
    status: str
    params: Files
    metrics: Files
    data: Mapping[str, str]
    tags: tuple[str, ...] = ()
    note: str | None = None
    """Tags and note (`gitexp tag`, `gitexp note`): listed only for a noted experiment."""

    @classmethod
    def of(cls, doc: Mapping[str, object]) -> ExperimentRow:
        """The row of one ``show --json`` object."""
        tags = doc.get("tags")
        if isinstance(tags, list):
            doc = {**doc, "tags": tuple(tags)}
        return cls(**doc)  # type: ignore[arg-type]

    def to_json(self) -> dict[str, object]:
        """The ``show --json`` object, keys in the designed order."""
        return {
            "name": self.name,
            "ref": self.ref,
            "commit": self.commit,
            "baseline": self.baseline,
            "branch": self.branch,
            "created": self.created,
            "status": self.status,
            "params": self.params,
            "metrics": self.metrics,
            "data": self.data,
            **({"tags": list(self.tags), "note": self.note} if self.note is not None else {}),
        }


@dataclass(frozen=True, slots=True)
class ShowResult(JsonResult):
    """What ``gitexp show`` lists: the experiments, filtered and ordered."""

    experiments: tuple[ExperimentRow, ...]

    @classmethod
    def of(cls, docs: Sequence[Mapping[str, object]]) -> ShowResult:
        """The result of ``show --json`` objects ``docs``, in their order."""
        return cls(tuple(ExperimentRow.of(doc) for doc in docs))

    def to_json(self) -> dict[str, object]:
        """``{"experiments": [...]}``."""
        return {"experiments": [row.to_json() for row in self.experiments]}


@dataclass(frozen=True, slots=True, eq=False)
class ListRow(_Fields):
    """One line of ``gitexp list``: an experiment's name, status and where it started."""

    name: str
    status: str
    created: str
    baseline: str
    branch: str | None
    commit: str | None

    @classmethod
    def of(cls, row: ExperimentRow) -> ListRow:
        """The list line of ``row``."""
        return cls(row.name, row.status, row.created, row.baseline, row.branch, row.commit)

    def to_json(self) -> dict[str, object]:
        """The ``list --json`` object."""
        return {
            "name": self.name,
            "status": self.status,
            "created": self.created,
            "baseline": self.baseline,
            "branch": self.branch,
            "commit": self.commit,
        }


@dataclass(frozen=True, slots=True, eq=False)
class ValueChange(_Fields):
    """A params or metrics key whose value differs.

    ``change`` is ``new - old`` for metrics when both are numbers, else None.
    """

    old: object
    new: object
    change: float | None = None

    def to_json(self) -> dict[str, object]:
        """``{"old", "new"}``, and ``"change"`` when there is one."""
        doc = {"old": self.old, "new": self.new}
        if self.change is not None:
            doc["change"] = self.change
        return doc


@dataclass(frozen=True, slots=True, eq=False)
class FileChange(_Fields):
    """A file that differs: ``added``, ``modified`` or ``deleted``."""

    path: str
    status: str

    def to_json(self) -> dict[str, object]:
        """``{"path", "status"}``."""
        return {"path": self.path, "status": self.status}


@dataclass(frozen=True, slots=True, eq=False)
class ArtifactChange(_Fields):
    """Content-addressed data that differs: its hash on each side (None: absent)."""

    path: str
    old: str | None
    new: str | None

    def to_json(self) -> dict[str, object]:
        """``{"path", "old", "new"}``."""
        return {"path": self.path, "old": self.old, "new": self.new}


Changes = Mapping[str, Mapping[str, ValueChange]]
"""``{file: {dotted key: change}}``."""


@dataclass(frozen=True, slots=True)
class DiffResult(JsonResult):
    """What ``gitexp diff`` found between commit ``a`` (old) and ``b`` (new)."""

    a: str | None
    b: str | None
    params: Changes
    metrics: Changes
    files: tuple[FileChange, ...]
    artifacts: tuple[ArtifactChange, ...]

    def to_json(self) -> dict[str, object]:
        """The ``diff --json`` object."""
        return {
            "a": self.a,
            "b": self.b,
            "params": _changes_json(self.params),
            "metrics": _changes_json(self.metrics),
            "files": [f.to_json() for f in self.files],
            "artifacts": [f.to_json() for f in self.artifacts],
        }

    @property
    def empty(self) -> bool:
        """Whether the diff found nothing at all."""
        return not (self.params or self.metrics or self.files or self.artifacts)


def _changes_json(changes: Changes) -> dict[str, object]:
    return {
        file: {key: change.to_json() for key, change in keys.items()}
        for file, keys in changes.items()
    }
