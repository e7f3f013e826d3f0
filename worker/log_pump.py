"""A training's output, copied from its pipe into the session log up to a size cap, then drained and counted."""

from __future__ import annotations

import os
import threading
from pathlib import Path

CHUNK = 64 << 10


class LogPump:
    """Reads the child's stdout/stderr pipe on a thread of its own and appends it to LOG_PATH, at most MAX_BYTES
    per run; past that one truncation line is written and the rest is read and dropped (the child never blocks,
    the disk never fills with a flooding training's output)."""

    def __init__(self, read_fd: int, log_path: Path, max_bytes: int):
        self.read_fd = read_fd
        self.log_path = log_path
        self.max_bytes = max_bytes
        self.written = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._pump, name="fitstudio-log-pump", daemon=True)

    def start(self) -> LogPump:
        """Start copying."""
        self._thread.start()
        return self

    def join(self, timeout: float | None = 10) -> None:
        """Wait until every writer of the pipe has closed it (the child and all it started are gone)."""
        self._thread.join(timeout)

    def _pump(self) -> None:
        with os.fdopen(self.read_fd, "rb", buffering=0) as pipe, open(self.log_path, "ab") as log:
            while chunk := pipe.read(CHUNK):
                room = self.max_bytes - self.written
                if room > 0:
                    log.write(chunk[:room])
                    log.flush()
                    self.written += min(room, len(chunk))
                    if len(chunk) > room:
                        self._truncated(log)
                        self.dropped += len(chunk) - room
                else:
                    self.dropped += len(chunk)
            if self.dropped:
                log.write(f"[fitstudio] {self.dropped} more bytes of output were dropped\n".encode())

    def _truncated(self, log: object) -> None:
        mb = self.max_bytes >> 20
        line = f"\n[fitstudio] log truncated: the training wrote more than {mb} MB (FITSTUDIO_MAX_LOG_MB)\n"
        log.write(line.encode())  # type: ignore[attr-defined]
        log.flush()  # type: ignore[attr-defined]
