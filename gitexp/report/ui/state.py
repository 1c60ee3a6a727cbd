"""The page data the UI serves, kept current while runs go on.

The recorded experiments are the report's page data (`gitexp.report.page.report_data`,
made through `gitexp.report.ui.rows.RowCache`, which makes again only the rows of the
experiments that changed), rebuilt only when their stamp changes; ``version`` counts
those rebuilds. The running experiments are a small ``live`` payload on top: the same
row format, their columns appended after the recorded ones (so a page can add them
without renumbering), rebuilt whenever a journal changes; ``live_version`` counts
those. A page holds one version of the recorded rows and replaces its running rows
with each live payload.

The page itself (`page_html`) embeds the recorded rows only, in columns, and is made
once per recorded version: the first one as soon as its rows are (`refresh_recorded`),
so the first browser is answered at once; later ones when asked for, as an open page
fetches only the data of a change. Its running rows come with the event stream's
first ``live`` event, as every later change of them does.

`refresh` is called from one thread; readers on other threads get whole snapshots.
"""

from __future__ import annotations

import gzip
import math
import threading
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

import orjson

from gitexp.core.heap import kept_objects
from gitexp.core.runinfo import iso_utc, utc_now
from gitexp.report import html
from gitexp.report.best import column_goals, goal_data
from gitexp.report.data import CurveLike
from gitexp.report.page import MAX_POINTS, report_data
from gitexp.report.ui.columns import to_columns
from gitexp.report.ui.rows import RowCache
from gitexp.report.ui.source import UiSource

Data = dict[str, object]
RUNNING = "running"
GZIP_LEVEL = 1
"""For the page and its data, made again on every change: at 10,000 experiments level 1
takes a third of level 5's CPU (9 against 26 ms) for 7% more bytes (391 against 364 KB),
which a browser on this machine, or the local network, does not notice."""
KEPT = frozenset({"crashed"})
"""Statuses a journal's row keeps: a run whose process died shows as crashed."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent view: recorded page data, live payload and their versions."""

    version: int = 0
    live_version: int = 0
    recorded: Data = field(default_factory=dict)
    live: Data = field(default_factory=dict)

    def page(self) -> Data:
        """The whole page data: the recorded rows and the running ones after them."""
        data = dict(self.recorded)
        for key in ("params", "metrics", "keys", "goals", "best"):
            data[key] = self.live[key]
        rows = self.recorded["rows"]
        assert isinstance(rows, list)  # noqa: S101 - built by report_data
        data["rows"] = rows + list(self.live["rows"])  # type: ignore[call-overload]
        data["ui"] = {"version": self.version, "live": self.live_version}
        return data

    def recorded_page(self) -> Data:
        """The recorded rows alone, as the page embeds them (its running rows come live)."""
        return {**self.recorded, "ui": {"version": self.version, "live": 0}}


