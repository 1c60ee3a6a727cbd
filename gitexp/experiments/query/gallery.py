"""The images a report shows: each experiment's logged images, each distinct image once.

A report is one self-contained file, so images go in as ``data:`` URIs, each distinct
image once however many steps or experiments logged it, up to a byte budget; past
it (or when an image is not in the cache) the page says so instead of showing it.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass, field

from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid
from gitexp.errors import FormatError, IntegrityError, NotFoundError
from gitexp.experiments.query.media import images_of
from gitexp.git.repo import GitRepo

IMAGE_BUDGET = 16 * 1024 * 1024
"""The most image bytes one report embeds."""
IMAGE_LIMIT = 2 * 1024 * 1024
"""An image larger than this is listed but not embedded."""

Frames = dict[str, list[tuple[float | int | None, int]]]
"""Image key → ``(step, index into the report's images)`` in the order logged."""


@dataclass
class Gallery:
    """Every run's frames, and the embedded images they point to (None: not embedded)."""

    frames: list[Frames] = field(default_factory=list)
    images: list[str | None] = field(default_factory=list)


def gallery(
    git: GitRepo, store: ObjectStore | None, commits: Sequence[str], budget: int = IMAGE_BUDGET
) -> Gallery:
    """The frames of each commit in ``commits`` (in order) and the images they show."""
    found = Gallery()
    index: dict[Oid, int] = {}
    for commit in commits:
        frames: Frames = {}
        try:
            entries = images_of(git, commit) if commit else []
        except FormatError:
            entries = []  # a broken list shows no images; `gitexp ui` names the problem
        for entry in entries:
            if entry.oid not in index:
                index[entry.oid] = len(found.images)
                uri, budget = _embed(store, entry.oid, entry.type, entry.size, budget)
                found.images.append(uri)
            frames.setdefault(entry.key, []).append((entry.step, index[entry.oid]))
        found.frames.append(frames)
    return found


def _embed(
    store: ObjectStore | None, oid: Oid, kind: str, size: int, budget: int
) -> tuple[str | None, int]:
    if store is None or size > min(IMAGE_LIMIT, budget):
        return None, budget
    try:
        data = store.read_bytes(oid)
    except (NotFoundError, IntegrityError):
        return None, budget
    return f"data:{kind};base64,{base64.b64encode(data).decode()}", budget - len(data)
