"""Shared pieces of the benchmarks (which print figures, write JSON under bench/results/, never fail on a timing):
the machine's description, the results files, other processes' CPU share, TensorFlow's import timed as a child
imports it, and process helpers. A whole fitstudio to benchmark against is bench/stack.py's Stack."""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
PY = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROJECT = "BENCH"
TERMINAL = ("succeeded", "failed", "aborted")


# ---------------------------------------------------------------- numbers, machine, results


def median(values: Iterable[float]) -> float:
    """The median of VALUES (nan when empty)."""
    items = [float(v) for v in values]
    return statistics.median(items) if items else float("nan")


def percentile(values: list[float], q: float) -> float:
    """The Q-th percentile (0..100) of VALUES by linear interpolation (nan when empty)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def machine() -> dict[str, Any]:
    """The machine and its load right now (for the results file and docs/benchmarks.md)."""
    from importlib import metadata

    cpu = next((ln.split(":", 1)[1].strip() for ln in _lines("/proc/cpuinfo") if ln.startswith("model name")), "")
    mem = next((int(ln.split()[1]) >> 20 for ln in _lines("/proc/meminfo") if ln.startswith("MemTotal")), 0)
    versions = {}
    for package in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "pyarrow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": mem,
        "gpu": None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


def write_result(name: str, quick: bool, figures: dict[str, Any], load_before: list[float]) -> Path:
    """Write NAME[-quick].json with the figures, the machine, the load and the share of the CPU other processes
    used since the first Stack started (or this module was imported) into bench/results/ (or
    $BENCH_RESULTS_DIR: the smoke test's folder)."""
    folder = Path(os.environ.get("BENCH_RESULTS_DIR") or RESULTS)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{'-quick' if quick else ''}.json"
    if _WHOLE_RUN:  # a Stack's run: its sandboxed children's time is sampled (Interference)
        whole = _WHOLE_RUN.pop()
        whole.__exit__()
        figures["foreign_cpu_share"] = whole.share
    else:  # no sandboxed children: reaped totals since this module was imported
        foreign = max(0.0, (_busy() - _START[1]) - (_ours() - _START[2]))
        figures["foreign_cpu_share"] = foreign / max(1e-9, (time.monotonic() - _START[0]) * (os.cpu_count() or 1))
    doc = {
        "benchmark": name,
        "quick": quick,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "loadavg_before": load_before,
        "figures": figures,
    }
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    print(f"results: {path}")
    return path


def show(title: str, rows: list[tuple[str, Any]]) -> None:
    """Print a small two-column table."""
    width = max((len(k) for k, _ in rows), default=0)
    print(
        f"\n== {title}\n" + "\n".join(f"  {k:<{width}}  {f'{v:.4g}' if isinstance(v, float) else v}" for k, v in rows)
    )


def wait(predicate: Callable[[], Any], timeout: float, what: str, every: float = 0.2) -> Any:
    """Poll PREDICATE until it returns something truthy; TimeoutError after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")


# A fresh interpreter that imports TensorFlow the way a training child does before its first batch: niced (and
# its autogroup) like worker/runtime/limits.apply before the import, then ended with os._exit, as
# worker/runtime/child.py ends (no interpreter teardown). It prints the import alone and when it was done.
_TF_IMPORT_CODE = """import os, sys, time
nice = int(sys.argv[1])
if nice > 0:
    os.nice(nice)
    try:
        with open("/proc/self/autogroup", "w") as fh:
            fh.write(str(nice))
    except OSError:
        pass
t = time.perf_counter()
import tensorflow
print(time.perf_counter() - t, time.time(), os.nice(0), flush=True)
os._exit(0)
"""


def tf_import_runs(repeats: int = 3, nice: int = 0) -> list[dict[str, float]]:
    """REPEATS fresh interpreters' spawn to TensorFlow imported (wall_s), the import alone as timed inside
    (import_s) and the niceness each ran at (nice).

    Timed as a training child runs: a new session with a child's environment, niceness NICE (the worker's
    FITSTUDIO_TRAINING_NICE, added to this process's own as the child adds it to its worker's) and its autogroup
    set before the import, no interpreter teardown (os._exit), the wall time taken up to the end of the import,
    as a child's first batch is before its end."""
    from worker.child_process import child_env

    scratch = Path(tempfile.mkdtemp(prefix="fitstudio-bench-tf-import-"))
    (scratch / "tmp").mkdir()
    runs = []
    try:
        for _ in range(repeats):
            t0 = time.time()
            out = subprocess.run(
                [PY, "-c", _TF_IMPORT_CODE, str(int(nice))],
                env=child_env(scratch, None),
                cwd=scratch,
                check=True,
                capture_output=True,
                text=True,
                start_new_session=True,
            ).stdout
            import_s, done, niceness = (float(v) for v in out.strip().splitlines()[-1].split())
            runs.append({"wall_s": done - t0, "import_s": import_s, "nice": niceness})
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return runs


