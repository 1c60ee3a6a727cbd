"""The summary index file: what is saved is read back, damage costs a rebuild, never a wrong row."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson

from gitexp.experiments.query.index import SummaryIndex, append, entry_of


def _summary(n: int) -> dict[str, object]:
    return {
        "commit": f"{n:040x}",
        "baseline": "b" * 40,
        "branch": "main",
        "created": f"2026-01-02T03:04:{n % 60:02d}Z",
        "status": "success",
        "params": {"params.yaml": {"lr": n / 7, "name": 'é\n"quoted"'}},
        "metrics": {"metrics.json": {"acc": 0.5}},
        "data": {"data/x.csv": "blake3:" + "ab" * 32} if n % 2 else {},
    }


def _saved(path: Path, numbers: range) -> dict[str, dict[str, object]]:
    index = SummaryIndex(path)
    for n in numbers:
        index.add(str(_summary(n)["commit"]), entry_of(_summary(n)))
    index.save()
    return {str(_summary(n)["commit"]): _summary(n) for n in numbers}


def test_entries_read_back_as_saved(tmp_path: Path) -> None:
    path = tmp_path / "index" / "experiments.idx"
    summaries = _saved(path, range(20))
    append(path, [_summary(20)])  # as a run being recorded does
    summaries[str(_summary(20)["commit"])] = _summary(20)
    entries = SummaryIndex(path).entries
    assert set(entries) == set(summaries)
    for commit, summary in summaries.items():
        entry = entries[commit]
        assert orjson.loads(entry.compact) == summary
        assert entry.created == summary["created"]
        indented = orjson.dumps(summary, option=orjson.OPT_INDENT_2)
        assert entry.shown == b"    " + indented[2:-2].replace(b"\n", b"\n    ")


def test_dead_entries_are_dropped_once_they_are_many(tmp_path: Path) -> None:
    path = tmp_path / "experiments.idx"
    summaries = _saved(path, range(40))
    live = list(summaries)[:20]
    index = SummaryIndex(path)
    assert index.pending(live)
    index.save(live)
    assert set(SummaryIndex(path).entries) == set(live)
    assert not SummaryIndex(path).pending(live)


def test_damage_is_read_up_to_it_and_then_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "experiments.idx"
    summaries = _saved(path, range(10))
    whole = path.read_bytes()
    path.write_bytes(whole[:-1])  # no final newline: the last record is not whole
    index = SummaryIndex(path)
    assert len(index.entries) == 9 and index.pending()
    index.save()
    assert set(SummaryIndex(path).entries) == set(list(summaries)[:9])
    assert not SummaryIndex(path).pending()
    third = list(summaries)[2].encode()
    at = whole.index(b"\n" + third) + 42  # the third record's first size
    end = whole.index(b" ", at)
    wrong_size = whole[:at] + str(int(whole[at:end]) + 1).encode() + whole[end:]
    for damaged, kept in ((b"", 0), (b"not an index\n" + whole, 0), (wrong_size, 2)):
        path.write_bytes(damaged)
        entries = SummaryIndex(path).entries
        assert list(entries) == list(summaries)[:kept]
        assert all(orjson.loads(e.compact) == summaries[c] for c, e in entries.items())


def test_processes_saving_at_once_leave_a_whole_index(tmp_path: Path) -> None:
    path = tmp_path / "experiments.idx"
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from gitexp.experiments.query.index import SummaryIndex, entry_of\n"
        "first = int(sys.argv[2])\n"
        "for round in range(15):\n"
        "    index = SummaryIndex(Path(sys.argv[1]))\n"
        "    index.entries.clear(); index._whole = False\n"  # every save a whole rewrite
        "    for n in range(first, first + 50):\n"
        "        c = f'{n:040x}'\n"
        "        index.add(c, entry_of({'commit': c, 'created': str(round), 'n': n}))\n"
        "    index.save()\n"
    )
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(path), str(first)])
        for first in (0, 1000, 2000)
    ]
    assert [w.wait() for w in writers] == [0, 0, 0]
    entries = SummaryIndex(path).entries
    assert len(entries) == 50
    assert all(orjson.loads(e.compact)["commit"] == c for c, e in entries.items())
    assert not list(tmp_path.glob(".*tmp"))


def test_a_process_with_threads_keeps_its_index_in_the_foreground(tmp_path: Path) -> None:
    import threading

    from gitexp.experiments.query.index import in_background

    done = tmp_path / "done"
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:  # a fork now could copy a lock another thread holds: it is not done
        assert not in_background(lambda: done.write_text("written"))
    finally:
        release.set()
        other.join()
    assert not done.exists()
