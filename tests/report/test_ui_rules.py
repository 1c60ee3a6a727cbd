"""``gitexp ui``'s rules without a browser: who may read and write, and its refusals."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from gitexp.report.ui.guard import Guard, is_loopback
from gitexp.report.ui.state import live_payload, with_notes

TOKEN = "s3cret-token"
LOCAL = Guard(TOKEN, loopback=True, port=8765)
PUBLIC = Guard(TOKEN, loopback=False, port=8765)
HOST = {"host": "127.0.0.1:8765"}


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org"])  # noqa: S104
def test_other_addresses_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


def test_on_loopback_anyone_here_reads_and_only_the_page_writes() -> None:
    assert LOCAL.check("GET", HOST, None) is None
    assert LOCAL.check("GET", {"host": "localhost:8765"}, None) is None
    page = {**HOST, "origin": "http://127.0.0.1:8765"}
    assert LOCAL.check("POST", page, None) is None
    refused = LOCAL.check("POST", HOST, None)
    assert refused is not None and refused.status == 403
    assert LOCAL.check("POST", HOST, TOKEN) is None


def test_another_origin_never_writes_even_with_the_token() -> None:
    evil = {**HOST, "origin": "http://evil.example", "authorization": f"Bearer {TOKEN}"}
    refused = LOCAL.check("POST", evil, TOKEN)
    assert refused is not None and refused.status == 403
    assert "another origin" in refused.message
    refused = PUBLIC.check("POST", {**evil, "cookie": f"gitexp-token={TOKEN}"}, None)
    assert refused is not None and refused.status == 403


def test_a_foreign_host_name_is_refused_on_loopback() -> None:
    refused = LOCAL.check("GET", {"host": "rebound.example:8765"}, None)
    assert refused is not None and refused.status == 403
    assert LOCAL.check("GET", {"host": "127.0.0.1:9999"}, None) is not None


def test_beyond_loopback_every_request_needs_the_token() -> None:
    here = {"host": "10.0.0.5:8765"}
    refused = PUBLIC.check("GET", here, None)
    assert refused is not None and refused.status == 401
    assert PUBLIC.check("GET", here, "wrong") is not None
    assert PUBLIC.check("GET", here, TOKEN) is None
    assert PUBLIC.check("GET", {**here, "authorization": f"Bearer {TOKEN}"}, None) is None
    assert PUBLIC.check("GET", {**here, "cookie": f"a=1; gitexp-token={TOKEN}"}, None) is None
    page = {**here, "origin": "http://10.0.0.5:8765"}
    assert PUBLIC.check("POST", page, None) is not None  # same origin, but no token
    assert PUBLIC.check("POST", {**page, "cookie": f"gitexp-token={TOKEN}"}, None) is None


def test_running_rows_join_the_recorded_columns_after_them() -> None:
    recorded = {"params": ["lr"], "metrics": ["acc"], "keys": ["loss"], "best": [[0]], "rows": []}
    running = {
        "params": ["seed", "lr"],
        "metrics": ["loss", "acc"],
        "keys": ["val/loss", "loss"],
        "rows": [
            {
                "n": "live",
                "s": "unknown",
                "p": [3, 0.1],
                "m": [0.5, 0.7],
                "x": {"0": [[0], [1]], "1": [[0, 1], [2, 3]]},
            }
        ],
    }
    live = live_payload(recorded, running, {})
    assert live["params"] == ["lr", "seed"]
    assert live["metrics"] == ["acc", "loss"]
    assert live["keys"] == ["loss", "val/loss"]
    assert live["best"] == [[0], []]
    assert [g and g["dir"] for g in live["goals"]] == ["max", "min"]
    (row,) = live["rows"]
    assert row["s"] == "running"
    assert row["p"] == [0.1, 3]
    assert row["m"] == [0.7, 0.5]
    assert row["x"] == {"1": [[0], [1]], "0": [[0, 1], [2, 3]]}


def test_a_crashed_run_already_recorded_is_sent_once_and_a_rerun_beside_its_record() -> None:
    recorded = {
        "params": [],
        "metrics": ["acc"],
        "keys": [],
        "best": [[]],
        "rows": [{"n": "doomed", "s": "crashed"}, {"n": "again", "s": "success"}],
    }
    journal_row = {"p": [], "m": [0.5], "x": {}}
    running = {
        "params": [],
        "metrics": ["acc"],
        "keys": [],
        "rows": [
            {**journal_row, "n": "doomed", "s": "crashed"},  # recorded between the two reads
            {**journal_row, "n": "again", "s": "unknown"},  # run again under its name
            {**journal_row, "n": "lost", "s": "crashed"},  # nobody recorded it yet
        ],
    }
    live = live_payload(recorded, running, {})
    assert [(r["n"], r["s"]) for r in live["rows"]] == [("again", "running"), ("lost", "crashed")]


def test_a_run_recorded_while_its_journal_is_still_there_is_sent_once() -> None:
    """The refs were read after the run recorded itself, its journal before it went."""
    started = "2026-12-08T02:22:31.438Z"
    recorded = {
        "params": [],
        "metrics": ["acc"],
        "keys": [],
        "best": [[0]],
        "rows": [{"n": "done", "s": "success", "t": started}],
    }
    journal_row = {"p": [], "m": [0.5], "x": {}, "s": "unknown"}
    running = {
        "params": [],
        "metrics": ["acc"],
        "keys": [],
        "rows": [
            {**journal_row, "n": "done", "t": started},  # the same run: its record stands
            {**journal_row, "n": "other", "t": started},
        ],
    }
    live = live_payload(recorded, running, {})
    assert [r["n"] for r in live["rows"]] == ["other"]
    later = {**running, "rows": [{**journal_row, "n": "done", "t": "2026-12-08T03:00:00.000Z"}]}
    assert [r["n"] for r in live_payload(recorded, later, {})["rows"]] == ["done"]  # run again


def _gitexp(repo, *args: str, prelude: str = "") -> subprocess.CompletedProcess[str]:
    code = f"import sys\n{prelude}\nfrom gitexp.cli.main import main\nsys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=repo, capture_output=True, text=True, timeout=60
    )


def test_without_the_ui_extra_the_message_names_it(repo) -> None:
    done = _gitexp(repo, "ui", prelude="sys.modules['uvicorn'] = None")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0].startswith("error: gitexp ui needs uvicorn")
    assert "pip install 'gitexp[ui]'" in done.stderr


def test_a_port_in_use_is_refused_with_what_to_do(repo) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _gitexp(repo, "ui", "--port", str(port))
    assert done.returncode == 1
    first = done.stderr.splitlines()[0]
    assert first.startswith(f"error: gitexp ui cannot listen on 127.0.0.1:{port}")
    assert "--port" in done.stderr


def test_a_port_out_of_range_is_a_usage_error(repo) -> None:
    done = _gitexp(repo, "ui", "--port", "70000")
    assert done.returncode == 2
    assert "--port 70000 is not a port" in done.stderr


def test_a_tag_edit_changes_only_the_rows_it_is_on() -> None:
    rows = [
        {"n": "a", "c": "c1", "tg": [], "nt": ""},
        {"n": "b", "c": "c2", "tg": ["old"], "nt": "kept?"},
        {"n": "c", "c": "c3", "tg": [], "nt": ""},
    ]
    recorded = {"params": [], "rows": rows}
    after = with_notes(recorded, {"c1": (("best",), "looks right")})
    assert [(r["tg"], r["nt"]) for r in after["rows"]] == [
        (["best"], "looks right"),
        ([], ""),
        ([], ""),
    ]
    assert after["rows"][2] is rows[2]
    assert rows[0]["tg"] == [], "the snapshot a page may still read is not edited"
