"""The metrics' forward pass at different rows per call, side by side: the default CNN's outputs on uint8 images.

    .venv/bin/python bench/forward_rows.py [--quick] [--sizes 64:4000,128:1000] [--caps 48,6,3] [--repeats 10]

In this process, on the CPU: for each size (side:count, images of side×side×3) the ML task's default CNN (untrained,
4 classes) is scored by `callbacks.EvalSet.predict` (the base callbacks' validation pass) with `PREDICT_BYTES` at each
cap in MiB, in interleaved rounds, so each cap meets the same host load. The first cap is the one before the change
(48 MiB: 1,024 rows of 64×64×3). Reported per cap: rows per call, median/min/max seconds, the ratio of its median to
the first cap's, and the largest difference of its outputs from the first cap's (float32 rounding, from the batches'
different shapes).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")
warnings.filterwarnings("ignore", message="The structure of `inputs`")

from bench.common import base_args, median, show, write_result  # noqa: E402


def default_cnn(side: int) -> Any:
    """The ML task's default architecture (a small CNN) for one image input of SIDE×SIDE×3 and 4 classes, built."""
    from server.services.defaults import architecture_code

    namespace: dict[str, Any] = {}
    exec(architecture_code("multiclass", {"image": "image"}), namespace)
    return namespace["build_model"]({"image": (side, side, 3)}, 4)


def one_size(side: int, count: int, caps_mb: list[int], repeats: int) -> dict[str, Any]:
    """The figures of every cap on COUNT images of SIDE×SIDE×3, timed in REPEATS interleaved rounds."""
    import numpy as np

    from worker.runtime import callbacks

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (count, side, side, 3), dtype=np.uint8)
    validation = callbacks.EvalSet({"image": images}, rng.integers(0, 4, count))
    model = default_cnn(side)
    kept = callbacks.PREDICT_BYTES
    outputs, times = {}, {cap: [] for cap in caps_mb}
    try:
        for cap in caps_mb:  # the first call of each cap traces its batch shapes
            callbacks.PREDICT_BYTES = cap << 20
            outputs[cap] = validation.predict(model)
        for _ in range(repeats):
            for cap in caps_mb:
                callbacks.PREDICT_BYTES = cap << 20
                start = time.perf_counter()
                validation.predict(model)
                times[cap].append(time.perf_counter() - start)
        rows = {}
        for cap in caps_mb:
            callbacks.PREDICT_BYTES = cap << 20
            rows[cap] = callbacks.predict_rows(validation.inputs)
    finally:
        callbacks.PREDICT_BYTES = kept
    first = caps_mb[0]
    return {
        str(cap): {
            "rows_per_call": rows[cap],
            "median_s": median(times[cap]),
            "min_s": min(times[cap]),
            "max_s": max(times[cap]),
            "ratio_to_first": median(times[cap]) / median(times[first]),
            "max_abs_diff": float(np.abs(outputs[cap] - outputs[first]).max()),
        }
        for cap in caps_mb
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--sizes", default="64:4000,128:1000", help="side:count pairs")
    parser.add_argument("--caps", default="48,6,3", help="PREDICT_BYTES caps in MiB; the first is the baseline")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    sizes = "32:200" if args.quick else args.sizes
    caps = [int(c) for c in args.caps.split(",")]
    repeats = 2 if args.quick else args.repeats
    figures: dict[str, Any] = {}
    for pair in sizes.split(","):
        side, count = (int(n) for n in pair.split(":"))
        found = figures[f"{side}x{side}x3/{count}"] = one_size(side, count, caps, repeats)
        show(
            f"forward pass, default CNN, {count} images of {side}x{side}x3 ({repeats} interleaved rounds)",
            [
                (
                    f"cap {cap} MiB, {f['rows_per_call']} rows a call: median (min-max) s, ratio",
                    f"{f['median_s']:.3f} ({f['min_s']:.3f}-{f['max_s']:.3f}), {f['ratio_to_first']:.3f}",
                )
                for cap, f in found.items()
            ],
        )
    write_result("forward_rows", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
