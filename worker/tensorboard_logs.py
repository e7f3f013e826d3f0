"""Copy a training's TensorBoard event files into the session's TensorBoard folder, live and at the end.

The training writes only inside its sandbox: the base callbacks' scalars go to `<name>.out/tensorboard/`
(`TENSORBOARD_LOGDIR`), and a user's own `keras.callbacks.TensorBoard(log_dir="./logs")` writes under the
scratch folder. The API serves TensorBoard from `artifacts/sessions/<id>/tensorboard/`, which only the worker
writes: a folder the untrusted code could write would let it plant a symlink that TensorBoard (in the API
process) follows to another session's logs. So the worker copies the event files across, every few seconds
while the session runs and once when it ends, like worker/child_files.py: directories walked through file
descriptors (`os.fwalk`, no symlink followed, even one swapped in during the walk), files opened with
O_NOFOLLOW, regular files with one name only, a bounded total. Event files only grow, so each pass appends
what is new to the copy (TensorBoard keeps reading an open file, which a replaced copy would defeat).

Layout of the session's folder (each folder of event files is a TensorBoard run):
`fitstudio/` what the child wrote to TENSORBOARD_LOGDIR (the base callbacks' scalars, and the logs of a user's
callback pointed there, in subfolders) and `user/<path under the scratch folder>/` the user's own logs elsewhere
(`user/tensorboard_logs/train`, …).
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

EVENT_FILE_PREFIX = "events.out.tfevents."
SYNC_EVERY_S = 5.0  # how live TensorBoard is while a session trains
MAX_TOTAL_BYTES = 1 << 30  # a session's event files, all runs together
MAX_FILES = 2000  # event files collected per session
MAX_ENTRIES_PER_PASS = 50_000  # directory entries looked at per pass (a scratch folder full of files stays cheap)
MAX_DEPTH = 32
BASE_FOLDER = "fitstudio"
USER_FOLDER = "user"


class Collector:
    """Copies event files from SOURCES (folder in the sandbox's reach → subfolder of DEST) into DEST."""

    def __init__(self, dest: Path, sources: list[tuple[Path, str]], max_bytes: int = MAX_TOTAL_BYTES):
        self.dest = dest
        self.sources = sources
        self.max_bytes = max_bytes
        self.copied: dict[Path, int] = {}  # destination file → bytes it holds
        self.total = 0
        self._warned = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass ------------------------------------------------------------------------------------------

    def sync(self) -> None:
        """Copy what is new in every event file of the sources (never raises: logs are a convenience)."""
        with self._lock:
            budget = [MAX_ENTRIES_PER_PASS]
            for root, prefix in self.sources:
                try:
                    self._sync_tree(root, prefix, budget)
                except OSError as exc:
                    log.warning("TensorBoard logs of %s: %s", root, exc)

    def _sync_tree(self, root: Path, prefix: str, budget: list[int]) -> None:
        if not root.is_dir() or root.is_symlink():
            return
        for dirpath, dirnames, filenames, dirfd in os.fwalk(root, follow_symlinks=False):
            rel = Path(dirpath).relative_to(root)
            if len(rel.parts) >= MAX_DEPTH:
                dirnames[:] = []
            budget[0] -= len(dirnames) + len(filenames)
            if budget[0] < 0:
                return
            for name in filenames:
                if name.startswith(EVENT_FILE_PREFIX):
                    self._copy(dirfd, name, self.dest / prefix / rel / name)

    def _copy(self, dirfd: int, name: str, target: Path) -> None:
        done = self.copied.get(target)
        if done is None:
            if len(self.copied) >= MAX_FILES:
                self._warn(f"more than {MAX_FILES} event files")
                return
            try:
                done = target.stat().st_size  # a copy made by an earlier attempt at this session
            except FileNotFoundError:
                done = 0
            self.copied[target] = done
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dirfd)
        except OSError:
            return  # a symlink, gone, unreadable
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1 or info.st_size <= done:
                return  # not a plain file, or nothing new (a file that shrank is not an event file being written)
            size = min(info.st_size - done, self.max_bytes - self.total)
            if size <= 0:
                self._warn(f"more than {self.max_bytes >> 20} MiB")
                return
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "ab") as out:
                os.lseek(fd, done, os.SEEK_SET)
                left = size
                while left > 0:
                    chunk = os.read(fd, min(left, 1 << 20))
                    if not chunk:
                        break
                    out.write(chunk)
                    left -= len(chunk)
                    self.copied[target] += len(chunk)
                    self.total += len(chunk)
            target.chmod(0o644)
        finally:
            os.close(fd)

    def _warn(self, what: str) -> None:
        if not self._warned:
            self._warned = True
            log.warning("TensorBoard logs for %s: %s; the rest is not collected", self.dest, what)

    # -- while the session runs ----------------------------------------------------------------------------

    def _loop(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.sync()

    @contextlib.contextmanager
    def running(self, every_s: float = SYNC_EVERY_S) -> Iterator[Collector]:
        """Sync every EVERY_S seconds inside the block, and once more at its end (the child has ended then)."""
        self.dest.mkdir(parents=True, exist_ok=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, args=(every_s,), name="tensorboard-logs", daemon=True)
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.sync()


def session_collector(dest: Path, logdir: Path, scratch: Path) -> Collector:
    """The collector of one session: TENSORBOARD_LOGDIR (LOGDIR) into DEST/fitstudio, the user's logs from SCRATCH
    into DEST/user."""
    return Collector(dest, [(logdir, BASE_FOLDER), (scratch, USER_FOLDER)])
