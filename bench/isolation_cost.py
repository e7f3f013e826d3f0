"""What the training sandbox costs a running fit: the same fit plainly, inside bubblewrap, inside a memory cgroup,
and inside both (as a session's child runs), side by side.

    .venv/bin/python bench/isolation_cost.py [--quick] [--workloads cnn,mlp] [--images 6400] [--rows 200000]
                                             [--epochs 4] [--repeats 2] [--variants plain,bwrap,memcg,bwrap-memcg]

Each run is a fresh interpreter running `bench/epoch_stalls.py`'s child (the default CNN on 64×64×3 images or the
default MLP on 30 numbers, fed as a standard-mode session feeds them, batch 32, no metrics between epochs) in the
training child's environment (`worker.child_process.child_env`, glibc's malloc tuned), with:
- "plain": nothing more;
- "bwrap": the sandbox a session's child gets (`worker.sandbox.command`: namespaces, the seccomp filter, an
  unprivileged uid when run as root), with this checkout bound read-only (the benchmark's child imports bench/
  and server/, which a session's sandbox does not show);
- "memcg": the training's pids and memory cgroups (`worker.cgroups.TrainingCgroup`, limit 12 GiB), which charge
  each page the fit faults in;
- "bwrap-memcg": both.
The variants run interleaved in each repeat; each reports its steady epochs' wall and CPU seconds (measured by the
child itself: a sandboxed child's CPU never comes back through bubblewrap's PID namespace), its PID and seccomp
mode as the child saw them, and the memory cgroup's peak. A session also gets a cpu cgroup below the service's
where the worker runs in it; that one is not here (its weight is `bench/priority.py`'s and `api_load.py`'s).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fit_variants  # noqa: E402
from bench.common import PY, ROOT, Interference  # noqa: E402
from bench.fit_variants import STALLS  # noqa: E402
from worker import sandbox  # noqa: E402
from worker.cgroups import TrainingCgroup  # noqa: E402
from worker.child_process import child_env  # noqa: E402

MEMORY_LIMIT = 12 << 30
VARIANTS = ("plain", "bwrap", "memcg", "bwrap-memcg")


def _scratch(parent: Path, name: str) -> Path:
    """A scratch folder the sandbox's unprivileged uid may write (as runner.hand_over makes a session's)."""
    scratch = parent / name
    (scratch / "tmp").mkdir(parents=True)
    for path in (scratch, scratch / "tmp"):
        path.chmod(0o777)
    return scratch


def _command(variant: str, argv: list[str], scratch: Path) -> tuple[list[str], int | None]:
    """ARGV as VARIANT runs it, and the seccomp filter's fd to pass (bwrap variants)."""
    if not variant.startswith("bwrap"):
        return argv, None
    view = sandbox.View(
        read_only=sorted({*sandbox.python_roots(PY), str(ROOT)}),
        writable=[str(scratch)],
        cwd=str(ROOT),
        uid=sandbox.sandbox_uid(200_000, scratch.name),
    )
    return sandbox.command(view, argv)


def one_run(workload: str, n_rows: int, epochs: int, variant: str, index: int) -> dict[str, Any]:
    """One fit in a fresh interpreter as VARIANT says: its steady epochs, where it ran, the cgroup's peak."""
    work = Path(tempfile.mkdtemp(prefix="fitstudio-isolation-"))
    work.chmod(0o755)  # the sandbox's uid passes through to its scratch folder
    scratch = _scratch(work, f"{variant}-{workload}-{index}")
    env = {**child_env(scratch, None, True), "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}
    argv, filter_fd = _command(variant, [PY, STALLS, "--child", workload, str(n_rows), str(epochs), "0", "0"], scratch)
    cgroup = None
    if variant.endswith("memcg"):
        cgroup = TrainingCgroup.create(f"bench-isolation-{os.getpid()}-{index}-{variant}", 4096, MEMORY_LIMIT)
        if cgroup is None or cgroup.memory is None:
            raise SystemExit("no memory cgroup here (root and a memory controller are needed): drop the memcg variants")
    try:
        with Interference() as during:
            fds = (filter_fd,) if filter_fd is not None else ()
            proc = subprocess.Popen(
                argv, cwd=ROOT, env=env, pass_fds=fds, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            if filter_fd is not None:
                os.close(filter_fd)
            if cgroup is not None:
                cgroup.add_tree(proc.pid, expected=3 if variant.startswith("bwrap") else 1)
            out, err = proc.communicate()
        peak = cgroup.memory.peak() if cgroup is not None and cgroup.memory is not None else None
    finally:
        if cgroup is not None:
            cgroup.remove()
        shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        raise RuntimeError(err.decode(errors="replace")[-3000:])
    run = json.loads(out.decode().strip().splitlines()[-1])
    run["memcg_peak_mib"] = peak / 2**20 if peak is not None else None
    run["foreign_cpu_share"] = during.share
    return run


def main(argv: list[str] | None = None) -> int:
    args = fit_variants.parser(__doc__ or "", ",".join(VARIANTS), 6_400).parse_args(argv)
    unknown = {v for v in args.variants.split(",") if v} - set(VARIANTS)
    if unknown:
        raise SystemExit(f"unknown variants: {sorted(unknown)}")
    title = "the sandbox's cost to a running fit"
    return fit_variants.main("isolation_cost", args, title, one_run, fit_variants.steady_epochs, lambda f: [])


if __name__ == "__main__":
    sys.exit(main())
