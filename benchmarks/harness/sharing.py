"""Projects with a storage remote, for ``push`` and ``pull``: a local folder or S3 on loopback.

`gitexp_remote_config` is the one place that says how gitexp's ``gitexp.yaml`` names
a storage remote; adjust it there if the configuration keys change.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from harness import data, tools
from harness.context import Context
from harness.servers import BUCKET, SeaweedS3, credentials
from harness.timing import Step, check_call

KINDS = ("local dir", "s3")


def gitexp_remote_config(url: str, endpoint: str | None) -> str:
    """``gitexp.yaml`` with ``url`` as the default storage remote (DESIGN section 1)."""
    if endpoint is None:
        return f"remote: storage\nremotes:\n  storage: {url}\n"
    return f"remote: storage\nremotes:\n  storage:\n    url: {url}\n    endpoint_url: {endpoint}\n"


def dvc_remote_args(url: str, endpoint: str | None) -> list[list[str]]:
    """``dvc remote …`` calls that make ``url`` DVC's default remote."""
    args = [["add", "-d", "storage", url]]
    if endpoint is not None:
        args.append(["modify", "storage", "endpointurl", endpoint])
    return args


def s3_server(ctx: Context) -> SeaweedS3:
    """The S3 server for this harness run, started on first use and stopped at the end."""
    server = ctx.shared.get("s3")
    if server is None:
        if ctx.tools.weed is None:
            ctx.tools.weed = tools.ensure_weed(ctx.work, ctx.say)
        ctx.say("starting SeaweedFS (S3) on loopback")
        server = SeaweedS3(ctx.tools.weed, ctx.folder("s3"), ctx.env)
        ctx.shared["s3"] = server
        ctx.cleanups.append(server.stop)
    assert isinstance(server, SeaweedS3)
    return server


def kinds(ctx: Context) -> list[str]:
    """The remote kinds this run covers (S3 needs the server: not in --quick)."""
    return list(KINDS) if ctx.s3 else [KINDS[0]]


@dataclass
class Side:
    """One tool's project with a remote: where it is, what it tracks, how to reset."""

    root: Path
    name: str
    env: dict[str, str]
    empty_remote: object
    state: list[Path]

    def reset_remote(self) -> None:
        self.empty_remote()  # type: ignore[operator]

    def reset_local(self) -> None:
        data.removing(*self.state, self.root / self.name)()


@dataclass
class Pair:
    """The gitexp and DVC projects of one (remote kind, workload) combination."""

    gitexp: Side
    dvc: Side | None
    pushed: bool = False


def pair(ctx: Context, kind: str, label: str, size: int, source: Path) -> Pair:
    """Both projects for this combination (built once per harness run)."""
    key = f"sharing:{kind}:{label}:{size}"
    found = ctx.shared.get(key)
    if found is None:
        found = _build(ctx, kind, label, size, source)
        ctx.shared[key] = found
    assert isinstance(found, Pair)
    return found


def _remote(
    ctx: Context, kind: str, tool: str, tag: str
) -> tuple[str, str | None, object, dict[str, str]]:
    """(url, endpoint, empty it, environment) of a fresh remote location for ``tool``."""
    if kind == "s3":
        server = s3_server(ctx)
        prefix = f"{tool}-{tag}"
        server.empty(prefix)
        return (
            server.url(prefix),
            server.endpoint,
            lambda: server.empty(prefix),
            {**ctx.env, **credentials()},
        )
    folder = ctx.folder("remotes", f"{tool}-{tag}")

    def empty() -> None:
        data.discard(folder)
        folder.mkdir(parents=True)

    return str(folder), None, empty, ctx.env


def _tag(kind: str, label: str, size: int) -> str:
    return f"{label}-{size}-{kind.replace(' ', '-')}"


def gitexp_side(ctx: Context, kind: str, label: str, size: int, source: Path) -> Side:
    """gitexp's project: the workload added and committed, the remote in ``gitexp.yaml``."""
    tag, name = _tag(kind, label, size), data.data_name(label)
    url, endpoint, empty, env = _remote(ctx, kind, "gitexp", tag)
    root = ctx.folder("sharing", tag, "gitexp")
    data.tracked_gitexp(ctx, root, source, name, config=gitexp_remote_config(url, endpoint))
    origin = ctx.folder("sharing", tag, "origin.git")
    check_call(["git", "init", "-q", "--bare", str(origin)], origin, ctx.env)
    check_call(["git", "remote", "add", "origin", str(origin)], root, ctx.env)
    return Side(root, name, env, empty, [data.gitexp_state(root)])


def dvc_side(ctx: Context, kind: str, label: str, size: int, source: Path) -> Side:
    """DVC's project: the workload added and committed, the remote its default."""
    tag, name = _tag(kind, label, size), data.data_name(label)
    url, endpoint, empty, env = _remote(ctx, kind, "dvc", tag)
    root = ctx.folder("sharing", tag, "dvc")
    data.tracked_dvc(ctx, root, source, name, remote=dvc_remote_args(url, endpoint))
    return Side(root, name, env, empty, data.dvc_state(root))


def _build(ctx: Context, kind: str, label: str, size: int, source: Path) -> Pair:
    dvc = dvc_side(ctx, kind, label, size, source) if ctx.dvc is not None else None
    return Pair(gitexp_side(ctx, kind, label, size, source), dvc)


def push_step(ctx: Context, side: Side, tool: list[str], *, fresh: bool) -> Step:
    """``TOOL push``; with ``fresh``, into an emptied remote each run."""
    before = [side.reset_remote, data.sync] if fresh else []
    return Step([*tool, "push"], side.root, before=before, env=side.env)


def floor_step(ctx: Context, kind: str, label: str, size: int, source: Path) -> Step | None:
    """The same upload without any tool: ``cp -r`` to a folder, or raw PUTs to S3.

    None for one big file to S3 (a single request has no floor worth showing).
    """
    tag = _tag(kind, label, size)
    if kind != "s3":
        target = ctx.folder("floor", tag) / data.data_name(label)
        argv = ["cp", "-r", str(source), str(target)]
        return Step(argv, target.parent, before=[data.removing(target), data.sync])
    if label != "files":
        return None
    server = s3_server(ctx)
    prefix = f"floor-{tag}"
    script = Path(__file__).with_name("s3floor.py")
    return Step(
        [sys.executable, str(script), server.endpoint, f"{BUCKET}/{prefix}", str(source)],
        ctx.folder("floor", tag),
        before=[lambda: server.empty(prefix), data.sync],
        env={**ctx.env, **credentials()},
        label="PUT each file, 32 at once",
    )


def pull_step(ctx: Context, side: Side, tool: list[str]) -> Step:
    """``TOOL pull`` into an empty cache and workspace."""
    return Step([*tool, "pull"], side.root, before=[side.reset_local, data.sync], env=side.env)


def ensure_pushed(ctx: Context, found: Pair) -> None:
    """Push both projects once (untimed), so that a pull has something to fetch."""
    if found.pushed:
        return
    check_call([*ctx.gitexp, "push"], found.gitexp.root, found.gitexp.env)
    if found.dvc is not None and ctx.dvc is not None:
        check_call([*ctx.dvc, "push", "-q"], found.dvc.root, found.dvc.env)
    found.pushed = True
