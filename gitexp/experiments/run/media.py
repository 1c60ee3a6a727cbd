"""Images a run logs (`gitexp.log_image`) and the images it writes under ``plots:``.

The bytes go into the content-addressed cache at once, so an image repeated across
steps or runs is stored once; the run folder collects one ``media.jsonl`` line per
call, and recording puts that list into the experiment commit
(`gitexp.core.media.MEDIA_FILE`). PNG and JPEG files are stored as they are; PIL
images and arrays are encoded as PNG (Pillow, the ``images`` extra, imported only
then), and the same pixels always give the same bytes, so they deduplicate too.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitexp.core.media import IMAGE_SUFFIXES, MediaEntry, dump_media, parse_media, sniff_type
from gitexp.core.runinfo import RUN_DIR
from gitexp.errors import GitexpError, UsageError
from gitexp.experiments.run.freshness import ResultsWatch, files_under

if TYPE_CHECKING:
    from gitexp.cache.objects import ObjectStore
    from gitexp.core.config import ProjectConfig

LIST = "media.jsonl"
"""In the run folder: one line per image logged so far."""

_STORES: dict[Path, ObjectStore] = {}


def image_bytes(image: object) -> tuple[bytes, str]:
    """The bytes to store for ``image`` and their MIME type.

    A path must name a PNG, JPEG, GIF or WebP file (kept byte for byte); a PIL image
    or an array (``HxW``, ``HxWx3`` or ``HxWx4``; floats in 0..1 or integers in
    0..255) is encoded as PNG. Raises `UsageError` for anything else, `GitexpError`
    naming the extra when Pillow is needed and missing.
    """
    if isinstance(image, (str, os.PathLike)):
        return _file_bytes(Path(image))
    if hasattr(image, "save") and hasattr(image, "mode"):  # a PIL image
        return _png(image), "image/png"
    if hasattr(image, "__array_interface__") or hasattr(image, "__array__"):
        return _png(_from_array(image)), "image/png"
    raise UsageError(
        f"cannot log a {type(image).__name__} as an image",
        hint="pass a file path (PNG or JPEG), a PIL image or a numpy array",
    )


def _file_bytes(path: Path) -> tuple[bytes, str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read image '{path}': {exc.strerror}", hint="write the file before logging it"
        ) from exc
    kind = sniff_type(data)
    if kind is None:
        raise UsageError(
            f"'{path}' is not a PNG, JPEG, GIF or WebP image",
            hint="save it in one of those formats, or pass the array or PIL image",
        )
    return data, kind


def _png(image: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _from_array(array: Any) -> Any:
    """A PIL image of ``array``'s pixels; floats are read as 0..1 and scaled to 0..255."""
    try:
        import numpy as np
        from PIL import Image
    except ImportError as exc:
        raise GitexpError(  # raised in the user's script: the message says it all
            "logging an array as an image needs Pillow and numpy: pip install 'gitexp[images]'",
            hint="or pass the path of a PNG or JPEG file instead",
        ) from exc
    pixels = np.asarray(array)
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (1, 3, 4)):
        raise UsageError(
            f"an image array must be HxW, HxWx3 or HxWx4, not shape {pixels.shape}",
            hint="for a channels-first array pass array.transpose(1, 2, 0)",
        )
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    if pixels.dtype.kind == "f":
        pixels = np.clip(pixels, 0.0, 1.0) * 255.0 + 0.5
    elif pixels.dtype.kind == "b":
        pixels = pixels * 255
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def store_for(root: Path) -> ObjectStore:
    """The cache of the repository at ``root``, opened once per process."""
    store = _STORES.get(root)
    if store is None:
        from gitexp.project import Project

        store = _STORES[root] = Project.open(root).store()
    return store


def log(run_dir: Path, root: Path, key: str, image: object, step: int | float | None) -> None:
    """Store ``image`` in ``root``'s cache and list it in ``run_dir``'s media list."""
    if not isinstance(key, str) or not key.strip():
        raise UsageError("an image key must be a non-empty string")
    if step is not None and (not isinstance(step, (int, float)) or isinstance(step, bool)):
        raise UsageError(f"image '{key}': step must be a number, not {step!r}")
    data, kind = image_bytes(image)
    oid = store_for(root).put_bytes(data)
    with open(run_dir / LIST, "ab") as handle:
        handle.write(MediaEntry(key, step, oid, len(data), kind).line())


def media_list(
    run_dir: Path, root: Path, config: ProjectConfig, watch: ResultsWatch, store: ObjectStore
) -> dict[str, bytes]:
    """``.gitexp/media.jsonl`` for the commit: logged images, then images under ``plots:``.

    Only image files the run wrote are listed (see `ResultsWatch`); their bytes are
    stored in the cache. Nothing logged and no image written: no file.
    """
    listed = run_dir / LIST
    entries = parse_media(listed.read_bytes(), LIST) if listed.is_file() else []
    for declared in config.plots:
        for rel in files_under(root, declared.rstrip("/")):
            kind = IMAGE_SUFFIXES.get(os.path.splitext(rel)[1].lower())
            if kind is None or not watch.written(rel):
                continue
            oid, size = store.put_file(root / rel)
            entries.append(MediaEntry(rel, None, oid, size, kind))
    return {f"{RUN_DIR}/{LIST}": dump_media(entries)} if entries else {}
