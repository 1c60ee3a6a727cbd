"""Self-contained HTML: the Plotly script and the data embedded, nothing to fetch.

The pages are plain templates with ``/*@NAME@*/`` markers; data goes in as JSON inside
``<script type="application/json">``, escaped so no value can close the script.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from importlib import resources

import orjson

from gitexp.errors import GitexpError

PLOTS_EXTRA = "pip install 'gitexp[plots]'"


class MissingExtraError(GitexpError):
    """An optional library that this picture needs is not installed."""

    kind = "missing_dependency"


def plotly_js() -> str:
    """plotly.js with the traces the pages draw, built by ``scripts/build-plotly``.

    It ships inside gitexp (a third of the full plotly.js, so pages open sooner), so
    interactive pages need no extra install.
    """
    return asset("plotly.min.js")


SCRIPT_NEEDS = {"report.js": ("parcoords.js",)}
"""Scripts that go in front of another wherever it is served or inlined: report.js draws
its parallel coordinates with parcoords.js, and both pages get the two in one piece."""


def asset(name: str) -> str:
    """A file shipped in ``gitexp/report/assets``, with the scripts it needs in front."""
    folder = resources.files("gitexp.report") / "assets"
    parts = [*SCRIPT_NEEDS.get(name, ()), name]
    return "\n".join((folder / part).read_text(encoding="utf-8") for part in parts)


def json_script(value: object) -> str:
    """``value`` as JSON that is safe inside a ``<script>`` element."""
    text = orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY).decode()
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def fill(template: str, parts: Mapping[str, str]) -> str:
    """Replace each ``/*@NAME@*/`` marker once; ``parts`` lists them in template order."""
    out = template
    pieces = []
    for name, text in parts.items():
        marker = f"/*@{name}@*/"
        before, found, out = out.partition(marker)
        if not found:
            raise ValueError(f"template has no marker {marker}")
        pieces.append(before)
        pieces.append(text)
    pieces.append(out)
    return "".join(pieces)


def escape(text: str) -> str:
    """Text for an HTML element or attribute."""
    return html.escape(text, quote=True)