class PageState:
    """The latest `Snapshot` of ``source``; ``refresh`` brings it up to date."""

    def __init__(self, source: UiSource) -> None:
        self.source = source
        self.snapshot = Snapshot()
        self._recorded_stamps: tuple[Hashable, Hashable] | None = None
        self._running_stamp: Hashable = None
        self._running: Data = {"params": [], "metrics": [], "keys": [], "rows": []}
        self._lock = threading.RLock()
        self._recording = threading.Lock()
        self._watching = threading.Lock()
        self._swap = threading.Lock()
        self._made: tuple[tuple[int, int], dict[str, tuple[bytes, bytes]]] | None = None
        self._page: tuple[int, tuple[bytes, bytes]] | None = None
        self._rows = RowCache()
        self.ready = threading.Event()
        """Set once the first recorded rows are built, or their build failed."""
        self._waiting: list[Callable[[], None]] = []

    def refresh(self) -> bool:
        """Read what changed since the last call, recorded and running; whether anything did."""
        recorded = self.refresh_recorded()
        return self.refresh_running() or recorded

    def refresh_recorded(self) -> bool:
        """Bring the recorded rows up to date; whether they changed.

        The first call sets `ready` however it ends: a failed first build leaves
        an empty table (the page names the problem) rather than none.

        New, moved or removed experiments rebuild them (the rows of the experiments
        that did not change are kept, `RowCache`); a tag or note edited alone changes
        only the rows it is on, without reading the experiments. The running rows are
        refreshed on their own meanwhile (`refresh_running`), so a rebuild never holds
        up live values.
        """
        with self._recording:
            try:
                changed = self._refresh_recorded()
                if changed and self._page is None:
                    self.page_html()  # the first: made now, before a browser asks for it
                return changed
            finally:
                if not self.ready.is_set():
                    if not self.snapshot.recorded:
                        self._set_empty()
                    with self._swap:
                        self.ready.set()
                        waiting, self._waiting = self._waiting, []
                    for call in waiting:
                        call()

    def when_ready(self, call: Callable[[], None]) -> None:
        """Call ``call`` once `ready` is set: at once if it is, else from the thread setting it.

        What waits for the first page data on an event loop is woken the moment it
        is built, not at its next look.
        """
        with self._swap:
            if not self.ready.is_set():
                self._waiting.append(call)
                return
        call()

    def _set_empty(self) -> None:
        recorded = report_data(_NOTHING, title=self.source.title, generated=iso_utc(utc_now()))
        with self._swap:
            live = live_payload(recorded, self._running, self.source.goals)
            self.snapshot = Snapshot(1, self.snapshot.live_version + 1, recorded, live)

    def _refresh_recorded(self) -> bool:
        stamps = (self.source.recorded_stamp(), self.source.notes_stamp())
        if self._recorded_stamps == stamps:
            return False
        if self._recorded_stamps is None or self._recorded_stamps[0] != stamps[0]:
            overview = self.source.recorded()
            with kept_objects():  # the rows live on in the snapshot and the row cache
                recorded = self._rows.page_data(
                    overview,
                    title=self.source.title,
                    generated=iso_utc(utc_now()),
                    goals=self.source.goals,
                )
        else:
            recorded = with_notes(self.snapshot.recorded, self.source.notes())
        with self._swap:
            old = self.snapshot
            live = live_payload(recorded, self._running, self.source.goals)
            self.snapshot = Snapshot(old.version + 1, old.live_version + 1, recorded, live)
        self._recorded_stamps = stamps
        return True

    def refresh_running(self) -> bool:
        """Bring the running rows (from the runs' journals) up to date; whether they changed."""
        with self._watching:
            stamp = self.source.running_stamp()
            if stamp == self._running_stamp and self.snapshot.live:
                return False
            running = self._running_data()
            if _names(self._running) - _names(running):
                # A run ended: its record goes in first, so its row never leaves the page.
                self.refresh_recorded()
            with self._swap:
                self._running = running
                old = self.snapshot
                if not old.recorded:  # the first recorded rows take these in
                    self._running_stamp = stamp
                    return True
                live = live_payload(old.recorded, running, self.source.goals)
                self.snapshot = Snapshot(old.version, old.live_version + 1, old.recorded, live)
            self._running_stamp = stamp
            return True

    def _running_data(self) -> Data:
        return report_data(self.source.running(), title="", generated="", goals=self.source.goals)

    def commits(self, names: Sequence[str]) -> dict[str, str]:
        """The commits of the recorded experiments ``names`` (unknown ones left out)."""
        rows = self.snapshot.recorded.get("rows")
        wanted = set(names)
        found: dict[str, str] = {}
        for row in rows if isinstance(rows, list) else []:
            if row["n"] in wanted:
                found[str(row["n"])] = str(row["c"])
        return found

    def page_json(self) -> bytes:
        """The page data of the current snapshot as JSON (rows form), made once per snapshot."""
        return self.rows_json()[0]

    def rows_json(self) -> tuple[bytes, bytes]:
        """The page data in the rows form, as JSON and gzipped."""
        return self.made("rows", lambda snapshot: orjson.dumps(snapshot.page()))

    def columns_json(self) -> tuple[bytes, bytes]:
        """The page data in the columns form (`columns`), as JSON and gzipped."""
        return self.made("cols", lambda snapshot: orjson.dumps(to_columns(snapshot.page())))

    def page_html(self) -> tuple[bytes, bytes]:
        """The page with the recorded rows embedded, and gzipped: made once per version."""
        snapshot = self.snapshot
        with self._lock:
            if self._page is None or self._page[0] != snapshot.version:
                data = orjson.dumps(to_columns(snapshot.recorded_page())).decode()
                data = data.replace("</", "<\\/").replace("<!--", "<\\!--")  # in a <script>
                parts = {"TITLE": html.escape(self.source.title), "DATA": data}
                body = html.fill(html.asset("ui.html"), parts).encode()
                packed = gzip.compress(body, compresslevel=GZIP_LEVEL)
                self._page = (snapshot.version, (body, packed))
            return self._page[1]

    def made(self, name: str, make: Callable[[Snapshot], bytes]) -> tuple[bytes, bytes]:
        """``make(snapshot)`` and its gzip, made once per snapshot and kept until the next.

        A page asked for by several browsers at once, or again and again, costs one
        serialisation and one compression; a new snapshot drops all of them.
        """
        snapshot = self.snapshot
        key = (snapshot.version, snapshot.live_version)
        with self._lock:
            if self._made is None or self._made[0] != key:
                self._made = (key, {})
            found = self._made[1].get(name)
            if found is None:
                body = make(snapshot)
                found = self._made[1][name] = (body, gzip.compress(body, compresslevel=GZIP_LEVEL))
            return found


@dataclass(frozen=True, slots=True)
class _Nothing:
    experiments: tuple[()] = ()
    blobs: tuple[()] = ()
    images: tuple[()] = ()


