"""The `fitstudio` command: up, api, worker, db upgrade, weights; the account commands are in cli_accounts."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Sequence

from fitstudio import __version__
from fitstudio.cli_accounts import add_account_commands, start_link_lines
from fitstudio.cli_common import HelpFormatter, add_command
from fitstudio.cli_common import settings as _settings
from fitstudio.supervise import ProcessWatch, StopSignals

# The CLI imports the server, the worker and uvicorn inside each command, so `fitstudio --help` starts fast.


def cmd_db_upgrade(_args: argparse.Namespace) -> int:
    """Alembic to head."""
    from server.services.bootstrap import migrate

    settings = _settings()
    migrate(settings)
    print(f"database at head: {settings.sql_url.split('@')[-1]}")
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


def _join_service() -> None:
    """Rank this process (the API or a worker) above the trainings in the cpu cgroups, where they can be used."""
    from worker.cgroups import join_service

    join_service()


def cmd_worker(args: argparse.Namespace) -> int:
    """Run a Celery worker that trains sessions from the given queues."""
    _join_service()
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

    _join_service()
    _default_public_url(args.host, args.port)
    from server.db import session_scope
    from server.services.bootstrap import migrate

    migrate(_settings())
    if not args.no_login_link:
        with session_scope() as db:
            lines = start_link_lines(db)
        print("\n".join(lines), flush=True)
    uvicorn.run(
        "webui.app:create_app", factory=True, host=args.host, port=args.port, log_level="info", proxy_headers=False
    )
    return 0


def _prepare_up(args: argparse.Namespace) -> None:
    """Migrate, create the admin and the demo on first start, print a fresh login link (every start)."""
    from server.db import session_scope
    from server.services import bootstrap

    _default_public_url(args.host, args.port)
    settings = _settings()
    settings.ensure_dirs()
    bootstrap.migrate(settings)
    print(f"fitstudio home: {settings.home}", flush=True)
    with session_scope() as db:
        admin, token = bootstrap.ensure_admin(db)
        bootstrap.ensure_demo(db, settings, admin)
        lines = start_link_lines(db, token)
    if token:  # the first start: the admin's API token, which its login link carries too
        print(f"admin user: {admin.username}\nAPI token: {token}", flush=True)
    print("\n".join(lines), flush=True)


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

    _join_service()  # before the worker starts: it is in the service's cgroup from its first instruction
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
    p = argparse.ArgumentParser(
        prog="fitstudio",
        description="Train Keras models as a service: `fitstudio up` runs it all on this machine.",
        epilog="`fitstudio COMMAND --help` describes a command. Settings: FITSTUDIO_* (docs/configuration.md).",
        formatter_class=HelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"fitstudio {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = add_command(
        sub,
        "up",
        "run everything on this machine (embedded defaults)",
        "run the API, the web UI and one "
        "supervised training worker on this machine, with SQLite and a broker that need no server, all under "
        "FITSTUDIO_HOME; the first start creates the admin and the DEMO project, every start prints a login link",
    )
    _serve_options(up)
    up.add_argument("--gpus", default="", help="GPUs for the embedded worker, e.g. 0,1 (none: CPU only)")
    up.set_defaults(fn=cmd_up)

    api = add_command(
        sub,
        "api",
        "run the API and web UI",
        "serve the API and the web UI (migrating the database first); "
        "prints a fresh login link for the first site admin",
    )
    _serve_options(api)
    api.add_argument("--no-login-link", action="store_true", help="print no login link (e.g. many API replicas)")
    api.set_defaults(fn=cmd_api)

    wk = add_command(sub, "worker", "run a training worker", "run a Celery worker that trains sessions")
    wk.add_argument("--queues", default="gpu,cpu", help="the queues it consumes, comma-separated")
    wk.add_argument("--gpus", default="", help="GPU ids it hands to trainings, e.g. 0,1 (none: CPU only)")
    wk.add_argument("--concurrency", type=int, default=0, help="trainings at once (0: one per GPU, at least 1)")
    wk.add_argument("--name", default="", help="its name (none: fitstudio-PID@host)")
    wk.add_argument("--loglevel", default="info", help="Celery's log level")
    wk.set_defaults(fn=cmd_worker)

    db = add_command(sub, "db", "database commands")
    dbsub = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    add_command(dbsub, "upgrade", "migrate the database to the newest schema").set_defaults(fn=cmd_db_upgrade)

    add_account_commands(sub)

    wt = add_command(sub, "weights", "the pre-trained weights store (FITSTUDIO_WEIGHTS_DIR)")
    wsub = wt.add_subparsers(dest="weights_command", required=True, metavar="COMMAND")
    wi = add_command(wsub, "import", "copy weights files (named as Keras asks for them) into the store")
    wi.add_argument("files", nargs="+", metavar="FILE", help="a weights file, e.g. resnet50_weights_tf_….h5")
    wi.set_defaults(fn=cmd_weights_import)
    add_command(wsub, "list", "list the store's files with their sizes").set_defaults(fn=cmd_weights_list)
    return p


def _serve_options(command: argparse.ArgumentParser) -> None:
    """--host and --port of up and api."""
    command.add_argument("--host", default="127.0.0.1", help="the address to listen on (0.0.0.0: every interface)")
    command.add_argument("--port", type=int, default=8000, help="the port to listen on")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI."""
    args = parser().parse_args(argv)
    return int(args.fn(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
