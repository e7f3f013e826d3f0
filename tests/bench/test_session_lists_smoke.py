"""Smoke test of bench/session_lists.py (issue 23): it runs on a small ML task, exits 0, and writes new and old
figures side by side with the same answers' sizes for the API list (the two answer the same items)."""

from __future__ import annotations

from pathlib import Path

from tests.bench.test_bench_smoke import run_quick


def test_session_lists_quick(tmp_path: Path) -> None:
    figures = run_quick("session_lists", tmp_path, "--sizes", "60", "--limit", "20")["figures"]
    found = figures["sizes"]["60"]
    for name in ("list_first_page", "results_page", "list_whole"):
        assert found[f"{name}_s"] > 0 and found[f"{name}_old_over_new"] > 0
    assert found["list_first_page_bytes"] == found["list_first_page_old_bytes"]
    assert found["list_whole_bytes"] == found["list_whole_old_bytes"]
    assert found["results_page_bytes"] < found["results_page_old_bytes"]  # one page of rows against every row
