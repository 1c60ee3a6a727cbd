"""Storage at scale, gitexp against DVC on a real S3 server on loopback (SeaweedFS).

    python benchmarks/storage.py [--files N] [--big-mib M] [--versions V]
                                 [--versions-mib D] [--repeat R] [--no-dvc]
                                 [--only small|big|new|versions] [--work DIR]
                                 [--baseline DIR]

1. ``small``: N small files (1-4 KiB) pushed into an emptied remote and pulled into an
   emptied cache, R rounds, gitexp then DVC back to back in each (the ratio is the
   median of the rounds'); the requests each costs, counted by a proxy in runs of
   their own.
2. ``big``: one file of M MiB, pushed; then R versions, each with 1% of it changed in
   10 places, pushed straight to the server (the time, back to back per round), and
   one more through the proxy (the bytes each tool sends).
3. ``new``: one new file of M MiB pushed and pulled by gitexp to a layout-2 remote
   (chunks) and to a layout-1 remote (loose objects), back to back per round: what
   chunking costs a new file. With ``--baseline DIR`` (a checkout of another gitexp),
   each round also pushes with that gitexp, right after this one's push of the same
   layout: this gitexp's push time over the baseline's, round by round.
4. ``versions``: V versions of a dataset of D MiB, each with 1% of it edited in 5
   places (the same edits for both tools, from fixed seeds), each added, committed and
   pushed: the bytes the remote holds at the end, against the unique bytes (the first
   version plus every edit) and against one version.

The cases run in the order big, new, small, versions, each on a newly started server;
each row is printed as it is measured, with the load average then. Prints a table with
gitexp/DVC ratios (below 1: gitexp is faster or smaller) and writes it to
``benchmarks/results/storage.md``. DVC and SeaweedFS are installed by the harness into
``benchmarks/work`` (see README.md), never as dependencies of gitexp.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import tools  # noqa: E402
from harness.data import empty_trash, use_trash  # noqa: E402
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


def seeded_file(path: Path, size: int, seed: int) -> None:
    """``size`` pseudo-random bytes from ``seed``: the same file on every run."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        for start in range(0, size, 16 * MIB):
            out.write(rng.randbytes(min(16 * MIB, size - start)))


def edits(size: int, version: int, places: int, fraction: float) -> list[tuple[int, bytes]]:
    """The edits that make ``version`` from the one before: ``places`` runs, ``fraction`` in all.

    From a seed per version, so both tools store the same versions; the runs may fall
    anywhere (not aligned to anything either tool knows).
    """
    rng = random.Random(1000 + version)
    length = int(size * fraction / places)
    return [(rng.randrange(0, size - length), rng.randbytes(length)) for _ in range(places)]


