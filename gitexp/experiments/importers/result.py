"""What an import did, as ``gitexp import --json`` prints it."""

from __future__ import annotations

from dataclasses import dataclass

from gitexp.core.results import JsonResult


@dataclass(frozen=True, slots=True)
class ImportedExperiment:
    """One experiment made from a source run: its gitexp name and the source's id."""

    name: str
    source_id: str
    commit: str


@dataclass(frozen=True, slots=True)
class ImportResult(JsonResult):
    """Everything an import wrote, and what it found already there.

    ``pointers``: data paths whose ``.gitexp`` pointer was written; ``unchanged``: those
    whose pointer was already right; ``remotes``: storage remotes declared;
    ``experiments``: experiments made; ``skipped``: source ids imported before;
    ``notes``: what the user should know (a run put on HEAD, a remote not carried over).
    """

    source: str
    pointers: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    remotes: tuple[str, ...] = ()
    experiments: tuple[ImportedExperiment, ...] = ()
    skipped: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything at all."""
        return bool(self.pointers or self.remotes or self.experiments)

    def to_json(self) -> dict[str, object]:
        """The ``--json`` document."""
        return {
            "source": self.source,
            "pointers": list(self.pointers),
            "unchanged": list(self.unchanged),
            "remotes": list(self.remotes),
            "experiments": [
                {"name": e.name, "source_id": e.source_id, "commit": e.commit}
                for e in self.experiments
            ],
            "skipped": list(self.skipped),
            "notes": list(self.notes),
        }
