"""What the UI needs from a repository, as a protocol: the report layer reads no refs.

`gitexp.experiments.query.live.LiveSource` is the real one; a test may hand any object
with these methods.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Protocol

from gitexp.core.goals import Direction
from gitexp.report.data import CurveLike, OverviewLike


class UiSource(Protocol):
    """The experiments to show, and cheap stamps that change when they do."""

    @property
    def title(self) -> str:
        """The page's title."""

    @property
    def goals(self) -> Mapping[str, Direction]:
        """``goals:`` of gitexp.yaml: which way each metric is better."""

    def recorded_stamp(self) -> Hashable:
        """A value that changes whenever the recorded experiments do (not their notes)."""

    def notes_stamp(self) -> Hashable:
        """A value that changes whenever a tag or note on an experiment does."""

    def notes(self) -> Mapping[str, tuple[Sequence[str], str]]:
        """Every experiment commit's tags and note text, by commit id."""

    def recorded(self) -> OverviewLike:
        """Every recorded experiment, as the report shows them."""

    def running_stamp(self) -> Hashable:
        """A value that changes whenever a running experiment starts, logs or ends."""

    def running(self) -> OverviewLike:
        """The experiments running now, with what they logged so far."""

    def series(self, commits: Mapping[str, str]) -> Mapping[str, Mapping[str, CurveLike]]:
        """The series of recorded experiments (name → commit), by name then key.

        The page data of the recorded experiments carries no series: a page asks
        for those of the experiments it shows.
        """

    def details(self, commits: Mapping[str, str]) -> Mapping[str, object]:
        """The code files and images of recorded experiments (name → commit).

        The page data of the recorded experiments carries neither (reading them all
        costs seconds at 10,000): a page asks for those of the experiments it
        compares. ``{"paths", "blobs", "files": {name: [blob index per path]},
        "images", "frames": {name: {key: [[step, image index]…]}}}``, as the page
        data holds them.
        """

    def image(self, digest: str) -> tuple[bytes, str] | None:
        """An image a recorded experiment logged: its bytes and MIME type, else None."""

    def annotate(
        self, name: str, *, add: Sequence[str], remove: Sequence[str], note: str | None
    ) -> Mapping[str, object]:
        """Add and remove tags of experiment ``name``, set its note (None: leave it).

        Returns ``{"name", "commit", "tags", "note"}`` after the change; raises a
        `GitexpError` for an unknown experiment or a bad tag.
        """
