"""A real worker builds an image dataset's cache once; sandboxed trainings read it; it goes with the dataset."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Runtime
from tests.e2e.test_data_types import digits_zip

SIZES = {"height": 16, "width": 16, "channels": 1}


@pytest.mark.slow
def test_trainings_share_the_cache_inside_the_sandbox(runtime: Runtime) -> None:
    ds = runtime.dataset("digits_cache", digits_zip(n_per_class=30), "digits.zip")
    task = runtime.task(ds, "label", patch={"image": SIZES, "training": {"epochs": 1, "batch_size": 16}})
    first = runtime.train_and_wait(task["id"])
    assert first["status"] == "succeeded", (first["error"], runtime.log_tail())
    log = runtime.api.get(f"/api/v1/sessions/{first['id']}/log").text
    assert "[fitstudio] decoding images: 120 / 120" in log
    assert "[fitstudio] image cache of 'image' built" in log
    assert "read from the preprocessed cache" in log  # the child read the memmap, not the image files
    assert "[fitstudio] isolation: bubblewrap sandbox" in log  # read through the read-only bind

    second = runtime.train_and_wait(task["id"])
    assert second["status"] == "succeeded", (second["error"], runtime.log_tail())
    log = runtime.api.get(f"/api/v1/sessions/{second['id']}/log").text
    assert "[fitstudio] image cache of 'image' reused" in log and "decoding images" not in log
    assert "read from the preprocessed cache" in log

    meta = runtime.api.get(f"/api/v1/datasets/{ds}").json()
    assert meta["image_cache_bytes"] >= 120 * 16 * 16  # 120 images of 16×16×1, plus the header and index
    folder = runtime.home / "data" / "projects" / runtime.project / "datasets" / str(ds) / "image_cache"
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".lock", ".npy"]

    analysis = task["analysis_id"]
    assert runtime.api.delete(f"/api/v1/analyses/{analysis}").status_code == 204
    assert runtime.api.delete(f"/api/v1/datasets/{ds}").status_code == 204
    assert not folder.exists()


@pytest.mark.slow
def test_iphone_photos_train_and_unreadable_ones_are_left_out(runtime: Runtime) -> None:
    import io
    import zipfile

    photos = io.BytesIO(digits_zip(n_per_class=10, fmt="HEIF"))
    with zipfile.ZipFile(photos, "a") as archive:  # as Microsoft's Kaggle cats and dogs: an empty file, a cut one
        archive.writestr("digit_0/666.HEIC", b"")
        archive.writestr("digit_1/11702.HEIC", archive.read("digit_1/1.HEIC")[:200])
    ds = runtime.dataset("iphone_digits", photos.getvalue(), "IMG.zip")
    meta = runtime.api.get(f"/api/v1/datasets/{ds}").json()
    assert meta["n_rows"] == 40 and meta["source"]["images_left_out"] == 2
    task = runtime.task(ds, "label", patch={"image": SIZES, "training": {"epochs": 1, "batch_size": 16}})
    done = runtime.train_and_wait(task["id"])
    assert done["status"] == "succeeded", (done["error"], runtime.log_tail())
    log = runtime.api.get(f"/api/v1/sessions/{done['id']}/log").text
    assert "[fitstudio] decoding images: 40 / 40" in log and "read from the preprocessed cache" in log
