"""The ``show --json`` document, put together from the summary index's JSON as it is.

At ten thousand experiments, parsing the index, building a row object per experiment
and serialising them again cost more than everything else ``show --json`` does. The
index keeps each commit's fields as ``show --json`` prints them (`index.Entry.shown`),
so a row is its name, its ref and those bytes, and the document is the rows joined.
The bytes are those of ``orjson.dumps(ShowResult.to_json(), option=OPT_INDENT_2)``,
to the byte (tests hold them equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import orjson

from gitexp.experiments.query.index import shown

if TYPE_CHECKING:
    from gitexp.core.tagnote import TagNote

_INDENT = orjson.OPT_INDENT_2
_EMPTY = orjson.dumps({"experiments": []}, option=_INDENT)


def document(rows: Sequence[bytes]) -> bytes:
    """``{"experiments": [...]}`` of rows made by `indexed_row` or `doc_row`."""
    if not rows:
        return _EMPTY
    parts = list(rows)  # the ends joined to the rows beside them: one copy of the whole
    parts[0] = b'{\n  "experiments": [\n' + parts[0]
    parts[-1] += b"\n  ]\n}"
    return b",\n".join(parts)


def indexed_document(rows: Iterable[tuple[str, bytes]], prefix: str) -> bytes:
    """`document` of each ``(name, fields)`` whose ref is ``prefix + name``, none with a note.

    The same bytes as `document` of `indexed_row` of each, put together in one copy:
    at ten thousand experiments the rows made one by one and then joined cost twice
    the memory the document needs, touched for the first time. ``prefix`` is one JSON
    writes as it is (no quote, backslash or control character), so the ref is written
    as the name is, after it.
    """
    dumps = orjson.dumps
    ref = b',\n      "ref": "' + prefix.encode()
    parts: list[bytes] = [b'{\n  "experiments": [\n']
    add = parts.extend
    for name, fields in rows:
        quoted = dumps(name)
        add((_NAME, quoted, ref, quoted[1:], b",\n", fields, _BETWEEN))
    if len(parts) == 1:
        return _EMPTY
    parts[-1] = _LAST
    return b"".join(parts)


_NAME = b'    {\n      "name": '
_BETWEEN = b"\n    },\n"
_LAST = b"\n    }\n  ]\n}"


def indexed_row(name: str, ref: str, fields: bytes, note: TagNote | None) -> bytes:
    """The object of an experiment whose fields are ``fields`` (`index.Entry.shown`).

    ``note``, when there is one, adds the tags and the note after the fields, as
    `ExperimentRow.to_json` does.
    """
    head = b'    {\n      "name": %s,\n      "ref": %s,\n' % (orjson.dumps(name), orjson.dumps(ref))
    if note is None:
        return head + fields + b"\n    }"
    noted = shown(orjson.dumps({"tags": list(note.tags), "note": note.note}, option=_INDENT))
    return head + fields + b",\n" + noted + b"\n    }"


def doc_row(doc: Mapping[str, object]) -> bytes:
    """The object of an experiment the index does not hold (a running or queued run)."""
    from gitexp.experiments.query.results import ExperimentRow

    text = orjson.dumps(ExperimentRow.of(doc).to_json(), option=_INDENT)
    return b"    " + text.replace(b"\n", b"\n    ")
