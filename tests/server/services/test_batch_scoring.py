"""How many rows a batch-scoring job reads at once (server/services/batch_scoring.py): the setting, fewer for a
model that reads many columns or images."""

from __future__ import annotations

from server.models import TrainedModel
from server.services.batch_scoring import MAX_BATCH_CELLS, MAX_BATCH_IMAGE_BYTES, batch_rows_for


def _model(preprocessing: dict) -> TrainedModel:
    return TrainedModel(preprocessing=preprocessing)


def test_a_tabular_model_reads_the_setting_s_rows() -> None:
    prep = {"main": [{"column": f"c{i}"} for i in range(30)], "text": {"t": {}}}
    assert batch_rows_for(_model(prep), 10_000) == 10_000
    assert batch_rows_for(_model(prep), 7) == 7


def test_many_columns_or_images_make_smaller_batches() -> None:
    wide = {"main": [{"column": f"c{i}"} for i in range(5_000)]}
    assert batch_rows_for(_model(wide), 10_000) == MAX_BATCH_CELLS // 5_000 == 400
    images = {"main": [], "image": {"photo": {"height": 224, "width": 224, "channels": 3}}}
    rows = batch_rows_for(_model(images), 10_000)
    assert rows == MAX_BATCH_IMAGE_BYTES // (224 * 224 * 3 * 4) and 100 < rows < 1_000
    huge = {"image": {"scan": {"height": 8192, "width": 8192, "channels": 3}}}
    assert batch_rows_for(_model(huge), 10_000) == 1  # never zero
