"""The plain data the report layer draws, described as protocols.

Whatever gathers experiments hands over objects with these attributes (dataclasses,
say); nothing here knows where they came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol


class CurveLike(Protocol):
    """One series of one experiment: x (steps) and y (values), the same length."""

    @property
    def steps(self) -> Sequence[float]:
        """The x of each point."""

    @property
    def values(self) -> Sequence[float]:
        """The y of each point."""


class RunLike(Protocol):
    """An experiment as a plot needs it: its name, flat params and series by key."""

    @property
    def name(self) -> str:
        """The experiment's name."""

    @property
    def params(self) -> Mapping[str, object]:
        """Its params, flat: dotted key (or ``FILE:KEY``) to value."""

    @property
    def series(self) -> Mapping[str, CurveLike]:
        """Its series by key."""


class ExperimentLike(RunLike, Protocol):
    """An experiment as the report shows it.

    ``files`` maps each code path that differs somewhere among the experiments to the
    index of its content in `OverviewLike.blobs` (a path the experiment lacks is absent).
    """

    @property
    def status(self) -> str:
        """``success``, ``failed`` or ``unknown``."""

    @property
    def created(self) -> str:
        """When it ran, ISO 8601 UTC."""

    @property
    def branch(self) -> str | None:
        """The branch it ran on, when known."""

    @property
    def commit(self) -> str:
        """Its commit id."""

    @property
    def baseline(self) -> str:
        """The commit it started from."""

    @property
    def metrics(self) -> Mapping[str, object]:
        """Its metrics, flat like ``params``."""

    @property
    def files(self) -> Mapping[str, int]:
        """Code path to index in `OverviewLike.blobs`."""

    @property
    def tags(self) -> Sequence[str]:
        """Its tags (git notes), sorted."""

    @property
    def note(self) -> str:
        """Its note's text ("" for none)."""

    @property
    def images(self) -> Mapping[str, Sequence[tuple[float | int | None, int]]]:
        """Image key → (step, index in `OverviewLike.images`), in the order logged."""

    @property
    def changed(self) -> int:
        """How many params differ from its baseline commit's."""


class OverviewLike(Protocol):
    """Everything a report shows: the experiments and the code they differ in.

    ``blobs`` holds the text of each file version, or None when it is binary, too
    large, or past the size budget (then only its status is shown).
    """

    @property
    def experiments(self) -> Sequence[ExperimentLike]:
        """The experiments, in the order shown."""

    @property
    def blobs(self) -> Sequence[str | None]:
        """File texts, by index."""

    @property
    def images(self) -> Sequence[str | None]:
        """Images as ``data:`` URIs by index; None where one is not embedded."""
