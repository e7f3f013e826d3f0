"""Smoke test of the benchmark scripts (bench/): each runs with --quick, exits 0 and writes its results file.

Benchmarks never fail on a timing; this only checks that they run. The suite runs the ingest benchmark's quick
mode (a real API server, seconds); the others start workers and TensorFlow children (minutes together), so
`bench/run_all.py --quick` is their smoke run, by hand (bench/README.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_quick(name: str, tmp_path: Path, *extra: str) -> dict:
    """Run bench/NAME.py --quick with results under TMP_PATH; the results document."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITSTUDIO_")}
    env.update(BENCH_RESULTS_DIR=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / f"{name}-quick.json").read_text())
    assert doc["quick"] is True and doc["figures"] and doc["machine"]["cores"]
    return doc


def test_ingest_quick(tmp_path: Path) -> None:
    figures = run_quick("ingest", tmp_path)["figures"]
    assert figures["uploads"][0]["n_rows"] == figures["rows"]
    assert figures["ratio"] > 0
