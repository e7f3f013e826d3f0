"""Temporary files left by crashes are still removed, but the reconciler's passes no longer walk the big trees."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from worker import reconciler, temp_sweep

OLD = time.time() - 7200  # older than the orphan_max_age_s of these tests (60 s)


def aged(path: Path, content: bytes = b"x") -> Path:
    """PATH written (parents made) with an mtime two hours ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    os.utime(path, (OLD, OLD))
    return path


@pytest.fixture
def settings(sqlite_settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from tests.conftest import configure

    return configure(monkeypatch, sqlite_settings.home, orphan_max_age_s="60")


@pytest.fixture
def scandirs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The folders the sweep opens (os.scandir as temp_sweep calls it, counted and passed through)."""
    opened: list[str] = []
    real = os.scandir

    def counting(path: Any) -> Any:
        opened.append(str(path))
        return real(path)

    monkeypatch.setattr(temp_sweep.os, "scandir", counting)
    yield opened


def many_files(folder: Path, n: int) -> None:
    """N unrelated files (an extracted image dataset) in FOLDER, in folders of 500."""
    for i in range(n):
        sub = folder / f"class{i // 500}"
        if i % 500 == 0:
            sub.mkdir(parents=True)
        (sub / f"img{i}.png").write_bytes(b"")


def test_crash_left_temp_files_are_removed_and_the_rest_kept(settings: Any) -> None:
    data, artifacts = settings.data_root, settings.artifacts
    stale = [
        aged(data / "uploads" / ".upload-0123abcd"),
        aged(data / "projects" / "P" / "datasets" / "3" / ".data.parquet.tmp"),
        aged(artifacts / "projects" / "P" / "trained" / "t1" / ".model.keras.0f1e2d.tmp"),
        aged(artifacts / "sessions" / "7" / "checkpoints" / ".state.json.tmp"),
        aged(artifacts / "projects" / "P" / "trained" / "t2" / "model.tmp.keras"),
        aged(data / "projects" / "P" / "folders" / "4" / "sub" / f".w.h5.{'a' * 32}.tmp"),  # atomic_move's
    ]
    kept = [
        aged(data / "projects" / "P" / "datasets" / "3" / "data.parquet"),
        aged(data / "projects" / "P" / "folders" / "4" / ".notes.tmp"),  # a user's own file in a managed folder
        aged(data / "projects" / "P" / "folders" / "4" / ".upload-mine"),
        artifacts / "projects" / "P" / "trained" / "t3" / ".model.keras.fresh.tmp",  # being written now
    ]
    kept[-1].parent.mkdir(parents=True)
    kept[-1].write_bytes(b"")
    outside = aged(settings.home / "elsewhere" / ".x.tmp")
    (data / "link").symlink_to(outside.parent)  # a link is never followed out of the tree
    removed = reconciler.clean_orphans(settings, active_scratch=set())
    assert sorted(removed) == sorted(map(str, stale))
    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in kept) and outside.exists()


def test_a_pass_does_not_walk_the_trees_until_the_sweep_is_due(settings: Any, scandirs: list[str]) -> None:
    many_files(settings.data_root / "projects" / "P" / "datasets" / "1" / "files", 2000)
    folders = sum(1 for _ in os.walk(settings.data_root)) + sum(1 for _ in os.walk(settings.artifacts))
    scandirs.clear()
    reconciler.loop_once(settings, set())
    reconciler.SWEEPER.join(30)
    assert len(scandirs) == folders, "the first sweep opens each folder once (one walk, not one per pattern)"

    crashed = aged(settings.data_root / "projects" / "P" / "datasets" / "1" / ".data.parquet.tmp")
    scandirs.clear()
    for _ in range(3):  # the reconciler's next passes, while the sweep is not due
        assert reconciler.loop_once(settings, set())["temp_sweep_started"] is False
    assert scandirs == [] and crashed.exists()

    for root in temp_sweep.roots(settings):  # an orphan_max_age_s later
        os.utime(root / temp_sweep.STAMP, (OLD, OLD))
    assert reconciler.loop_once(settings, set())["temp_sweep_started"] is True
    reconciler.SWEEPER.join(30)
    assert not crashed.exists() and reconciler.SWEEPER.removed == [str(crashed)]


def test_workers_sharing_a_tree_sweep_it_once(settings: Any) -> None:
    first = temp_sweep.claim_due(settings)
    assert first == [settings.artifacts, settings.data_root]
    assert temp_sweep.claim_due(settings) == []  # another worker, a moment later
    assert temp_sweep.claim_due(settings, now=time.time() + 61) == first


def test_a_sweep_costs_the_same_whatever_the_tree_holds_between_sweeps(settings: Any, scandirs: list[str]) -> None:
    temp_sweep.sweep_due(settings)
    many_files(settings.data_root / "projects" / "P" / "datasets" / "2" / "files", 5000)
    scandirs.clear()
    started = time.perf_counter()
    for _ in range(100):
        assert temp_sweep.sweep_due(settings) == []
    assert scandirs == []
    assert time.perf_counter() - started < 0.5  # two stamp stats a pass


def test_an_upload_staging_folder_left_by_a_killed_api_is_removed_whole(settings: Any) -> None:
    datasets = settings.data_root / "projects" / "P" / "datasets"
    left = datasets / f".staging-{'b' * 32}"
    aged(left / "data.parquet")
    os.utime(left, (OLD, OLD))
    fresh = datasets / f".staging-{'c' * 32}"  # an upload being parsed now
    aged(fresh / "data.parquet")
    users = settings.data_root / "projects" / "P" / "folders" / "4" / f".staging-{'d' * 32}"  # a user's folder
    aged(users / "x")
    os.utime(users, (OLD, OLD))
    removed = reconciler.clean_orphans(settings, active_scratch=set())
    assert removed == [str(left)]
    assert not left.exists() and fresh.exists() and users.exists()
