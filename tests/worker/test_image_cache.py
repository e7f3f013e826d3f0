"""The preprocessed image cache: built by a real process pool from real JPEG/PNG files, read by load_images."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from core import image_cache, preprocessing
from core.row_views import RowView
from worker import image_cache_build
from worker.runtime import streamed_inputs

SPEC = {"height": 12, "width": 10, "channels": 3}


def make_dataset(root: Path, ident: int, n: int = 40, seed: int = 0) -> tuple[Path, Path]:
    """(parquet, files root) of a dataset of N random-pixel images of various sizes and formats."""
    folder = root / "projects" / "P" / "datasets" / str(ident)
    files = folder / "files"
    (files / "img").mkdir(parents=True)
    rng = np.random.default_rng(seed)
    names = []
    for i in range(n):
        h, w = int(rng.integers(8, 40)), int(rng.integers(8, 40))
        pixels = rng.integers(0, 256, (h, w, 3), dtype="uint8")
        name = f"img/{i:03d}.{'jpg' if i % 2 else 'png'}"
        Image.fromarray(pixels).save(files / name)
        names.append(name)
    parquet = folder / "data.parquet"
    # A repeated path and a missing value: the cache holds each path once, the missing one not at all.
    frame = pd.DataFrame({"image": [*names, names[3], None], "label": [i % 2 for i in range(n + 2)]})
    frame.to_parquet(parquet)
    return parquet, files


@pytest.fixture
def dataset(tmp_path: Path) -> tuple[Path, Path]:
    return make_dataset(tmp_path / "data", 7)


def decoded(files: Path, names: list[str], spec: dict[str, int]) -> np.ndarray:
    return np.stack([preprocessing.load_image(files / n, spec) for n in names])


def test_cached_pixels_equal_load_image(dataset: tuple[Path, Path]) -> None:
    parquet, files = dataset
    seen: list[tuple[int, int]] = []
    array, built = image_cache_build.build(
        str(parquet), str(files), "image", SPEC, workers=2, progress=lambda *a: seen.append(a)
    )
    assert built and array is not None and array.parent.name == "image_cache"
    assert seen[-1] == (40, 40) and len(seen) == 1  # one chunk of 40: one progress step
    names = image_cache_build.image_paths(parquet, "image")
    cache = np.load(array, mmap_mode="r")
    assert cache.shape == (40, 12, 10, 3) and cache.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(cache), decoded(files, names, SPEC))
    # load_images reads the cache, in the order of the rows asked for (shuffled, with a repeat)
    rows = pd.Series([names[5], names[0], names[39], names[5]], name="image")
    from_cache = preprocessing.load_images(rows, SPEC, str(files))
    np.testing.assert_array_equal(from_cache, decoded(files, list(rows), SPEC))
    assert image_cache.open_cache(str(files), "image", SPEC) is not None


def test_in_process_build_equals_pool_build(tmp_path: Path) -> None:
    parquet, files = make_dataset(tmp_path / "a", 1, n=300, seed=3)  # 5 chunks: this process and 2 others
    (files / "img/290.png").write_bytes(b"broken")  # in a chunk another process may take
    one, _ = image_cache_build.build(str(parquet), str(files), "image", SPEC, workers=1)
    first, first_index = np.array(np.load(one)), image_cache.read_index(one.with_suffix(".json"))
    one.unlink()
    progress: list[int] = []
    two, built = image_cache_build.build(
        str(parquet), str(files), "image", SPEC, workers=3, progress=lambda d, t: progress.append(d)
    )
    assert built and progress[-1] == 300 and len(progress) == 5 and progress == sorted(progress)
    np.testing.assert_array_equal(np.load(two), first)
    index = image_cache.read_index(two.with_suffix(".json"))
    assert index is not None and first_index is not None
    assert list(index["bad"]) == list(first_index["bad"]) == ["img/290.png"]


def test_second_build_is_skipped_and_a_new_size_or_data_rebuilds(dataset: tuple[Path, Path]) -> None:
    parquet, files = dataset
    array, _ = image_cache_build.build(str(parquet), str(files), "image", SPEC, workers=1)
    inode = array.stat().st_ino
    calls: list[int] = []
    again, built = image_cache_build.build(
        str(parquet), str(files), "image", SPEC, progress=lambda d, t: calls.append(d)
    )
    assert (again, built, calls) == (array, False, [])
    assert array.stat().st_ino == inode  # the same file, not rewritten
    taller = {**SPEC, "height": 20}
    other, built = image_cache_build.build(str(parquet), str(files), "image", taller, workers=1)
    assert built and other != array and np.load(other, mmap_mode="r").shape == (40, 20, 10, 3)
    assert array.exists()  # the other size's cache stays
    pd.read_parquet(parquet).iloc[:10].to_parquet(parquet)  # the data changed
    _, built = image_cache_build.build(str(parquet), str(files), "image", SPEC, workers=1)
    assert built and np.load(array, mmap_mode="r").shape[0] == 10


def test_unreadable_image_fails_only_the_rows_that_use_it(dataset: tuple[Path, Path]) -> None:
    parquet, files = dataset
    names = image_cache_build.image_paths(parquet, "image")
    (files / names[2]).write_bytes(b"not an image")
    image_cache_build.build(str(parquet), str(files), "image", SPEC, workers=1)
    fine = preprocessing.load_images(pd.Series([names[1]], name="image"), SPEC, str(files))
    assert fine.shape == (1, 12, 10, 3)
    with pytest.raises(preprocessing.PreprocessingError, match="cannot be read"):
        preprocessing.load_images(pd.Series([names[1], names[2]], name="image"), SPEC, str(files))


def test_two_builders_at_once_build_once(dataset: tuple[Path, Path]) -> None:
    parquet, files = dataset
    stem = image_cache.key("image", SPEC)
    (files.parent / "image_cache").mkdir()
    (files.parent / "image_cache" / f".{stem}.dead.tmp.npy").write_bytes(b"left by a builder that died")
    results: list[tuple[Path | None, bool]] = []

    def go() -> None:
        results.append(image_cache_build.build(str(parquet), str(files), "image", SPEC, workers=1))

    threads = [threading.Thread(target=go) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(built for _, built in results) == [False, False, True]
    folder = files.parent / "image_cache"
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".lock", ".npy"]  # no temporary file left
    names = image_cache_build.image_paths(parquet, "image")
    np.testing.assert_array_equal(np.load(results[0][0]), decoded(files, names, SPEC))


def test_size_bound_evicts_least_recently_used(tmp_path: Path) -> None:
    data = tmp_path / "data"
    arrays = []
    for ident in (1, 2, 3):
        parquet, files = make_dataset(data, ident, n=20, seed=ident)
        array, _ = image_cache_build.build(str(parquet), str(files), "image", SPEC, workers=1)
        os.utime(array, (1000 + ident, 1000 + ident))  # used in the order 1, 2, 3
        arrays.append((parquet, files, array))
    one_size = arrays[0][2].stat().st_size
    # dataset 1 is used again: now dataset 2's cache is the least recently used
    _, built = image_cache_build.build(str(arrays[0][0]), str(arrays[0][1]), "image", SPEC)
    assert not built
    removed = image_cache_build.evict(data, 2 * one_size + 10, keep={arrays[2][2]})
    assert removed == [arrays[1][2]]
    assert [a.exists() for _, _, a in arrays] == [True, False, True]
    assert not arrays[1][2].with_suffix(".json").exists()
    assert image_cache.size_bytes(arrays[0][1].parent) > one_size  # array + index
    # a cache larger than the bound on its own is not built: the training decodes in memory
    assert image_cache_build.build(str(arrays[1][0]), str(arrays[1][1]), "image", SPEC, max_bytes=100) == (None, False)
    frame = pd.read_parquet(arrays[1][0])
    assert image_cache.open_cache(str(arrays[1][1]), "image", SPEC) is None
    direct = preprocessing.load_images(frame["image"].dropna().iloc[:3], SPEC, str(arrays[1][1]))
    assert direct.shape == (3, 12, 10, 3)


def test_for_job_logs_progress_and_binds_both_files_read_only(dataset: tuple[Path, Path]) -> None:
    parquet, files = dataset
    features = {"image": {"role": "input", "type": "image", "height": 12}, "label": {"role": "target"}}
    design = {"settings": {"features": features, "image": {"height": 64, "width": 10, "channels": 3}}}
    job = {"design": design, "dataset": {"parquet": str(parquet), "files_root": str(files), "kind": "images"}}
    lines: list[str] = []
    data_root = files.parents[4]
    used = image_cache_build.for_job(job, data_root, 1, lines.append)
    array, index = image_cache.paths_of(files, "image", SPEC)  # the feature's own height, the task's others
    assert used == [array] and job["sandbox_read_only"] == [str(array), str(index)]
    assert lines[0] == "decoding images: 40 / 40" and lines[1].startswith("image cache of 'image' built: 0.0 MB")
    lines.clear()
    image_cache_build.for_job(job, data_root, 1, lines.append)
    assert lines == ["image cache of 'image' reused: 0.0 MB"]
    job = {**job, "sandbox_read_only": None}
    assert image_cache_build.for_job(job, data_root, 0, lines.append) == [] and not job["sandbox_read_only"]


def test_a_dataset_held_in_memory_maps_its_cached_images_instead_of_copying_them(
    dataset: tuple[Path, Path],
) -> None:
    # Copied out of the cache, 16,000 images of 128x128x3 took 0.8-3.4 s before the first batch and 786 MB held
    # for the whole training (docs/benchmarks.md).
    parquet, files = dataset
    names = image_cache_build.image_paths(parquet, "image")
    prep = {"main": [], "text": {}, "image": {"image": SPEC}, "input_shapes": {"image_preprocessed": [12, 10, 3]}}
    frame = pd.DataFrame({"image": [names[7], names[0], names[39], names[7]]})
    (decoded_here,) = (x["image_preprocessed"] for x in streamed_inputs.in_memory((frame,), prep, str(files)))
    assert isinstance(decoded_here, np.ndarray)  # no cache yet: decoded from the files
    image_cache_build.build(str(parquet), str(files), "image", SPEC, workers=1, progress=lambda *a: None)
    (mapped,) = (x["image_preprocessed"] for x in streamed_inputs.in_memory((frame,), prep, str(files)))
    assert isinstance(mapped, RowView) and isinstance(mapped.base, np.memmap)
    np.testing.assert_array_equal(np.asarray(mapped), decoded_here)
    np.testing.assert_array_equal(decoded_here, decoded(files, list(frame["image"]), SPEC))


def test_16_bit_grey_images_are_scaled_to_8_bits_not_clipped(tmp_path: Path) -> None:
    ramp = (np.arange(16, dtype=np.uint32).reshape(4, 4) * 4096 + 255).astype(np.uint16)  # 255 … 61695
    Image.fromarray(ramp).save(tmp_path / "scan.png")
    assert Image.open(tmp_path / "scan.png").mode == "I;16"
    pixels = image_cache.decode(tmp_path / "scan.png", {"height": 4, "width": 4, "channels": 1})[..., 0]
    np.testing.assert_array_equal(pixels, ramp >> 8)  # 0, 16, 32 … 240: clipped, all but the first were 255


def test_32_bit_integer_and_float_grey_images_are_scaled_not_clipped(tmp_path: Path) -> None:
    spec = {"height": 4, "width": 4, "channels": 3}
    ints = (np.arange(16, dtype=np.int32).reshape(4, 4) * 4096 + 255).astype(np.int32)  # 32-bit TIFF of 16-bit data
    Image.fromarray(ints, "I").save(tmp_path / "ints.tif")
    assert Image.open(tmp_path / "ints.tif").mode == "I"
    pixels = image_cache.decode(tmp_path / "ints.tif", spec)
    np.testing.assert_array_equal(pixels[..., 0], ints >> 8)  # clipped, all but the first were 255
    assert (pixels[..., 0] == pixels[..., 2]).all()  # grey, in 3 channels
    floats = np.linspace(0, 1, 16, dtype=np.float32).reshape(4, 4)  # a float image, 0 to 1
    Image.fromarray(floats, "F").save(tmp_path / "floats.tif")
    pixels = image_cache.decode(tmp_path / "floats.tif", {**spec, "channels": 1})[..., 0]
    np.testing.assert_array_equal(pixels, np.rint(floats * 255).astype(np.uint8))  # was 0 but the last: all black


def test_a_phone_photo_stored_sideways_is_read_as_it_is_seen(tmp_path: Path) -> None:
    stored = np.zeros((4, 8, 3), np.uint8)  # 8 wide, 4 high, its left half white
    stored[:, :4] = 255
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view", as phones write a portrait photo
    Image.fromarray(stored).save(tmp_path / "photo.jpg", quality=100, exif=exif)
    pixels = image_cache.decode(tmp_path / "photo.jpg", {"height": 8, "width": 4, "channels": 1})[..., 0]
    assert pixels.shape == (8, 4)  # seen upright: 4 wide, 8 high, its top half white
    assert pixels[:3].min() > 200 and pixels[5:].max() < 50
