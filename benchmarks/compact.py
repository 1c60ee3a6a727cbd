"""The local cache before and after ``gitexp gc --compact``, and a checkout from it.

    python benchmarks/compact.py [--versions V] [--mib D] [--repeat R] [--work DIR]

V versions (default 50) of one dataset file of D MiB (default 256), each with 1% of
it edited in 5 places (fixed seeds), each added and committed. Then:

1. the cache's bytes (objects, chunk lists, chunks) before and after ``gc --compact``,
   against the unique bytes (the first version plus every edit) and one version;
2. the time of ``gc --compact`` itself;
3. the time of ``gitexp checkout`` of the first version, from a cache that holds it
   whole (the baseline) and from the compacted cache (reassembled, verified, copied),
   R rounds each, back to back; the ratio is the median of the rounds';
4. the time of a push of the first version to a new layout-2 remote (a local folder),
   from the whole file (the baseline) and from the compacted cache, R rounds each;
   and of a push of the first version to a remote that holds the second already
   (only the chunks around the edits move).

Prints a table and writes it to ``benchmarks/results/compact.md``. Nothing but gitexp
and git is needed; the work folder (``benchmarks/work/compact`` unless ``--work``) is
removed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIB = 1 << 20
EDITS = 5


def git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def gitexp(root: Path, *args: str) -> float:
    """Run ``gitexp ARGS`` as a user does; its wall time in seconds."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "gitexp", *args], cwd=root, capture_output=True, text=True
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"gitexp {' '.join(args)} failed: {done.stderr}")
    return took


def make_versions(root: Path, versions: int, size: int) -> tuple[list[str], int]:
    """Commit ``versions`` versions of ``data.bin``; their commits and the unique bytes."""
    from gitexp.api import Repo

    rng = random.Random(50)
    data = bytearray()
    while len(data) < size:  # in pieces: one call makes at most 256 MiB
        data += rng.randbytes(min(16 * MIB, size - len(data)))
    edit = max(1, size // 100 // EDITS)
    commits, unique = [], size
    for version in range(versions):
        if version:
            for _ in range(EDITS):
                at = rng.randrange(size - edit)
                data[at : at + edit] = rng.randbytes(edit)
            unique += EDITS * edit
        target = root / "data.bin"
        if target.exists():
            target.unlink()
        target.write_bytes(data)
        Repo(root).add(["data.bin"])
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", f"version {version}")
        commits.append(git(root, "rev-parse", "HEAD"))
    return commits, unique


def cache_bytes(root: Path) -> int:
    cache = root / ".git" / "gitexp" / "cache"
    total = 0
    for folder in ("blake3", "chunks", "chunklists"):
        for path in (cache / folder).rglob("*"):
            if path.is_file():
                total += path.stat().st_size
    return total


def checkout_old(root: Path, old: str, compact: bool) -> float:
    """Time a checkout of ``old``; then back to main (and compacted again, if asked)."""
    git(root, "checkout", "-q", old)
    took = gitexp(root, "checkout")
    git(root, "checkout", "-q", "main")
    gitexp(root, "checkout")
    if compact:
        gitexp(root, "gc", "--compact", "--now")
    return took


PUSH = """
import sys
from gitexp.core.hashing import Oid
from gitexp.core.pointer import Pointer
from gitexp.data.sync import Storage, push_pointers
from gitexp.project import Project
oid, size, remote = Oid(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
push_pointers(Project.open("."), Storage(remote=remote), {"data.bin": Pointer(oid, size)}, "bench")
"""


def push_version(
    root: Path, data_oid: str, size: int, seed: str | None = None
) -> tuple[float, float]:
    """Time a push of the object ``data_oid`` to a new local layout-2 remote: wall, CPU.

    With ``seed``, the remote first gets the object ``seed`` (not timed). The CPU
    time (user and system) says more than the wall time on a busy machine.
    """
    remote = root.parent / "remote"
    shutil.rmtree(remote, ignore_errors=True)
    gitexp(root, "remote", "add", "-f", "bench", str(remote))
    if seed is not None:
        _push(root, seed, size)
    started, cpu = time.perf_counter(), _children_cpu()
    _push(root, data_oid, size)
    took, cpu = time.perf_counter() - started, _children_cpu() - cpu
    shutil.rmtree(remote, ignore_errors=True)
    return took, cpu


def _children_cpu() -> float:
    import resource

    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _push(root: Path, oid: str, size: int) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PUSH, oid, str(size), "bench"],
        cwd=root,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise SystemExit(f"push failed: {done.stderr}")


