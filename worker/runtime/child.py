"""Entry point of the training child process: limits, GPUs, aliases, then the training; result or error as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.contracts import ErrorInfo, Job
from core.protocol import ChildChannel, jsonable
from worker.runtime import control, errors, limits

# Imported at the top: only what confines the child and talks to the worker (standard library, no user code).
# The user-facing helpers (fitstudio.*), the code cells and the heavy modules (pandas, Keras, TensorFlow) are
# imported inside the functions below, after _confine has applied the limits: that order is deliberate.


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(jsonable(doc)))
    tmp.replace(path)


def _wait_for_go(fd: int) -> None:
    """Block until the worker has put us in our cgroup (one line on the replies pipe)."""
    while True:
        byte = os.read(fd, 1)
        if not byte or byte == b"\n":
            return


def _setup_gpus(allow_growth: bool) -> None:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        if allow_growth:
            tf.config.experimental.set_memory_growth(gpu, True)
    print(f"[fitstudio] visible GPUs: {[g.name for g in gpus] or 'none (CPU)'}", flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="fitstudio-training-child")
    parser.add_argument("job")
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--replies-fd", type=int)
    return parser.parse_args(argv)


def _confine(job: Job) -> None:
    """Resource limits and the worker's signals, before any user code can run."""
    limits.apply(job.limits)
    control.install()
    control.die_with_parent()
    print(f"[fitstudio] isolation: {job.isolation or 'none'}", flush=True)


def _connect(job: Job, events_fd: int, replies_fd: int | None) -> Any:
    """The channel to the worker, and the context the fitstudio helpers read in user code."""
    from fitstudio.deep_learning import _context  # user-facing: only once confined (see the top)

    channel = ChildChannel(events_fd, replies_fd)
    _context.channel = channel
    design = job.design
    _context.current = {k: getattr(design, k) for k in ("project_key", "analysis_id", "ml_task_id")}
    _context.folders = job.folders or []  # managed folders the submitter can read, bound read-only
    from worker.runtime import phases  # sends through _context: only once confined (see the top)

    phases.enter("starting")
    return channel


def _error_info(exc: BaseException) -> ErrorInfo:
    """What error.json says: where in the user's code, or the runtime's own sentence, or a bug's traceback."""
    # pandas and the code cells: only once confined (see the top); the training has loaded them by now.
    from core import data, preprocessing
    from worker.runtime import cells

    if isinstance(exc, cells.CellError):
        return exc.error
    if isinstance(exc, (data.DataError, preprocessing.PreprocessingError, errors.TrainingError)):
        return ErrorInfo(type(exc).__name__, str(exc))
    info = cells.describe(exc)
    return replace(info, traceback=(info.traceback or "") + "\n" + traceback.format_exc()[-4000:])


def _train(job: Job, channel: Any, out_dir: Path) -> int:
    """Run the training; its exit code, with result.json or error.json written."""
    import warnings

    from worker.runtime import cells, trainer, weights  # Keras, TensorFlow, user code: only once confined

    # Keras matches a dict of inputs to a single-input model by name, as intended; its warning is noise here.
    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match the expected structure")
    try:
        _setup_gpus(job.allow_growth)
        cells.install_aliases()
        weights.install(job.weights_dir)  # the weights store as the Keras cache (data.md)
        result = trainer.train(job, channel.send)
        _write_json(out_dir / "result.json", result.as_dict())
        return 0
    except errors.Drained as exc:
        print(f"[fitstudio] handing the session back: {exc}", flush=True)
        return control.DRAINED_EXIT_CODE
    except BaseException as exc:  # every failure becomes a readable error.json
        info = _error_info(exc)
        print(f"[fitstudio] training failed: {info.type}: {info.message}", file=sys.stderr, flush=True)
        _write_json(out_dir / "error.json", info.as_dict())
        return 1


def main(argv: list[str] | None = None) -> int:
    """Run the job file given on the command line; exit 0 with result.json, else 1 with error.json."""
    args = _arguments(argv)
    job = Job.from_dict(json.loads(Path(args.job).read_text()))
    out_dir = Path(job.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.replies_fd is not None:
        _wait_for_go(args.replies_fd)
    _confine(job)
    channel = _connect(job, args.events_fd, args.replies_fd)
    if job.scoring:  # a model that needs the user's code to load (worker/score_task.py)
        from worker.runtime import scorer  # Keras and the code cells: only once confined (see the top)

        if job.gpus:  # a batch job's model served on a GPU
            _setup_gpus(job.allow_growth)
        return scorer.run(job, out_dir, channel)
    return _train(job, channel, out_dir)


if __name__ == "__main__":
    status = main()
    # result.json / error.json are written and the events pipe is unbuffered: skip the interpreter's teardown,
    # where TensorFlow spends seconds of CPU (it delayed every session's end, interrupts included).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
