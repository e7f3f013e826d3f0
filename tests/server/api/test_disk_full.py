"""A full disk is a clear error: 507 insufficient_storage JSON, and nothing partial left behind.

No small filesystem can be mounted here, so the write that hits the full disk is replaced by one that writes a
little and then raises ENOSPC, as the kernel does.
"""

from __future__ import annotations

import errno
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import configure
from tests.server.api.support import API, SMALL_CSV, assert_error_shape, expect, upload
from tests.server.api.test_model_files import model  # noqa: F401 - the fixture

ENOSPC = OSError(errno.ENOSPC, "No space left on device")


@pytest.fixture
def unchecked(api: Any) -> Iterator[Any]:
    """The api whose client lets 5xx answers through (507 is the answer these tests want)."""
    hooks = api.client.event_hooks
    api.client.event_hooks = {"request": [], "response": []}
    yield api
    api.client.event_hooks = hooks


def _expect_507(r: Any) -> None:
    assert r.status_code == 507, r.text
    assert assert_error_shape(r)["code"] == "insufficient_storage"


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _dataset_names(api: Any) -> list[str]:
    return [d["name"] for d in expect(api.get(f"{API}/projects/DEMO/datasets"), 200)]


def test_an_upload_hitting_a_full_disk_is_507_and_the_partial_file_is_removed(
    unchecked: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.api import form_stream

    async def full_disk(write: Any, block: bytes) -> None:
        write(block[:100])
        raise ENOSPC

    monkeypatch.setattr(form_stream, "run_in_threadpool", full_disk)
    _expect_507(upload(unchecked, project, "big", SMALL_CSV * 2000, "big.csv"))
    assert _files(unchecked.settings.data_root / "uploads") == []
    monkeypatch.undo()
    assert "big" not in _dataset_names(unchecked)
    expect(upload(unchecked, project, "big", SMALL_CSV, "big.csv"), 201)  # space back: the same upload works


def test_storing_the_parquet_on_a_full_disk_is_507_and_the_dataset_folder_is_removed(
    unchecked: Any, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pyarrow.parquet as pq

    def full_disk(self: Any, batch: Any, row_group_size: Any = None) -> None:
        raise ENOSPC

    # The full disk is faked in this process: the parse runs here (a parse process's errors: test_parse_process.py).
    configure(monkeypatch, unchecked.settings.home, upload_parse_process="false")
    monkeypatch.setattr(pq.ParquetWriter, "write_batch", full_disk)
    _expect_507(upload(unchecked, project, "small", SMALL_CSV, "small.csv"))
    assert _files(unchecked.settings.data_root) == []
    monkeypatch.undo()
    assert _dataset_names(unchecked) == []


def test_a_full_database_disk_is_507(unchecked: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from server.services import audit

    def full(*_a: Any, **_k: Any) -> None:
        raise OperationalError("INSERT INTO audit", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(audit, "record", full)
    _expect_507(unchecked.post(f"{API}/projects", json={"key": "FULL", "name": "Full"}))
    monkeypatch.undo()
    assert unchecked.get(f"{API}/projects/FULL").status_code == 404


def test_a_deploy_on_a_full_disk_is_507_and_leaves_no_partial_copy(
    unchecked: Any,
    model: dict[str, Any],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from server.services import storage

    def full_disk(src: Any, dst: Any) -> None:
        Path(dst).write_bytes(Path(src).read_bytes()[:64])
        raise ENOSPC

    monkeypatch.setattr(storage.shutil, "copyfile", full_disk)
    _expect_507(unchecked.post(f"{API}/trained-models/{model['id']}/deploy", json={"saved_model_name": "full"}))
    monkeypatch.setattr(storage.shutil, "copyfile", shutil.copyfile)
    saved = unchecked.settings.artifacts / "projects" / "DEMO" / "saved"
    assert _files(saved) == [] if saved.exists() else True
    assert expect(unchecked.get(f"{API}/projects/DEMO/saved-models"), 200) == []
