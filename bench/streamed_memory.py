"""Issue 17: where a streamed training's own memory goes, step by step, and how it grows with the rows.

    .venv/bin/python bench/streamed_memory.py [--quick] [--sizes 1000000,5000000,20000000] [--before PATH]

For each size N: the Parquet file of bench/streamed_up.py (N rows × 30 float32 columns and a 0/1 target), and a
fresh child process that runs what a streamed training's child runs before and around its first epoch, on the
training child's own code: `worker.runtime.prepare.prepare` (the target read, the split, the preprocessing's fit
sample, the inputs written to their files, the split's target frames), then the targets encoded as the trainer
encodes them, and every binary metric over the validation split from a model output of the right shape (random
probabilities: the metrics' memory does not depend on the values) and the evaluation a training saves with its
model, from the same outputs. TensorFlow is not imported: the figures are
what the data costs, over the interpreter with its libraries.

This process samples the child's owned memory (RssAnon + RssShmem, what the memory limit counts) every 5 ms from
outside, and the child prints when each step begins and ends; each step's figure is the peak over the child's
owned memory when it started (after its imports), and "held" is what stays once `prepare` returns.

With --before PATH (a checkout of an earlier commit, e.g. `git worktree add --detach /tmp/before HEAD`), the same
child runs on that tree's code too, interleaved with this one at each size: old and new side by side in one run.
Results: bench/results/streamed_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
STEPS = ("target", "split", "fit_sample", "fit", "inputs", "frames", "encode", "metrics", "evaluation")


# ---------------------------------------------------------------- the child: the training's own code, timed


def _mark(what: str) -> None:
    print(f"MARK {what} {time.monotonic():.6f}", flush=True)


def _timed(owner: Any, name: str, step: str) -> None:
    """Wrap OWNER.NAME so that each call prints when STEP begins and ends."""
    inner = getattr(owner, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _mark(f"begin:{step}")
        try:
            return inner(*args, **kwargs)
        finally:
            _mark(f"end:{step}")

    setattr(owner, name, wrapped)


def _give_back() -> None:
    """worker.runtime.limits.give_back_free_memory, for a tree from before it: glibc's malloc_trim, pyarrow's pool."""
    import ctypes

    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def child(parquet: str, scratch: str) -> None:
    """Run a streamed training's preparation, target encoding and metrics on PARQUET; print the marks."""
    import gc

    import numpy as np

    from core import data, evaluation, metrics, preprocessing
    from core.contracts import DatasetRef, Design, Job, Limits
    from worker.runtime import prepare as prepare_module
    from worker.runtime import streamed_inputs

    columns = [f"x{i}" for i in range(30)]
    settings = {
        "features": {c: {"role": "input", "type": "numeric"} for c in columns},
        "split": {"train_ratio": 0.8, "seed": 1337},
        "text": {"max_tokens": 50, "sequence_length": 6},
        "image": {"height": 8, "width": 8, "channels": 3},
        "training": {"batch_size": 1024, "shuffle": True, "steps_per_epoch": None},
    }
    design = Design(settings, "y", "binary")
    ref = DatasetRef(parquet=parquet, files_root=str(Path(scratch) / "files"))
    job = Job(
        session_id=1,
        session_number=1,
        dry_run=False,
        design=design,
        dataset=ref,
        out_dir=str(Path(scratch) / "out"),
        tensorboard_dir=None,
        gpus=[],
        allow_growth=True,
        limits=Limits(stream_above_mb=0),
    )
    _timed(data, "target_rows", "target")
    _timed(data, "split_rows", "split")
    _timed(prepare_module, "_read_rows", "fit_sample")
    _timed(prepare_module, "_fitted", "fit")
    _timed(streamed_inputs, "build", "inputs")
    _timed(streamed_inputs, "target_frame", "frames")
    gc.collect()
    _mark("start")
    prepared = prepare_module.prepare(job, time.time())
    gc.collect()
    _mark("held")
    time.sleep(0.05)  # a few samples of what is held, before the freed memory is given back
    try:
        from worker.runtime.limits import give_back_free_memory  # what the trainer does before its first epoch
    except ImportError:  # a tree from before it: the same calls
        give_back_free_memory = _give_back
    give_back_free_memory()
    _mark("trimmed")
    time.sleep(0.05)
    target = prepared.prep["target"]
    _mark("begin:encode")
    train_y = preprocessing.encode_targets(prepared.train_df["y"], target, 1)
    val_true = preprocessing.class_indices(prepared.val_df["y"], target)
    _mark("end:encode")
    output = np.random.default_rng(0).random((len(val_true), 1), dtype=np.float32)
    _mark("begin:metrics")
    scores = metrics.compute("binary", val_true, output)
    _mark("end:metrics")
    _mark("begin:evaluation")  # the kept model's evaluation.json, at the end of a training
    evaluation.evaluate("binary", val_true, output, target["classes"])
    _mark("end:evaluation")
    print(
        "RESULT "
        + json.dumps(
            {
                "rows": len(prepared.train_df) + len(prepared.val_df),
                "y": len(train_y),
                "auc": scores.get("ROC AUC"),
                "code": str(Path(prepare_module.__file__).parents[2]),
            }
        )
    )


