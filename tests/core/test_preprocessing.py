"""core/preprocessing.py: fit on train, transform, input shapes, targets, JSON round trip."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from core import preprocessing

SEQ_LEN = 6


def _design(features: dict[str, dict[str, str]], target: str = "label", prediction_type: str = "binary") -> dict:
    return {
        "target": target,
        "prediction_type": prediction_type,
        "settings": {
            "features": features,
            "text": {"max_tokens": 50, "sequence_length": SEQ_LEN},
            "image": {"height": 4, "width": 5, "channels": 3},
        },
    }


FEATURES = {
    "size": {"role": "input", "type": "numeric"},
    "color": {"role": "input", "type": "categorical"},
    "review": {"role": "input", "type": "text"},
    "row_id": {"role": "reject", "type": "numeric"},
}


@pytest.fixture
def train() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "size": [1.0, np.nan, 3.0, 5.0],
            "color": ["red", "blue", "red", None],
            "review": ["good product", "bad product", "good good value", None],
            "row_id": [10, 11, 12, 13],
            "label": ["yes", "no", "yes", "no"],
        }
    )


@pytest.fixture
def prep(train: pd.DataFrame) -> dict[str, Any]:
    return preprocessing.fit(train, _design(FEATURES))


def test_numeric_is_mean_imputed_and_standard_scaled(prep: dict[str, Any], train: pd.DataFrame) -> None:
    numeric = prep["main"][0]
    # Known values 1, 3, 5: mean 3, population std sqrt(((1-3)^2 + 0 + (5-3)^2) / 3) = sqrt(8/3).
    assert numeric["column"] == "size"
    assert numeric["mean"] == pytest.approx(3.0)
    assert numeric["std"] == pytest.approx(math.sqrt(8 / 3))
    main = preprocessing.transform(train, prep)["main"]
    std = math.sqrt(8 / 3)
    # NaN becomes the mean, which scales to 0.
    np.testing.assert_allclose(main[:, 0], [-2 / std, 0.0, 0.0, 2 / std], rtol=1e-6)


def test_categorical_dummies_most_frequent_first(prep: dict[str, Any], train: pd.DataFrame) -> None:
    categorical = prep["main"][1]
    assert categorical == {"column": "color", "kind": "categorical", "values": ["red", "blue"]}
    main = preprocessing.transform(train, prep)["main"]
    np.testing.assert_array_equal(main[:, 1:], [[1, 0], [0, 1], [1, 0], [0, 0]])  # None: all zeros


def test_unseen_category_is_all_zeros(prep: dict[str, Any]) -> None:
    rows = pd.DataFrame({"size": [3.0, 3.0], "color": ["green", "blue"], "review": ["good", "bad"]})
    main = preprocessing.transform(rows, prep)["main"]
    np.testing.assert_array_equal(main[0, 1:], [0, 0])
    np.testing.assert_array_equal(main[1, 1:], [0, 1])


def test_rejected_columns_are_not_inputs(prep: dict[str, Any]) -> None:
    assert [m["column"] for m in prep["main"]] == ["size", "color"]
    assert "row_id" not in json.dumps(prep)


def test_input_shapes(prep: dict[str, Any]) -> None:
    # main = 1 numeric + 2 dummies; text -> fixed sequence length
    assert prep["input_shapes"] == {"main": [3], "review_preprocessed": [SEQ_LEN]}
    images = {"main": [], "text": {}, "image": {"photo": {"height": 8, "width": 9, "channels": 1}}}
    assert preprocessing.input_shapes(images) == {"photo_preprocessed": [8, 9, 1]}


def test_input_names_keras_accepts_and_two_columns_never_share_one() -> None:
    text = {"max_tokens": 10, "sequence_length": 4}
    prep = {"main": [], "index": {"km/h": {}}, "text": {'say "hi"': text}, "image": {}}
    assert preprocessing.input_shapes(prep) == {"km_h_preprocessed": [1], 'say "hi"_preprocessed': [4]}
    prep["text"]["km_h"] = text
    with pytest.raises(preprocessing.PreprocessingError, match="'km/h' and 'km_h'"):
        preprocessing.input_shapes(prep)


def test_transform_dtypes_and_shapes(prep: dict[str, Any], train: pd.DataFrame) -> None:
    out = preprocessing.transform(train, prep)
    assert set(out) == {"main", "review_preprocessed"}
    assert out["main"].dtype == np.float32
    assert out["main"].shape == (4, 3)
    assert out["review_preprocessed"].dtype == np.int32
    assert out["review_preprocessed"].shape == (4, SEQ_LEN)


def test_text_token_ids(prep: dict[str, Any]) -> None:
    vocabulary = prep["text"]["review"]["vocabulary"]
    assert vocabulary[:2] == ["", "[UNK]"]
    assert {"good", "product", "bad", "value"} <= set(vocabulary)
    rows = pd.DataFrame({"size": [1.0], "color": ["red"], "review": ["good zebra"]})
    ids = preprocessing.transform(rows, prep)["review_preprocessed"][0]
    assert ids[-2] == vocabulary.index("good")
    assert ids[-1] == 1  # an unknown word is [UNK]
    assert list(ids[:-2]) == [0] * (SEQ_LEN - 2)  # padding at the start, as DSS (issue 22)


def test_missing_column_is_a_preprocessing_error(prep: dict[str, Any]) -> None:
    with pytest.raises(preprocessing.PreprocessingError, match="color"):
        preprocessing.transform(pd.DataFrame({"size": [1.0], "review": ["x"]}), prep)


def test_prep_is_json_serialisable_and_round_trips(prep: dict[str, Any], train: pd.DataFrame) -> None:
    text = json.dumps(prep)
    again = json.loads(text)
    before = preprocessing.transform(train, prep)
    after = preprocessing.transform(train, again)
    for name in before:
        np.testing.assert_array_equal(before[name], after[name])


@pytest.mark.parametrize(
    "values",
    [
        np.array([1, 0, 1, 1], dtype=np.int64),
        np.array([True, False, True, True]),
        np.array([2.5, 1.5, 2.5, 2.5]),
    ],
)
def test_numpy_class_labels_are_json_serialisable(values: np.ndarray) -> None:
    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "label": values})
    prep = preprocessing.fit(frame, _design({"size": {"role": "input", "type": "numeric"}}))
    json.dumps(prep)
    classes = prep["target"]["classes"]
    assert classes == sorted(set(values.tolist()))
    assert all(type(c) in (int, bool, float) for c in classes)


def test_numeric_edge_cases() -> None:
    frame = pd.DataFrame({"const": [2.0, 2.0, 2.0], "empty": [np.nan, np.nan, np.nan], "label": [0, 1, 0]})
    features = {"const": {"role": "input", "type": "numeric"}, "empty": {"role": "input", "type": "numeric"}}
    prep = preprocessing.fit(frame, _design(features))
    json.dumps(prep)  # no NaN sneaks into the JSON
    assert prep["main"][0]["std"] == 1.0  # a constant column is not divided by 0
    assert prep["main"][1]["mean"] == 0.0
    main = preprocessing.transform(frame, prep)["main"]
    assert np.isfinite(main).all()
    np.testing.assert_array_equal(main, np.zeros((3, 2), dtype="float32"))


def test_images(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "imgs").mkdir()
    Image.new("RGB", (20, 10), (255, 0, 0)).save(tmp_path / "imgs" / "red.png")
    Image.new("L", (7, 7), 128).save(tmp_path / "imgs" / "grey.png")
    frame = pd.DataFrame({"photo": ["imgs/red.png", "imgs/grey.png"], "label": ["a", "b"]})
    prep = preprocessing.fit(frame, _design({"photo": {"role": "input", "type": "image"}}))
    assert prep["input_shapes"] == {"photo_preprocessed": [4, 5, 3]}
    pixels = preprocessing.transform(frame, prep, files_root=str(tmp_path))["photo_preprocessed"]
    assert pixels.dtype == np.uint8
    assert pixels.shape == (2, 4, 5, 3)
    assert (pixels[0] == [255, 0, 0]).all()
    assert (pixels[1] == 128).all()  # grey converted to RGB

    escaping = pd.DataFrame({"photo": ["../outside.png"]})
    with pytest.raises(preprocessing.PreprocessingError, match="leaves"):
        preprocessing.transform(escaping, prep, files_root=str(tmp_path))
    missing = pd.DataFrame({"photo": ["imgs/nope.png"]})
    with pytest.raises(preprocessing.PreprocessingError, match="cannot be read"):
        preprocessing.transform(missing, prep, files_root=str(tmp_path))


# ----------------------------------------------------------------------------- targets


def test_fit_target() -> None:
    assert preprocessing.fit_target(pd.Series([1.5, 2.0]), "regression") == {"kind": "regression"}
    target = preprocessing.fit_target(pd.Series(["b", "a", None, "c", "a"]), "multiclass")
    assert target == {"kind": "classification", "classes": ["a", "b", "c"]}


def test_encode_targets_one_hot() -> None:
    target = {"kind": "classification", "classes": ["a", "b", "c"]}
    y = preprocessing.encode_targets(pd.Series(["c", "a", "b", "a"]), target, width=3)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, [[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])


def test_encode_targets_binary_two_wide_and_one_wide() -> None:
    target = {"kind": "classification", "classes": ["no", "yes"]}
    series = pd.Series(["yes", "no", "yes"])
    np.testing.assert_array_equal(preprocessing.encode_targets(series, target, width=2), [[0, 1], [1, 0], [0, 1]])
    one = preprocessing.encode_targets(series, target, width=1)
    assert one.shape == (3, 1)
    assert one.dtype == np.float32
    np.testing.assert_array_equal(one[:, 0], [1, 0, 1])


def test_encode_targets_regression() -> None:
    y = preprocessing.encode_targets(pd.Series([1.5, "2", 3]), {"kind": "regression"}, width=1)
    assert y.dtype == np.float32
    assert y.shape == (3, 1)
    np.testing.assert_allclose(y[:, 0], [1.5, 2.0, 3.0])


def test_class_indices_match_after_json_round_trip() -> None:
    # Integer classes come back from JSON as ints; rows hold numpy ints; an unknown class is -1.
    target = json.loads(json.dumps(preprocessing.fit_target(pd.Series(np.array([3, 1, 2])), "multiclass")))
    assert target["classes"] == [1, 2, 3]
    np.testing.assert_array_equal(preprocessing.class_indices(pd.Series(np.array([2, 3, 1, 9])), target), [1, 2, 0, -1])


@pytest.mark.parametrize(
    "series",
    [
        pd.Series(["b", None, "a", "zz", "a"], dtype=object),  # text in an object column
        pd.Series(["b", None, "a", "zz", "a"], dtype="str"),  # pandas' text type (what Arrow columns become)
        pd.Series(["b", None, "a", "zz", "a"], dtype="string"),
        pd.concat([pd.Series(["b", None], dtype="str"), pd.Series(["a", "zz"], dtype="str")], ignore_index=True),
        pd.Series(["a", 1, None, 2.5, True], dtype=object),  # mixed: converted as before
        pd.Series([1, 2, None, 3], dtype="float64"),
        pd.Series([1, 2, 3, 7], dtype="int64"),
    ],
)
def test_category_codes_of_text_skip_the_conversion_and_stay_the_same(series: pd.Series) -> None:
    from core.preprocessing import category_codes

    values = ["a", 2, "b", "1", "2.0", "3", "2.5", "True"]  # a number among them never matches a text
    converted = series.astype("string").astype(object).where(series.notna(), None).to_numpy()  # the general path
    expected = pd.Index(values, dtype=object).get_indexer(converted)
    assert category_codes(series, values).tolist() == expected.tolist()
    assert (expected >= 0).any() and (expected == -1).any()


@pytest.mark.parametrize(
    "series",
    [
        pd.Series([1.5, None, -2.0], dtype="float64"),
        pd.Series([1.5, None, -2.0], dtype="float32"),
        pd.Series([1, 7, -2], dtype="int64"),
        pd.Series([1, None, -2], dtype="Int64"),  # nullable integers: NA imputed
        pd.Series(["1.5", "x", None], dtype=object),  # text: parsed, what does not parse imputed
        pd.Series([True, False, True]),
    ],
)
def test_numeric_columns_of_any_type_are_scaled_as_parsed(series: pd.Series) -> None:
    from core.preprocessing import _main_block

    m = {"column": "c", "kind": "numeric", "mean": 0.5, "std": 2.0}
    parsed = pd.to_numeric(series, errors="coerce").astype("float64").to_numpy()  # the general path
    expected = ((np.where(np.isnan(parsed), 0.5, parsed) - 0.5) / 2.0).astype("float32")[:, None]
    np.testing.assert_array_equal(_main_block(series, m), expected)


@pytest.mark.parametrize(("n_classes", "dtype"), [(2, np.int8), (126, np.int8), (127, np.int8), (128, np.int16)])
def test_class_indices_take_the_narrowest_signed_integers(n_classes: int, dtype: type) -> None:
    target = {"classes": [f"c{i}" for i in range(n_classes)]}
    labels = pd.Series([f"c{n_classes - 1}", "c0", "unseen", None] * 3)
    for series in (labels, labels.astype("category"), labels.astype(object)):
        index = preprocessing.class_indices(series, target)
        assert index.dtype == dtype
        np.testing.assert_array_equal(index, [n_classes - 1, 0, -1, -1] * 3)
