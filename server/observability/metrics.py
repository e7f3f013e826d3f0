"""Prometheus metrics computed at scrape time from SQL (and the Redis broker), so every API replica agrees.

Training durations are read from the sessions table rather than observed inside worker processes: workers
run on many machines, are not HTTP servers, restart and lose in-process counters, and prometheus_client's
multiprocess mode only spans one host. SQL is the source of truth and already holds every session's start
and end, so one aggregate query per scrape gives the complete histogram from whichever API answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, case, func, literal_column, select
from sqlalchemy.engine import Engine

from core.status import TERMINAL, SessionStatus
from server.db import get_engine
from server.models import TrainingSession
from server.settings import get_settings

log = logging.getLogger(__name__)

STATUSES = tuple(s.value for s in SessionStatus)
QUEUES = ("gpu", "cpu")
# Seconds: 10 s … 7 days, for trainings from a quick test to a week on a GPU.
DURATION_BUCKETS = (10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800, 604800)
# kombu's Redis transport keeps one list per priority step; unprioritised messages go to the plain name.
_PRIORITY_SEP = "\x06\x16"
_PRIORITY_STEPS = (0, 3, 6, 9)


def duration_expr(dialect: str) -> ColumnElement[Any]:
    """SQL for a session's ended_at - started_at in seconds, for DIALECT (postgresql, sqlite, others)."""
    ts = TrainingSession
    if dialect == "postgresql":
        return func.extract("epoch", ts.ended_at - ts.started_at)
    if dialect == "sqlite":
        return (func.julianday(ts.ended_at) - func.julianday(ts.started_at)) * 86400.0
    return func.timestampdiff(literal_column("SECOND"), ts.started_at, ts.ended_at)  # MySQL/MariaDB


def session_counts(engine: Engine) -> list[tuple[str, str, int]]:
    """(status, queue, count) of every session: one GROUP BY query."""
    ts = TrainingSession
    query = select(ts.status, ts.queue, func.count()).group_by(ts.status, ts.queue)
    with engine.connect() as conn:
        return [(str(s), str(q), int(n)) for s, q, n in conn.execute(query)]


def duration_rows(engine: Engine, buckets: Iterable[float] = DURATION_BUCKETS) -> list[tuple[Any, ...]]:
    """(status, queue, count, sum, count ≤ bucket…) of the sessions that started and ended: one query."""
    ts = TrainingSession
    seconds = duration_expr(engine.dialect.name).label("seconds")
    ended = (
        select(ts.status, ts.queue, seconds)
        .where(ts.started_at.is_not(None), ts.ended_at.is_not(None), ts.status.in_(TERMINAL))
        .subquery()
    )
    columns = [func.count(), func.coalesce(func.sum(ended.c.seconds), 0.0)]
    columns += [func.sum(case((ended.c.seconds <= b, 1), else_=0)) for b in buckets]
    query = select(ended.c.status, ended.c.queue, *columns).group_by(ended.c.status, ended.c.queue)
    with engine.connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def redis_queue_lengths(url: str, queues: Iterable[str], client_cache: dict[str, Any]) -> dict[str, int]:
    """Messages waiting in the Redis broker per queue (LLEN over kombu's priority lists)."""
    import redis

    client = client_cache.get(url)
    if client is None:
        client = client_cache[url] = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
    names = list(queues)
    pipe = client.pipeline(transaction=False)
    for name in names:
        for step in _PRIORITY_STEPS:
            pipe.llen(name if step == 0 else f"{name}{_PRIORITY_SEP}{step}")
    lengths = pipe.execute()
    per = len(_PRIORITY_STEPS)
    return {name: int(sum(lengths[i * per : (i + 1) * per])) for i, name in enumerate(names)}


class FitstudioCollector(Collector):
    """Sessions by status, queue depths (SQL and broker) and training durations, read at each scrape."""

    def __init__(self) -> None:
        """A collector with its own Redis clients (one per broker URL, reused across scrapes)."""
        self._redis_clients: dict[str, Any] = {}

    def describe(self) -> list[Metric]:
        """Nothing up front: the collector queries SQL only when scraped."""
        return []

    def collect(self) -> Iterator[Metric]:
        """The metrics, from the current settings' database and broker."""
        settings = get_settings()
        sql_up = GaugeMetricFamily("fitstudio_sql_up", "1 when the metrics' SQL queries succeeded at this scrape")
        try:
            engine = get_engine()
            counts = session_counts(engine)
            durations = duration_rows(engine)
        except Exception as exc:  # a scrape reports, it does not fail
            log.warning("metrics: SQL query failed: %s", exc)
            sql_up.add_metric([], 0)
            yield sql_up
            return
        sql_up.add_metric([], 1)
        yield sql_up
        yield from self._sessions(counts)
        queues = sorted(set(QUEUES) | {q for _s, q, _n in counts})
        yield from self._broker(settings.broker_url, queues)
        yield self._durations(durations)

    @staticmethod
    def _sessions(counts: list[tuple[str, str, int]]) -> Iterator[Metric]:
        """fitstudio_sessions{status} and fitstudio_queue_depth{queue} from the (status, queue, count) rows."""
        by_status = dict.fromkeys(STATUSES, 0)
        queued = dict.fromkeys(QUEUES, 0)
        for status, queue, n in counts:
            by_status[status] = by_status.get(status, 0) + n
            if status == SessionStatus.QUEUED:
                queued[queue] = queued.get(queue, 0) + n
        sessions = GaugeMetricFamily("fitstudio_sessions", "Training sessions by status", labels=["status"])
        for status, n in sorted(by_status.items()):
            sessions.add_metric([status], n)
        yield sessions
        depth = GaugeMetricFamily(
            "fitstudio_queue_depth", "Sessions queued in SQL (not started yet) per Celery queue", labels=["queue"]
        )
        for queue, n in sorted(queued.items()):
            depth.add_metric([queue], n)
        yield depth

    def _broker(self, broker_url: str | None, queues: list[str]) -> Iterator[Metric]:
        """fitstudio_broker_queue_length{queue} for a Redis broker; nothing for others or when Redis fails."""
        if not broker_url or not broker_url.startswith(("redis://", "rediss://")):
            return
        try:
            lengths = redis_queue_lengths(broker_url, queues, self._redis_clients)
        except Exception as exc:
            log.warning("metrics: Redis LLEN failed: %s", exc)
            return
        broker = GaugeMetricFamily(
            "fitstudio_broker_queue_length", "Messages waiting in the Redis broker per Celery queue", labels=["queue"]
        )
        for queue, n in sorted(lengths.items()):
            broker.add_metric([queue], n)
        yield broker

    @staticmethod
    def _durations(rows: list[tuple[Any, ...]]) -> Metric:
        """fitstudio_training_duration_seconds{status,queue} from duration_rows()."""
        hist = HistogramMetricFamily(
            "fitstudio_training_duration_seconds",
            "Wall-clock time from start to end of the sessions that ended (from SQL)",
            labels=["status", "queue"],
        )
        for status, queue, count, total, *cumulative in rows:
            buckets = [(_le(b), float(c or 0)) for b, c in zip(DURATION_BUCKETS, cumulative, strict=True)]
            buckets.append(("+Inf", float(count)))
            hist.add_metric([str(status), str(queue)], buckets, float(total or 0.0))
        return hist


def _le(bound: float) -> str:
    """A bucket bound as Prometheus writes it (10 -> '10.0')."""
    return str(float(bound))
