"""Where the time of a training child goes (workloads 1 and 3), sampled with py-spy.

    .venv/bin/pip install py-spy   # once
    .venv/bin/python bench/where_time_goes.py [--quick] [--cases start,mlp,cnn] [--rate 100]

For each case a session is submitted on a fresh FITSTUDIO_HOME with no worker; its frozen job is then run by
the child's own main (`bench/traced_child.py`, sandbox off, same code path otherwise) under
`py-spy record --idle`. The samples of the child's main thread (wall time, waiting on TensorFlow's kernels
included) are put in buckets by the fitstudio step on their stack (imports, TF graph building, data load,
preprocessing, model build, the input pipeline's __getitem__, Keras fit's own steps, the metrics' predict and
compute, saving, ...); each bucket's share and seconds are printed and written to
bench/results/where_time_goes.json, with the top 15 Python functions by self time.

Tracing is measured by TensorFlow's own counters, read in the child at its end: the graph-building time of all
tf.function traces (`/tensorflow/core/tf_function/graph_building_time_usecs`) and each tf.function's
`experimental_get_tracing_count()`. The py-spy bucket for it holds only stacks inside an actual trace
(`_create_concrete_function`, `func_graph_from_py_func`): every call of a tf.function passes through
`tracing_compilation.call_function` even when its graph is cached, so that frame says nothing about tracing
(counting it labelled 58 % of an MLP run "tracing" where TensorFlow counted 0.5 %).

Cases: "start" (1000 rows, 1 epoch: the path to the first batch), "mlp" (50k
rows × 30 columns, 2 epochs), "cnn" (2000 64×64 PNGs, 1 epoch).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, base_args, show, write_result  # noqa: E402
from bench.datasets import image_zip, tabular_csv  # noqa: E402
from bench.stack import Stack  # noqa: E402

CASES = {  # name: (rows or images, quick size, epochs)
    "start": (1_000, 500, 1),
    "mlp": (50_000, 2_000, 2),
    "cnn": (2_000, 200, 1),
}
# (bucket, substrings of a frame): a stack goes to the first bucket in this order with a matching frame.
BUCKETS = [
    ("benchmark: reading TensorFlow's counters (after the child's work)", ["tracing_counters ("]),
    ("imports (python modules)", ["_find_and_load (<frozen importlib._bootstrap>"]),
    ("TF graph building (inside a tf.function trace)", ["_create_concrete_function (", "func_graph_from_py_func ("]),
    ("metrics: model.predict on eval sets", ["EvalSet.predict (worker/runtime/callbacks.py"]),
    ("metrics: sklearn/numpy compute", ["compute (core/metrics.py"]),
    ("input pipeline: ArraySequence.__getitem__", ["__getitem__ (core/sequences.py"]),
    ("progress events (on_train_batch_end)", ["on_train_batch_end (worker/runtime/callbacks.py"]),
    ("keep best weights / other epoch end", ["on_epoch_end (worker/runtime/callbacks.py"]),
    ("Keras fit: train/val steps, data adapter", ["fit (keras/src/backend/tensorflow/trainer.py"]),
    ("output check (predict_on_batch)", ["check_output (worker/runtime/model_check.py"]),
    ("build + compile model (user cells)", ["call (worker/runtime/cells.py", "load_cell (worker/runtime/cells.py"]),
    ("encode targets / eval sets", ["encode_targets (", "_true_values ("]),
    ("images: decode (PIL)", ["load_images (core/preprocessing.py"]),
    ("preprocessing: fit", ["fit (core/preprocessing.py"]),
    ("preprocessing: transform", ["transform (core/preprocessing.py"]),
    ("dataset: read Parquet + split", ["load (core/data.py", "split (core/data.py"]),
    ("final evaluation", ["of_model (core/evaluation.py"]),
    ("save model file", ["save (keras/src/models/model.py", "save_model ("]),
    ("setup: GPU list, aliases", ["_setup_gpus (worker/runtime/child.py", "install_aliases ("]),
]


def bucket_of(frames: list[str]) -> str:
    """The bucket of one stack."""
    for name, needles in BUCKETS:
        if any(n in frame for frame in frames for n in needles):
            return name
    return "other (interpreter start, TF runtime threads)"


def summarise(raw: Path, rate: int) -> dict[str, Any]:
    """Buckets and top self-time functions of the main thread in a py-spy raw profile (--idle --threads)."""
    lines = []
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            lines.append((stack.split(";"), int(count)))
    main = next((f[0].split(")")[0] for f, _ in lines if f[0].endswith(": MainThread")), None)
    buckets: dict[str, int] = {}
    selfs: dict[str, int] = {}
    total = 0
    for frames, n in lines:
        if main is not None and frames[0].split(")")[0] != main:
            continue  # other Python threads: the wall time is the main thread's
        frames = frames[1:]
        total += n
        name = bucket_of(frames)
        buckets[name] = buckets.get(name, 0) + n
        leaf = frames[-1] if frames else "?"
        leaf = leaf.split(" (")[0] + " (" + leaf.split(" (")[-1].split(":")[0].split("/")[-1]
        selfs[leaf] = selfs.get(leaf, 0) + n
    return {
        "samples": total,
        "rate_hz": rate,
        "buckets": {
            k: {"share": v / total, "seconds": v / rate} for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])
        }
        if total
        else {},
        "top_self": {k: v / total for k, v in sorted(selfs.items(), key=lambda kv: -kv[1])[:15]} if total else {},
    }


def run_case(stack: Stack, name: str, quick: bool, rate: int) -> dict[str, Any]:
    """Upload the case's data, freeze a session, run its job under py-spy; the summary."""
    full, small, epochs = CASES[name]
    size = small if quick else full
    if name == "cnn":
        ds = stack.upload(image_zip(stack.folder / f"{name}.zip", size), name)
    else:
        ds = stack.upload(tabular_csv(stack.folder / f"{name}.csv", size), name)
    task = stack.ml_task(ds["id"], "label", {"training": {"epochs": epochs, "batch_size": 32}})
    session = stack.train(task["id"])  # no worker: it stays queued; we only want its frozen job
    scratch = stack.folder / f"scratch-{name}"
    job = stack.job(int(session["id"]), scratch)
    (scratch / "tmp").mkdir(exist_ok=True)
    job_file = scratch / "job.json"
    job_file.write_text(json.dumps(job))
    from worker.child_process import child_env

    env = child_env(scratch, None)
    env["PYTHONPATH"] = str(ROOT)
    raw = stack.folder / f"{name}.pyspy.txt"
    counters = stack.folder / f"{name}.tf-counters.json"
    events_r, events_w = os.pipe()
    pyspy = shutil.which("py-spy") or str(Path(PY).with_name("py-spy"))
    cmd = [
        pyspy,
        "record",
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(raw),
        "--nonblocking",
        "--idle",
        "--threads",
        "--",
        PY,
        str(ROOT / "bench" / "traced_child.py"),
        str(job_file),
        "--events-fd",
        str(events_w),
        "--counters",
        str(counters),
    ]
    log = open(scratch / "child.log", "wb")  # noqa: SIM115 - closed below
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=scratch, env=env, stdout=log, stderr=subprocess.STDOUT, pass_fds=(events_w,))
    os.close(events_w)
    drain = threading.Thread(target=lambda: [None for _ in os.fdopen(events_r, "rb")], daemon=True)
    drain.start()
    code = proc.wait()
    wall = time.perf_counter() - t0
    log.close()
    text = (scratch / "child.log").read_text(errors="replace")
    if code != 0 or not raw.exists():
        raise RuntimeError(f"profiled child failed ({code}):\n{text[-3000:]}")
    out = summarise(raw, rate)
    tf_counted = json.loads(counters.read_text()) if counters.exists() else {"error": "no counters written"}
    if "graph_building_s" in tf_counted:
        tf_counted["share_of_wall"] = tf_counted["graph_building_s"] / wall
    out.update(
        tracing_by_tensorflow=tf_counted,
        size=size,
        epochs=epochs,
        wall_s=wall,
        fitstudio_lines=[ln for ln in text.splitlines() if ln.startswith("[fitstudio]")],
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--cases", default="start,mlp,cnn")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    figures: dict[str, Any] = {}
    with Stack("profile", keep=args.keep) as stack:
        stack.start_api()
        stack.project()
        for name in args.cases.split(","):
            figures[name] = f = run_case(stack, name, args.quick, args.rate)
            rows = [(k, f"{v['share']:6.1%}  {v['seconds']:7.2f}s") for k, v in f["buckets"].items()]
            tfc = f["tracing_by_tensorflow"]
            if "graph_building_s" in tfc:
                rows.insert(
                    0,
                    (
                        "tracing as TensorFlow counts it (graph building)",
                        f"{tfc['share_of_wall']:6.1%}  {tfc['graph_building_s']:7.2f}s, "
                        f"{tfc['traces_total']} traces of live tf.functions",
                    ),
                )
            rows += [("top self time: " + k, f"{v:6.1%}") for k, v in list(f["top_self"].items())[:8]]
            show(f"profile {name}: {f['size']} rows/images, {f['epochs']} epoch(s), {f['wall_s']:.1f}s wall", rows)
    write_result("where_time_goes", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
