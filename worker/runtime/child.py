"""Entry point of the training child process: limits, GPUs, aliases, then the training; result or error as JSON."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    from core.protocol import jsonable

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


def main(argv: list[str] | None = None) -> int:
    """Run the job file given on the command line; exit 0 with result.json, else 1 with error.json."""
    parser = argparse.ArgumentParser(prog="fitstudio-training-child")
    parser.add_argument("job")
    parser.add_argument("--events-fd", type=int, required=True)
    parser.add_argument("--replies-fd", type=int)
    args = parser.parse_args(argv)
    job = json.loads(Path(args.job).read_text())
    out_dir = Path(job["out_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    if args.replies_fd is not None:
        _wait_for_go(args.replies_fd)

    from worker.runtime import control, limits

    limits.apply(job.get("limits") or {})
    control.install()
    control.die_with_parent()
    print(f"[fitstudio] isolation: {job.get('isolation') or 'none'}", flush=True)

    from core.protocol import ChildChannel
    from fitstudio.deep_learning import _context

    channel = ChildChannel(args.events_fd, args.replies_fd)
    _context.channel = channel
    design = job["design"]
    _context.current = {k: design.get(k) for k in ("project_key", "analysis_id", "ml_task_id")}
    _context.folders = job.get("folders") or []  # managed folders the submitter can read, bound read-only
    channel.send({"type": "status", "phase": "starting", "pid": os.getpid()})
    import warnings

    from worker.runtime import cells, trainer

    # Keras matches a dict of inputs to a single-input model by name, as intended; its warning is noise here.
    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match the expected structure")
    try:
        _setup_gpus(bool(job.get("allow_growth", True)))
        cells.install_aliases()
        from worker.runtime import weights

        weights.install(job.get("weights_dir"))  # the weights store as the Keras cache (data.md)
        result = trainer.train(job, channel.send)
        _write_json(out_dir / "result.json", result)
        return 0
    except trainer.Drained as exc:
        print(f"[fitstudio] handing the session back: {exc}", flush=True)
        return control.DRAINED_EXIT_CODE
    except BaseException as exc:  # every failure becomes a readable error.json
        from core import data, preprocessing
        from worker.runtime import cells, trainer

        if isinstance(exc, cells.CellError):
            info = exc.info
        elif isinstance(exc, (data.DataError, preprocessing.PreprocessingError, trainer.TrainingError)):
            info = {"type": type(exc).__name__, "message": str(exc), "cell": None, "line": None, "traceback": None}
        else:
            info = cells.describe(exc)
            info["traceback"] = (info.get("traceback") or "") + "\n" + traceback.format_exc()[-4000:]
        print(f"[fitstudio] training failed: {info['type']}: {info['message']}", file=sys.stderr, flush=True)
        _write_json(out_dir / "error.json", info)
        return 1


if __name__ == "__main__":
    status = main()
    # result.json / error.json are written and the events pipe is unbuffered: skip the interpreter's teardown,
    # where TensorFlow spends seconds of CPU (it delayed every session's end, interrupts included).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
