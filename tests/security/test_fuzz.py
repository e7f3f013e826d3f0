"""Fuzz every operation of the app's own OpenAPI with schemathesis, in-process, as a project writer (bounded run).

No request may get a 500, and every 4xx must be JSON {"detail": str, "code": snake_case} (+ an "errors" list).
The long run is bench/fuzz.py; its results are in docs/security.md.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_api
from tests.security import fuzzing
from tests.server.api.conftest import settings_from_template

EXAMPLES_PER_MODE = 3  # positive + negative, each sent with generated and with real ids: ~12 requests an operation
SEED = 20240611
BUDGET_S = 90.0  # a safety net: the run takes ~30 s on a quiet 2-core machine


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, migrated_template: Any) -> Iterator[fuzzing.FuzzWorld]:
    from server.services import dry_run
    from server.settings import get_settings

    ram = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="fitstudio-fuzz-", dir=ram)) if ram.is_dir() else tmp_path_factory.mktemp("f")
    try:
        with pytest.MonkeyPatch.context() as mp:
            settings_from_template(mp, folder / "home", migrated_template)
            mp.setattr(dry_run, "WAIT_S", 0.2)  # no worker here: a dry run answers "no worker finished it" at once
            yield fuzzing.FuzzWorld(make_api(get_settings()), role="writer", real_keras=False)
        get_settings.cache_clear()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.timeout(180)
def test_fuzz_every_operation_as_a_writer(world: fuzzing.FuzzWorld) -> None:
    started = time.monotonic()
    report = fuzzing.run(world, max_examples=EXAMPLES_PER_MODE, seed=SEED, budget_s=BUDGET_S, log=print)
    elapsed = time.monotonic() - started
    print("\n" + fuzzing.summary(report))
    missing = sorted(set(report.operations) - set(report.per_operation))
    assert not missing, f"not fuzzed within {elapsed:.0f}s: {missing}"
    assert len(report.operations) >= 50, report.operations
    assert not report.findings, fuzzing.summary(report)
    assert report.statuses.get(200, 0) + report.statuses.get(201, 0) > 0, report.statuses


STATEFUL_SCENARIOS = 80
STATEFUL_STEPS = 8
STATEFUL_BUDGET_S = 60.0


@pytest.mark.timeout(180)
def test_stateful_links_phase_as_a_writer(world: fuzzing.FuzzWorld) -> None:
    """Chains of calls along the links schemathesis infers (create → read → change → delete), bounded."""
    from tests.security.fuzzing_stateful import link_count, run_stateful

    assert link_count(fuzzing.make_schema(world.api)) >= 50  # links schemathesis infers from the schema
    report = run_stateful(world, STATEFUL_SCENARIOS, STATEFUL_STEPS, SEED, STATEFUL_BUDGET_S)
    print("\n" + fuzzing.summary(report))
    assert report.requests > STATEFUL_SCENARIOS and len(report.per_operation) >= 10, report.per_operation
    assert not report.findings, fuzzing.summary(report)
