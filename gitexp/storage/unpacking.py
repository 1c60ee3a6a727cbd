"""Pulling objects out of packs on a layout-2 remote: ranged, coalesced reads, each object verified.

The objects wanted from one pack are read in as few ranged requests as their
offsets allow: neighbours closer than `GAP` bytes share a request, up to `SPAN`
bytes per request. Each object cut out of a range is hashed before it enters the
cache; one whose bytes do not match is refused and its pack named as damaged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from gitexp.core.hashing import Oid
from gitexp.errors import NotFoundError
from gitexp.storage.backend import Backend, Failure, bounded
from gitexp.storage.packs import Location
from gitexp.storage.transfer import LocalObjects, TransferResult, closing

GAP = 256 << 10
"""Objects of one pack less than this far apart are read in one request (the gap too)."""
SPAN = 16 << 20
"""At most this many bytes are read in one request."""


@dataclass(frozen=True, slots=True)
class Span:
    """One ranged read: bytes ``[start, end)`` of ``pack``, and the objects in them."""

    pack: str
    start: int
    end: int
    objects: tuple[tuple[Oid, Location], ...]


def spans(wanted: Iterable[tuple[Oid, Location]]) -> list[Span]:
    """The ranged reads that fetch ``wanted``, neighbours coalesced (see the module docstring).

    Linear in the objects once they are sorted: a chunked file of a GiB has some
    16,000 chunks, and each joins the span before it or starts its own.
    """
    by_pack: dict[str, list[tuple[Oid, Location]]] = {}
    for oid, where in wanted:
        by_pack.setdefault(where.pack, []).append((oid, where))
    found: list[Span] = []
    for pack, items in sorted(by_pack.items()):
        items.sort(key=lambda item: item[1].offset)
        group = [items[0]]
        start, end = items[0][1].offset, items[0][1].offset + items[0][1].size
        for item in items[1:]:
            where = item[1]
            stop = where.offset + where.size
            if where.offset - end <= GAP and max(end, stop) - start <= SPAN:
                group.append(item)
                end = max(end, stop)
                continue
            found.append(Span(pack, start, end, tuple(group)))
            group, start, end = [item], where.offset, stop
        found.append(Span(pack, start, end, tuple(group)))
    return found


def download_packed(
    objects: LocalObjects,
    backend: Backend,
    wanted: Iterable[tuple[Oid, Location]],
    jobs: int,
    result: TransferResult,
    stored: Callable[[Oid, int], None],
) -> None:
    """Fetch each wanted object from its pack into the cache, verified.

    Objects whose pack is gone go to ``result.missing``; objects whose bytes do not
    match go to ``result.corrupt`` and their pack to ``result.damaged``. ``stored`` is
    called with each object and its size once it is in the cache. Raises
    `StorageError` when the remote fails.
    """
    from blake3 import blake3

    def fetch(span: Span) -> tuple[str, tuple[Span, bytes]]:
        return span.pack, (span, backend.get_range(span.pack, span.start, span.end))

    todo = spans(wanted)
    with closing(bounded(fetch, todo, jobs, key=lambda s: s.pack)) as outcomes:
        for key, outcome in outcomes:
            if isinstance(outcome, NotFoundError):
                _lost(todo, key, result)
                continue
            if isinstance(outcome, Failure):
                raise outcome
            span, data = outcome
            for oid, where in span.objects:
                blob = data[where.offset - span.start : where.offset - span.start + where.size]
                if len(blob) == where.size and blake3(blob).hexdigest() == oid.hex:
                    objects.put_verified(oid, blob)
                    stored(oid, where.size)
                    continue
                result.corrupt.append(oid)
                if span.pack not in result.damaged:
                    result.damaged.append(span.pack)


def _lost(todo: list[Span], pack: str, result: TransferResult) -> None:
    """Every object of ``pack`` is missing: the pack went away after its index was read."""
    lost = {oid for span in todo if span.pack == pack for oid, _ in span.objects}
    result.missing.extend(sorted(lost - set(result.missing)))
