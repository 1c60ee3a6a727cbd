"""Storage at scale, gitexp against DVC on a real S3 server on loopback (SeaweedFS).

    python benchmarks/storage.py [--files N] [--big-mib M] [--no-dvc] [--work DIR]

1. N small files (1-4 KiB): push into an empty remote, pull into an empty cache; wall
   time of each, and the requests each costs (counted by a proxy, in runs of their own).
2. One file of M MiB, pushed; then a version with 1% of it changed in 10 places,
   pushed after it: the bytes that second push sends (counted by the proxy) and its
   time. gitexp's remote is layout 2 (packs and chunks); the same file pushed and
   pulled whole to a layout-1 remote (loose objects) shows what chunking costs a new file.

Prints a table with gitexp/DVC ratios (below 1: gitexp is faster or smaller) and
writes it to ``benchmarks/results/storage.md``. DVC and SeaweedFS are installed by the
harness into ``benchmarks/work`` (see README.md), never as dependencies of gitexp.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import tools  # noqa: E402
from harness.servers import SeaweedS3, credentials  # noqa: E402
from storagebench.projects import Project, dvc_project, gitexp_project, run  # noqa: E402
from storagebench.proxy import CountingProxy  # noqa: E402

MIB = 1 << 20


def small_files(folder: Path, count: int) -> None:
    rng = random.Random(1)
    for i in range(count):
        sub = folder / f"d{i % 100:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.bin").write_bytes(os.urandom(rng.randint(1024, 4096)))


def big_file(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for _ in range(size // (16 * MIB)):
            out.write(os.urandom(16 * MIB))
        out.write(os.urandom(size % (16 * MIB)))


def edit(path: Path, places: int, fraction: float) -> None:
    """Overwrite ``fraction`` of the file in ``places`` evenly spread runs."""
    size = path.stat().st_size
    run_length = int(size * fraction / places)
    with open(path, "r+b") as f:
        for i in range(places):
            f.seek(i * (size // places) + size // (2 * places))
            f.write(os.urandom(run_length))


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.work = Path(args.work).resolve()
        self.env = {**tools.base_env(self.work), **credentials()}
        self.gitexp = [sys.executable, "-m", "gitexp"]
        self.dvc = None if args.no_dvc else tools.ensure_dvc(self.work, print)[0]
        weed = shutil.which("weed", path=str(Path(sys.executable).parent)) or tools.ensure_weed(
            self.work, print
        )
        shutil.rmtree(self.work / "storage-bench", ignore_errors=True)
        self.server = SeaweedS3(weed, self.work / "storage-bench" / "s3", self.env)
        self.proxy = CountingProxy(self.server.endpoint)
        self.rows: list[tuple[str, str, str, str]] = []

    def project(self, tool: str, tag: str, endpoint: str | None = None) -> Project:
        root = self.work / "storage-bench" / tag / tool
        make = gitexp_project if tool == "gitexp" else dvc_project
        command = self.gitexp if tool == "gitexp" else self.dvc
        assert command is not None
        url = self.server.url(f"{tag}-{tool}")
        return make(root, command, self.env, url, endpoint or self.server.endpoint)

    def tools_(self) -> list[str]:
        return ["gitexp"] + (["dvc"] if self.dvc else [])

    def row(self, what: str, gitexp: float, dvc: float | None, unit: str) -> None:
        fmt = (lambda v: f"{v:.2f} s") if unit == "s" else (lambda v: f"{v:,.0f}")
        ratio = f"{gitexp / dvc:.3f}x" if dvc else "-"
        self.rows.append((what, fmt(gitexp), fmt(dvc) if dvc is not None else "-", ratio))
        print(f"{what}: gitexp {fmt(gitexp)}, DVC {fmt(dvc) if dvc else '-'}, {ratio}", flush=True)

    def small(self, count: int) -> None:
        times: dict[str, dict[str, float]] = {}
        requests: dict[str, dict[str, float]] = {}
        for tool in self.tools_():
            timed = self.project(tool, "small", None)
            small_files(timed.root / "data", count)
            timed.track()
            times[tool] = {"push": timed.push(), "pull": timed.pull()}
            counted = self.project(tool, "small-count", self.proxy.url)
            shutil.copytree(timed.root / "data", counted.root / "data")
            counted.track()
            self.proxy.reset()
            counted.push()
            pushed = self.proxy.total()
            self.proxy.reset()
            counted.pull()
            requests[tool] = {"push": pushed, "pull": self.proxy.total()}
            print(
                f"{tool}: {count:,} small files: {times[tool]} s, {requests[tool]} requests",
                flush=True,
            )
        dvc = times.get("dvc", {})
        counts = requests.get("dvc", {})
        for op in ("push", "pull"):
            self.row(f"{op} {count:,} small files to S3", times["gitexp"][op], dvc.get(op), "s")
            self.row(f"{op} requests, {count:,} files", requests["gitexp"][op], counts.get(op), "n")

    def big(self, mib: int) -> None:
        sent: dict[str, float] = {}
        second: dict[str, float] = {}
        for tool in self.tools_():
            project = self.project(tool, "big", self.proxy.url)
            big_file(project.root / "data" / "big.bin", mib * MIB)
            project.track("data/big.bin")
            project.push()
            edit(project.root / "data" / "big.bin", 10, 0.01)
            project.track("data/big.bin")
            self.proxy.reset()
            second[tool] = project.push()
            sent[tool] = self.proxy.sent
            print(
                f"{tool}: new version pushed in {second[tool]:.2f} s, {sent[tool]:,} bytes sent",
                flush=True,
            )
        name = f"push a new version of a {mib} MiB file, 1% changed in 10 places"
        self.row(name + " (time, via proxy)", second["gitexp"], second.get("dvc"), "s")
        self.row(name + " (bytes sent)", sent["gitexp"], sent.get("dvc"), "n")
        self.row(
            f"  bytes sent as a share of the file ({mib} MiB)",
            100 * sent["gitexp"] / (mib * MIB),
            100 * sent["dvc"] / (mib * MIB) if "dvc" in sent else None,
            "n",
        )
        self.new_file(mib)

    def new_file(self, mib: int) -> None:
        """One new big file to a layout-2 remote (chunks) and to a layout-1 one (loose)."""
        found: dict[str, tuple[float, float]] = {}
        for layout in (2, 1):
            project = self.project("gitexp", f"new-l{layout}", None)
            if layout == 1:  # a remote made before layout 2: loose objects only
                marker = project.root / "marker.json"
                marker.write_text('{"layout": 1}\n')
                run(
                    [
                        sys.executable,
                        "-c",
                        _PUT_MARKER,
                        self.server.endpoint,
                        "bench/new-l1-gitexp/gitexp-remote.json",
                        str(marker),
                    ],
                    project.root,
                    self.env,
                )
                marker.unlink()
            big_file(project.root / "data" / "big.bin", mib * MIB)
            project.track("data/big.bin")
            found[f"l{layout}"] = (project.push(), project.pull())
        for i, op in enumerate(("push", "pull")):
            self.row(
                f"{op} one new {mib} MiB file: layout 2 (chunks) against layout 1 (loose)",
                found["l2"][i],
                found["l1"][i],
                "s",
            )

    def report(self) -> str:
        lines = ["| operation | gitexp | DVC (or as said) | ratio |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in self.rows]
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.proxy.stop()
        self.server.stop()


_PUT_MARKER = """
import sys, s3fs
fs = s3fs.S3FileSystem(endpoint_url=sys.argv[1])
fs.put_file(sys.argv[3], sys.argv[2])
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--no-dvc", action="store_true")
    parser.add_argument("--work", default=str(HERE / "work"))
    parser.add_argument("--only", choices=["small", "big"])
    args = parser.parse_args()
    bench = Bench(args)
    try:
        if args.only in (None, "small"):
            bench.small(args.files)
        if args.only in (None, "big"):
            bench.big(args.big_mib)
    finally:
        bench.stop()
    table = bench.report()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "storage.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
