"""Reading an experiment's images: its media list, and each image's bytes from the cache.

What the report and the local UI call: `images_of` lists what a commit logged (in the
order it was logged), `image_data` reads one image's bytes, verified against its id.
"""

from __future__ import annotations

from gitexp.cache.objects import ObjectStore
from gitexp.core.hashing import Oid, parse_oid
from gitexp.core.media import MEDIA_FILE, MediaEntry, parse_media
from gitexp.errors import NotFoundError
from gitexp.git.repo import GitRepo


def images_of(git: GitRepo, commit: str) -> list[MediaEntry]:
    """The images experiment commit ``commit`` lists; `FormatError` for a broken list."""
    data = git.read_blob(git.lookup_commit(commit).tree, MEDIA_FILE)
    return parse_media(data, f"{MEDIA_FILE} of {commit[:12]}") if data is not None else []


def image_data(store: ObjectStore, oid: Oid | str) -> bytes:
    """The bytes of the image ``oid``, verified; `NotFoundError` says how to fetch them."""
    wanted = parse_oid(oid) if isinstance(oid, str) else oid
    try:
        return store.read_bytes(wanted)
    except NotFoundError as exc:
        raise NotFoundError(
            f"image {wanted} is not in the cache",
            hint="fetch the experiment's data with `gitexp pull origin NAME`",
        ) from exc