_NOTHING = _Nothing()


def _names(data: Data) -> set[object]:
    rows = data.get("rows")
    return {row["n"] for row in rows} if isinstance(rows, list) else set()


def with_notes(recorded: Data, notes: Mapping[str, tuple[Sequence[str], str]]) -> Data:
    """``recorded`` with each row's tags and note as ``notes`` (by commit) has them.

    Rows whose tags and note did not change are the same objects as before.
    """
    rows = recorded.get("rows")
    assert isinstance(rows, list)  # noqa: S101 - built by report_data
    changed = []
    for row in rows:
        tags, text = notes.get(str(row.get("c")), ((), ""))
        if list(tags) != row.get("tg") or text != row.get("nt"):
            row = {**row, "tg": list(tags), "nt": text}
        changed.append(row)
    return {**recorded, "rows": changed}


def thin(curve: CurveLike, limit: int = MAX_POINTS) -> list[list[float | int | None]]:
    """A series as the page draws it, thinned and rounded as the report does.

    At most ``limit`` points, evenly spaced, the first and last kept; numbers rounded
    to 6 significant digits.
    """
    steps, values = list(curve.steps), list(curve.values)
    count = len(steps)
    picks = (
        sorted({round(i * (count - 1) / (limit - 1)) for i in range(limit)})
        if count > limit
        else range(count)
    )
    return [[_round(steps[i]) for i in picks], [_round(values[i]) for i in picks]]


def _round(value: float) -> float | int | None:
    if not math.isfinite(value):
        return None
    rounded = float(f"{value:.6g}")
    return int(rounded) if rounded.is_integer() and abs(rounded) < 2**53 else rounded


def live_payload(recorded: Data, running: Data, goals: object) -> Data:
    """The running rows renumbered into the recorded data's columns (extended).

    Columns the running experiments add come after the recorded ones; a running row
    has no code files (it has no commit yet) and is never the best of a column. Each
    carries ``"lv": 1`` (it comes from a journal, not a ref): running, or ``crashed``
    when its process died and no command recorded it yet. A crashed run already in
    ``recorded`` (a command recorded it between the two reads) is left out: its record
    stands for it, so a page never shows it twice. So is a run whose record is in
    ``recorded`` (its name, started at the same moment) while its journal is still
    there: it ended between the reads of the refs and of the journals.
    """
    params, p_at = _extend(_labels(recorded, "params"), _labels(running, "params"))
    metrics, m_at = _extend(_labels(recorded, "metrics"), _labels(running, "metrics"))
    keys, k_at = _extend(_labels(recorded, "keys"), _labels(running, "keys"))
    best = list(recorded["best"])  # type: ignore[call-overload]
    best += [[] for _ in range(len(metrics) - len(best))]
    declared = goals if isinstance(goals, dict) else {}
    rows = []
    started = _started(recorded, {row["n"] for row in running["rows"]})  # type: ignore[attr-defined]
    for row in running["rows"]:  # type: ignore[attr-defined]
        if row["n"] in started and (row["s"] in KEPT or _same_start(started[row["n"]], row)):
            continue
        rows.append(
            {
                **row,
                "s": row["s"] if row["s"] in KEPT else RUNNING,
                "lv": 1,
                "p": _place(row["p"], p_at, len(params)),
                "m": _place(row["m"], m_at, len(metrics)),
                "f": [],
                "x": {str(k_at[int(k)]): line for k, line in row["x"].items()},
            }
        )
    return {
        "params": params,
        "metrics": metrics,
        "keys": keys,
        "goals": [goal_data(goal) for goal in column_goals(metrics, declared)],
        "best": best,
        "rows": rows,
    }


def _started(data: Data, names: set[object]) -> dict[object, object]:
    """When each of the experiments ``names`` recorded in ``data`` started (by name)."""
    rows = data.get("rows") if names else None
    if not isinstance(rows, list):
        return {}
    return {row["n"]: row.get("t") for row in rows if row["n"] in names}


def _same_start(recorded: object, row: Mapping[str, object]) -> bool:
    return bool(recorded) and recorded == row.get("t")


def _labels(data: Data, section: str) -> list[str]:
    labels = data.get(section) or []
    assert isinstance(labels, list)  # noqa: S101 - built by report_data
    return [str(label) for label in labels]


def _extend(base: Sequence[str], extra: Sequence[str]) -> tuple[list[str], list[int]]:
    combined = list(base)
    at = {label: number for number, label in enumerate(combined)}
    mapping = []
    for label in extra:
        if label not in at:
            at[label] = len(combined)
            combined.append(label)
        mapping.append(at[label])
    return combined, mapping


def _place(values: Sequence[object], mapping: Sequence[int], width: int) -> list[object]:
    placed: list[object] = [None] * width
    for value, number in zip(values, mapping, strict=True):
        placed[number] = value
    return placed
