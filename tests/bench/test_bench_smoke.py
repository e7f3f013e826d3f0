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

import pytest

ROOT = Path(__file__).resolve().parents[2]
SLOW = pytest.mark.slow  # start workers and TensorFlow children: minutes, so in CI and not in the fast tier


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
    assert figures["late_type_change"]["upload"]["n_rows"] == figures["rows"]
    assert figures["writes_during_big_upload"]["writes"] >= 1 and figures["writes_idle"]["max_s"] > 0


def test_reconciler_quick(tmp_path: Path) -> None:
    figures = run_quick("reconciler", tmp_path)["figures"]
    for size in ("1000", "10000"):
        assert {"old pass", "new pass", "new sweep", "spread"} <= set(figures[size])


@SLOW
def test_throughput_quick(tmp_path: Path) -> None:
    figures = run_quick("throughput", tmp_path, "--feeds", "")["figures"]
    for name in ("mlp", "cnn"):
        f = figures[name]
        assert f["validation_batch_size"] == 1024 and f["no_validation_n_val"] < f["n_val"]
        for ratio in ("ratio_with_metrics", "ratio_no_validation", "ratio_whole_run", "ratio_whole_run_no_validation"):
            s = f["spread"][ratio]
            assert s["n"] == 2 and 0 < s["min"] <= s["median"] <= s["max"]
        for rep in f["repeats"]:
            assert len(rep["session"]["epoch_s"]) == len(rep["plain"]["epoch_s"]) == f["epochs"] >= 3
            for side in ("session", "plain", "session_no_validation", "plain_no_validation"):
                assert rep[side]["whole_run_s"] > sum(rep[side]["epoch_s"])


@SLOW
def test_metric_overhead_quick(tmp_path: Path) -> None:
    figures = run_quick("metric_overhead", tmp_path)["figures"]
    for ptype in ("binary", "multiclass"):
        f = figures[ptype]
        assert f["validation_batch_size"] == 1024 and f["steps_epoch_spread_s"]["n"] >= 2
        assert f["overhead_vs_session_epoch"] == f["scores_s"] / (f["steps_epoch_s"] + f["scores_s"])
        assert f["overhead_spread"]["min"] <= f["overhead_vs_session_epoch"] <= f["overhead_spread"]["max"]


@SLOW
def test_start_latency_quick(tmp_path: Path) -> None:
    figures = run_quick("start_latency", tmp_path)["figures"]
    assert figures["training_nice"] == 0 and "no teardown" in figures["tf_import_how"]
    assert figures["beyond_tf_import_s"] == figures["first_batch_s"] - figures["tf_import_s"]
    assert figures["tf_import_s"] >= figures["tf_import_in_process_s"] > 0


@SLOW
def test_where_time_goes_quick(tmp_path: Path) -> None:
    figures = run_quick("where_time_goes", tmp_path, "--cases", "mlp")["figures"]
    counted = figures["mlp"]["tracing_by_tensorflow"]
    assert counted["graph_building_s"] > 0 and counted["traces"]["one_step_on_data"] >= 1
    assert counted["share_of_wall"] < 1
