"""The training child's environment: glibc's malloc tuned as FITSTUDIO_TRAINING_MALLOC_TUNING says (on by default,
docs/benchmarks.md "glibc's malloc in the training child"), nothing of the worker's own beyond the allowlist."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings
from worker import child_process


def test_the_tuning_is_on_by_default_and_holds_two_arenas() -> None:
    assert Settings().training_malloc_tuning is True
    assert child_process.MALLOC_TUNING["MALLOC_ARENA_MAX"] == "2"


@pytest.mark.parametrize("tuned", [True, False])
def test_the_setting_reaches_the_child_s_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tuned: bool
) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "99")  # the worker's own is not passed on
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "1")
    env = child_process.child_env(tmp_path, None, tuned)
    malloc = {k: v for k, v in env.items() if k.startswith("MALLOC_")}
    assert malloc == (child_process.MALLOC_TUNING if tuned else {})
    assert env["CUDA_VISIBLE_DEVICES"] == "-1" and env["HOME"] == str(tmp_path)
