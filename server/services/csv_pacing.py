"""A CSV file read at the pace its batches are taken, so that an upload's parse holds a bounded number of blocks.

pyarrow's streaming reader (`pyarrow.csv.open_csv`) reads the file ahead on a background thread, up to 32 blocks
(a fixed queue that pyarrow offers no option for, ARROW-12090): with 16 MiB blocks, up to 512 MiB of a big file.
Handed a PacedFile instead of the path, it reads at most READ_AHEAD blocks beyond the batches already taken,
and what it parses ahead is bounded by the same blocks (docs/configuration.md, FITSTUDIO_UPLOAD_MEMORY_MB).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pyarrow as pa

# A batch needs its own block and the next (a row cut at the block's end), and the first block may hold only the
# header: with fewer blocks ahead, the reader could wait for a block that only taking a batch would allow.
READ_AHEAD = 3


class PacedFile:
    """A binary file for pyarrow.csv.open_csv: a read waits while READ_AHEAD blocks are read but not yet taken."""

    def __init__(self, path: Path) -> None:
        """Open PATH; call `taken` after each batch the reader gives, and `close` when done with the reader."""
        self._file = open(path, "rb")  # noqa: SIM115 - closed by close(), which every reader's owner calls
        self._reads = self._taken = 0
        self._done = False
        self._turn = threading.Condition()
        self._io = threading.Lock()  # a read and the file's closing never overlap

    @property
    def closed(self) -> bool:
        """Whether close was called (pyarrow asks)."""
        return self._done

    @property
    def ahead(self) -> int:
        """Blocks read (or being read) beyond the batches taken."""
        with self._turn:
            return self._reads - self._taken

    def readable(self) -> bool:
        """Always: the file is opened for reading."""
        return True

    def read(self, size: int = -1) -> pa.Buffer:
        """The next SIZE bytes, once the reader may have them; none once closed (an abandoned reader sees the end).

        Called on pyarrow's IO thread; the bytes go into Arrow's memory pool, as the parsed blocks do.
        """
        with self._turn:
            self._turn.wait_for(lambda: self._done or self._reads < self._taken + READ_AHEAD)
            self._reads += 1
        with self._io:
            if self._done:
                return pa.py_buffer(b"")
            if size < 0:
                return pa.py_buffer(self._file.read())
            buffer = pa.allocate_buffer(size, resizable=True)
            got = self._file.readinto(memoryview(buffer))
            if got < size:
                buffer.resize(got)
            return buffer

    def taken(self) -> None:
        """The reader gave one more batch: one more block may be read."""
        with self._turn:
            self._taken += 1
            self._turn.notify_all()

    def close(self) -> None:
        """Let any waiting read return (empty) and close the file; safe to call more than once."""
        with self._turn:
            self._done = True
            self._turn.notify_all()
        with self._io:
            self._file.close()
