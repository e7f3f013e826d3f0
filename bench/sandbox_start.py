"""The training sandbox's start-up cost: the child's imports with and without bubblewrap, side by side.

    .venv/bin/python bench/sandbox_start.py [--quick] [--repeats 5]

Each repeat runs, interleaved, `python -c "import worker.runtime.child, worker.runtime.trainer, tensorflow"`
plainly and inside the sandbox a training gets (worker.sandbox.command: namespaces, the minimal filesystem view,
setpriv, the seccomp filter), and `python -c pass` both ways to isolate bubblewrap's own set-up. The figures are
wall-clock medians and the differences (target of operations.md: start latency <= 3 s beyond TensorFlow's import;
the sandbox's share of it is the difference here).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, median, show, write_result  # noqa: E402
from worker import sandbox  # noqa: E402

IMPORTS = "import worker.runtime.child, worker.runtime.trainer, tensorflow"


def _timed(argv: list[str], fds: tuple[int, ...] = ()) -> float:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    started = time.perf_counter()
    subprocess.run(argv, check=True, pass_fds=fds, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def _sandboxed(code: str, scratch: Path) -> float:
    view = sandbox.View(
        read_only=[*sandbox.python_roots(), *sandbox.source_roots()],
        writable=[str(scratch)],
        cwd=str(scratch),
        uid=sandbox.sandbox_uid(200_000, scratch.name),
    )
    sandbox.hand_over([scratch], view.uid)
    argv, fd = sandbox.command(view, [PY, "-c", code])
    try:
        return _timed(argv, (fd,))
    finally:
        os.close(fd)


def main() -> None:
    """Measure and write bench/results/sandbox_start.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    repeats = 2 if args.quick else args.repeats
    load_before = [round(x, 2) for x in os.getloadavg()]
    print(sandbox.isolation())
    times: dict[str, list[float]] = {"plain pass": [], "sandbox pass": [], "plain imports": [], "sandbox imports": []}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "bench-scratch"
        scratch.mkdir()
        os.chmod(tmp, 0o755)
        _timed([PY, "-c", IMPORTS])  # warm the page cache
        for _ in range(repeats):
            times["plain pass"].append(_timed([PY, "-c", "pass"]))
            times["sandbox pass"].append(_sandboxed("pass", scratch))
            times["plain imports"].append(_timed([PY, "-c", IMPORTS]))
            times["sandbox imports"].append(_sandboxed(IMPORTS, scratch))
    figures: dict[str, float | int] = {k: round(median(v), 4) for k, v in times.items()}
    figures["sandbox set-up s"] = round(figures["sandbox pass"] - figures["plain pass"], 4)
    figures["sandbox cost on the child's imports s"] = round(figures["sandbox imports"] - figures["plain imports"], 4)
    figures["ratio sandbox/plain imports"] = round(figures["sandbox imports"] / figures["plain imports"], 3)
    figures["repeats"] = repeats
    show("training sandbox start-up (medians, s)", list(figures.items()))
    write_result("sandbox_start", args.quick, dict(figures), load_before)


if __name__ == "__main__":
    main()
