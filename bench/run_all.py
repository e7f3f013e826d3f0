"""Run every benchmark in sequence (the measurement run behind docs/benchmarks.md), noting the load before each.

    .venv/bin/python bench/run_all.py [--quick] [--only throughput,ingest] [--skip queue_scale] [--profile]

Each script writes its own bench/results/<name>.json; this one also writes bench/results/run_all.json with the
load average and the wall time of each script, and prints the headline figures as a Markdown table. The
py-spy profile (where_time_goes.py) is not part of the measurement run; --profile adds it at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, RESULTS, ROOT, write_result  # noqa: E402

ORDER = ["start_latency", "metric_overhead", "ingest", "api_load", "throughput", "queue_scale"]


def _per_case(figures: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The per-workload entries of FIGURES, without the run-wide figures beside them (foreign_cpu_share)."""
    return [(name, f) for name, f in figures.items() if isinstance(f, dict)]


def headline(folder: Path, quick: bool) -> list[tuple[str, str, str]]:
    """(figure, measured, target) rows from the results files present in FOLDER."""

    def doc(name: str) -> dict[str, Any] | None:
        path = folder / f"{name}{'-quick' if quick else ''}.json"
        return json.loads(path.read_text())["figures"] if path.exists() else None

    rows: list[tuple[str, str, str]] = []
    if tp := doc("throughput"):
        for w, f in _per_case(tp):
            rows.append(
                (
                    f"1. throughput {w}: session / plain samples/s, with metrics",
                    f"{f['ratio_with_metrics']:.2f}",
                    ">= 0.90",
                )
            )
            rows.append(
                (f"1. throughput {w}: same, raw fit (metrics subtracted)", f"{f['ratio_raw_fit']:.2f}", ">= 0.90")
            )
            if "ratio_train_steps" in f:
                rows.append((f"1. throughput {w}: training steps alone", f"{f['ratio_train_steps']:.2f}", ">= 0.90"))
            if "ratio_best_epochs" in f:
                rows.append(
                    (f"1. throughput {w}: best epochs, with metrics", f"{f['ratio_best_epochs']:.2f}", ">= 0.90")
                )
    if mo := doc("metric_overhead"):
        for t, f in _per_case(mo):
            rows.append(
                (f"2. metrics per epoch, {t}, {f['n_val']} val rows", f"{f['overhead_vs_session_epoch']:.1%}", "<= 5 %")
            )
    if sl := doc("start_latency"):
        strict = sl.get("beyond_tf_import_in_process_s")
        rows.append(
            (
                "3. POST /train -> first batch, beyond TF import",
                f"{sl['beyond_tf_import_s']:.1f} s ({sl['first_batch_s']:.1f} - {sl['tf_import_s']:.1f})"
                + (f"; {strict:.1f} s beyond the import alone" if strict is not None else ""),
                "<= 3 s",
            )
        )
    if ig := doc("ingest"):
        rows.append(
            (
                f"4. CSV upload {ig['rows']} x 20 vs pyarrow",
                f"{ig['ratio']:.2f}x; API RSS +"
                f"{ig['rss_growth_big_mib']:.0f} MiB ({ig['rss_growth_per_file_mib']:.1f}x file)",
                "<= 2x, bounded",
            )
        )
    if al := doc("api_load"):
        u = al["under_training"]
        rows.append(
            (
                f"5. GET /sessions/{{id}} at {al['rate']:g} req/s, 2 trainings",
                f"p50 {u['p50_ms']:.0f} ms, p99 {u['p99_ms']:.0f} ms, {u['error_count']} errors",
                "p99 <= 50 ms, 0 errors",
            )
        )
    if qs := doc("queue_scale"):
        rows.append(
            (
                f"6. {qs['sessions']} sessions on {qs['workers']} workers",
                f"{qs['statuses']}, {len(qs['problems'])} problems; {qs['total_s']:.0f} s vs "
                f"{qs['ideal_s']:.0f} s ideal",
                "all end, none twice",
            )
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--skip", default="")
    parser.add_argument("--profile", action="store_true", help="also run where_time_goes.py (needs py-spy)")
    args = parser.parse_args(argv)
    order = ORDER + (["where_time_goes"] if args.profile else [])
    names = [n for n in order if (not args.only or n in args.only.split(",")) and n not in args.skip.split(",")]
    load0 = [round(x, 2) for x in os.getloadavg()]
    runs: dict[str, Any] = {}
    for name in names:
        load = [round(x, 2) for x in os.getloadavg()]
        print(f"\n#### {name} (load {load})", flush=True)
        t = time.perf_counter()
        code = subprocess.run(
            [PY, str(ROOT / "bench" / f"{name}.py"), *(["--quick"] if args.quick else [])], cwd=ROOT
        ).returncode
        runs[name] = {"loadavg_before": load, "wall_s": time.perf_counter() - t, "exit": code}
    folder = Path(os.environ.get("BENCH_RESULTS_DIR") or RESULTS)
    rows = headline(folder, args.quick)
    print("\n| figure | measured | target |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    write_result("run_all", args.quick, {"runs": runs, "headline": rows}, load0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
