"""Run every benchmark in sequence (the measurement run behind docs/benchmarks.md), noting the load before each.

    .venv/bin/python bench/run_all.py [--quick] [--only throughput,ingest] [--skip queue_scale] [--profile]
    .venv/bin/python bench/run_all.py --headline-only   # no script run: the headline of the results present

Each script writes its own bench/results/<name>.json; this one also writes bench/results/run_all.json with the
load average and the wall time of each script it ran, the figures of every results file the headline was made
from (with its "when"), and the headline figures, which it prints as a Markdown table. The headline is only
ever computed from those files (tests/bench/test_run_all_headline.py recomputes it from the copies and checks
the copies against the results files). The py-spy profile (where_time_goes.py) is not part of the measurement
run; --profile adds it at the end.
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


SOURCES = ["throughput", "metric_overhead", "start_latency", "ingest", "api_load", "queue_scale"]


def sources(folder: Path, quick: bool) -> dict[str, dict[str, Any]]:
    """{name: {"when", "figures"}} of the results files in FOLDER the headline is made from."""
    out = {}
    for name in SOURCES:
        path = folder / f"{name}{'-quick' if quick else ''}.json"
        if path.exists():
            doc = json.loads(path.read_text())
            out[name] = {"when": doc["when"], "figures": doc["figures"]}
    return out


def headline(folder: Path, quick: bool) -> list[tuple[str, str, str]]:
    """(figure, measured, target) rows from the results files present in FOLDER."""
    return headline_from({name: src["figures"] for name, src in sources(folder, quick).items()})


def _spread(s: dict[str, Any]) -> str:
    """'median (min-max, n repeats)'."""
    return f"{s['median']:.2f} ({s['min']:.2f}-{s['max']:.2f}, {s['n']} repeats)"


def _throughput_rows(tp: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The throughput rows: median and spread of each ratio (results of the script before issue 23: as they were)."""
    rows = []
    for w, f in _per_case(tp):
        if "spread" not in f:  # an older results file: validation at batch 32 in the plain script, one ratio
            rows.append((f"1. throughput {w}: with metrics (old script)", f"{f['ratio_with_metrics']:.2f}", ">= 0.90"))
            continue
        s, v = f["spread"], f["validation_batch_size"]
        rows += [
            (
                f"1. throughput {w}: steady epochs, with metrics (validation at {v} on both sides)",
                _spread(s["ratio_with_metrics"]),
                ">= 0.90",
            ),
            (f"1. throughput {w}: steady epochs, without validation", _spread(s["ratio_no_validation"]), ">= 0.90"),
            (f"1. throughput {w}: whole run, POST -> end vs the plain script", _spread(s["ratio_whole_run"]), "-"),
        ]
    return rows


def headline_from(figures: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(figure, measured, target) rows from each script's FIGURES ({name: figures})."""
    rows: list[tuple[str, str, str]] = []
    doc = figures.get
    if tp := doc("throughput"):
        rows += _throughput_rows(tp)
    if mo := doc("metric_overhead"):
        for t, f in _per_case(mo):
            if "overhead_spread" in f:  # the share of a session's epoch (training steps + metrics)
                o = f["overhead_spread"]
                measured = f"{f['overhead_vs_session_epoch']:.1%} ({o['min']:.1%}-{o['max']:.1%})"
            else:  # an older results file: metrics over an epoch with a batch-32 Keras validation pass
                measured = f"{f['overhead_vs_session_epoch']:.1%} (old script)"
            if "added_vs_validated_epoch" in f:  # beyond the validation pass a Keras fit with validation_data makes
                measured += f"; {f['added_vs_validated_epoch']:.1%} beyond a Keras validation pass"
            rows.append((f"2. metrics per epoch, {t}, {f['n_val']} val rows", measured, "<= 5 %"))
    if sl := doc("start_latency"):
        strict = sl.get("beyond_tf_import_in_process_s")
        how = "" if "tf_import_how" in sl else " (old script: import with teardown)"
        rows.append(
            (
                f"3. POST /train -> first batch, beyond TF import{how}",
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
    parser.add_argument("--headline-only", action="store_true", help="run no script: the headline of the results")
    args = parser.parse_args(argv)
    order = ORDER + (["where_time_goes"] if args.profile else [])
    names = [n for n in order if (not args.only or n in args.only.split(",")) and n not in args.skip.split(",")]
    names = [] if args.headline_only else names
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
    used = sources(folder, args.quick)
    rows = headline_from({name: src["figures"] for name, src in used.items()})
    print("\n| figure | measured | target |\n| --- | --- | --- |")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    write_result("run_all", args.quick, {"runs": runs, "sources": used, "headline": rows}, load0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