def apply_edits(path: Path, changes: list[tuple[int, bytes]]) -> None:
    path.chmod(0o644)  # a checkout may leave it read-only
    with open(path, "r+b") as f:
        for offset, data in changes:
            f.seek(offset)
            f.write(data)


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
        self.weed = weed
        self.server = SeaweedS3(weed, self.work / "storage-bench" / "s3", self.env)
        self.proxy = CountingProxy(self.server.endpoint)
        self.rows: list[tuple[str, str, str, str, str]] = []
        self.baseline = Path(args.baseline).resolve() if args.baseline else None
        use_trash(self.work / "storage-bench-trash")

    def project(self, tool: str, tag: str, endpoint: str | None = None) -> Project:
        root = self.work / "storage-bench" / tag / tool
        make = gitexp_project if tool == "gitexp" else dvc_project
        command = self.gitexp if tool == "gitexp" else self.dvc
        assert command is not None
        url = self.server.url(f"{tag}-{tool}")
        return make(root, command, self.env, url, endpoint or self.server.endpoint)

    def tools_(self) -> list[str]:
        return ["gitexp"] + (["dvc"] if self.dvc else [])

    def row(
        self,
        what: str,
        gitexp: float,
        dvc: float | None,
        unit: str,
        ratio: float | None = None,
        spread: str = "",
    ) -> None:
        formats = {"s": "{:.2f} s", "x": "{:.2f}x", "n": "{:,.0f}", "%": "{:.2f}%"}
        fmt = formats[unit].format
        if ratio is None and dvc:
            ratio = gitexp / dvc
        shown = f"{ratio:.3f}x" if ratio is not None else "-"
        other = fmt(dvc) if dvc is not None else "-"
        load = f"load {os.getloadavg()[0]:.1f}"
        spread = f"{spread}; {load}" if spread else load
        self.rows.append((what, fmt(gitexp), other, shown, spread))
        print(f"{what}: gitexp {fmt(gitexp)}, DVC {other}, {shown} {spread}", flush=True)

    def small(self, count: int, repeat: int) -> None:
        """Push into an emptied remote and pull into an emptied cache, ``repeat`` rounds.

        Each round runs gitexp then DVC back to back, push then pull, and the ratio of
        the round is taken: on a shared machine both tools in a round see the same load.
        """
        projects: dict[str, Project] = {}
        requests: dict[str, dict[str, float]] = {}
        for tool in self.tools_():
            projects[tool] = timed = self.project(tool, "small", None)
            small_files(timed.root / "data", count)
            timed.track()
            counted = self.project(tool, "small-count", self.proxy.url)
            shutil.copytree(timed.root / "data", counted.root / "data")
            counted.track()
            self.proxy.reset()
            counted.push()
            pushed = self.proxy.total()
            self.proxy.reset()
            counted.pull()
            requests[tool] = {"push": pushed, "pull": self.proxy.total()}
            print(f"{tool}: {count:,} small files: {requests[tool]} requests", flush=True)
        empty_trash(print)
        times: dict[str, dict[str, list[float]]] = {t: {"push": [], "pull": []} for t in projects}
        for round_ in range(repeat):
            for op in ("push", "pull"):
                for tool, project in projects.items():
                    if op == "push":
                        self.server.empty(f"small-{tool}")
                        project.forget_remote()
                        times[tool][op].append(project.push())
                    else:
                        times[tool][op].append(project.pull())
            print(
                f"round {round_ + 1}: "
                + ", ".join(
                    f"{t} {times[t]['push'][-1]:.2f}/{times[t]['pull'][-1]:.2f} s" for t in projects
                )
                + f" (push/pull; load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            if self.baseline is not None:
                print(
                    "  the baseline's pushes: "
                    + ", ".join(
                        f"{t} {times[t]['base'][-1]:.2f} s (CPU {times[t]['base cpu'][-1]:.2f} s)"
                        for t in projects
                    ),
                    flush=True,
                )
        for op in ("push", "pull"):
            self.timed_row(f"{op} {count:,} small files to S3", times, op)
            self.row(
                f"{op} requests, {count:,} files",
                requests["gitexp"][op],
                requests.get("dvc", {}).get(op),
                "n",
            )

    def timed_row(self, what: str, times: dict[str, dict[str, list[float]]], op: str) -> None:
        """A row of median times, with the median of the round-by-round ratios."""
        mine = times["gitexp"][op]
        theirs = times.get("dvc", {}).get(op)
        ratio = None
        if theirs:
            ratio = statistics.median(a / b for a, b in zip(mine, theirs, strict=True))
        self.row(
            what,
            statistics.median(mine),
            statistics.median(theirs) if theirs else None,
            "s",
            ratio=ratio,
            spread=f"{len(mine)} rounds, gitexp {min(mine):.2f}-{max(mine):.2f} s",
        )

    def big(self, mib: int, repeat: int) -> None:
        """A big file, then new versions of it with 1% changed in 10 places each.

        ``repeat`` versions are pushed straight to the server, each tool back to back
        (the timed rounds); one more goes through the proxy, which counts the bytes
        each tool sends for it. The cache is emptied after each push.
        """
        projects = {tool: self.project(tool, "big", None) for tool in self.tools_()}
        for project in projects.values():
            big_file(project.root / "data" / "big.bin", mib * MIB)
            project.track("data/big.bin")
            project.push()
            project.drop_cache()
        times: dict[str, dict[str, list[float]]] = {t: {"push": []} for t in projects}
        for round_ in range(repeat):
            for tool, project in projects.items():
                edit(project.root / "data" / "big.bin", 10, 0.01)
                project.track("data/big.bin")
                times[tool]["push"].append(project.push())
                project.drop_cache()
            print(
                f"round {round_ + 1}: "
                + ", ".join(f"{t} {times[t]['push'][-1]:.2f} s" for t in projects)
                + f" (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
        sent: dict[str, float] = {}
        for tool, project in projects.items():
            project.point_at(self.proxy.url)
            edit(project.root / "data" / "big.bin", 10, 0.01)
            project.track("data/big.bin")
            self.proxy.reset()
            project.push()
            sent[tool] = self.proxy.sent
            project.drop_cache()
            print(f"{tool}: a new version sent {sent[tool]:,} bytes", flush=True)
        name = f"push a new version of a {mib} MiB file, 1% changed in 10 places"
        self.timed_row(name + " (time)", times, "push")
        self.row(name + " (bytes sent)", sent["gitexp"], sent.get("dvc"), "n")
        self.row(
            f"  bytes sent as a share of the file ({mib} MiB)",
            100 * sent["gitexp"] / (mib * MIB),
            100 * sent["dvc"] / (mib * MIB) if "dvc" in sent else None,
            "%",
        )
        for project in projects.values():
            shutil.rmtree(project.root, ignore_errors=True)

    def new_file(self, mib: int, repeat: int) -> None:
        """One new big file to a layout-2 remote (chunks) and to a layout-1 one (loose).

        Each round pushes into an emptied remote and pulls into an emptied cache, the
        two layouts back to back, in turns first (so neither always runs second, on a
        warmer server); the ratio is layout 2's time over layout 1's. Beside each
        push's wall time, the CPU seconds it cost gitexp's process and the server: on
        a shared machine the wall time follows the load, while the CPU time is the
        work itself.
        """
        projects = {}
        for layout in (2, 1):
            project = self.project("gitexp", f"new-l{layout}", None)
            big_file(project.root / "data" / "big.bin", mib * MIB)
            project.track("data/big.bin")
            projects[f"l{layout}"] = project
        times: dict[str, dict[str, list[float]]] = {
            t: {"push": [], "pull": [], "cpu": [], "server": [], "base": [], "base cpu": []}
            for t in projects
        }
        for round_ in range(repeat):
            order = list(projects) if round_ % 2 == 0 else list(reversed(projects))
            for op in ("push", "pull"):
                for name in order:
                    project = projects[name]
                    if op == "pull":
                        times[name][op].append(project.pull())
                        continue
                    self.server.empty(f"new-{name}-gitexp")
                    project.forget_remote()
                    if name == "l1":  # a remote made before layout 2: loose objects only
                        self.put_marker(project, f"new-{name}-gitexp", 1)
                    cpu, server = _children_cpu(), self.server_cpu()
                    times[name][op].append(project.push())
                    times[name]["cpu"].append(_children_cpu() - cpu)
                    times[name]["server"].append(self.server_cpu() - server)
                    if self.baseline is not None:
                        self.baseline_push(project, name, times[name])
            print(
                f"round {round_ + 1} ({' first, '.join(order)} second): "
                + ", ".join(
                    f"{t} {times[t]['push'][-1]:.2f}/{times[t]['pull'][-1]:.2f} s "
                    f"(push CPU {times[t]['cpu'][-1]:.2f} s, server {times[t]['server'][-1]:.2f} s)"
                    for t in projects
                )
                + f" (push/pull; load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
            if self.baseline is not None:
                print(
                    "  the baseline's pushes: "
                    + ", ".join(
                        f"{t} {times[t]['base'][-1]:.2f} s (CPU {times[t]['base cpu'][-1]:.2f} s)"
                        for t in projects
                    ),
                    flush=True,
                )
        renamed = {"gitexp": times["l2"], "dvc": times["l1"]}
        what = f"one new {mib} MiB file: layout 2 (chunks) against layout 1 (loose)"
        for op in ("push", "pull"):
            self.timed_row(f"{op} {what}", renamed, op)
        self.timed_row(f"CPU seconds of gitexp's push of {what}", renamed, "cpu")
        self.timed_row(f"CPU seconds of the server during that push, {what}", renamed, "server")
        if self.baseline is not None:
            for name in projects:
                layout = name.replace("l", "layout ")
                mine, base = (
                    times[name],
                    {"push": times[name]["base"], "cpu": times[name]["base cpu"]},
                )
                for op, said in (("push", "push"), ("cpu", "CPU seconds of that push")):
                    against = {"gitexp": mine, "dvc": base}
                    self.timed_row(
                        f"{said}, {layout}: this gitexp against the baseline", against, op
                    )
        for project in projects.values():
            shutil.rmtree(project.root, ignore_errors=True)

    def baseline_push(self, project: Project, name: str, times: dict[str, list[float]]) -> None:
        """Push ``project`` again into its emptied remote, with the baseline's gitexp."""
        self.server.empty(f"new-{name}-gitexp")
        project.forget_remote()
        if name == "l1":
            self.put_marker(project, f"new-{name}-gitexp", 1)
        env = {**project.env, "PYTHONPATH": str(self.baseline)}
        cpu = _children_cpu()
        times["base"].append(dataclasses.replace(project, env=env).push())
        times["base cpu"].append(_children_cpu() - cpu)

    def server_cpu(self) -> float:
        """CPU seconds the S3 server has used so far (from /proc; 0 where there is none)."""
        try:
            fields = Path(f"/proc/{self.server.process.pid}/stat").read_text().rsplit(")", 1)[1]
        except OSError:
            return 0.0
        utime, stime = fields.split()[11:13]
        return (int(utime) + int(stime)) / os.sysconf("SC_CLK_TCK")

    def put_marker(self, project: Project, prefix: str, layout: int) -> None:
        marker = project.root / "marker.json"
        marker.write_text(f'{{"layout": {layout}}}\n')
        run(
            [
                sys.executable,
                "-c",
                _PUT_MARKER,
                self.server.endpoint,
                f"bench/{prefix}/gitexp-remote.json",
                str(marker),
            ],
            project.root,
            self.env,
        )
        marker.unlink()

    def versions(self, mib: int, count: int) -> None:
        """``count`` versions of a ``mib`` MiB dataset, each pushed: what the remote holds.

        The local cache is emptied after each push (neither tool needs it to push the
        next version), so the disk holds one version per tool, not ``count``.
        """
        size = mib * MIB
        places, fraction = 5, 0.01
        edited = places * int(size * fraction / places)
        unique = size + (count - 1) * edited
        held: dict[str, float] = {}
        pushes: dict[str, list[float]] = {}
        for tool in self.tools_():
            project = self.project(tool, "versions", None)
            path = project.root / "data" / "dataset.bin"
            seeded_file(path, size, 7)
            pushes[tool] = []
            for version in range(count):
                if version:
                    apply_edits(path, edits(size, version, places, fraction))
                project.track("data/dataset.bin")
                pushes[tool].append(project.push())
                project.drop_cache()
            held[tool] = self.remote_bytes(f"versions-{tool}")
            shutil.rmtree(project.root, ignore_errors=True)
            print(
                f"{tool}: {count} versions of {mib} MiB: remote holds {held[tool]:,.0f} bytes "
                f"({held[tool] / unique:.2f}x the unique {unique:,} bytes); pushes "
                f"{statistics.median(pushes[tool][1:] or pushes[tool]):.2f} s each (median)",
                flush=True,
            )
        name = f"{count} versions of a {mib} MiB dataset, 1% edited in 5 places each"
        self.row(name + ": bytes on the remote", held["gitexp"], held.get("dvc"), "n")
        self.row(
            "  as a multiple of the unique bytes (first version + every edit)",
            held["gitexp"] / unique,
            held["dvc"] / unique if "dvc" in held else None,
            "x",
        )
        self.row(
            "  as a multiple of one version",
            held["gitexp"] / size,
            held["dvc"] / size if "dvc" in held else None,
            "x",
        )
        self.row(
            "  push of each later version (median)",
            statistics.median(pushes["gitexp"][1:] or pushes["gitexp"]),
            statistics.median(pushes["dvc"][1:] or pushes["dvc"]) if "dvc" in pushes else None,
            "s",
        )

    def remote_bytes(self, prefix: str) -> float:
        """The total size of every object under ``prefix`` in the bucket."""
        out = subprocess.run(
            [sys.executable, "-c", _DU, self.server.endpoint, self.server.url(prefix)],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return float(out.stdout.strip())

    def report(self) -> str:
        lines = [
            "| operation | gitexp | DVC (or as said) | ratio | notes |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in self.rows]
        return "\n".join(lines) + "\n"

    def fresh_server(self) -> None:
        """A new, empty server for the next case.

        The server keeps the space of deleted objects until it compacts its volumes, so
        one server through every case ran out of volumes in the last (DVC's side of the
        50 versions holds 13 GB).
        """
        self.stop()
        folder = self.work / "storage-bench" / "s3"
        shutil.rmtree(folder, ignore_errors=True)
        self.server = SeaweedS3(self.weed, folder, self.env)
        self.proxy = CountingProxy(self.server.endpoint)

    def stop(self) -> None:
        self.proxy.stop()
        self.server.stop()


_DU = """
import sys, s3fs
fs = s3fs.S3FileSystem(endpoint_url=sys.argv[1])
print(fs.du(sys.argv[2]))
"""

_PUT_MARKER = """
import sys, s3fs
fs = s3fs.S3FileSystem(endpoint_url=sys.argv[1])
fs.put_file(sys.argv[3], sys.argv[2])
"""


def _children_cpu() -> float:
    """CPU seconds (user and system) of this process's finished children so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--big-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds of each case")
    parser.add_argument("--versions", type=int, default=50)
    parser.add_argument("--versions-mib", type=int, default=256)
    parser.add_argument("--no-dvc", action="store_true")
    parser.add_argument("--work", default=str(HERE / "work"))
    parser.add_argument("--only", choices=["small", "big", "new", "versions"])
    parser.add_argument("--baseline", help="a checkout of another gitexp to push with too (new)")
    args = parser.parse_args()
    bench = Bench(args)
    started = time.monotonic()
    print(f"started {time.strftime('%H:%M:%S', time.gmtime())} UTC", flush=True)
    try:
        # The big-file cases first: they are the shortest, and each row is printed
        # as soon as it is measured, so a run cut short still tells the most.
        if args.only in (None, "big"):
            bench.big(args.big_mib, args.repeat)
        if args.only in (None, "new"):
            bench.fresh_server()
            bench.new_file(args.big_mib, args.repeat)
        if args.only in (None, "small"):
            bench.fresh_server()
            bench.small(args.files, args.repeat)
        if args.only in (None, "versions"):
            bench.fresh_server()
            bench.versions(args.versions_mib, args.versions)
    finally:
        bench.stop()
        empty_trash()
    took = (time.monotonic() - started) / 60
    table = bench.report() + f"\nThe whole run took {took:.0f} minutes.\n"
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "storage.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
