"""The Train metrics' sample: a tenth of the training rows, at least 200 and at most 2,000 (all when fewer)."""

from __future__ import annotations

import pytest

from worker.runtime.trainer import TRAIN_SAMPLE_MIN, TRAIN_SAMPLE_ROWS, train_sample_rows


@pytest.mark.parametrize(
    ("n_train", "expected"),
    [
        (0, 0),
        (1, 1),
        (150, 150),
        (200, 200),
        (1_000, 200),
        (2_000, 200),
        (2_500, 250),
        (16_000, 1_600),
        (20_000, 2_000),
        (20_009, 2_000),
        (1_000_000, 2_000),
    ],
)
def test_the_sample_is_a_tenth_of_the_training_rows_within_its_bounds(n_train: int, expected: int) -> None:
    assert train_sample_rows(n_train) == expected


def test_its_forward_pass_costs_at_most_a_tenth_of_one_over_the_training_rows() -> None:
    # Past TRAIN_SAMPLE_MIN's tenfold; below it the sample is TRAIN_SAMPLE_MIN rows (or all of them).
    for n_train in range(10 * TRAIN_SAMPLE_MIN, 40_000, 7):
        assert train_sample_rows(n_train) <= n_train / 10
    for n_train in range(0, 10 * TRAIN_SAMPLE_MIN):
        assert train_sample_rows(n_train) == min(n_train, TRAIN_SAMPLE_MIN)
    assert max(train_sample_rows(n) for n in range(0, 100_000, 13)) == TRAIN_SAMPLE_ROWS
