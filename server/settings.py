"""The one settings object: every process reads FITSTUDIO_* variables through it."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """fitstudio's configuration, from `FITSTUDIO_*` environment variables (operations.md)."""

    model_config = SettingsConfigDict(env_prefix="FITSTUDIO_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".fitstudio")
    database_url: str | None = None
    broker_url: str | None = None
    artifact_root: Path | None = None
    secret_key: str | None = None
    max_upload_mb: int = 1024
    max_json_mb: int = 1  # any other request body (JSON, web forms); refused while it streams (413)
    max_predict_mb: int = 32  # bodies of …/predict: up to 10 000 rows, images as base64
    max_zip_expanded_mb: int = 20480  # bytes one image ZIP upload may write once extracted
    upload_memory_mb: int = 256  # what one CSV upload's parse may add to the process; sets its blocks (tables.py)
    upload_parse_process: bool = True  # parse uploads in processes of their own, off the API's (parse_process.py)
    sse_max_streams: int = 200  # live event streams one API process serves at once (beyond: 503)
    sse_max_per_user: int = 20  # live event streams of one user at once (beyond: 429)
    sse_poll_threads: int = 4  # threads (and their own SQL connections) that poll for all live streams
    dry_run_wait_s: float = 20.0  # validate?dry_run=true waits this long for the worker, then answers 202 to poll
    dry_run_max_waiting: int = 16  # dry-run requests one API process keeps waiting at once (beyond: 503)
    dry_run_max_per_user: int = 4  # dry-run requests of one user waiting at once (beyond: 429)
    scoring_wait_s: float = 120.0  # …/predict of a model that needs its code cells waits this long for a worker (504)
    scoring_max_waiting: int = 8  # such predictions one API process keeps waiting at once (beyond: 503)
    score_batch_rows: int = Field(10_000, ge=1, le=10_000)  # rows a batch-scoring job scores at once (at most)
    job_progress_every_s: float = Field(1.0, ge=0, le=60)  # a job writes its progress (and sees an abort) this often
    login_link_ttl_s: int = 86400  # a /login?token= link logs in once, within this long of its token's creation
    ready_min_free_disk_mb: int = 64  # /readyz answers 503 when FITSTUDIO_HOME's disk has less free
    min_free_disk_mb: int = 256  # an extraction never leaves less than this free on the data disk (else 507)
    training_memory_mb: int = 8192
    public_url: str = "http://127.0.0.1:8000"
    allowed_hosts: Annotated[list[str], NoDecode] = ["127.0.0.1", "localhost", "::1"]
    trusted_proxies: Annotated[list[str], NoDecode] = []  # addresses/CIDRs whose X-Forwarded-For is believed

    # Worker and training runtime knobs (not in the spec's list; documented in docs/configuration.md).
    worker_heartbeat_s: float = 5.0
    worker_lost_after_s: float = 60.0  # no heartbeat for this long: its sessions are re-queued or failed
    reconcile_every_s: float = 15.0
    republish_after_s: float = 60.0  # a queued session absent from the broker this long is published again
    checkpoint_every_s: float = 300.0  # epoch checkpoints for resuming, at most this often (0 = every epoch)
    max_attempts: int = 2  # a session lost with its worker is re-queued once
    db_retry_s: float = 150.0  # how long a worker retries a database write (SQL away, disk full) before it gives up
    db_finish_retry_s: float = 3600.0  # the same for the write that ends a training (its outcome must not be lost)
    drain_timeout_s: float = 120.0  # on SIGTERM, how long a training may take to checkpoint and hand back
    orphan_max_age_s: float = 3600.0  # scratch folders and temporary files older than this are removed
    training_cpu_time_s: int = 0  # 0 = no RLIMIT_CPU beyond the session's wall-clock limit
    training_max_open_files: int = 4096
    training_max_processes: int = 1024
    training_max_file_mb: int = 16384
    # A training whose inputs would take more memory than this reads them a batch at a time from a memory-mapped
    # store on disk (issue 17, docs/decisions.md); 0 streams every training, small ones included.
    training_stream_above_mb: int = Field(1024, ge=0)
    training_nice: int = 5  # niceness of the training child and its autogroup (bench/nice_sweep.py, docs/decisions.md)
    # glibc's malloc tuned in the training child (worker/child_process.MALLOC_TUNING; false = glibc's defaults): a CNN
    # epoch took a third less time on 2 cores (docs/benchmarks.md, "glibc's malloc in the training child").
    training_malloc_tuning: bool = True
    python_executable: str | None = None
    log_format: Literal["text", "json"] = "text"  # FITSTUDIO_LOG_FORMAT=json: one JSON object per log line
    metrics_token: str | None = None  # when set, GET /metrics wants `Authorization: Bearer <it>` (Prometheus)
    training_sandbox: bool = True  # bubblewrap sandbox (docs/security.md); false = the operator's explicit opt-out
    training_uid_base: int = 200_000  # a root worker runs user code as uid base + (0..49999), never as root
    training_sandbox_paths: Annotated[list[str], NoDecode] = []  # extra read-only paths in the sandbox (drivers…)
    training_network: bool = False  # whether user code may open network connections
    max_log_mb: int = 100  # a training's output log is cut here, with a truncation line (docs/reliability.md)
    image_cache_mb: int = 10240  # preprocessed image caches, all datasets together; LRU evicted (0: none)
    weights_dir: Path | None = None  # the site-wide Keras weights store (default HOME/weights), read-only in trainings

    @field_validator("allowed_hosts", "training_sandbox_paths", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                import json

                return json.loads(text)
            return [h.strip() for h in text.split(",") if h.strip()]
        return value

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    # Derived locations -------------------------------------------------------

    @property
    def data_root(self) -> Path:
        """Where uploaded datasets live."""
        return self.home / "data"

    @property
    def artifacts(self) -> Path:
        """Where model files live (shared by the API and every worker)."""
        root = self.artifact_root if self.artifact_root else self.home / "artifacts"
        return Path(root).expanduser().resolve()

    @property
    def weights_store(self) -> Path:
        """The site-wide pre-trained weights store: the Keras cache (`models/`) of every training (data.md)."""
        root = self.weights_dir if self.weights_dir else self.home / "weights"
        return Path(root).expanduser().resolve()

    @property
    def scratch_root(self) -> Path:
        """Scratch directories of training child processes."""
        return self.home / "scratch"

    @property
    def broker_folder(self) -> Path:
        """Folder of the embedded (filesystem) broker."""
        return self.home / "broker"

    @property
    def sql_url(self) -> str:
        """The database URL, SQLite under HOME unless FITSTUDIO_DATABASE_URL is set."""
        return self.database_url or f"sqlite:///{self.home / 'fitstudio.db'}"

    @property
    def celery_broker_url(self) -> str:
        """The broker URL, the embedded filesystem broker unless FITSTUDIO_BROKER_URL is set."""
        return self.broker_url or "filesystem://localhost/"

    @property
    def embedded_broker(self) -> bool:
        """True when the broker is kombu's filesystem transport."""
        return self.celery_broker_url.startswith("filesystem://")

    @property
    def signing_key(self) -> str:
        """SECRET_KEY, or a random key persisted under HOME on first use."""
        if self.secret_key:
            return self.secret_key
        path = self.home / "secret_key"
        if not path.exists():
            self.home.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(secrets.token_urlsafe(48))
            tmp.chmod(0o600)
            tmp.replace(path)
        return path.read_text().strip()

    def ensure_dirs(self) -> None:
        """Create HOME and the folders under it."""
        for folder in (
            self.home,
            self.data_root,
            self.artifacts,
            self.scratch_root,
            self.broker_folder,
            self.weights_store,
        ):
            folder.mkdir(parents=True, exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests clear the cache to change them)."""
    return Settings()
