"""The worker's check of the output a sandboxed model's child writes back for a batch (worker/sandboxed_model.py).

The user's cells run in that child and may write anything to its results folder: a wrong row count, a
non-numeric or odd-shaped array or a file that is no .npy must fail the job with a clear `model_failed` error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from worker.sandboxed_model import ServedModelFailed, checked_output, read_output


def saved(tmp_path: Path, array: np.ndarray) -> Path:
    """ARRAY written as the child writes a batch's output."""
    path = tmp_path / "batch-0.npy"
    np.save(path, array, allow_pickle=False)
    return path


@pytest.mark.parametrize("array", [np.linspace(0, 1, 5), np.ones((5, 3), dtype="float32"), np.arange(5)])
def test_a_numeric_output_of_one_row_per_input_row_is_taken_as_float64(tmp_path: Path, array: np.ndarray) -> None:
    out = read_output(saved(tmp_path, array), 5)
    assert out.dtype == np.float64 and out.shape == array.shape
    np.testing.assert_array_equal(out, array.astype("float64"))


@pytest.mark.parametrize("rows", [4, 6, 0])
def test_more_or_fewer_rows_than_the_batch_fail_the_job_clearly(tmp_path: Path, rows: int) -> None:
    with pytest.raises(ServedModelFailed, match=f"The model returned {rows} rows for a batch of 5") as caught:
        read_output(saved(tmp_path, np.zeros((rows, 2))), 5)
    assert caught.value.code == "model_failed"


@pytest.mark.parametrize(
    ("array", "says"),
    [
        (np.array(["a", "b", "c"]), "non-numeric output"),
        (np.zeros(3, dtype=complex), "non-numeric output"),
        (np.array(0.5), r"shape \[\]"),
        (np.zeros((3, 2, 2)), r"shape \[3, 2, 2\]"),
        (np.zeros((3, 0)), r"shape \[3, 0\]"),
    ],
)
def test_a_non_numeric_or_odd_shaped_output_fails_the_job_clearly(array: np.ndarray, says: str) -> None:
    with pytest.raises(ServedModelFailed, match=says) as caught:
        checked_output(array, 3)
    assert caught.value.code == "model_failed" and "for a batch of 3 rows" in str(caught.value)


def test_a_file_that_is_no_plain_npy_fails_the_job_clearly(tmp_path: Path) -> None:
    pickled = tmp_path / "pickled.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)  # loading it would run code
    garbage = tmp_path / "garbage.npy"
    garbage.write_bytes(b"not an array")
    for path in (pickled, garbage, tmp_path / "missing.npy"):
        with pytest.raises(ServedModelFailed, match="could not be read") as caught:
            read_output(path, 1)
        assert caught.value.code == "model_failed"
