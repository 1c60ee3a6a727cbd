#!/usr/bin/env python3
"""gitexp against DVC, side by side, in one command.

    python3 benchmarks/run.py [--quick] [--only NAME …]

Builds the same generated workloads for gitexp and for DVC (installed by the harness
into its own virtual environment under benchmarks/work/), times whole commands (a new
process each run) after a warm-up, and prints a table: operation, size, medians,
the median of the run-by-run ratios and gitexp's peak memory. Writes results.json,
results.md and ratios.png into the output folder. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def parse_args(argv: list[str]) -> argparse.Namespace:
    from ops import OPERATIONS

    names = [op.NAME for op in OPERATIONS]
    parser = argparse.ArgumentParser(
        prog="benchmarks/run.py", description="Benchmark gitexp against DVC on generated workloads."
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes, gitexp only, no DVC install (what the test suite runs)",
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="NAME",
        choices=names,
        help=f"run only these operations ({', '.join(names)})",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="N",
        help="timed runs per command after the warm-up (default 5; 3 with --quick)",
    )
    parser.add_argument("--no-dvc", action="store_true", help="time gitexp alone")
    parser.add_argument("--no-s3", action="store_true", help="skip the S3 remote (SeaweedFS)")
    parser.add_argument(
        "--dvc-max-experiments",
        type=int,
        default=100,
        metavar="N",
        help="largest experiment count DVC is taken to (real `dvc exp run`, ~1 s each; "
        "default 100)",
    )
    parser.add_argument(
        "--max-experiments",
        type=int,
        default=100_000,
        metavar="N",
        help="largest experiment count gitexp is taken to (default 100,000)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=HERE / "work",
        metavar="DIR",
        help="where tools and workloads go (default benchmarks/work, gitignored)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results",
        metavar="DIR",
        help="where results.json, results.md and ratios.png go (default benchmarks/results)",
    )
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 3 if args.quick else 5
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def ensure_gitexp(argv: list[str], work: Path) -> None:
    """Re-run in ``work/venv`` (gitexp installed from this checkout) if this Python lacks gitexp."""
    try:
        import gitexp  # noqa: F401
    except ImportError:
        venv = work / "venv"
        python = venv / "bin" / "python"
        if os.environ.get("GITEXP_BENCH_BOOTSTRAPPED"):
            sys.exit("benchmarks: gitexp is not importable even in the harness's own environment")
        print(f"benchmarks: installing gitexp from {ROOT} into {venv} …", file=sys.stderr)
        if not python.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "-e", f"{ROOT}[bench]"], check=True
        )
        env = {**os.environ, "GITEXP_BENCH_BOOTSTRAPPED": "1"}
        os.execve(str(python), [str(python), str(Path(__file__).resolve()), *argv], env)


def make_context(args: argparse.Namespace):
    from harness import data, tools
    from harness.context import Context

    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    data.use_trash(work / "trash")
    env = tools.base_env(work)
    found = tools.Tools(work=work, env=env, gitexp=tools.gitexp_argv())
    ctx = Context(
        tools=found,
        work=work,
        quick=args.quick,
        repeats=args.repeat,
        dvc_max_experiments=args.dvc_max_experiments,
        max_experiments=args.max_experiments,
        s3=not (args.quick or args.no_s3),
    )
    if not (args.quick or args.no_dvc):
        found.dvc, found.dvc_python = tools.ensure_dvc(work, ctx.say)
    return ctx


def run_operations(ctx, selected) -> list:
    from harness import data
    from harness.measure import Case, Result, measure
    from harness.report import row

    results: list[Result] = []
    scratch = ctx.work / "scratch"
    for op in selected:
        print(f"== {op.NAME}", file=sys.stderr, flush=True)
        cases = op.cases(ctx)
        while True:
            try:
                case = next(cases)
            except StopIteration:
                break
            except Exception as exc:
                failed = Result(Case(f"{op.NAME} (set-up)", 0, "", None, group=op.GROUP))
                failed.status, failed.message = "failed", f"set-up failed: {exc}"
                results.append(failed)
                print(f"  {op.NAME}: set-up failed: {exc}", file=sys.stderr, flush=True)
                break
            start = time.perf_counter()
            result = measure(case, ctx.repeats, ctx.env, scratch)
            data.empty_trash(ctx.say)
            results.append(result)
            cells = row(result)
            print(
                f"  {cells[0]} @ {cells[1]}: gitexp {cells[2]}, DVC {cells[3]}, ratio {cells[4]}"
                f"  [{time.perf_counter() - start:.0f} s] {cells[6]}",
                file=sys.stderr,
                flush=True,
            )
    return results


def draw_chart(ctx, json_path: Path, png: Path) -> str:
    """Draw the chart in-process, or in the chart environment when matplotlib is missing here."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        from harness import tools

        bin_dir = ctx.work / "chart-venv" / "bin"
        if (
            not (bin_dir / "python").exists()
            or subprocess.run(
                [str(bin_dir / "python"), "-c", "import matplotlib"],
                capture_output=True,
                check=False,
            ).returncode
        ):
            bin_dir = tools._venv(ctx.work / "chart-venv", "matplotlib>=3.7", ctx.say)
        proc = subprocess.run(
            [str(bin_dir / "python"), str(HERE / "harness" / "chart.py"), str(json_path), str(png)],
            capture_output=True,
            text=True,
            check=False,
        )
        return "" if proc.returncode == 0 else proc.stderr.strip()[-500:]
    from harness import chart

    chart.draw(json_path, png)
    return ""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    ensure_gitexp(argv, args.work)
    from harness import report, tools
    from harness.measure import NO_DVC
    from ops import OPERATIONS

    selected = [op for op in OPERATIONS if not args.only or op.NAME in args.only]
    started = dt.datetime.now(dt.timezone.utc)
    ctx = make_context(args)
    machine = tools.machine_facts(ctx.work)
    try:
        results = run_operations(ctx, selected)
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    scaling_ops = [name for op in selected for name in getattr(op, "SCALING", ())]
    fits = report.scaling(results, scaling_ops)
    items = report.per_item(results)
    doc = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "quick" if args.quick else "full",
        "repeats": args.repeat,
        "duration_s": round((dt.datetime.now(dt.timezone.utc) - started).total_seconds()),
        "machine": machine,
        "versions": tools.collect_versions(ctx.tools),
        "results": [
            {**r.to_json(), "size_label": report.format_size(r.case.size, r.case.unit)}
            for r in results
        ],
        "scaling": fits,
        "per_item": items,
    }
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    report.write_json(out / "results.json", doc)
    problem = draw_chart(ctx, out / "results.json", out / "ratios.png")
    text = report.text_table(results)
    sections = [text]
    if ctx.dvc is None:
        sections.insert(0, NO_DVC + ": gitexp alone")
    if fits:
        sections.append("Scaling (time ~ size^k):\n" + "\n".join(report.scaling_lines(fits)))
    if items:
        sections.append(
            "Per item, where DVC stopped short:\n" + "\n".join(report.per_item_lines(items))
        )
    print("\n\n".join(sections))
    (out / "results.md").write_text(report.markdown_document(doc, results, fits, items))
    print(
        f"\nresults: {out / 'results.json'}, {out / 'results.md'}, {out / 'ratios.png'}",
        file=sys.stderr,
    )
    if problem:
        print(f"chart failed: {problem}", file=sys.stderr)
        return 1
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
