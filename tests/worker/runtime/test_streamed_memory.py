"""What a streamed training holds per row once its inputs are in files (issue 17, "memory bounded by a setting,
not by the data"): the split's row numbers once, shared by every input, and a one-byte class code per row."""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core import data, preprocessing
from core.contracts import DatasetRef, Design, Job, Limits
from core.row_views import RowView
from worker.runtime.prepare import prepare
from worker.runtime.trainer import eval_sets, train_sample_rows

N_ROWS = 5_000


def _design(prediction_type: str = "binary") -> Design:
    settings = {
        "features": {
            "a": {"role": "input", "type": "numeric"},
            "b": {"role": "input", "type": "numeric"},
            "note": {"role": "input", "type": "text"},
        },
        "split": {"train_ratio": 0.8, "seed": 1337},
        "text": {"max_tokens": 20, "sequence_length": 4},
        "image": {"height": 8, "width": 8, "channels": 3},
        "training": {"batch_size": 64, "shuffle": True, "steps_per_epoch": None},
    }
    return Design(settings, "y", prediction_type)


@pytest.fixture
def parquet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two numbers, a short text and an integer target 0/1/2 (the way a 0/1 label column is usually stored)."""
    rng = np.random.default_rng(11)
    a, b = rng.normal(size=N_ROWS), rng.normal(size=N_ROWS)
    words = np.array(["red", "green", "blue", "grey"])
    note = [" ".join(words[rng.integers(0, 4, 2)]) for _ in range(N_ROWS)]
    y = (a > 0).astype("int64") + (b > 1).astype("int64")
    path = tmp_path / "data.parquet"
    pq.write_table(pa.table({"a": a, "b": b, "note": note, "y": y}), path, row_group_size=900)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the child's scratch folder, where the inputs' files go
    return path


def _job(parquet: Path, design: Design) -> Job:
    return Job(
        session_id=1,
        session_number=1,
        dry_run=False,
        design=design,
        dataset=DatasetRef(parquet=str(parquet), files_root=str(parquet.parent / "files")),
        out_dir=str(parquet.parent / "out"),
        tensorboard_dir=None,
        gpus=[],
        allow_growth=True,
        limits=Limits(stream_above_mb=0),
    )


def _held_bytes(*parts: dict[str, RowView] | pd.DataFrame) -> int:
    """The bytes the views' row numbers (each array once) and the frames (labels and values) hold."""
    arrays: dict[int, np.ndarray] = {}
    total = 0
    for part in parts:
        if isinstance(part, pd.DataFrame):
            total += int(part.memory_usage(index=True, deep=True).sum())
            continue
        for view in part.values():
            assert view.rows is not None
            arrays[id(view.rows)] = view.rows
    return total + sum(a.nbytes for a in arrays.values())


def test_a_streamed_training_holds_five_bytes_a_row_beyond_its_files(parquet: Path) -> None:
    streamed = prepare(_job(parquet, _design("multiclass")), time.time())
    assert set(streamed.train_x) == {"main", "note_preprocessed"}
    train_rows = streamed.train_x["main"].rows
    assert streamed.train_x["note_preprocessed"].rows is train_rows  # one array of row numbers for every input
    assert train_rows.dtype == np.int32
    assert isinstance(streamed.train_df["y"].dtype, pd.CategoricalDtype) and streamed.val_df.index.nbytes < 1_000
    held = _held_bytes(streamed.train_x, streamed.val_x, streamed.train_df, streamed.val_df)
    # 4 bytes of row number and 1 byte of class code a row; the last version held 16 (a copy of the row numbers
    # per input, an 8-byte target), and the frames' construction briefly three copies of the target with labels.
    assert held <= 5 * N_ROWS + 2_000, held / N_ROWS


