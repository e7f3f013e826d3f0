"""The broker: the Celery app configured from the settings (embedded filesystem broker by default, Redis in
production), and the one place the server publishes tasks. The worker consumes with the same app
(worker/celery_app.py); the tasks are named, never imported, here."""

from __future__ import annotations

from celery import Celery

from server.settings import Settings

# Longer than the longest training (60 days, the cap on training.time_limit_s): a late-acked message
# must never be redelivered while its training still runs.
VISIBILITY_TIMEOUT_S = 61 * 86400


def make_app(settings: Settings) -> Celery:
    """A Celery app for SETTINGS (acks_late, reject on worker loss, prefetch 1, JSON only)."""
    app = Celery("fitstudio", broker=settings.celery_broker_url)
    transport: dict[str, object] = {"visibility_timeout": VISIBILITY_TIMEOUT_S}
    if settings.embedded_broker:
        folder = settings.broker_folder
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        transport.update(
            data_folder_in=str(folder / "queue"),
            data_folder_out=str(folder / "queue"),
            processed_folder=str(folder / "processed"),
            control_folder=str(folder / "control"),
            store_processed=False,
        )
    app.conf.update(
        broker_transport_options=transport,
        broker_connection_retry_on_startup=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        task_ignore_result=True,
        result_backend=None,
        task_default_queue="cpu",
        worker_hijack_root_logger=False,
        worker_enable_remote_control=not settings.embedded_broker,
        worker_send_task_events=False,
        broker_heartbeat=0 if settings.embedded_broker else 60,
    )
    app.conf.imports = ("worker.tasks",)
    return app


_apps: dict[tuple[str, str], Celery] = {}


def app_for(settings: Settings) -> Celery:
    """The Celery app for SETTINGS' broker (cached; the API only publishes through it)."""
    key = (settings.celery_broker_url, str(settings.broker_folder))
    if key not in _apps:
        _apps[key] = make_app(settings)
    return _apps[key]


PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def publish(settings: Settings, task: str, arg: int | str, queue: str) -> None:
    """Put task TASK (by name) with ARG on QUEUE; raises when the broker does not take it."""
    app_for(settings).send_task(task, args=[arg], queue=queue, retry=True, retry_policy=PUBLISH_RETRY)


def broker_ping(settings: Settings) -> None:
    """Raise unless the broker answers (the embedded one: its folder is writable)."""
    if settings.embedded_broker:
        folder = settings.broker_folder / "queue"
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".ping"
        probe.write_text("ok")
        probe.unlink()
        return
    with app_for(settings).connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