def tf_import_seconds(repeats: int = 3, nice: int = 0) -> tuple[float, float]:
    """Medians of tf_import_runs: (spawn to TensorFlow imported, the import alone), timed as a child runs."""
    runs = tf_import_runs(repeats, nice)
    return median(r["wall_s"] for r in runs), median(r["import_s"] for r in runs)


# ---------------------------------------------------------------- processes


class Interference:
    """CPU time that processes outside this benchmark's process tree used while the block ran (other work on the
    machine only ever slows a timing down); `share` = that time / (wall × cores).

    Our tree's CPU time is sampled per process every SAMPLE_S by a thread (each process's own user + system time,
    from when the block began or the process started), not read from reaped children's totals: a sandboxed
    training child's time never comes back through bubblewrap's PID namespace, so it used to count as another's.
    A process of ours that starts and ends between two samples still counts as another's."""

    SAMPLE_S = 0.5  # a tree scan costs a few ms of CPU: about 0.5 % of a core at this rate

    def __enter__(self) -> Interference:
        import threading

        self.t0, self.busy0 = time.monotonic(), _busy()
        self._cpu: dict[tuple[int, float], list[float]] = {}  # (pid, start time): [CPU at first sight, latest]
        self._older: set[tuple[int, float]] | None = None  # the processes of the first sample
        self._done = threading.Event()
        self._sample()
        self._thread = threading.Thread(target=self._watch, name="bench-interference", daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._done.wait(self.SAMPLE_S):
            self._sample()

    def _sample(self) -> None:
        import psutil

        me, sampled = psutil.Process(), []
        for proc in [me, *me.children(recursive=True)]:
            try:
                with proc.oneshot():
                    t, born = proc.cpu_times(), proc.create_time()
            except psutil.Error:
                continue
            sampled.append(((proc.pid, born), t.user + t.system))
        # A process born during the block: all its CPU time is in the block; an older one (in the first sample):
        # from then on. psutil's create_time rests on a boot time rounded to the second, so comparing it with the
        # block's start counted a child born just after the start only from its first sight.
        if self._older is None:
            self._older = {key for key, _ in sampled}
        for key, own in sampled:
            seen = self._cpu.setdefault(key, [own if key in self._older else 0.0, own])
            seen[1] = max(seen[1], own)

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._sample()
        wall = time.monotonic() - self.t0
        self.ours_s = sum(last - first for first, last in self._cpu.values())
        self.foreign_s = max(0.0, (_busy() - self.busy0) - self.ours_s)
        self.share = self.foreign_s / max(1e-9, wall * (os.cpu_count() or 1))


def _busy() -> float:
    import psutil

    t = psutil.cpu_times()
    return float(sum(getattr(t, k, 0.0) for k in ("user", "nice", "system", "irq", "softirq", "steal")))


def _ours() -> float:
    """CPU seconds of this process and its descendants, reaped ones included."""
    import psutil

    total = 0.0
    me = psutil.Process()
    for proc in [me, *me.children(recursive=True)]:
        try:
            t = proc.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:
            pass
    return total


def rss_bytes(pid: int, children: bool = True) -> int:
    """Resident memory of PID (and its descendants)."""
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc, *(proc.children(recursive=True) if children else [])]
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total
    except psutil.Error:
        return 0


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM the process group we started, wait, then SIGKILL it."""
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=wait_s)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            continue


def base_args(parser: Any) -> None:
    """The options every benchmark takes."""
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in well under a minute")
    parser.add_argument("--keep", action="store_true", help="keep the temporary FITSTUDIO_HOME")


def watch_whole_run() -> None:
    """Sample this process tree from now to write_result (its foreign_cpu_share), once: a Stack's sandboxed children's
    time never comes back to the reaped totals."""
    if not _WHOLE_RUN:
        _WHOLE_RUN.append(Interference().__enter__())


_START = (time.monotonic(), _busy(), _ours())
_WHOLE_RUN: list[Interference] = []  # started by the first Stack, ended by write_result
