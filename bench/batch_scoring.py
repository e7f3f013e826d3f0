"""Benchmark: a batch-scoring job's throughput against `model.predict` on the same preprocessed arrays (issue 21).

    .venv/bin/python bench/batch_scoring.py [--quick] [--sizes 100000,300000,1000000] [--batch-rows 10000]
        [--repeats 3]

In this process, for each size, a synthetic table (16 numeric + 4 categorical columns, bench/datasets.py) stored as
a dataset's Parquet file is scored by the worker's own code (`server/services/batch_scoring.score_file`, as
`worker/score_job_task.py` calls it, progress callback a no-op: the worker writes progress at most once a second)
with a small MLP (48 → 64 → 32 → 2, softmax) and fitstudio's stored preprocessing: reading the Parquet file,
preprocessing, the model and writing the result's Parquet file, end to end. Side by side, on the same rows:
`model.predict(x, batch_size=1024)` (as …/predict calls it) on the preprocessed arrays already in memory, and the
same arrays through `predict_on_batch` in chunks of 10 000 rows (the model's compiled function alone: a floor
for any scoring). REPEATS rounds of the three, interleaved so that each round's runs share the machine's load;
the best of each is kept (other work only ever slows a run down), every run recorded. Ratio = job rows/s ÷
predict rows/s (the issue's target: ≥ 0.8), best against best and the median of the rounds' ratios. The model
is loaded and traced once before the timings (a warm-up job on 2 000 rows), as a worker's second job finds it.
Peak memory: the process's peak RSS during the job (VmHWM, reset before it through /proc/self/clear_refs) less its
RSS before, so it shows whether a job's memory grows with the dataset. The job's probabilities are checked
against predict's.
"""

from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
warnings.filterwarnings("ignore", message="The structure of `inputs`")

from bench.common import base_args, show, write_result  # noqa: E402
from bench.datasets import tabular_frame  # noqa: E402

N_NUMERIC, N_CATEGORICAL = 16, 4
CHUNK = 10_000


def _status_kib(field: str) -> int:
    """A VmRSS/VmHWM-style field of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS; False where the kernel does not allow it."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _preprocessing() -> dict[str, Any]:
    """A stored preprocessing for the table: standardised numbers, one-hot categories (as a trained model has)."""
    main: list[dict[str, Any]] = [
        {"column": f"x{i}", "kind": "numeric", "mean": 0.0, "std": 1.0} for i in range(N_NUMERIC)
    ]
    main += [
        {"column": f"c{j}", "kind": "categorical", "values": [f"v{k}" for k in range(8)]} for j in range(N_CATEGORICAL)
    ]
    return {"main": main, "index": {}, "text": {}, "image": {}}


def _model_file(folder: Path, width: int) -> Path:
    """A small MLP saved as a .keras file (random weights: the timings do not depend on them)."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((width,), name="main"),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    path = folder / "model.keras"
    model.save(path)
    return path


def _parquet(folder: Path, rows: int, seed: int) -> Path:
    """ROWS rows of the table (no label) as a dataset's Parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = tabular_frame(rows, N_NUMERIC, N_CATEGORICAL, seed=seed).drop(columns=["label"])
    path = folder / f"data-{rows}.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    return path


def _job(row: Any, model_path: Path, source: Path, dest: Path, batch_rows: int) -> dict[str, Any]:
    """The worker's scoring of SOURCE into DEST, timed, with its peak memory."""
    from server.services import batch_scoring

    gc.collect()
    rss0 = _status_kib("VmRSS")
    reset = _reset_peak()
    t0 = time.perf_counter()
    scored = batch_scoring.score_file(row, model_path, source, dest, None, batch_rows, lambda rows, failed: True)
    seconds = time.perf_counter() - t0
    peak = _status_kib("VmHWM")
    return {
        "seconds": seconds,
        "rows": scored.n_rows,
        "failed": scored.failed,
        "rows_per_s": scored.n_rows / seconds,
        "rss_before_mib": rss0 / 1024,
        "peak_growth_mib": (peak - rss0) / 1024 if reset else None,
        "result_mib": dest.stat().st_size / 2**20,
    }