def test_a_numeric_class_label_is_held_as_codes_and_encodes_as_the_numbers_do(parquet: Path) -> None:
    raw = pq.read_table(parquet, columns=["y"]).column(0).to_pandas().rename("y")
    positions, target = data.target_rows(str(parquet), _design("multiclass"))
    assert isinstance(target.dtype, pd.CategoricalDtype) and target.cat.codes.dtype == np.int8
    assert len(positions) == N_ROWS and target.astype("int64").tolist() == raw.tolist()
    fitted = preprocessing.fit_target(target, "multiclass")
    assert fitted == preprocessing.fit_target(raw, "multiclass") == {"kind": "classification", "classes": [0, 1, 2]}
    for width in (1, 3):
        np.testing.assert_array_equal(
            preprocessing.encode_targets(target, fitted, width), preprocessing.encode_targets(raw, fitted, width)
        )
    _, numbers = data.target_rows(str(parquet), _design("regression"))
    assert numbers.dtype == np.int64 and numbers.tolist() == raw.tolist()  # a regression's target stays numbers


def test_a_whole_file_view_reads_as_a_view_with_every_row_number() -> None:
    base = np.arange(60, dtype="float32").reshape(20, 3)
    whole, numbered = RowView(base), RowView(base, np.arange(20, dtype=np.int32))
    assert len(whole) == 20 and whole.shape == (20, 3) and whole.ndim == 2 and whole.dtype == base.dtype
    mask = np.zeros(20, dtype=bool)
    mask[[3, 7, 19]] = True
    for key in (
        4,
        -1,
        np.int64(2),
        slice(2, 9),
        slice(None, None, -3),
        np.array([9, 2, 2]),
        mask,
        (np.array([1, 0]), 2),
    ):
        np.testing.assert_array_equal(whole[key], numbered[key])
    np.testing.assert_array_equal(np.asarray(whole), base)
    split = np.array([5, 1, 12], dtype=np.int32)
    picked = whole.pick(split)
    assert picked.rows is split  # shared, not copied: the split's row numbers are held once
    np.testing.assert_array_equal(np.asarray(picked), base[split])
    np.testing.assert_array_equal(picked[np.array([2, 0])], numbered.pick(split)[np.array([2, 0])])


@pytest.mark.parametrize("n", [2, 1_001, 250_007])
def test_the_split_shuffles_small_row_numbers_into_the_same_order_as_before(n: int) -> None:
    """data.split_rows permutes int32 row numbers: the same split as numpy's permutation(n) gave (a seed's split
    does not change with the type), without its int64 array."""
    train, val = data.split_rows(n, 0.8, 1337)
    assert train.dtype == val.dtype == np.int32
    order = np.random.default_rng(1337).permutation(n)
    np.testing.assert_array_equal(np.concatenate([train, val]), order)
    assert len(train) == min(max(1, round(n * 0.8)), n - 1)


def test_the_train_metrics_sample_of_streamed_inputs_stays_unread(
    parquet: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Gathered at once it was 98 MB for 2,000 images of 128x128x3, read from random places in the cache before
    # the first batch and held through the whole training.
    design = _design("multiclass")
    streamed = prepare(_job(parquet, design), time.time())
    _, sample = eval_sets(design, streamed, SimpleNamespace(val_y=None))  # type: ignore[arg-type]
    n_sample = train_sample_rows(len(streamed.train_df))
    assert n_sample == len(streamed.train_df) // 10  # 5,000 rows: 4,000 trained on, 400 in the sample
    assert f"Train metrics on {n_sample:,} of the {len(streamed.train_df):,} training rows" in capsys.readouterr().out
    rows = np.sort(np.random.default_rng(design.seed).choice(len(streamed.train_df), n_sample, replace=False))
    for name, view in sample.inputs.items():
        assert isinstance(view, RowView) and len(view) == n_sample
        np.testing.assert_array_equal(np.asarray(view), streamed.train_x[name][rows])
    np.testing.assert_array_equal(
        sample.y_true, preprocessing.class_indices(streamed.train_df["y"].iloc[rows], streamed.prep["target"])
    )
