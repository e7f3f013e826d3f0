"""Issue 17: fitting a text column's vocabulary at size — time and memory of the preprocessing's text fit.

    .venv/bin/python bench/text_vocab.py [--quick] [--sizes 100000,300000,1000000]

For each size N, in a fresh interpreter: N review-like texts (20–60 words drawn from a Zipf law over 50,000 words)
as a pandas column, then `core.text_inputs.fit_text` (Keras TextVectorization.adapt, max_tokens 20,000) timed,
and the transform of the same rows into token ids (`text_ids`, sequence length 128). Memory: the process's peak
resident set (ru_maxrss) above what it held once the texts were made and TensorFlow imported. A training fits on at most
core/data.FIT_SAMPLE_ROWS (1,000,000) rows, so the largest size here is the most any dataset costs; the transform
runs 65,536 rows at a time in a streamed training, so its per-row time is what counts there.
Results: bench/results/text_vocab.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, base_args, show, write_result  # noqa: E402

ONE = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from core import text_inputs
n = int(sys.argv[1])
rng = np.random.default_rng(0)
words = np.array([f"w{i}" for i in range(50_000)])
ranks = np.minimum(rng.zipf(1.3, size=n * 40), 50_000) - 1
lengths = rng.integers(20, 61, n)
ends = np.cumsum(lengths)
flat = words[ranks[: ends[-1]]]
texts = pd.Series([" ".join(flat[e - k : e]) for e, k in zip(ends, lengths)], name="review")
from keras.layers import TextVectorization  # TensorFlow's import is not the fit's
TextVectorization(max_tokens=10, output_mode="int", output_sequence_length=2).adapt(np.array(["a b"]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t0 = time.monotonic()
spec = text_inputs.fit_text(texts, {"max_tokens": 20_000, "sequence_length": 128})
fit_s = time.monotonic() - t0
after_fit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t1 = time.monotonic()
ids = text_inputs.text_ids(texts.iloc[:65_536], spec)
transform_s = time.monotonic() - t1
print(json.dumps({
    "rows": n, "fit_s": fit_s, "vocabulary": len(spec["vocabulary"]),
    "fit_peak_above_texts_mib": (after_fit - before) / 1024, "texts_peak_mib": before / 1024,
    "transform_65536_rows_s": transform_s, "ids_shape": list(ids.shape),
}))
"""


def one(rows: int) -> dict[str, Any]:
    """The fit and transform at ROWS rows, in a fresh interpreter."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([PY, "-c", ONE, str(rows)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    base_args(parser)
    parser.add_argument("--sizes", default="100000,300000,1000000")
    args = parser.parse_args()
    sizes = [5_000, 20_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    load_before = list(os.getloadavg())
    figures: dict[str, Any] = {"sizes": sizes}
    for rows in sizes:
        figures[str(rows)] = result = one(rows)
        print(f"{rows:,} rows: fit {result['fit_s']:.1f}s, +{result['fit_peak_above_texts_mib']:.0f} MiB", flush=True)
    show("text vocabulary fit", list(figures.items()))
    write_result("text_vocab", args.quick, figures, load_before)


if __name__ == "__main__":
    main()
