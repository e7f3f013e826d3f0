"""Streamed inputs (issue 17, data.md "Datasets larger than memory"): a dataset read a batch at a time gives the
training the same rows, the same preprocessing and the same arrays as the in-memory path, without holding them."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import data, preprocessing
from core.contracts import DatasetRef, Design, Job, Limits
from core.row_views import RowView
from worker.runtime import prepare as prepare_module
from worker.runtime.fit import fast_training_data, gathered_batches
from worker.runtime.prepare import Prepared, prepare

N_ROWS = 3_000
GROUP_ROWS = 700  # row groups that do not line up with the readers' batches


def _table(n: int = N_ROWS) -> pa.Table:
    """Real-looking columns: numbers with gaps, a category, dates as text, free text, a text target with gaps."""
    rng = np.random.default_rng(7)
    amount = rng.normal(1_000, 250, n)
    amount[rng.random(n) < 0.05] = np.nan
    city = rng.choice(["Köln", "Lyon", "Porto", "Gent", None], n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    days = rng.integers(0, 3_000, n)
    when = [f"{(d % 28) + 1:02d}/{(d % 12) + 1:02d}/20{10 + d % 15}" for d in days]
    words = np.array(["rain", "sun", "wind", "snow", "fog", "hail"])
    note = [" ".join(words[rng.integers(0, 6, 1 + i % 5)]) for i in range(n)]
    label = np.where(amount > 1_050, "high", np.where(amount < 900, "low", "mid")).astype(object)
    label[rng.random(n) < 0.03] = None  # rows without a target are dropped by both paths
    return pa.table({"amount": amount, "city": city, "when": when, "note": note, "label": label})


def _design(**features: Any) -> Design:
    kinds = {"amount": "numeric", "city": "categorical", "when": "date", "note": "text"}
    settings = {
        "features": {c: {"role": "input", "type": t, **features.get(c, {})} for c, t in kinds.items()},
        "split": {"train_ratio": 0.8, "seed": 1337},
        "text": {"max_tokens": 50, "sequence_length": 6},
        "image": {"height": 8, "width": 8, "channels": 3},
        "training": {"batch_size": 64, "shuffle": True, "steps_per_epoch": None},
    }
    return Design(settings, "label", "multiclass")


def _job(parquet: Path, stream_above_mb: int | None, design: Design | None = None, dry_run: bool = False) -> Job:
    return Job(
        session_id=1,
        session_number=1,
        dry_run=dry_run,
        design=design or _design(),
        dataset=DatasetRef(parquet=str(parquet), files_root=str(parquet.parent / "files")),
        out_dir=str(parquet.parent / "out"),
        tensorboard_dir=None,
        gpus=[],
        allow_growth=True,
        limits=Limits(stream_above_mb=stream_above_mb),
    )


@pytest.fixture
def parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data.parquet"
    pq.write_table(_table(), path, row_group_size=GROUP_ROWS)
    monkeypatch.setattr(data, "CHUNK_ROWS", 512)  # several batches per row group and across groups
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the child's scratch folder, where the inputs' files go
    return path


def _both(parquet: Path, design: Design | None = None) -> tuple[Prepared, Prepared]:
    whole = prepare(_job(parquet, None, design), time.time())
    streamed = prepare(_job(parquet, 0, design), time.time())
    return whole, streamed


def test_the_streamed_path_gives_the_in_memory_arrays_without_holding_them(parquet: Path) -> None:
    whole, streamed = _both(parquet)
    assert streamed.prep.pop("fitted_on") == {
        "rows": len(whole.train_df),
        "train_rows": len(whole.train_df),
        "streamed": True,
    }
    assert whole.prep.pop("fitted_on") == {
        "rows": len(whole.train_df),
        "train_rows": len(whole.train_df),
        "streamed": False,
    }
    assert streamed.prep == whole.prep  # means, value lists, vocabulary, classes and the report's counts
    assert streamed.prep["report"]["amount"]["imputed"] > 0 and streamed.prep["report"]["city"]["missing"] > 0
    assert streamed.shapes == whole.shapes and set(streamed.train_x) == {"main", "note_preprocessed"}
    for split in ("train_x", "val_x"):
        for name, array in getattr(whole, split).items():
            view = getattr(streamed, split)[name]
            assert isinstance(view, RowView) and isinstance(view.base, np.memmap)  # on disk, read when asked
            np.testing.assert_array_equal(np.asarray(view), array)
            np.testing.assert_array_equal(view[5:9], array[5:9])
            np.testing.assert_array_equal(view[np.array([9, 2, 2])], array[[9, 2, 2]])
    assert list(streamed.train_df.columns) == ["label"]  # only the target is held whole
    assert streamed.train_df["label"].astype(str).tolist() == whole.train_df["label"].astype(str).tolist()
    assert streamed.val_df["label"].astype(str).tolist() == whole.val_df["label"].astype(str).tolist()


def test_a_large_train_split_is_fitted_on_a_recorded_sample(parquet: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    full = prepare(_job(parquet, None), time.time())
    monkeypatch.setattr(data, "FIT_SAMPLE_ROWS", 1_000)
    whole, streamed = _both(parquet)
    n_train = len(whole.train_df)
    assert streamed.prep.pop("fitted_on") == {"rows": 1_000, "train_rows": n_train, "streamed": True}
    assert whole.prep.pop("fitted_on") == {"rows": 1_000, "train_rows": n_train, "streamed": False}
    assert streamed.prep == whole.prep  # both paths fit on the same sample: the same model inputs
    np.testing.assert_array_equal(np.asarray(streamed.val_x["note_preprocessed"]), whole.val_x["note_preprocessed"])
    sampled, exact = whole.prep["main"][0], full.prep["main"][0]
    assert sampled["mean"] != exact["mean"] and abs(sampled["mean"] - exact["mean"]) < 0.05 * exact["std"]
    assert whole.prep["target"] == full.prep["target"]  # the class list is read from every row
    # The API's input shapes read the same rows: the categorical values the training keeps (model_inputs)
    values = preprocessing.top_values(data.fit_rows(str(parquet), ["city"], _design())["city"], 100)
    assert values == next(m["values"] for m in whole.prep["main"] if m["column"] == "city")


def test_a_dry_run_of_a_large_dataset_reads_the_same_sample_by_position(parquet: Path) -> None:
    whole = prepare(_job(parquet, None, dry_run=True), time.time())
    streamed = prepare(_job(parquet, 0, dry_run=True), time.time())
    assert len(whole.train_df) + len(whole.val_df) == prepare_module.DRY_RUN_ROWS
    assert not isinstance(streamed.train_x["main"], RowView)  # 256 rows: in memory
    np.testing.assert_array_equal(streamed.train_x["main"], whole.train_x["main"])


def test_the_streamed_batches_hold_every_row_once_per_epoch(parquet: Path) -> None:
    whole, streamed = _both(parquet)
    y = np.arange(len(whole.train_df), dtype="float32")[:, None]
    training = {"batch_size": 64, "shuffle": True, "steps_per_epoch": None}
    feed = fast_training_data(streamed.train_x, y, training, seed=3)["x"]
    seen = []
    for inputs, targets in feed:
        rows = targets.numpy()[:, 0].astype(int)
        np.testing.assert_array_equal(inputs["main"].numpy(), whole.train_x["main"][rows])
        np.testing.assert_array_equal(inputs["note_preprocessed"].numpy(), whole.train_x["note_preprocessed"][rows])
        seen.append(rows)
    order = np.concatenate(seen)
    assert sorted(order) == list(range(len(y))) and list(order) != sorted(order)  # each row once, shuffled


def test_streamed_images_are_scaled_as_in_memory_images() -> None:
    pixels = np.random.default_rng(1).integers(0, 256, (40, 4, 4, 3), dtype=np.uint8)
    y = np.arange(40, dtype="float32")
    view = RowView(pixels, np.arange(40)[::-1].copy())
    streamed = next(iter(gathered_batches({"img": view}, y, 40, False, 0, single_input=True)))
    held = next(iter(gathered_batches({"img": pixels[::-1].copy()}, y, 40, False, 0, single_input=True)))
    np.testing.assert_array_equal(streamed[0].numpy(), held[0].numpy())
    assert streamed[0].dtype.name == "float32" and float(streamed[0].numpy().max()) <= 1.0


def test_the_in_memory_estimate_decides(parquet: Path) -> None:
    estimate = prepare_module.streamed_inputs.estimate_bytes(str(parquet), _design())
    assert 0.5 * N_ROWS * 8 < estimate < 200 * N_ROWS  # the used columns, uncompressed: tens of bytes a row
    assert not isinstance(prepare(_job(parquet, 1), time.time()).train_x["main"], RowView)  # under 1 MB: in memory


def test_reading_by_position_keeps_the_order_asked_for(parquet: Path) -> None:
    frame = pq.read_table(parquet).to_pandas()
    wanted = np.array([2_999, 0, 701, 700, 699, 1_500, 0])
    got = data.read_positions(str(parquet), ["amount", "note"], wanted)
    pd.testing.assert_frame_equal(got, frame[["amount", "note"]].iloc[wanted].reset_index(drop=True))
    positions, target = data.target_rows(str(parquet), _design())
    assert positions.dtype == np.int32 and len(positions) == frame["label"].notna().sum()
    assert isinstance(target.dtype, pd.CategoricalDtype)  # one small integer per row, not a string


def test_the_metrics_forward_pass_is_bounded_in_bytes_not_rows() -> None:
    from worker.runtime.callbacks import predict_rows

    def shaped(*shape: int) -> dict[str, Any]:
        return {"x": np.zeros((2, *shape), dtype=np.uint8)}

    assert predict_rows(shaped(30)) == 1024 and predict_rows(shaped(64, 64, 3)) == 1024
    assert predict_rows(shaped(128, 128, 3)) == 256  # 1,024 such images took the child to 3.5 GB
    assert predict_rows(shaped(4096, 4096, 3)) == 1


def test_a_scratch_disk_without_room_fails_before_anything_is_written(
    parquet: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from worker.runtime import streamed_inputs
    from worker.runtime.errors import TrainingError

    streamed = prepare(_job(parquet, 0), time.time())
    written = sum(view.base.nbytes for view in streamed.train_x.values())  # the .npy files' data, headers aside
    assert streamed_inputs.store_bytes(streamed.prep, len(streamed.train_df) + len(streamed.val_df), set()) == written
    before = set(parquet.parent.iterdir())
    real = shutil.disk_usage(parquet.parent)
    room = written + streamed_inputs.SCRATCH_RESERVE_BYTES - 1  # one byte short of the inputs and the reserve
    monkeypatch.setattr(streamed_inputs.shutil, "disk_usage", lambda _path: real._replace(free=room))
    with pytest.raises(TrainingError, match=r"need 0 MB on the worker's scratch disk, which has 512 MB free"):
        prepare(_job(parquet, 0), time.time())
    new = set(parquet.parent.iterdir()) - before
    assert all(not any(folder.iterdir()) for folder in new)  # the new inputs folder holds nothing
