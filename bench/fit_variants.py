"""Shared by benchmarks that run one fit (bench/epoch_stalls.py's child) in several variants, interleaved in each
repeat: their options, the interleaving, and the summary of each variant's steady epochs."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

from bench.common import ROOT, base_args, median, show, watch_whole_run, write_result

STALLS = str(ROOT / "bench" / "epoch_stalls.py")
QUICK_SIZES = {"cnn": 300, "mlp": 3_000}

Run = Callable[[str, int, int, str, int], dict[str, Any]]  # (workload, rows, epochs, variant, repeat) -> a run
Rows = Callable[[dict[str, Any]], list[tuple[str, Any]]]  # a variant's summary -> extra printed rows


def parser(doc: str, variants: str, images: int) -> argparse.ArgumentParser:
    """The options: --workloads, --variants (VARIANTS by default; the first is the base), --images (IMAGES by
    default), --rows, --epochs, --repeats, and the benchmarks' own (--quick)."""
    out = argparse.ArgumentParser(description=doc.splitlines()[0])
    base_args(out)
    out.add_argument("--workloads", default="cnn,mlp")
    out.add_argument("--variants", default=variants, help=f"of {variants} (the first is the base)")
    out.add_argument("--images", type=int, default=images, help="the CNN's images")
    out.add_argument("--rows", type=int, default=200_000, help="the MLP's rows")
    out.add_argument("--epochs", type=int, default=4, help="epochs per run (the first is not timed)")
    out.add_argument("--repeats", type=int, default=2, help="interleaved repeats of the variants")
    return out


def steady_epochs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The steady epochs of a variant's RUNS (each with wall_s and cpu_s lists): count, median and min-max of both."""
    wall = [w for r in runs for w in r["wall_s"]]
    cpu = [c for r in runs for c in r["cpu_s"]]
    return {
        "epochs": len(wall),
        "wall_s": {"median": median(wall), "min": min(wall), "max": max(wall)},
        "cpu_s": {"median": median(cpu), "min": min(cpu), "max": max(cpu)},
        "runs": runs,
    }


def one_workload(
    args: argparse.Namespace,
    workload: str,
    title: str,
    run: Run,
    summary: Callable[[list[dict[str, Any]]], dict],
    rows: Rows,
) -> dict[str, Any]:
    """The variants' runs on WORKLOAD, interleaved in each repeat; each variant's SUMMARY (with its CPU and wall
    median against the first variant's) printed under TITLE with its ROWS, and returned."""
    epochs, repeats = (3, 1) if args.quick else (args.epochs, args.repeats)
    n_rows = QUICK_SIZES[workload] if args.quick else {"cnn": args.images, "mlp": args.rows}[workload]
    variants = [v for v in args.variants.split(",") if v]
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for i in range(repeats):
        for v in variants:
            runs[v].append(run(workload, n_rows, epochs, v, i))
            print(f"{workload} repeat {i + 1} {v}: {[round(w, 2) for w in runs[v][-1]['wall_s']]} s", flush=True)
    per = {v: summary(r) for v, r in runs.items()}
    base = per[variants[0]]
    printed: list[tuple[str, Any]] = [("rows (80 % trained on); epochs per run, timed", f"{n_rows}; {epochs - 1}")]
    for name, f in per.items():
        f["cpu_vs_first"] = f["cpu_s"]["median"] / base["cpu_s"]["median"]
        f["wall_vs_first"] = f["wall_s"]["median"] / base["wall_s"]["median"]
        wall, cpu = f["wall_s"], f["cpu_s"]
        printed += [
            (f"{name}: steady epoch median (min-max) s", f"{wall['median']:.2f} ({wall['min']:.2f}-{wall['max']:.2f})"),
            ("  CPU s per epoch, median (min-max)", f"{cpu['median']:.2f} ({cpu['min']:.2f}-{cpu['max']:.2f})"),
            ("  CPU and wall vs the first", f"{f['cpu_vs_first']:.3f}, {f['wall_vs_first']:.3f}"),
            *rows(f),
        ]
    show(f"{workload}: {title}", printed)
    return {"rows": n_rows, "epochs": epochs, "repeats": repeats, "variants": per}


def main(name: str, args: argparse.Namespace, title: str, run: Run, summary: Callable[..., dict], rows: Rows) -> int:
    """Run every workload of ARGS (one_workload) and write the results as NAME."""
    load = [round(x, 2) for x in os.getloadavg()]
    # Sampled, not reaped: a child in bubblewrap's PID namespace never hands its CPU time back to this process, so
    # the reaped totals counted the sandboxed fits as other processes' work (31 % of the CPU in one run).
    watch_whole_run()
    workloads = [w for w in args.workloads.split(",") if w]
    figures = {w: one_workload(args, w, title, run, summary, rows) for w in workloads}
    write_result(name, args.quick, figures, load)
    return 0
