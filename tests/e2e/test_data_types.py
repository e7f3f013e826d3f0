"""Image (ZIP of PNGs, with augmentation), text and regression trainings on a real worker."""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pandas as pd
import pytest

from tests.e2e.conftest import Runtime, csv_bytes

pytestmark = pytest.mark.slow

AUGMENTED_TRAINING = """
from dataiku.doctor.deep_learning.sequences import DataAugmentationSequence
from tensorflow.keras.preprocessing.image import ImageDataGenerator


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    batch_size = 16
    augmentator = ImageDataGenerator(zoom_range=0.1, rotation_range=10, width_shift_range=0.1,
                                     height_shift_range=0.1)
    train_sequence = build_train_sequence_with_batch_size(batch_size)
    validation_sequence = build_validation_sequence_with_batch_size(batch_size)
    augmented_sequence = DataAugmentationSequence(train_sequence, "image_preprocessed", augmentator, 2)
    return augmented_sequence, validation_sequence


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    model.fit_generator(train_sequence, epochs=8, callbacks=base_callbacks, validation_data=validation_sequence)
"""


def digits_zip(n_per_class: int = 40, fmt: str = "PNG") -> bytes:
    """scikit-learn's digits 0-3 as 8x8 images (PNG, or FMT: "HEIF" as an iPhone saves) in <class>/<file> folders."""
    from PIL import Image
    from sklearn.datasets import load_digits

    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    suffix = {"PNG": "png", "HEIF": "HEIC"}[fmt]
    digits = load_digits(n_class=4)
    counts = dict.fromkeys(range(4), 0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for image, label in zip(digits.images, digits.target, strict=True):
            if counts[label] >= n_per_class:
                continue
            counts[label] += 1
            encoded = io.BytesIO()
            Image.fromarray((image * 16).astype("uint8")).convert("RGB" if fmt == "HEIF" else "L").save(encoded, fmt)
            zf.writestr(f"digit_{label}/{counts[label]}.{suffix}", encoded.getvalue())
    return buf.getvalue()


def test_image_zip_trains_with_augmentation(runtime: Runtime) -> None:
    ds = runtime.dataset("digits", digits_zip(), "digits.zip")
    meta = runtime.api.get(f"/api/v1/datasets/{ds}").json()
    assert meta["kind"] == "images" and meta["n_rows"] == 160
    assert {c["name"]: c["type"] for c in meta["columns"]} == {"image": "image", "label": "categorical"}
    task = runtime.task(
        ds,
        "label",
        patch={
            "image": {"height": 16, "width": 16, "channels": 1},
            "training": {"mode": "advanced"},
            "code": {"training": AUGMENTED_TRAINING},
        },
    )
    assert task["prediction_type"] == "multiclass"
    assert 'input_shapes["image_preprocessed"]' in task["settings"]["code"]["architecture"]
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert len(final["history"]) == 8
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["input_shapes"] == {"image_preprocessed": [16, 16, 1]}
    assert details["n_classes"] == 4 and details["class_labels"] == ["digit_0", "digit_1", "digit_2", "digit_3"]
    assert details["metrics"]["Test Accuracy"] > 0.3  # 4 balanced classes: chance is 0.25


def text_corpus(n: int = 400) -> pd.DataFrame:
    """Short reviews whose words give their sentiment away."""
    rng = np.random.default_rng(0)
    good = ["great", "excellent", "lovely", "wonderful", "superb"]
    bad = ["awful", "terrible", "boring", "dreadful", "poor"]
    neutral = ["the", "film", "was", "quite", "really", "plot", "acting", "and", "story"]
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        words = list(rng.choice(neutral, 6)) + list(rng.choice(good if label == "pos" else bad, 2))
        rng.shuffle(words)
        rows.append({"review": " ".join(words), "label": label})
    return pd.DataFrame(rows)


def test_text_classification(runtime: Runtime) -> None:
    ds = runtime.dataset("reviews", csv_bytes(text_corpus()))
    types = {c["name"]: c["type"] for c in runtime.api.get(f"/api/v1/datasets/{ds}").json()["columns"]}
    assert types["review"] == "text"
    task = runtime.task(
        ds,
        "label",
        patch={"text": {"max_tokens": 200, "sequence_length": 16}, "training": {"epochs": 8, "batch_size": 16}},
    )
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["input_shapes"] == {"review_preprocessed": [16]}
    assert details["metrics"]["Test ROC AUC"] > 0.8


def test_nested_json_lines_train_and_predict_by_their_dotted_names(runtime: Runtime) -> None:
    # an API's export, gzipped: the review's text and its stars nested, a list of tags (kept as its JSON text)
    import gzip
    import json

    corpus = text_corpus()
    records = [
        {
            "review": {"text": r.review, "stars": 4 + i % 2 if r.label == "pos" else 1 + i % 2},
            "tags": ["a"] * (i % 3),
            "label": r.label,
        }
        for i, r in enumerate(corpus.itertuples())
    ]
    payload = gzip.compress("".join(json.dumps(r) + "\n" for r in records).encode())
    ds = runtime.dataset("reviews-json", payload, "reviews.jsonl.gz")
    types = {c["name"]: c["type"] for c in runtime.api.get(f"/api/v1/datasets/{ds}").json()["columns"]}
    assert types["review.text"] == "text" and types["review.stars"] == "numeric" and "tags" in types
    task = runtime.task(
        ds, "label", patch={"text": {"max_tokens": 200, "sequence_length": 16}, "training": {"epochs": 6}}
    )
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert "review.text_preprocessed" in details["input_shapes"] and details["metrics"]["Test ROC AUC"] > 0.9
    r = runtime.api.post(f"/api/v1/trained-models/{final['trained_model_id']}/deploy", json={"saved_model_name": "j"})
    assert r.status_code == 201, r.text
    row = {"review.text": "a wonderful and superb film", "review.stars": 5, "tags": "[]"}
    answer = runtime.api.post(f"/api/v1/saved-models/{r.json()['saved_model_id']}/predict", json={"rows": [row]})
    assert answer.status_code == 200 and answer.json()["predictions"] == ["pos"], answer.text
    nested = {"review": {"text": "an awful and dreadful film", "stars": 1}, "tags": ["a"], "label": "?"}
    answer = runtime.api.post(f"/api/v1/saved-models/{r.json()['saved_model_id']}/predict", json={"rows": [nested]})
    assert answer.json()["predictions"] == ["neg"] and answer.json()["unseen"] == {}, (
        answer.text
    )  # as the file holds it


def japanese_reviews(n: int = 400) -> pd.DataFrame:
    """Japanese reviews (no spaces between words) whose words give their sentiment away."""
    rng = np.random.default_rng(4)
    good, bad = ["最高", "美味しい", "素晴らしい", "良い"], ["最悪", "まずい", "ひどい", "悪い"]
    subjects = ["この店の料理は", "映画の話は", "ホテルの部屋は", "今日の天気は", "新しい電話は"]
    rows = []
    for i in range(n):
        label = "pos" if i % 2 else "neg"
        rows.append(
            {"review": f"{rng.choice(subjects)}{rng.choice(good if label == 'pos' else bad)}です", "label": label}
        )
    return pd.DataFrame(rows)


def test_japanese_text_is_text_and_trains_on_its_characters(runtime: Runtime) -> None:
    buf = io.StringIO()
    japanese_reviews().to_csv(buf, index=False)
    ds = runtime.dataset("japanese", buf.getvalue().encode("cp932"), "reviews.csv")  # as Excel saves it in Japan
    columns = {c["name"]: c for c in runtime.api.get(f"/api/v1/datasets/{ds}").json()["columns"]}
    assert columns["review"]["type"] == "text" and columns["review"]["stats"]["mean_words"] > 8
    patch = {"text": {"max_tokens": 200, "sequence_length": 24}, "training": {"epochs": 8, "batch_size": 16}}
    final = runtime.train_and_wait(runtime.task(ds, "label", patch=patch)["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    model = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert model["metrics"]["Test ROC AUC"] > 0.9
    rows = [
        {"review": "駅前のパン屋は本当に最高です"},
        {"review": "駅前のパン屋は本当に最悪です"},
    ]  # sentences never seen
    answer = runtime.api.post(f"/api/v1/trained-models/{final['trained_model_id']}/predict", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json()["predictions"] == ["pos", "neg"]


def test_regression_has_every_metric_finite(runtime: Runtime) -> None:
    from server.services.bootstrap import demo_bytes

    ds = runtime.dataset("diabetes", demo_bytes("diabetes").getvalue())
    task = runtime.task(ds, "progression", patch={"training": {"epochs": 3}})
    assert task["prediction_type"] == "regression" and task["settings"]["metric"] == "R2 Score"
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    for entry in final["history"]:
        for name in ("EVS", "MAPE", "MAE", "MSE", "RMSE", "RMSLE", "R2 Score"):
            for prefix in ("Test", "Train"):
                value = entry[f"{prefix} {name}"]
                assert isinstance(value, float) and math.isfinite(value), (prefix, name, value)


def test_image_zip_trains_in_standard_mode(runtime: Runtime) -> None:
    ds = runtime.dataset("digits_std", digits_zip(n_per_class=30), "digits.zip")
    task = runtime.task(
        ds,
        "label",
        patch={
            "image": {"height": 16, "width": 16, "channels": 1},
            "training": {"epochs": 2, "batch_size": 16, "steps_per_epoch": 5},
        },
    )
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    assert [h["epoch"] for h in final["history"]] == [1, 2]
    assert all(isinstance(h["val_loss"], float) and h["val_loss"] > 0 for h in final["history"])
    log = runtime.api.get(f"/api/v1/sessions/{final['id']}/log").text
    assert "5/5" in log  # steps_per_epoch honoured


def dated_sales(n: int = 240) -> bytes:
    """Parquet: amounts as text, a quarter of them with thousands separators; dates; 'late' means July or after."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(1)
    months = rng.integers(1, 13, n)
    amounts = [f"{1000 + i:,}.5" if i % 4 == 0 else f"{i}.5" for i in range(n)]
    when = [f"2024-{m:02d}-{i % 28 + 1:02d} {i % 24:02d}:00" for i, m in enumerate(months)]
    label = ["late" if m >= 7 else "early" for m in months]
    buf = io.BytesIO()
    pq.write_table(pa.table({"amount": amounts, "when": when, "label": label}), buf)
    return buf.getvalue()


def test_date_and_coerced_numeric_train_report_and_predict(runtime: Runtime) -> None:
    ds = runtime.dataset("sales", dated_sales(), "sales.parquet")
    types = {c["name"]: c["type"] for c in runtime.api.get(f"/api/v1/datasets/{ds}").json()["columns"]}
    assert types["when"] == "date"
    features = {"amount": {"role": "input", "type": "numeric"}, "when": {"role": "input", "type": "date"}}
    task = runtime.task(ds, "label", patch={"features": features, "training": {"epochs": 6, "batch_size": 16}})
    check = runtime.api.post(f"/api/v1/ml-tasks/{task['id']}/validate", json={}).json()
    assert [w["field"] for w in check["warnings"]] == ["features.amount"] and check["warnings"][0]["unparseable"] == 60
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["input_shapes"] == {"main": [7]}
    assert details["preprocessing_report"]["amount"] == {
        "type": "numeric",
        "missing": 0,
        "unparseable": 60,
        "imputed": 60,
    }
    assert details["preprocessing_report"]["when"]["unparseable"] == 0
    log = runtime.api.get(f"/api/v1/sessions/{final['id']}/log").text
    assert "input 'amount' (numeric): 0 missing, 60 did not parse, 60 imputed (mean)" in log
    rows = [{"amount": "13,341.91", "when": "2024-11-03 10:00"}, {"amount": "12.5", "when": "2024-02-01"}]
    r = runtime.api.post(f"/api/v1/trained-models/{final['trained_model_id']}/predict", json={"rows": rows})
    assert r.status_code == 200, r.text
    assert len(r.json()["predictions"]) == 2


GERMAN_MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


def test_dates_written_with_german_month_names_train_and_a_french_date_predicts(runtime: Runtime) -> None:
    rng = np.random.default_rng(3)
    months = rng.integers(1, 13, 240)
    lines = ["Datum;Betrag;Saison"] + [
        f"{i % 28 + 1}. {GERMAN_MONTHS[m - 1]} 2024;{i},5;{'spät' if m >= 7 else 'früh'}" for i, m in enumerate(months)
    ]
    ds = runtime.dataset("saison", "\r\n".join(lines).encode("cp1252"), "saison.csv")  # as German Excel saves it
    features = {
        "Datum": {"role": "input", "type": "date", "parts": ["month", "day"]},
        "Betrag": {"role": "reject", "type": "numeric"},
    }
    task = runtime.task(ds, "Saison", patch={"features": features, "training": {"epochs": 30, "batch_size": 16}})
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    model = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert model["preprocessing_report"]["Datum"]["unparseable"] == 0  # read in the training's sandbox
    rows = [{"Datum": "3 août 2024"}, {"Datum": "2 févr. 2024"}, {"Datum": "irgendwann"}]
    answer = runtime.api.post(f"/api/v1/trained-models/{final['trained_model_id']}/predict", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json()["imputed"] == {"Datum": 1}  # only "irgendwann": the French dates read by the API
    assert answer.json()["predictions"][:2] == ["spät", "früh"]


def test_feature_options_train_index_encoding_and_minmax(runtime: Runtime) -> None:
    # A column named as people name them: a "/" (which Keras refuses in an input's name) and quotes (which the
    # default architecture cell must write as a Python string).
    region = 'sales/region "zone"'
    rng = np.random.default_rng(2)
    regions = rng.choice(["north", "south", "east", "west"], 200)
    frame = pd.DataFrame(
        {
            region: regions,
            "x": rng.normal(size=200),
            "label": ["hot" if r in ("south", "east") else "cold" for r in regions],
        }
    )
    ds = runtime.dataset("regions", csv_bytes(frame))
    features = {
        region: {"role": "input", "type": "categorical", "encoding": "index"},
        "x": {"role": "input", "type": "numeric", "impute": "median", "rescale": "minmax"},
    }
    task = runtime.task(ds, "label", patch={"features": features, "training": {"epochs": 8, "batch_size": 16}})
    assert 'input_shapes["sales_region \\"zone\\"_preprocessed"]' in task["settings"]["code"]["architecture"]
    final = runtime.train_and_wait(task["id"])
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["input_shapes"] == {"main": [1], 'sales_region "zone"_preprocessed': [1]}
    assert details["metrics"]["Test ROC AUC"] > 0.8
    rows = [{region: "south", "x": 0.1}, {region: "nowhere", "x": None}]
    r = runtime.api.post(f"/api/v1/trained-models/{final['trained_model_id']}/predict", json={"rows": rows})
    assert r.status_code == 200, r.text
