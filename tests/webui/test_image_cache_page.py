"""The dataset page and GET /datasets/{id} show the size of an image dataset's preprocessed caches."""

from __future__ import annotations

import numpy as np

from tests.e2e.test_data_types import digits_zip
from tests.webui.conftest import Web, location
from webui.web import fmt_bytes
from worker import image_cache_build


def test_dataset_page_and_api_show_the_cache_size(web: Web) -> None:
    from server.settings import get_settings

    assert location(web.post("/projects", {"key": "IC", "name": "Images"})) == "/projects/IC"
    r = web.client.post(
        "/api/v1/projects/IC/datasets",
        data={"name": "digits"},
        files={"file": ("digits.zip", digits_zip(n_per_class=5), "application/zip")},
        headers={"x-csrf-token": web.csrf},
    )
    assert r.status_code == 201, r.text
    ds = r.json()["id"]
    assert web.client.get(f"/api/v1/datasets/{ds}").json()["image_cache_bytes"] == 0
    assert "image cache" not in web.get(f"/datasets/{ds}").text

    folder = get_settings().data_root / "projects" / "IC" / "datasets" / str(ds)
    spec = {"height": 32, "width": 32, "channels": 1}
    array, built = image_cache_build.build(str(folder / "data.parquet"), str(folder / "files"), "image", spec)
    assert built and array is not None and np.load(array, mmap_mode="r").shape == (20, 32, 32, 1)
    size = array.stat().st_size + array.with_suffix(".json").stat().st_size
    assert web.client.get(f"/api/v1/datasets/{ds}").json()["image_cache_bytes"] == size
    assert web.client.get("/api/v1/projects/IC/datasets").json()[0]["image_cache_bytes"] == 0  # lists: not measured
    page = web.get(f"/datasets/{ds}").text
    assert f'<span id="image-cache-size">image cache {fmt_bytes(size)}</span>' in page
