"""TensorBoard itself, behind fitstudio's login: `/sessions/{id}/tensorboard/` and `/ml-tasks/{id}/tensorboard/`.

The `tensorboard` package's WSGI app is served in this process (a2wsgi runs it on a small thread pool): no extra
port, no second login. Each request is authenticated first (a Bearer token, or the web UI's session cookie) and
needs the reader role in the session's project (404 when the caller cannot see it, as everywhere); only then is
it handed to the TensorBoard app of that logdir. The same routes answer under `/api/v1` too (docs/decisions.md).

A session's logdir is `artifacts/sessions/<id>/tensorboard/`, which only the worker writes (worker/tensorboard_logs.py);
an ML task's shows each of its sessions as a run named `s<N>`. Apps are built on first use and kept in a small
LRU cache; instead of TensorBoard's endless reload thread (which an evicted app would leave running), a request
reloads its app's logs when they are older than RELOAD_EVERY_S, so a training shows live.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import closing
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from server.api.deps import user_from_cookie
from server.db import new_session
from server.errors import ApiError
from server.services import access, auth, session_list, storage
from server.settings import get_settings
from webui.web import render

CACHE_SIZE = 16  # TensorBoard apps kept (each holds its runs' scalars in memory)
RELOAD_EVERY_S = 5.0
WSGI_THREADS = 8
SCOPE_KEY = "fitstudio.tensorboard"

# Plugins served: the data dashboards. Left out: the debugger (its own reader threads), and the redirect
# plugins that point to other packages' servers.
_LEFT_OUT = ("DebuggerV2Plugin", "ProfileRedirectPluginLoader", "WITRedirectPluginLoader", "CorePluginLoader")


class Board:
    """One TensorBoard app over RUNS ({folder: run name, or None for a single session's folder})."""

    def __init__(self, runs: dict[str, str | None], title: str):
        from tensorboard import default, program
        from tensorboard.backend import application
        from tensorboard.backend.event_processing import data_ingester
        from tensorboard.plugins.core import core_plugin

        plugins: list[Any] = [core_plugin.CorePluginLoader(include_debug_info=False)]  # no server paths shown
        plugins += [p for p in default.get_static_plugins() if _name(p) not in _LEFT_OUT]
        board = program.TensorBoard(plugins=plugins)
        if list(runs.values()) == [None]:
            flags: dict[str, Any] = {"logdir": next(iter(runs))}
        else:
            flags = {"logdir_spec": ",".join(f"{name}:{path}" for path, name in runs.items())}
        board.configure(reload_interval=0, window_title=title, **flags)
        self.runs = runs
        self.ingester = data_ingester.LocalDataIngester(board.flags)  # never start()ed: reload() loads
        self.multiplexer = self.ingester.deprecated_multiplexer
        self.app = application.TensorBoardWSGIApp(
            board.flags, board.plugin_loaders, self.ingester.data_provider, board.assets_zip_provider, self.multiplexer
        )
        self._loaded_at: float | None = None
        self._lock = threading.Lock()

    def reload(self) -> None:
        """Read what is new in the logs, at most every RELOAD_EVERY_S; the first call waits for the first load,
        later ones skip it while another request is reloading."""
        if self._loaded_at is not None and time.monotonic() - self._loaded_at < RELOAD_EVERY_S:
            return
        if not self._lock.acquire(blocking=self._loaded_at is None):
            return
        try:
            for path, name in self.runs.items():
                self.multiplexer.AddRunsFromDirectory(path, name)
            self.multiplexer.Reload()
            self._loaded_at = time.monotonic()
        finally:
            self._lock.release()


def _name(plugin: Any) -> str:
    return getattr(plugin, "__name__", type(plugin).__name__)


class Boards:
    """The LRU cache of Board per set of runs."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._boards: OrderedDict[tuple[tuple[str, str | None], ...], Board] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, runs: dict[str, str | None], title: str) -> Board:
        """The Board of RUNS, built on first use (outside the lock: building takes a moment)."""
        key = tuple(sorted(runs.items(), key=lambda item: item[0]))
        with self._lock:
            board = self._boards.get(key)
            if board is not None:
                self._boards.move_to_end(key)
                return board
        board = Board(runs, title)
        with self._lock:
            board = self._boards.setdefault(key, board)
            self._boards.move_to_end(key)
            while len(self._boards) > self.size:
                self._boards.popitem(last=False)
        return board

    def clear(self) -> None:
        """Forget every app (tests)."""
        with self._lock:
            self._boards.clear()


BOARDS = Boards()


def _serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The WSGI app behind a2wsgi: the Board the ASGI side chose, with its logs freshly reloaded."""
    board: Board = environ["asgi.scope"][SCOPE_KEY]
    board.reload()
    return board.app(environ, start_response)


_wsgi: Any = None


def _wsgi_app() -> Any:
    global _wsgi
    if _wsgi is None:
        from a2wsgi import WSGIMiddleware

        _wsgi = WSGIMiddleware(_serve, workers=WSGI_THREADS)
    return _wsgi


class _Refused(Exception):
    def __init__(self, response: Response):
        self.response = response


class TensorBoardApp:
    """ASGI app mounted at `…/sessions/{session_id}/tensorboard` or `…/ml-tasks/{mltask_id}/tensorboard`."""

    def __init__(self, kind: str):
        self.kind = kind  # "session" or "ml_task"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        if scope["method"] not in ("GET", "HEAD", "POST"):  # TensorBoard POSTs its larger reads
            response: Response = JSONResponse(
                {"detail": "TensorBoard is read-only: GET, HEAD or POST.", "code": "method_not_allowed"},
                status_code=405,
                headers={"Allow": "GET, HEAD, POST"},
            )
            await response(scope, receive, send)
            return
        try:
            runs, title = await run_in_threadpool(self._authorize, request)
            board = await run_in_threadpool(BOARDS.get, runs, title)
        except _Refused as refused:
            await refused.response(scope, receive, send)
            return
        scope[SCOPE_KEY] = board
        await _wsgi_app()(scope, receive, send)

    def _authorize(self, request: Request) -> tuple[dict[str, str | None], str]:
        """The runs this caller may see here, or _Refused with the answer (401/redirect, 404, 403)."""
        settings = get_settings()
        with closing(new_session()) as db:
            header = request.headers.get("authorization", "")
            if header:
                scheme, _, token = header.partition(" ")
                user = auth.user_for_token(db, token.strip()) if scheme.lower() == "bearer" and token.strip() else None
                if user is None:
                    raise _Refused(_unauthorized("bad_token", "This token is unknown or revoked."))
            else:
                # Its POSTs carry no CSRF token: TensorBoard only reads, and the SameSite=Lax cookie is not sent
                # with another site's POST.
                user = user_from_cookie(request, db)
                if user is None:
                    raise _Refused(_login_needed(request))
            params = request.path_params
            try:
                if self.kind == "session":
                    row = access.session(db, user, params.get("session_id"))  # type: ignore[arg-type]
                    folder = storage.session_dir(settings, row.id) / "tensorboard"
                    return {str(folder): None}, f"TensorBoard · session {row.id}"
                task = access.ml_task(db, user, str(params.get("mltask_id")))
                rows = session_list.ids(db, task)  # ids and numbers only: never every session's design and history
                runs: dict[str, str | None] = {
                    str(storage.session_dir(settings, i) / "tensorboard"): f"s{number}" for i, number in reversed(rows)
                }
                if not runs:  # no session yet: an empty board
                    runs = {str(settings.artifacts / "sessions" / "none" / "tensorboard"): "none"}
                return runs, f"TensorBoard · ML task {task.id}"
            except ApiError as exc:
                raise _Refused(_error(request, exc)) from None


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.headers.get("x-requested-with") == "fetch"


def _unauthorized(code: str, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


def _login_needed(request: Request) -> Response:
    if _is_api(request) or "text/html" not in request.headers.get("accept", ""):
        return _unauthorized("unauthorized", "Authentication needed: log in, or send 'Authorization: Bearer <token>'.")
    return RedirectResponse(f"/login?next={quote(request.url.path, safe='')}", status_code=303)


def _error(request: Request, exc: Any) -> Response:
    if _is_api(request) or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse(exc.body(), status_code=exc.status)
    return render(request, "error.html", {"error": exc}, status_code=exc.status)


def _slash(request: Request) -> Response:
    """`…/tensorboard` → `…/tensorboard/` (TensorBoard's pages load their data by relative URLs)."""
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(request.url.path + "/" + query, status_code=307)


def install(app: FastAPI) -> None:
    """Mount TensorBoard for sessions and ML tasks, as pages and under /api/v1."""
    for prefix in ("", "/api/v1"):
        for path, kind in (
            (f"{prefix}/sessions/{{session_id:int}}/tensorboard", "session"),
            (f"{prefix}/ml-tasks/{{mltask_id}}/tensorboard", "ml_task"),
        ):
            app.add_api_route(path.replace(":int", ""), _slash, methods=["GET"], include_in_schema=False)
            app.router.routes.append(Mount(path, app=TensorBoardApp(kind)))