def pointer_hash(root: Path, commit: str) -> str:
    """The hash in ``data.bin``'s pointer at ``commit``."""
    text = git(root, "show", f"{commit}:data.bin.gitexp")
    found = next(line.split()[1] for line in text.splitlines() if line.startswith("hash:"))
    return found.removeprefix("blake3:")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=HERE / "work" / "compact")
    args = parser.parse_args()
    if args.mib < 16:
        raise SystemExit("--mib must be 16 or more: smaller files are never compacted")
    shutil.rmtree(args.work, ignore_errors=True)
    root = args.work / "project"
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.name", "Bench")
    git(root, "config", "user.email", "bench@example.com")
    size = args.mib * MIB
    try:
        rows = measure(root, args.versions, size, args.repeat)
    finally:
        shutil.rmtree(args.work, ignore_errors=True)
    report(rows, args)


def measure(root: Path, versions: int, size: int, repeat: int) -> dict[str, float]:
    commits, unique = make_versions(root, versions, size)
    before = cache_bytes(root)
    whole = [checkout_old(root, commits[0], compact=False) for _ in range(repeat)]
    first, second = pointer_hash(root, commits[0]), pointer_hash(root, commits[-1])
    push_whole = [push_version(root, first, size) for _ in range(repeat)]
    compact_s = gitexp(root, "gc", "--compact", "--now")
    after = cache_bytes(root)
    push_compacted = [push_version(root, first, size) for _ in range(repeat)]
    push_delta = [push_version(root, first, size, seed=second) for _ in range(repeat)]
    compacted = [checkout_old(root, commits[0], compact=True) for _ in range(repeat)]
    ratios = [c / w for c, w in zip(compacted, whole, strict=True)]
    push_ratios = [c[0] / w[0] for c, w in zip(push_compacted, push_whole, strict=True)]
    return {
        "push_whole_s": statistics.median(w for w, _ in push_whole),
        "push_whole_cpu": statistics.median(c for _, c in push_whole),
        "push_compacted_s": statistics.median(w for w, _ in push_compacted),
        "push_compacted_cpu": statistics.median(c for _, c in push_compacted),
        "push_ratio": statistics.median(push_ratios),
        "push_delta_s": statistics.median(w for w, _ in push_delta),
        "push_delta_cpu": statistics.median(c for _, c in push_delta),
        "before": before,
        "after": after,
        "unique": unique,
        "one": size,
        "compact_s": compact_s,
        "whole_s": statistics.median(whole),
        "compacted_s": statistics.median(compacted),
        "ratio": statistics.median(ratios),
    }


def report(rows: dict[str, float], args: argparse.Namespace) -> None:
    gib = 1 << 30
    lines = [
        f"# gc --compact: {args.versions} versions of a {args.mib} MiB file, 1% edited each",
        "",
        f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        "",
        "| measure | value |",
        "|---|---|",
        f"| cache before | {rows['before'] / gib:.2f} GiB "
        f"({rows['before'] / rows['one']:.1f}x one version) |",
        f"| cache after `gc --compact` | {rows['after'] / gib:.2f} GiB "
        f"({rows['after'] / rows['unique']:.2f}x the unique bytes) |",
        f"| unique bytes (first version + edits) | {rows['unique'] / gib:.2f} GiB |",
        f"| after, less the workspace's version (kept whole) | "
        f"{(rows['after'] - rows['one']) / rows['unique']:.2f}x the unique bytes |",
        f"| `gc --compact` | {rows['compact_s']:.1f} s |",
        f"| checkout of the first version, cache whole | {rows['whole_s']:.2f} s |",
        f"| checkout of the first version, compacted | {rows['compacted_s']:.2f} s |",
        f"| compacted / whole (median of {args.repeat} rounds) | {rows['ratio']:.2f}x |",
        f"| push of the first version to a new remote, from the whole file | "
        f"{rows['push_whole_s']:.2f} s ({rows['push_whole_cpu']:.2f} s CPU) |",
        f"| the same push from the compacted cache | {rows['push_compacted_s']:.2f} s "
        f"({rows['push_compacted_cpu']:.2f} s CPU) |",
        f"| compacted / whole (median of {args.repeat} rounds) | {rows['push_ratio']:.2f}x |",
        f"| push of the first version, compacted, to a remote holding the last | "
        f"{rows['push_delta_s']:.2f} s ({rows['push_delta_cpu']:.2f} s CPU) |",
    ]
    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "compact.md").write_text(text)


if __name__ == "__main__":
    main()
