"""Smoke test of bench/batch_scoring.py (issue 21): its quick mode runs the worker's scoring and model.predict on the
same rows, exits 0 and writes both figures, the memory and the job's agreement with predict."""

from __future__ import annotations

from pathlib import Path

from tests.bench.test_bench_smoke import run_quick


def test_batch_scoring_quick(tmp_path: Path) -> None:
    figures = run_quick("batch_scoring", tmp_path)["figures"]
    found = figures["sizes"]["20000"]
    assert found["rows"] == 20_000 and found["failed"] == 0
    assert found["rows_per_s"] > 0 and found["predict_rows_per_s"] > 0 and found["ratio_vs_predict"] > 0
    assert found["max_abs_diff_vs_predict"] < 1e-6  # the job's probabilities are predict's
    assert found["peak_growth_mib"] is None or found["peak_growth_mib"] >= 0
