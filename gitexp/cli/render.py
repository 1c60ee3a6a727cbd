"""Tables for people: rich on a terminal, plain aligned text in a pipe, CSV and Markdown."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Sequence
from typing import Literal

from gitexp.cli.console import out, stdout_is_terminal

Cell = object


def cell_text(value: Cell, *, precise: bool = False) -> str:
    """A value as a table shows it; ``precise`` keeps every digit (CSV)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not precise:
        return format(value, ".6g")
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Cell]], *, title: str | None = None
) -> None:
    """Print a table: a rich one on a terminal, plain aligned columns otherwise."""
    texts = [[cell_text(c) for c in row] for row in rows]
    if stdout_is_terminal():
        _rich_table(headers, texts, title)
        return
    widths = [len(h) for h in headers]
    for row in texts:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    if title:
        out(title)
    out("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in texts:
        out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


_COLOURS: dict[str, Literal["standard", "256", "truecolor"]] = {
    "standard": "standard",
    "256": "256",
    "truecolor": "truecolor",
}


def _rich_table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str | None) -> None:
    """A rich table that never wraps or cuts a cell; wider than the screen, it is paged.

    A folded cell reads as two values (``0.857`` over ``3``), so every column is
    ``no_wrap``: a table that fits is printed, one that does not is drawn at its full
    width into the pager, which scrolls sideways (`gitexp.cli.pager`).
    """
    from rich.console import Console
    from rich.measure import Measurement
    from rich.table import Table

    from gitexp.cli.pager import page

    grid = Table(title=title, header_style="bold", title_justify="left")
    for header in headers:
        grid.add_column(header, no_wrap=True, overflow="ignore")
    for row in rows:
        grid.add_row(*row)
    console = Console()
    unbounded = console.options.update_width(1 << 20)  # the width it needs, not the screen's
    needed = Measurement.get(console, unbounded, grid).maximum
    if needed <= console.width:
        console.print(grid)
        return
    wide = Console(
        file=io.StringIO(),
        width=needed,
        force_terminal=True,
        color_system=_COLOURS.get(console.color_system or ""),
        legacy_windows=False,
    )
    with wide.capture() as captured:
        wide.print(grid, crop=False)
    text = captured.get()
    if not page(text):
        sys.stdout.write(text)


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """The rows as CSV, values in full precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if c is None else cell_text(c, precise=True) for c in row])
    return buffer.getvalue()


def markdown_text(headers: Sequence[str], rows: Sequence[Sequence[Cell]]) -> str:
    """The rows as a GitHub-flavoured Markdown table."""

    def esc(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(esc(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---" for _ in headers) + "|")
    lines += ["| " + " | ".join(esc(cell_text(c)) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