def _arrays(row: Any, source: Path) -> tuple[Any, float]:
    """SOURCE's preprocessed model input (built once, in memory, as a plain script would hold it) and its time."""
    import pyarrow.parquet as pq

    from core import preprocessing

    t0 = time.perf_counter()
    x = preprocessing.transform(pq.read_table(source).to_pandas(), row.preprocessing)["main"]
    return x, time.perf_counter() - t0


def _predict_runs(model: Any, x: Any) -> tuple[Any, float, float]:
    """model.predict's output on X and its seconds; then the compiled calls' seconds on the same X."""
    t0 = time.perf_counter()
    expected = model.predict(x, batch_size=1024, verbose=0)
    predict_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for start in range(0, len(x), CHUNK):
        model.predict_on_batch(x[start : start + CHUNK])
    return expected, predict_s, time.perf_counter() - t0


def run_size(row: Any, model_path: Path, folder: Path, rows: int, batch_rows: int, repeats: int) -> dict[str, Any]:
    """One size: REPEATS rounds of (the job, model.predict, the compiled calls) interleaved, so that each ratio
    compares runs made under the same load; the best of each, and the median of the rounds' ratios."""
    import numpy as np
    import pyarrow.parquet as pq

    from server.services import scoring

    source = _parquet(folder, rows, seed=rows)
    dest = folder / f"scored-{rows}.parquet"
    x, prep_s = _arrays(row, source)
    model, _ = scoring.load_model(model_path)
    jobs, predict_s, compiled_s = [], [], []
    for _ in range(repeats):
        jobs.append(_job(row, model_path, source, dest, batch_rows))
        expected, p_s, c_s = _predict_runs(model, x)
        predict_s.append(p_s)
        compiled_s.append(c_s)
    got = pq.read_table(dest, columns=["proba_no", "proba_yes"]).to_pandas().to_numpy()
    job = max(jobs, key=lambda r: r["rows_per_s"])
    ratios = [j["rows_per_s"] * p / rows for j, p in zip(jobs, predict_s, strict=True)]
    found = {
        **job,
        "rows_per_s_runs": [r["rows_per_s"] for r in jobs],
        "peak_growth_mib": max(r["peak_growth_mib"] or 0 for r in jobs),
        "preprocess_whole_s": prep_s,
        "predict_rows_per_s": rows / min(predict_s),
        "predict_rows_per_s_runs": [rows / s for s in predict_s],
        "compiled_rows_per_s": rows / min(compiled_s),
        "ratio_vs_predict": job["rows_per_s"] / (rows / min(predict_s)),  # best against best
        "ratio_vs_predict_runs": ratios,  # each round's job against the predict run right after it
        "ratio_vs_predict_median": float(np.median(ratios)),
        "ratio_vs_compiled": job["rows_per_s"] / (rows / min(compiled_s)),
        "max_abs_diff_vs_predict": float(np.abs(got - expected).max()),
    }
    source.unlink()
    dest.unlink()
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--sizes", default="100000,300000,1000000", help="rows of each dataset, comma-separated")
    parser.add_argument("--batch-rows", type=int, default=10_000, help="the job's FITSTUDIO_SCORE_BATCH_ROWS")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each timing (the best is reported)")
    args = parser.parse_args(argv)
    sizes = [20_000] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    repeats = 1 if args.quick else max(1, args.repeats)
    load = [round(x, 2) for x in os.getloadavg()]

    from server.models import TrainedModel

    folder = Path(tempfile.mkdtemp(prefix="fitstudio-bench-batch-"))
    try:
        prep = _preprocessing()
        row = TrainedModel(preprocessing=prep, prediction_type="binary", class_labels=["no", "yes"], n_classes=2)
        model_path = _model_file(folder, N_NUMERIC + 8 * N_CATEGORICAL)
        run_size(row, model_path, folder, 2_000, args.batch_rows, 1)  # warm-up: the model loaded and traced
        figures: dict[str, Any] = {
            "columns": N_NUMERIC + N_CATEGORICAL,
            "batch_rows": args.batch_rows,
            "repeats": repeats,
        }
        figures["sizes"] = {}
        for rows in sizes:
            found = run_size(row, model_path, folder, rows, args.batch_rows, repeats)
            figures["sizes"][str(rows)] = found
            show(
                f"{rows} rows",
                [(k, v) for k, v in found.items() if isinstance(v, float | int)],
            )
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    write_result("batch_scoring", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
