"""The UI's ASGI application: the report page, its data, and a stream of changes.

Routes: ``/`` the page (the report's views with the recorded experiments embedded, in
the columns form of `gitexp.report.ui.columns`), ``/assets/NAME`` its scripts and
style (everything local: the page fetches nothing from elsewhere), ``/api/data`` the
page data (``?form=columns``: in columns, as the page loads it), ``/api/details`` the
code files and images of the experiments a page compares, ``/api/events`` server-sent
events: ``data`` when the recorded experiments changed (the page fetches
``/api/data`` again) and ``live`` with the running experiments' rows, first on
connecting and then each time a journal changes. Every
request passes `gitexp.report.ui.guard.Guard` first.

The page, its data and its assets are made once per change and kept gzipped: a browser
that accepts gzip (all do) gets a fifth of the bytes, and a reload costs no rebuilding.

Starlette is imported here and only here, when the UI starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip
import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import anyio.to_thread
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from gitexp.errors import GitexpError
from gitexp.report import html
from gitexp.report.ui.guard import COOKIE, Guard
from gitexp.report.ui.state import PageState, thin
from gitexp.report.ui.watch import Watcher

ASSETS = {
    "ui-data.js": "text/javascript",
    "report.js": "text/javascript",
    "report.css": "text/css",
    "plotly.min.js": "text/javascript",
    "ui.js": "text/javascript",
    "ui.css": "text/css",
}
MAX_SERIES = 50
"""The most experiments one series request names."""
MAX_DETAILS = 4
"""The most experiments one request for code files and images names (a page compares two)."""
STREAM_S = 0.1
PING_S = 15.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def build_app(state: PageState, guard: Guard, watcher: Watcher) -> Callable[..., Awaitable[None]]:
    """The ASGI application, guarded."""
    handlers = _Handlers(state, guard, watcher)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        watcher.start()  # if it was not yet: the server starts it before importing this
        yield
        watcher.stop()

    routes = [
        Route("/", handlers.page),
        Route("/assets/{name}", handlers.asset),
        Route("/api/data", handlers.data),
        Route("/api/events", handlers.events),
        Route("/api/image/{digest}", handlers.image),
        Route("/api/series", handlers.series),
        Route("/api/details", handlers.details),
        Route("/api/notes/{name}", handlers.annotate, methods=["POST"]),
    ]
    inner = Starlette(routes=routes, lifespan=lifespan)
    return _guarded(inner, guard)


class _Handlers:
    """One method per route; sync ones run on Starlette's thread pool."""

    def __init__(self, state: PageState, guard: Guard, watcher: Watcher) -> None:
        self.state, self.guard, self.watcher = state, guard, watcher

    async def page(self, request: Request) -> Response:
        await _ready(self.state)
        return await anyio.to_thread.run_sync(self._page, request)

    def _page(self, request: Request) -> Response:
        response = _encoded(request, self.state.page_html(), "text/html; charset=utf-8")
        _remember_token(request, response, self.guard)
        return response

    def asset(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("no such file\n", status_code=404)
        body, packed, tag = _asset(name)
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers={"ETag": tag, "Cache-Control": "no-cache"})
        response = _encoded(request, (body, packed), ASSETS[name])
        response.headers.update({"Cache-Control": "no-cache", "ETag": tag})
        return response

    async def data(self, request: Request) -> Response:
        await _ready(self.state)
        return await anyio.to_thread.run_sync(self._data, request)

    def _data(self, request: Request) -> Response:
        if request.query_params.get("form") == "columns":
            return _encoded(request, self.state.columns_json(), "application/json")
        return _encoded(request, self.state.rows_json(), "application/json")

    async def series(self, request: Request) -> Response:
        """``?n=NAME…``: those recorded experiments' series, ``{name: {key: [steps, values]}}``.

        Thinned as the report thins them; names of no recorded experiment are left out.
        """
        await _ready(self.state)
        return await anyio.to_thread.run_sync(self._series, request)

    def _series(self, request: Request) -> Response:
        commits = self.state.commits(request.query_params.getlist("n")[:MAX_SERIES])
        try:
            found = self.state.source.series(commits)
        except GitexpError as exc:
            return _json({"error": exc.kind, "message": exc.message, "hint": exc.hint}, 400)
        return _json(
            {name: {k: thin(c) for k, c in lines.items()} for name, lines in found.items()}
        )

    async def details(self, request: Request) -> Response:
        """``?n=NAME…``: those recorded experiments' code files and images (`UiSource.details`)."""
        await _ready(self.state)
        return await anyio.to_thread.run_sync(self._details, request)

    def _details(self, request: Request) -> Response:
        commits = self.state.commits(request.query_params.getlist("n")[:MAX_DETAILS])
        try:
            found = self.state.source.details(commits)
        except GitexpError as exc:
            return _json({"error": exc.kind, "message": exc.message, "hint": exc.hint}, 400)
        return _json(found)

    def image(self, request: Request) -> Response:
        found = self.state.source.image(request.path_params["digest"])
        if found is None:
            return PlainTextResponse("no such image in any experiment\n", status_code=404)
        return Response(found[0], media_type=found[1], headers={"Cache-Control": "max-age=86400"})

    async def annotate(self, request: Request) -> Response:
        edit = await _edit_request(request)
        if isinstance(edit, Response):
            return edit
        name = request.path_params["name"]
        try:
            result = await anyio.to_thread.run_sync(
                functools.partial(self.state.source.annotate, name, **edit)
            )
        except GitexpError as exc:
            status = 404 if exc.kind == "not_found" else 400
            return _json({"error": exc.kind, "message": exc.message, "hint": exc.hint}, status)
        await anyio.to_thread.run_sync(self.watcher.refresh)
        return _json(result)

    async def events(self, request: Request) -> Response:
        return StreamingResponse(
            _stream(self.state, self.watcher),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


async def _ready(state: PageState) -> None:
    """Return once the first page data is built (at once after that)."""
    if state.ready.is_set():
        return
    loop = asyncio.get_running_loop()
    built = asyncio.Event()

    def wake() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: nobody waits
            loop.call_soon_threadsafe(built.set)

    state.when_ready(wake)
    await built.wait()


async def _stream(state: PageState, watcher: Watcher) -> AsyncIterator[bytes]:
    """Server-sent events: the versions first, then each change as it comes."""
    sent: tuple[int, int] | None = None
    quiet = 0.0
    yield b"retry: 1000\n\n"
    await _ready(state)
    while not watcher.stopping.is_set():
        snapshot = state.snapshot
        now = (snapshot.version, snapshot.live_version)
        if now != sent:
            if sent is None or now[0] != sent[0]:
                yield _event("data", {"version": now[0]})
            live = {**snapshot.live, "version": now[0], "problem": watcher.problem}
            yield _event("live", live)
            sent, quiet = now, 0.0
        elif quiet >= PING_S:
            yield b": ping\n\n"
            quiet = 0.0
        await asyncio.sleep(STREAM_S)
        quiet += STREAM_S


async def _edit_request(request: Request) -> dict[str, Any] | Response:
    """``{"add": [tag…], "remove": [tag…], "note": text | null}`` from a JSON body."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return PlainTextResponse("send the edit as application/json\n", status_code=415)
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return PlainTextResponse("the body is not JSON\n", status_code=400)
    if not isinstance(body, dict):
        return PlainTextResponse("send a JSON object\n", status_code=400)
    add, remove, note = body.get("add") or [], body.get("remove") or [], body.get("note")
    lists_ok = all(
        isinstance(v, list) and all(isinstance(t, str) for t in v) for v in (add, remove)
    )
    if not lists_ok or not (note is None or isinstance(note, str)):
        return PlainTextResponse("add and remove are lists of tags, note a text\n", status_code=400)
    return {"add": add, "remove": remove, "note": note}


def _encoded(request: Request, bodies: tuple[bytes, bytes], media_type: str) -> Response:
    """The gzipped body when the client accepts gzip, else the plain one."""
    plain, packed = bodies
    headers = {"Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(packed, media_type=media_type, headers=headers)
    return Response(plain, media_type=media_type, headers=headers)


@functools.cache
def _asset(name: str) -> tuple[bytes, bytes, str]:
    """An asset's bytes, gzipped, and its ETag: read once, they ship with the package."""
    body = html.asset(name).encode()
    return (
        body,
        gzip.compress(body, compresslevel=6),
        '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"',
    )


def _json(value: object, status: int = 200) -> Response:
    return Response(orjson.dumps(value), status_code=status, media_type="application/json")


def _event(name: str, payload: object) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


def _remember_token(request: Request, response: Response, guard: Guard) -> None:
    """The token given in the URL becomes a cookie, so the page's own requests carry it."""
    given = request.query_params.get("token")
    if given and guard.token_required:
        response.set_cookie(COOKIE, given, httponly=True, samesite="strict")


def _guarded(app: Callable[..., Awaitable[None]], guard: Guard) -> Callable[..., Awaitable[None]]:
    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        request = Request(scope)
        headers = {k.lower(): v for k, v in request.headers.items()}
        refusal = guard.check(request.method, headers, request.query_params.get("token"))
        if refusal is not None:
            response = PlainTextResponse(refusal.message + "\n", status_code=refusal.status)
            await response(scope, receive, send)
            return
        await app(scope, receive, send)

    return guarded