# ---------------------------------------------------------------- this side: run, sample, attribute


def measure(tree: Path, parquet: Path) -> dict[str, Any]:
    """One child on TREE's code over PARQUET: the peak owned memory of each step over the child's start."""
    scratch = tempfile.mkdtemp(prefix="fitstudio-bench-memory-")
    env = {**os.environ, "PYTHONPATH": str(tree), "TMPDIR": scratch}
    args = [sys.executable, str(HERE), "--child", str(parquet), scratch]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=env, cwd=tree)
    samples: list[tuple[float, int]] = []
    done = threading.Event()

    def sample() -> None:
        from worker.child_process import owned_memory  # what the memory limit's fallback poll counts

        while not done.is_set():
            try:
                samples.append((time.monotonic(), owned_memory(proc.pid)))
            except OSError:  # the child has ended
                break
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out = proc.stdout.read() if proc.stdout else ""
    proc.wait()
    done.set()
    sampler.join()
    subprocess.run(["rm", "-rf", scratch], check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the child on {tree} failed ({proc.returncode}):\n{out[-3000:]}")
    marks: dict[str, list[float]] = {}
    result: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith("MARK "):
            _, what, when = line.split()
            marks.setdefault(what, []).append(float(when))
        elif line.startswith("RESULT "):
            result = json.loads(line[7:])

    def peak(start: float, end: float) -> int:
        """The most owned between START and END, and in the first sample after END (a step shorter than the
        sampling period is seen there)."""
        after = next((b for t, b in samples if t > end), 0)
        return max([b for t, b in samples if start <= t <= end] + [after])

    def at(when: float) -> int:
        return next((b for t, b in samples if t > when), 0)

    base = max((b for t, b in samples if t <= marks["start"][0]), default=0)
    steps, starts = {}, {}
    for step in STEPS:
        first = marks.get(f"begin:{step}", [])
        starts[step] = round((at(first[0]) - base) / 2**20, 1) if first else 0.0
        spans = zip(marks.get(f"begin:{step}", []), marks.get(f"end:{step}", []), strict=True)
        steps[step] = round(max((peak(a, b) for a, b in spans), default=0) / 2**20 - base / 2**20, 1)
    held, trimmed = at(marks["held"][0]), at(marks["trimmed"][0])
    return {
        "code": result.get("code"),
        "rows": result.get("rows"),
        "auc": result.get("auc"),
        "base_mib": round(base / 2**20, 1),
        "step_peak_over_base_mib": steps,
        "step_start_over_base_mib": starts,
        "prepare_s": round(marks["held"][0] - marks["start"][0], 2),
        "held_over_base_mib": round((held - base) / 2**20, 1),
        "held_trimmed_over_base_mib": round((trimmed - base) / 2**20, 1),
        "peak_over_base_mib": round((max(b for _, b in samples) - base) / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100k and 300k rows (a smoke run)")
    parser.add_argument("--sizes", default="1000000,5000000,20000000")
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with, side by side")
    parser.add_argument("--child", nargs=2, metavar=("PARQUET", "SCRATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sys.path.insert(0, str(HERE.parents[1]))
    from bench.common import show, write_result
    from bench.streamed_up import write_table

    load_before = list(os.getloadavg())
    sizes = [100_000, 300_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    trees = {"now": HERE.parents[1], **({"before": args.before.resolve()} if args.before else {})}
    figures: dict[str, Any] = {"sizes": {}}
    with tempfile.TemporaryDirectory(prefix="fitstudio-bench-memory-") as folder:
        for n in sizes:
            path = Path(folder) / f"rows-{n}.parquet"
            write_table(path, n)
            order = list(trees) if sizes.index(n) % 2 == 0 else list(reversed(trees))  # alternate who goes first
            runs = {name: measure(trees[name], path) for name in order}
            path.unlink()
            figures["sizes"][str(n)] = runs
            rows: list[tuple[str, Any]] = []
            for name, run in runs.items():
                starts = run["step_start_over_base_mib"]
                rows += [(f"{name}: {k}", f"{starts[k]} -> {v}") for k, v in run["step_peak_over_base_mib"].items()]
                rows += [
                    (f"{name}: held after prepare", run["held_over_base_mib"]),
                    (f"{name}: held, free heap given back", run["held_trimmed_over_base_mib"]),
                    (f"{name}: peak", run["peak_over_base_mib"]),
                    (f"{name}: prepare (s)", run["prepare_s"]),
                ]
            show(f"{n:,} rows: owned MiB over the child's start", rows)
    write_result("streamed_memory", args.quick, figures, load_before)


if __name__ == "__main__":
    main()
