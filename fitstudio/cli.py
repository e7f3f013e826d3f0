"""The `fitstudio` command: up, api, worker, db upgrade, users create, tokens create / revoke, weights import."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fitstudio.supervise import ProcessWatch, StopSignals


def _settings():  # type: ignore[no-untyped-def]
    # The CLI imports the server, the worker and uvicorn inside each command, so `fitstudio --help` starts fast.
    from server.settings import get_settings

    return get_settings()


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    """Alembic to head."""
    from server.services.bootstrap import migrate

    settings = _settings()
    migrate(settings)
    print(f"database at head: {settings.sql_url.split('@')[-1]}")
    return 0


@contextmanager
def _migrated_db() -> Iterator[Any]:
    """A database session (committed on leaving), after bringing the schema up to date."""
    from server.db import session_scope
    from server.services.bootstrap import migrate

    migrate(_settings())
    with session_scope() as db:
        yield db


def _fail(text: str) -> int:
    """Say TEXT on stderr as an error; the command's exit status."""
    print(f"error: {text}", file=sys.stderr)
    return 1


def cmd_users_create(args: argparse.Namespace) -> int:
    """Create a user (prompting for nothing: --password or token-only)."""
    from server.errors import ApiError
    from server.services import auth

    try:
        with _migrated_db() as db:
            auth.create_user(db, args.name, password=args.password, is_admin=args.admin)
    except ApiError as exc:
        return _fail(exc.detail)
    print(f"user {args.name} created{' (admin)' if args.admin else ''}")
    return 0


def cmd_tokens_create(args: argparse.Namespace) -> int:
    """Print a new API token for a user, alone on the last line."""
    from server.services import auth

    with _migrated_db() as db:
        user = auth.get_user(db, args.name)
        if user is None:
            return _fail(f"no user {args.name!r}; create it with 'fitstudio users create {args.name}'")
        token = auth.create_token(db, user, args.token_name or "cli")
    print(f"new token for {args.name}:")
    print(token)
    return 0


def cmd_tokens_revoke(args: argparse.Namespace) -> int:
    """Revoke an API token by its id (GET /api/v1/tokens lists a user's tokens with their ids)."""
    from server.models import ApiToken, utcnow
    from server.services import audit

    with _migrated_db() as db:
        row = db.get(ApiToken, args.id)
        if row is None:
            return _fail(f"no token with id {args.id}")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            audit.record(db, None, "token.revoke", str(row.id), via="cli", owner=row.user.username)
        owner, prefix = row.user.username, row.prefix
    print(f"token {args.id} ({prefix}…) of {owner} is revoked")
    return 0


def cmd_weights_import(args: argparse.Namespace) -> int:
    """Copy pre-trained weights files into the site-wide weights store (the Keras cache of every training)."""
    from pathlib import Path

    from server.errors import ApiError
    from server.services import weights

    settings = _settings()
    failed = 0
    for name in args.files:
        try:
            info = weights.import_file(settings, Path(name))
        except (ApiError, OSError) as exc:
            print(f"error: {name}: {getattr(exc, 'detail', None) or exc}", file=sys.stderr)
            failed += 1
            continue
        print(f"imported {info['name']} ({info['size']} bytes) into {settings.weights_store}")
    return 1 if failed else 0


def cmd_weights_list(_args: argparse.Namespace) -> int:
    """Print the weights store's files."""
    from server.services import weights

    settings = _settings()
    for info in weights.list_files(settings):
        print(f"{info['size']:>12}  {info['name']}")
    return 0


def _worker_name(name: str, pid: int | None = None) -> str:
    """NAME@host (Celery would otherwise prefix 'celery@'); the default, fitstudio-PID, is unique per process."""
    name = name or f"fitstudio-{pid or os.getpid()}"
    return name if "@" in name else f"{name}@{socket.gethostname()}"


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker that trains sessions from the given queues."""
    gpus = [g.strip() for g in (args.gpus or "").split(",") if g.strip()]
    os.environ["FITSTUDIO_WORKER_GPUS"] = ",".join(gpus)
    from server.services.bootstrap import migrate

    migrate(_settings())
    from worker.celery_app import app

    concurrency = args.concurrency or max(1, len(gpus))
    argv = [
        "worker",
        f"--loglevel={args.loglevel}",
        "-Q",
        args.queues,
        "-c",
        str(concurrency),
        "-P",
        "threads",
        "-n",
        _worker_name(args.name),
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    app.worker_main(argv=argv)
    return 0


def _default_public_url(host: str, port: int) -> None:
    """Download links point at the address we serve on, unless FITSTUDIO_PUBLIC_URL says otherwise."""
    if not os.environ.get("FITSTUDIO_PUBLIC_URL"):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        os.environ["FITSTUDIO_PUBLIC_URL"] = f"http://{shown}:{port}"
        from server.settings import get_settings

        get_settings.cache_clear()


def cmd_api(args: argparse.Namespace) -> int:
    """Serve the API and web UI with uvicorn."""
    import uvicorn

    _default_public_url(args.host, args.port)
    from server.services.bootstrap import migrate

    migrate(_settings())
    uvicorn.run(
        "webui.app:create_app", factory=True, host=args.host, port=args.port, log_level="info", proxy_headers=False
    )
    return 0


def _prepare_up(args: argparse.Namespace) -> None:
    """Migrate, create the admin and the demo on first start, print the login link."""
    from server.db import session_scope
    from server.services import bootstrap

    _default_public_url(args.host, args.port)
    settings = _settings()
    settings.ensure_dirs()
    bootstrap.migrate(settings)
    with session_scope() as db:
        admin, token = bootstrap.ensure_admin(db)
        bootstrap.ensure_demo(db, settings, admin)
    base = f"http://{args.host}:{args.port}"
    print(f"fitstudio home: {settings.home}", flush=True)
    if token:
        print(f"admin user: {admin.username}\nAPI token: {token}", flush=True)
        print(f"log in (this link works once, within a day): {base}/login?token={token}", flush=True)
    else:
        print(
            f"open {base}/ (new login link: FITSTUDIO_HOME={settings.home} fitstudio tokens create {admin.username})",
            flush=True,
        )


def _mark_worker_stopped(pid: int, _code: int) -> None:
    """The row of up's worker that died says stopped: /readyz and the workers page no longer count it."""
    from server.db import session_scope
    from server.models import WorkerRecord, utcnow

    with session_scope() as db:
        row = db.get(WorkerRecord, _worker_name("", pid))
        if row is not None and row.stopped_at is None:
            row.stopped_at, row.current_sessions = utcnow(), []


