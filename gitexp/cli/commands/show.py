"""``gitexp show``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from gitexp.cli import render
from gitexp.cli.console import out_bytes, say

if TYPE_CHECKING:
    from gitexp.api import ExperimentRow, Repo


def configure(parser: argparse.ArgumentParser) -> None:
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print one JSON object")
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    fmt.add_argument("--md", action="store_true", help="print a Markdown table")
    parser.add_argument(
        "--sort-by", metavar="KEY", help="sort by a params or metrics key (ascending)"
    )
    parser.add_argument("--desc", action="store_true", help="sort descending")
    parser.add_argument(
        "--filter",
        metavar="EXPR",
        action="append",
        default=[],
        help="keep experiments where KEY OP VALUE holds (OP: == != < <= > >=); repeat to AND",
    )
    parser.add_argument(
        "--branch",
        metavar="B",
        action="append",
        default=[],
        help="keep experiments whose baseline is reachable from B (branch, tag or commit)",
    )
    parser.add_argument("--limit", metavar="N", type=int, help="show at most N experiments")
    parser.add_argument(
        "--only-changed",
        action="store_true",
        help="drop columns whose value is the same everywhere",
    )
    parser.add_argument(
        "--series",
        metavar="KEY",
        help="add a sparkline of the step series KEY (its key, column or file) to each row",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from gitexp.api import Repo

    repo = Repo(".")
    if args.json and not args.series:
        out_bytes(
            repo.show_json(
                filters=args.filter,
                sort_by=args.sort_by,
                descending=args.desc,
                branches=args.branch,
                limit=args.limit,
                notify=say,
                background_index=True,
            )
        )
        return 0
    rows = _select(repo, args, args.limit)
    lines = _series(repo, rows, args.series) if args.series else {}
    if args.json:
        import orjson

        docs = [row.to_json() for row in rows]
        for doc, row in zip(docs, rows, strict=True):
            doc["series"] = lines.get(row.name, {})
        out_bytes(orjson.dumps({"experiments": docs}, option=orjson.OPT_INDENT_2))
        return 0
    # Which columns vary is a property of every matching experiment, not only of those
    # the limit keeps: with --limit 1 nothing would vary and every column would go.
    varying = _select(repo, args, None) if args.only_changed and args.limit else rows
    headers, cells = columns(rows, only_changed=args.only_changed, among=varying)
    if args.series:
        _add_sparklines(headers, cells, rows, lines, args.series)
    if args.csv:
        sys.stdout.write(render.csv_text(headers, cells))
    elif args.md:
        sys.stdout.write(render.markdown_text(headers, cells))
    elif not rows:
        say(_nothing_shown(repo, args))
    else:
        render.table(headers, cells)
    return 0


def _select(repo: Repo, args: argparse.Namespace, limit: int | None) -> tuple[ExperimentRow, ...]:
    return repo.show(
        filters=args.filter,
        sort_by=args.sort_by,
        descending=args.desc,
        branches=args.branch,
        limit=limit,
        notify=say,
    ).experiments


def _nothing_shown(repo: Repo, args: argparse.Namespace) -> str:
    """Why the table is empty: no experiment yet, or the filters left none (exit 0 both).

    An empty answer to a well-formed question is an answer, not a failure, as with
    ``git log --grep``; ``--json`` prints an empty list the same way.
    """
    total = len(repo.experiments())
    if total == 0:
        return "no experiments to show; run one with `gitexp run -- COMMAND`"
    if not (args.filter or args.branch):
        return f"no experiments shown (--limit {args.limit}); there are {total}"
    asked = [f"--filter '{f}'" for f in args.filter] + [f"--branch {b}" for b in args.branch]
    return f"no experiment matches {' '.join(asked)} (of {total} experiments)"


def _series(
    repo: Repo, rows: Sequence[ExperimentRow], key: str
) -> dict[str, dict[str, dict[str, Sequence[float]]]]:
    """The series ``key`` picks, per experiment that has it (none shown: nothing to read)."""
    recorded = [row.name for row in rows if row.commit]  # not running ones
    if not recorded:
        return {}
    return repo.series(recorded, [key])


def _add_sparklines(
    headers: list[str],
    cells: list[list[object]],
    rows: Sequence[ExperimentRow],
    lines: dict[str, dict[str, dict[str, Sequence[float]]]],
    key: str,
) -> None:
    """One column per series key picked, holding a sparkline and the last value."""
    from gitexp.cli.sparkline import sparkline

    keys = list(dict.fromkeys(k for found in lines.values() for k in found))
    for series_key in keys:
        headers.append(f"{series_key if len(keys) > 1 else key} (series)")
        for line, row in zip(cells, rows, strict=True):
            found = lines.get(row.name, {}).get(series_key)
            if found is None or not found["values"]:
                line.append(None)
                continue
            last = found["values"][-1]
            line.append(f"{sparkline(found['values'])} {format(last, '.4g')}")


def columns(
    rows: Sequence[ExperimentRow],
    *,
    only_changed: bool = False,
    among: Sequence[ExperimentRow] | None = None,
) -> tuple[list[str], list[list[object]]]:
    """Headers and cells: name, created, status, tags, then every params and metrics key.

    ``only_changed`` keeps the keys whose value differs ``among`` those experiments
    (default: ``rows``); when none differs it keeps them all, since a table of names
    alone would hide what the user asked to see.
    """
    flat = [
        {"params": _flat_files(row.params), "metrics": _flat_files(row.metrics)} for row in rows
    ]
    keep = _varying(among if among is not None else rows) if only_changed else None
    keyed: list[tuple[str, str, str]] = []
    for section in ("params", "metrics"):
        files: dict[str, dict[str, None]] = {}
        for item in flat:
            for file, values in item[section].items():
                files.setdefault(file, {}).update(dict.fromkeys(values))
        all_keys = [k for keys in files.values() for k in keys]
        for file, keys in files.items():
            for key in keys:
                label = key if all_keys.count(key) == 1 and len(files) == 1 else f"{file}:{key}"
                keyed.append((section, file, key if label == key else label))
    headers = ["Experiment", "Created", "Status"]
    cells: list[list[object]] = [[row.name, _short_time(row.created), row.status] for row in rows]
    _add_tags(headers, cells, rows)
    for section, file, label in keyed:
        key = label.split(":", 1)[1] if label.startswith(file + ":") else label
        column = [item[section].get(file, {}).get(key) for item in flat]
        if keep and (section, file, key) not in keep:
            continue
        headers.append(label)
        for line, value in zip(cells, column, strict=True):
            line.append(value)
    return headers, cells


def _add_tags(headers: list[str], cells: list[list[object]], rows: Sequence[ExperimentRow]) -> None:
    """A Tags column, once any experiment shown has a tag (`gitexp tag`)."""
    if not any(row.tags for row in rows):
        return
    headers.append("Tags")
    for line, row in zip(cells, rows, strict=True):
        line.append(" ".join(row.tags) if row.tags else None)


def _varying(rows: Sequence[ExperimentRow]) -> set[tuple[str, str, str]]:
    """The (section, file, key) whose values are not all the same across ``rows``.

    A key some experiments lack varies too: its column shows who has it.
    """
    seen: dict[tuple[str, str, str], set[str]] = {}
    count: dict[tuple[str, str, str], int] = {}
    for row in rows:
        for section, files in (("params", row.params), ("metrics", row.metrics)):
            for file, values in _flat_files(files).items():
                for key, value in values.items():
                    seen.setdefault((section, file, key), set()).add(repr(value))
                    count[(section, file, key)] = count.get((section, file, key), 0) + 1
    return {where for where, values in seen.items() if len(values) > 1 or count[where] < len(rows)}


def _flat_files(files: Mapping[str, object]) -> dict[str, dict[str, object]]:
    from gitexp.core.formats import flatten

    return {f: flatten(v) for f, v in files.items() if isinstance(v, dict)}


def _short_time(value: object) -> str:
    text = str(value or "")
    return text.replace("T", " ").rstrip("Z")[:16] if text else "-"
