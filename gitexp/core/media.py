"""The media list of an experiment: ``.gitexp/media.jsonl``, one logged image a line.

Each line is ``{"key", "step", "hash", "size", "type"}``: the key the run logged it
under (``samples/confusion``), its step (or null), the BLAKE3 id of its bytes in the
content-addressed cache, their size and MIME type. The bytes themselves are not in
git; an image logged at many steps, or by many runs, is stored once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from gitexp.core.hashing import Oid, parse_oid
from gitexp.core.runinfo import RUN_DIR
from gitexp.errors import FormatError

MEDIA_FILE = f"{RUN_DIR}/media.jsonl"
"""Where an experiment commit lists its images."""

IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
"""Files under ``plots:`` that are images, and their MIME types."""

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


@dataclass(frozen=True, slots=True)
class MediaEntry:
    """One logged image: its key, step, content id, size in bytes and MIME type."""

    key: str
    step: int | float | None
    oid: Oid
    size: int
    type: str

    def to_json(self) -> dict[str, object]:
        """The line's object, as ``media.jsonl`` holds it."""
        return {
            "key": self.key,
            "step": self.step,
            "hash": str(self.oid),
            "size": self.size,
            "type": self.type,
        }

    def line(self) -> bytes:
        """The line's bytes, newline included."""
        return orjson.dumps(self.to_json()) + b"\n"


def sniff_type(data: bytes) -> str | None:
    """The MIME type of image bytes from their first bytes (PNG, JPEG, GIF, WebP), or None."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def dump_media(entries: Iterable[MediaEntry]) -> bytes:
    """The bytes of a ``media.jsonl`` listing ``entries`` in order."""
    return b"".join(entry.line() for entry in entries)


def parse_media(data: bytes, where: str = MEDIA_FILE) -> list[MediaEntry]:
    """Every entry of a ``media.jsonl``; `FormatError` naming the line that is wrong."""
    entries: list[MediaEntry] = []
    for number, raw in enumerate(data.splitlines(), 1):
        if not raw.strip():
            continue
        here = f"{where} line {number}"
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise FormatError(f"{here} is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise FormatError(f"{here} is not a JSON object")
        entries.append(_entry(doc, here))
    return entries


def _entry(doc: dict[str, object], here: str) -> MediaEntry:
    key, step, size, kind = doc.get("key"), doc.get("step"), doc.get("size"), doc.get("type")
    if not isinstance(key, str) or not key:
        raise FormatError(f"{here}: 'key' is not a non-empty string")
    if step is not None and (not isinstance(step, (int, float)) or isinstance(step, bool)):
        raise FormatError(f"{here}: 'step' is not a number or null")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise FormatError(f"{here}: 'size' is not a byte count")
    if not isinstance(kind, str) or not kind.startswith("image/"):
        raise FormatError(f"{here}: 'type' is not an image MIME type")
    return MediaEntry(key, step, parse_oid(doc.get("hash"), f"{here}: hash"), size, kind)