def _worker_watch(args: argparse.Namespace) -> ProcessWatch:
    """up's worker (queues gpu,cpu), restarted with backoff whenever it dies."""
    argv = [sys.executable, "-m", "fitstudio.cli", "worker", "--queues", "gpu,cpu", "--loglevel", "warning"]
    return ProcessWatch("worker", argv + (["--gpus", args.gpus] if args.gpus else []), on_exit=_mark_worker_stopped)


def cmd_up(args: argparse.Namespace) -> int:
    """Everything on one machine: migrate, admin + demo on first start, a supervised worker, and the API."""
    import uvicorn

    watch: ProcessWatch | None = None
    StopSignals(again=lambda: watch.terminate() if watch else None).install()  # a second signal: stop at once
    try:
        _prepare_up(args)
        watch = _worker_watch(args)
        watch.start()
        uvicorn.run(  # X-Forwarded-For is ours to judge (FITSTUDIO_TRUSTED_PROXIES), not uvicorn's
            "webui.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            log_level="warning",
            proxy_headers=False,
        )
    except KeyboardInterrupt:
        pass
    finally:
        if watch is not None:
            print("stopping the worker (its trainings checkpoint and go back to the queue)", flush=True)
            watch.stop(timeout=_settings().drain_timeout_s + 30)
        print("fitstudio stopped", flush=True)
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    p = argparse.ArgumentParser(prog="fitstudio", description="Train Keras models as a service.")
    sub = p.add_subparsers(dest="command", required=True)

    up = sub.add_parser("up", help="run everything on this machine (embedded defaults)")
    up.add_argument("--host", default="127.0.0.1")
    up.add_argument("--port", type=int, default=8000)
    up.add_argument("--gpus", default="", help="GPUs for the embedded worker, e.g. 0,1")
    up.set_defaults(fn=cmd_up)

    api = sub.add_parser("api", help="run the API and web UI")
    api.add_argument("--host", default="127.0.0.1")
    api.add_argument("--port", type=int, default=8000)
    api.set_defaults(fn=cmd_api)

    wk = sub.add_parser("worker", help="run a training worker")
    wk.add_argument("--queues", default="gpu,cpu")
    wk.add_argument("--gpus", default="")
    wk.add_argument("--concurrency", type=int, default=0)
    wk.add_argument("--name", default="")
    wk.add_argument("--loglevel", default="info")
    wk.set_defaults(fn=cmd_worker)

    db = sub.add_parser("db", help="database commands")
    dbsub = db.add_subparsers(dest="db_command", required=True)
    dbsub.add_parser("upgrade", help="migrate to the newest schema").set_defaults(fn=cmd_db_upgrade)

    users = sub.add_parser("users", help="user accounts")
    usub = users.add_subparsers(dest="users_command", required=True)
    uc = usub.add_parser("create", help="create a user")
    uc.add_argument("name")
    uc.add_argument("--admin", action="store_true")
    uc.add_argument("--password", default=None)
    uc.set_defaults(fn=cmd_users_create)

    tokens = sub.add_parser("tokens", help="API tokens")
    tsub = tokens.add_subparsers(dest="tokens_command", required=True)
    tc = tsub.add_parser("create", help="print a new token for user NAME (last line)")
    tc.add_argument("name")
    tc.add_argument("--token-name", default="cli")
    tc.set_defaults(fn=cmd_tokens_create)
    tr = tsub.add_parser("revoke", help="revoke the token with id ID (see GET /api/v1/tokens)")
    tr.add_argument("id", type=int)
    tr.set_defaults(fn=cmd_tokens_revoke)

    wt = sub.add_parser("weights", help="the pre-trained weights store (FITSTUDIO_WEIGHTS_DIR)")
    wsub = wt.add_subparsers(dest="weights_command", required=True)
    wi = wsub.add_parser("import", help="copy weights files (named as Keras asks for them) into the store")
    wi.add_argument("files", nargs="+", metavar="FILE")
    wi.set_defaults(fn=cmd_weights_import)
    wsub.add_parser("list", help="list the store's files").set_defaults(fn=cmd_weights_list)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI."""
    args = parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
