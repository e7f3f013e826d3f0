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

import json
import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fit_variants  # noqa: E402
from bench.common import PY, ROOT, Interference, median  # noqa: E402
from bench.fit_variants import STALLS  # noqa: E402
from worker.child_process import child_env  # noqa: E402


def malloc_env(variant: str, scratch: Path) -> dict[str, str]:
    """The MALLOC_* variables of VARIANT, as the training child gets them."""
    tuned = {k: v for k, v in child_env(scratch, None, True).items() if k.startswith("MALLOC_")}
    return {"default": {}, "tuned": tuned, "arenas": {"MALLOC_ARENA_MAX": tuned["MALLOC_ARENA_MAX"]}}[variant]


def one_run(workload: str, n_rows: int, epochs: int, variant: str, repeat: int) -> dict[str, Any]:
    """One fit in a fresh interpreter with glibc's malloc as VARIANT says: its steady epochs and its CPU split."""
    scratch = Path(os.environ.get("TMPDIR", "/tmp"))
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
    user, system = sum(r["user_s"] for r in runs), sum(r["system_s"] for r in runs)
    return {
        **fit_variants.steady_epochs(runs),
        "system_share": system / (user + system) if user + system else 0.0,
        "minor_faults_median": median(r["minor_faults"] for r in runs),
    }


def rows(f: dict[str, Any]) -> list[tuple[str, Any]]:
    """A variant's printed rows beyond its epochs: the kernel's share and the page faults."""
    return [
        ("  the kernel's share of the CPU", f"{f['system_share']:.2f}"),
        ("  minor page faults per run (median)", f"{f['minor_faults_median']:.0f}"),
    ]


def main(argv: list[str] | None = None) -> int:
    args = fit_variants.parser(__doc__ or "", "default,tuned,arenas", 8_000).parse_args(argv)
    return fit_variants.main("malloc_arenas", args, "glibc's malloc", one_run, summary, rows)


if __name__ == "__main__":
    sys.exit(main())
