"""The long API fuzzing run (a script, not a test): every operation, as a project writer and as a project admin.

    .venv/bin/python bench/fuzz.py [--examples 60] [--seed 1] [--roles writer,admin] [--write-docs]

It uses the harness of tests/security/fuzzing.py (schemathesis on the app's own OpenAPI, in-process, positive and
negative data, each request sent as generated and with real ids) on a fresh FITSTUDIO_HOME with a real (small,
untrained) Keras model deployed, so scoring and export run for real. It prints what it found; with --write-docs it
rewrites the "Fuzzing results" section of docs/security.md. The exit status is 1 when something broke the contract.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOC = ROOT / "docs" / "security.md"
START, END = "<!-- fuzz-results:start -->", "<!-- fuzz-results:end -->"


def _home() -> Path:
    ram = Path("/dev/shm")
    base = ram if ram.is_dir() and os.access(ram, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="fitstudio-fuzz-bench-", dir=base))


def run_role(role: str, examples: int, seed: int) -> tuple[object, float]:
    """One fuzzing run as ROLE on a fresh home; returns the report and the setup time."""
    from tests.conftest import make_api  # first: importing it clears FITSTUDIO_* variables

    for var in [v for v in os.environ if v.startswith("FITSTUDIO_")]:
        os.environ.pop(var)
    folder = _home()
    os.environ.update(
        FITSTUDIO_HOME=str(folder / "home"),
        FITSTUDIO_ALLOWED_HOSTS="127.0.0.1,localhost,testserver",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
    from server.services import dry_run
    from server.services.bootstrap import migrate
    from server.settings import get_settings
    from tests.security import fuzzing

    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    try:
        started = time.monotonic()
        migrate(settings)
        dry_run.WAIT_S = 0.2  # no worker: a dry run reports "no worker finished it" at once
        world = fuzzing.FuzzWorld(make_api(settings), role=role, real_keras=True)
        setup = time.monotonic() - started
        report = fuzzing.run(world, max_examples=examples, seed=seed, log=lambda line: print(f"  [{role}] {line}"))
        return report, setup
    finally:
        get_settings.cache_clear()
        shutil.rmtree(folder, ignore_errors=True)


def markdown(results: dict[str, object], examples: int, seed: int) -> str:
    """The docs section for RESULTS (role -> report)."""
    from tests.security.fuzzing import Report

    lines = [
        f"Last run: {datetime.now(UTC):%Y-%m-%d}, `python bench/fuzz.py --examples {examples} --seed {seed}` "
        f"on {platform.machine()} / Python {platform.python_version()}.",
        "",
        "| caller | operations | requests | time | statuses | contract breaks |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for role, report in results.items():
        assert isinstance(report, Report)
        statuses = ", ".join(f"{k}×{v}" for k, v in sorted(report.statuses.items()))
        lines.append(
            f"| project {role} | {len(report.per_operation)} | {report.requests} | {report.seconds:.0f} s | "
            f"{statuses} | {len(report.distinct())} |"
        )
    breaks = [f for r in results.values() for f in r.distinct()]  # type: ignore[attr-defined]
    lines.append("")
    if breaks:
        lines.append("Contract breaks found by this run:")
        lines.append("")
        lines += [f"- `{f.operation}` ({f.variant}) → {f.status}: {f.problem}" for f in breaks]
    else:
        lines.append("No request got a 500 and every 4xx had the `{detail, code}` shape.")
    return "\n".join(lines)


def write_docs(section: str) -> None:
    """Replace the text between the fuzz-results markers of docs/security.md with SECTION."""
    text = DOC.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(f"{head}{START}\n{section}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=60, help="examples per operation and generation mode")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--roles", default="writer,admin")
    parser.add_argument("--write-docs", action="store_true", help="rewrite the results section of docs/security.md")
    args = parser.parse_args(argv)
    from tests.security.fuzzing import summary

    results = {}
    for role in args.roles.split(","):
        print(f"fuzzing as a project {role} ({args.examples} examples per operation and mode)", flush=True)
        report, setup = run_role(role, args.examples, args.seed)
        print(f"setup {setup:.1f}s\n{summary(report)}\n", flush=True)  # type: ignore[arg-type]
        results[role] = report
    section = markdown(results, args.examples, args.seed)
    print(section)
    if args.write_docs:
        write_docs(section)
        print(f"\nwrote {DOC.relative_to(ROOT)}")
    return 1 if any(r.findings for r in results.values()) else 0  # type: ignore[attr-defined]


if __name__ == "__main__":
    sys.exit(main())
