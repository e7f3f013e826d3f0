"""glibc's malloc and a training's CPU: standard mode's fit with glibc's defaults and with the training child's
tuning (worker/child_process.MALLOC_TUNING, FITSTUDIO_TRAINING_MALLOC_TUNING), side by side.

    .venv/bin/python bench/malloc_arenas.py [--quick] [--workloads cnn,mlp] [--variants default,tuned,arenas]
                                            [--images 8000] [--rows 200000] [--epochs 4] [--repeats 2]

Each run is a fresh interpreter running `bench/epoch_stalls.py`'s child (the default CNN on 64×64×3 images or the
default MLP on 30 numbers, fed by `worker.runtime.fit.fast_training_data` as a session is, batch 32, no metrics
between epochs) with glibc's malloc as VARIANT says: "default", no MALLOC_* variable; "tuned", the training child's
(child_env); "arenas", its arena count alone. The variants run interleaved in each repeat. Reported per variant:
each steady epoch's wall and CPU seconds, and the child's user and system CPU and minor page faults over the whole
run (from its rusage), so the kernel's share shows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import PY, ROOT, Interference, base_args, median, show, write_result  # noqa: E402
from worker.child_process import child_env  # noqa: E402

STALLS = str(ROOT / "bench" / "epoch_stalls.py")


def malloc_env(variant: str, scratch: Path) -> dict[str, str]:
    """The MALLOC_* variables of VARIANT, as the training child gets them."""
    tuned = {k: v for k, v in child_env(scratch, None, True).items() if k.startswith("MALLOC_")}
    return {"default": {}, "tuned": tuned, "arenas": {"MALLOC_ARENA_MAX": tuned["MALLOC_ARENA_MAX"]}}[variant]


def one_run(workload: str, n_rows: int, epochs: int, variant: str, scratch: Path) -> dict[str, Any]:
    """One fit in a fresh interpreter with glibc's malloc as VARIANT says: its steady epochs and its CPU split."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update({"CUDA_VISIBLE_DEVICES": "-1", "TF_CPP_MIN_LOG_LEVEL": "2", **malloc_env(variant, scratch)})
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with Interference() as during:
        args = [PY, STALLS, "--child", workload, str(n_rows), str(epochs), "0", "0"]
        proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    run = json.loads(proc.stdout.strip().splitlines()[-1])
    run["user_s"] = after.ru_utime - before.ru_utime
    run["system_s"] = after.ru_stime - before.ru_stime
    run["minor_faults"] = after.ru_minflt - before.ru_minflt
    run["malloc_env"] = malloc_env(variant, scratch)
    run["foreign_cpu_share"] = during.share
    return run


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A variant's steady epochs over its runs, the kernel's share of its CPU and its page faults."""
    wall = [w for r in runs for w in r["wall_s"]]
    cpu = [c for r in runs for c in r["cpu_s"]]
    user, system = sum(r["user_s"] for r in runs), sum(r["system_s"] for r in runs)
    return {
        "epochs": len(wall),
        "wall_s": {"median": median(wall), "min": min(wall), "max": max(wall)},
        "cpu_s": {"median": median(cpu), "min": min(cpu), "max": max(cpu)},
        "system_share": system / (user + system) if user + system else 0.0,
        "minor_faults_median": median(r["minor_faults"] for r in runs),
        "runs": runs,
    }


def one_workload(workload: str, n_rows: int, epochs: int, repeats: int, variants: list[str]) -> dict[str, Any]:
    """The VARIANTS' runs on WORKLOAD, interleaved in each of REPEATS repeats; printed and returned."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    scratch = Path(os.environ.get("TMPDIR", "/tmp"))
    for i in range(repeats):
        for v in variants:
            runs[v].append(one_run(workload, n_rows, epochs, v, scratch))
            print(f"{workload} repeat {i + 1} {v}: {[round(w, 2) for w in runs[v][-1]['wall_s']]} s", flush=True)
    per = {v: summary(r) for v, r in runs.items()}
    base = per[variants[0]]
    for f in per.values():
        f["cpu_vs_first"] = f["cpu_s"]["median"] / base["cpu_s"]["median"]
        f["wall_vs_first"] = f["wall_s"]["median"] / base["wall_s"]["median"]
    rows: list[tuple[str, Any]] = [("rows (80 % trained on); epochs per run, timed", f"{n_rows}; {epochs - 1}")]
    for name, f in per.items():
        rows += [
            (
                f"{name}: steady epoch median (min-max) s",
                f"{f['wall_s']['median']:.2f} ({f['wall_s']['min']:.2f}-{f['wall_s']['max']:.2f})",
            ),
            (
                "  CPU s per epoch, median (min-max)",
                f"{f['cpu_s']['median']:.2f} ({f['cpu_s']['min']:.2f}-{f['cpu_s']['max']:.2f})",
            ),
            (
                "  the kernel's share of the CPU; CPU and wall vs the first",
                f"{f['system_share']:.2f}; {f['cpu_vs_first']:.3f}, {f['wall_vs_first']:.3f}",
            ),
            ("  minor page faults per run (median)", f"{f['minor_faults_median']:.0f}"),
        ]
    show(f"{workload}: glibc's malloc", rows)
    return {"rows": n_rows, "epochs": epochs, "repeats": repeats, "variants": per}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_args(parser)
    parser.add_argument("--workloads", default="cnn,mlp")
    parser.add_argument(
        "--variants", default="default,tuned,arenas", help="default, tuned, arenas (the first is the base)"
    )
    parser.add_argument("--images", type=int, default=8_000, help="the CNN's images")
    parser.add_argument("--rows", type=int, default=200_000, help="the MLP's rows")
    parser.add_argument("--epochs", type=int, default=4, help="epochs per run (the first is not timed)")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved repeats of the variants")
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    epochs, repeats = (3, 1) if args.quick else (args.epochs, args.repeats)
    sizes = {"cnn": 300, "mlp": 3_000} if args.quick else {"cnn": args.images, "mlp": args.rows}
    variants = [v for v in args.variants.split(",") if v]
    figures = {w: one_workload(w, sizes[w], epochs, repeats, variants) for w in args.workloads.split(",") if w}
    write_result("malloc_arenas", args.quick, figures, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
