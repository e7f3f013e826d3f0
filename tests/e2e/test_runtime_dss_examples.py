"""DSS "Advanced topics" examples for deep learning, pasted into advanced-mode cells, on a real worker; plus the
standard mode's early stopping and the best epoch it keeps."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.slow

# DSS's "Early stopping" example as its docs print it: Keras 2's fit_generator, and the sequences function named
# build_sequence (singular).
EARLY_STOPPING_TRAINING = """
from dataiku.doctor.deep_learning.shared_variables import get_variable
from keras.callbacks import EarlyStopping


def build_sequence(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    batch_size = 32
    train_sequence = build_train_sequence_with_batch_size(batch_size)
    validation_sequence = build_validation_sequence_with_batch_size(batch_size)
    return train_sequence, validation_sequence


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    epochs = 6
    metric_to_monitor = get_variable("DKU_MODEL_METRIC")
    greater_is_better = get_variable("DKU_MODEL_METRIC_GREATER_IS_BETTER")
    early_stopping_callback = EarlyStopping(monitor=metric_to_monitor,
                                            mode="max" if greater_is_better else "min",
                                            min_delta=0,
                                            patience=1)
    base_callbacks.append(early_stopping_callback)
    model.fit_generator(train_sequence,
                        epochs=epochs,
                        callbacks=base_callbacks,
                        validation_data=validation_sequence)
"""

CUSTOM_SCORE = '''
import numpy as np

GREATER_IS_BETTER = True


def score(y_true, y_pred):
    """Accuracy from the predicted probabilities."""
    return float(np.mean(np.argmax(y_pred, axis=1) == np.asarray(y_true)))
'''


@pytest.fixture(scope="module")
def sessions(runtime: Runtime) -> dict[str, tuple[dict[str, Any], int]]:
    """Every training of this module submitted at once (the worker runs two at a time): name -> (task, session)."""
    from server.services.bootstrap import demo_bytes

    ds = runtime.dataset("bc", demo_bytes("breast_cancer").getvalue())
    patches: dict[str, dict[str, Any]] = {
        "early_stopping": {"training": {"mode": "advanced"}, "code": {"training": EARLY_STOPPING_TRAINING}},
        "custom_score": {"metric": "Custom score", "training": {"epochs": 2}, "code": {"custom_score": CUSTOM_SCORE}},
        "standard_es": {"training": {"epochs": 30, "early_stopping": {"enabled": True, "patience": 1}}},
    }
    out = {}
    for name, patch in patches.items():
        task = runtime.task(ds, "diagnosis", patch=patch)
        out[name] = (task, runtime.train(task["id"])["id"])
    return out


def succeeded(runtime: Runtime, session_id: int) -> dict[str, Any]:
    final = runtime.wait(session_id)
    assert final["status"] == "succeeded", (final["error"], runtime.log_tail())
    return final


def test_dss_early_stopping_example_runs_unchanged(runtime: Runtime, sessions: dict[str, Any]) -> None:
    task, session_id = sessions["early_stopping"]
    assert task["settings"]["training"]["mode"] == "advanced"
    final = succeeded(runtime, session_id)
    history = final["history"]
    assert 1 <= len(history) <= 6
    assert [h["epoch"] for h in history] == list(range(1, len(history) + 1))
    for entry in history:
        assert "Test ROC AUC" in entry, entry  # the key EarlyStopping monitors (DKU_MODEL_METRIC)
    log = runtime.api.get(f"/api/v1/sessions/{session_id}/log").text
    assert "not available" not in log  # Keras warns so when the monitored metric is missing


def test_singular_build_sequence_is_accepted(runtime: Runtime, sessions: dict[str, Any]) -> None:
    # The early stopping example above defines build_sequence (singular) and no build_sequences.
    task, session_id = sessions["early_stopping"]
    training = task["settings"]["code"]["training"]
    assert "def build_sequence(" in training and "def build_sequences(" not in training
    r = runtime.api.post(f"/api/v1/ml-tasks/{task['id']}/validate")
    assert r.json() == {"ok": True, "errors": [], "warnings": []}, r.text
    final = succeeded(runtime, session_id)
    assert final["history"] and final["trained_model_id"]


def test_custom_score_cell_is_the_metric(runtime: Runtime, sessions: dict[str, Any]) -> None:
    task, session_id = sessions["custom_score"]
    assert task["settings"]["metric"] == "Custom score"
    final = succeeded(runtime, session_id)
    assert len(final["history"]) == 2
    for entry in final["history"]:
        assert 0.0 <= entry["Test Custom score"] <= 1.0, entry
        assert 0.0 <= entry["Train Custom score"] <= 1.0, entry
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["metric"] == "Custom score"
    # The score is an accuracy computed from the probabilities: it agrees with the service's own.
    best = next(h for h in final["history"] if h["epoch"] == details["best_epoch"])
    assert details["metrics"]["Test Custom score"] == pytest.approx(best["Test Custom score"])
    assert best["Test Custom score"] == pytest.approx(best["Test Accuracy"], abs=1e-6)
    assert best["Test Custom score"] == max(h["Test Custom score"] for h in final["history"])


def test_standard_early_stopping_keeps_the_best_epoch(runtime: Runtime, sessions: dict[str, Any]) -> None:
    _task, session_id = sessions["standard_es"]
    final = succeeded(runtime, session_id)
    history = final["history"]
    assert 1 <= len(history) <= 30
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    best = max(history, key=lambda h: h["Test ROC AUC"])  # the first of equal values: later ties do not win
    assert details["best_epoch"] == best["epoch"], [(h["epoch"], h["Test ROC AUC"]) for h in history]
    assert details["metrics"]["Test ROC AUC"] == pytest.approx(best["Test ROC AUC"])
    if len(history) < 30:
        # patience 1: Keras stopped at the first epoch that did not improve, so the best is the one before it.
        assert details["best_epoch"] == len(history) - 1, [(h["epoch"], h["Test ROC AUC"]) for h in history]


# ---- Issue 22: DSS 9.0.5's built-in Keras samples, as published, and where fitstudio now behaves as DSS does ----

# DSS's "data augmentation" training sample as published; the test only names the image input (as its comment asks),
# sets n_augmentation, counts the augmentator's random_transform calls and adds DSS's default fit_model.
DSS_AUGMENTATION = """
from dataiku.doctor.deep_learning.sequences import DataAugmentationSequence
from keras.preprocessing.image import ImageDataGenerator

def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):

    # The actual batch size of the train sequence will be (batch_size * n_augmentation)
    batch_size = 8
    n_augmentation = 4
    
    train_sequence = build_train_sequence_with_batch_size(batch_size)
    validation_sequence = build_validation_sequence_with_batch_size(batch_size)
    
    augmentator = ImageDataGenerator(
        zoom_range=0.2,
        shear_range=0.5,
        rotation_range=20,
        width_shift_range=0.2,
        height_shift_range=0.2,
        horizontal_flip=True
    )
    augmented_sequence = DataAugmentationSequence(train_sequence, "name_of_your_image_input_preprocessed", augmentator, n_augmentation)
    
    return augmented_sequence, validation_sequence
"""  # noqa: W291, W293, E501 - as DSS publishes it

COUNTING = """
CALLS = [0]
_transform = ImageDataGenerator.random_transform


def _counted(self, x, seed=None):
    CALLS[0] += 1
    return _transform(self, x, seed)


ImageDataGenerator.random_transform = _counted


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    rows = [0]
    read = type(train_sequence).__getitem__

    def counted(self, index):
        x, y = read(self, index)
        rows[0] += len(y)
        return x, y

    type(train_sequence).__getitem__ = counted
    model.fit(train_sequence, epochs=1, callbacks=base_callbacks, validation_data=validation_sequence)
    print(f"AUGMENTATION n={train_sequence.n_augmentation} calls={CALLS[0]} rows={rows[0]}")
"""


def dss_augmentation(n: int) -> str:
    """The DSS sample for the image input `image_preprocessed` with N augmentations, its calls counted."""
    code = DSS_AUGMENTATION.replace("name_of_your_image_input_preprocessed", "image_preprocessed")
    return code.replace("n_augmentation = 4", f"n_augmentation = {n}") + COUNTING


# DSS's text architecture samples as published (text input named as their comment asks: see dss_text).
DSS_TEXT_CONV1D = """from keras.layers import Embedding, Conv1D, MaxPooling1D
from keras.layers import Dense, Input, Flatten
from keras.models import Model

def build_model(input_shapes, n_classes=None):

    #### DEFINING THE INPUT
    # You need to modify the name and length of the "text_input" 
    # according to the preprocessing and name of your 
    # initial feature.
    # This feature should to be preprocessed as a "Text", with a 
    # custom preprocessing using the "TokenizerProcessor" class
    text_length = 500
    vocabulary_size = 10000
    text_input_name = "name_of_your_text_input_preprocessed"

    text_input = Input(shape=(text_length,), name=text_input_name)

    #### DEFINING THE ARCHITECTURE
    emb = Embedding(output_dim=512, input_dim=vocabulary_size, input_length=text_length)(text_input)
    x = Conv1D(128, 5, activation='relu')(emb)
    x = MaxPooling1D(5)(x)
    x = Conv1D(128, 5, activation='relu')(x)
    x = MaxPooling1D(20)(x)
    
    x = Flatten()(x)
    x = Dense(128, activation='relu')(x)
    predictions = Dense(n_classes, activation='softmax')(x)

    model = Model(inputs=text_input, outputs=predictions)
    
    return model

def compile_model(model):
    model.compile(
        optimizer="rmsprop",
        loss="categorical_crossentropy"
    )
    return model"""  # noqa: W291, W293

DSS_TEXT_RECURRENT = """from keras.layers import Embedding, LSTM
from keras.layers import Dense, Input, Flatten
from keras.models import Model

def build_model(input_shapes, n_classes=None):

    #### DEFINING THE INPUT
    # You need to modify the name and length of the "text_input" 
    # according to the preprocessing and name of your 
    # initial feature.
    # This feature should to be preprocessed as a "Text", with a 
    # custom preprocessing using the "TokenizerProcessor" class
    text_length = 500
    vocabulary_size = 10000
    text_input_name = "name_of_your_text_input_preprocessed"

    text_input = Input(shape=(text_length,), name=text_input_name)

    #### DEFINING THE ARCHITECTURE
    emb = Embedding(output_dim=512, input_dim=vocabulary_size, input_length=text_length)(text_input)
    lstm_out = LSTM(128)(emb)
    
    x = Dense(128, activation='relu')(lstm_out)
    x = Dense(64, activation='relu')(x)
    predictions = Dense(n_classes, activation='softmax')(x)

    model = Model(inputs=text_input, outputs=predictions)

    return model

def compile_model(model):
    model.compile(
        optimizer="rmsprop",
        loss="categorical_crossentropy"
    )
    return model"""  # noqa: W291, W293

TEXT_LENGTH = 500  # the samples' text_length: the task's sequence length


def dss_text(sample: str) -> str:
    """A DSS text sample with its text input named after the dataset's `review` column."""
    return sample.replace("name_of_your_text_input_preprocessed", "review_preprocessed")


def long_reviews(n: int, seed: int = 0) -> bytes:
    """Reviews of 700-760 tokens, longer than the samples' 500, whose sentiment words are only near their end: 4
    of them 166-170 tokens before it, 4 among its last 5 tokens. Truncating at the start (DSS) keeps the last 500
    tokens, so both (the conv1d sample's pooling never sees the last ~100 positions; the LSTM reads the end best);
    truncating at the end (fitstudio before issue 22) keeps the first 500, with no sentiment word at all."""
    import numpy as np
    import pandas as pd

    from tests.e2e.conftest import csv_bytes

    rng = np.random.default_rng(seed)
    filler = [f"w{i}" for i in range(60)]
    good, bad = ["great", "excellent", "lovely"], ["awful", "terrible", "boring"]
    rows = []
    for i in range(n):
        positive = i % 2 == 1
        words = good if positive else bad
        head = list(rng.choice(filler, int(rng.integers(530, 590))))
        middle = list(rng.choice(words, 4)) + list(rng.choice(filler, 165))
        tail = list(rng.choice(filler, 1)) + list(rng.choice(words, 4))
        rng.shuffle(tail)
        rows.append({"review": " ".join(head + middle + tail), "label": "pos" if positive else "neg"})
    return csv_bytes(pd.DataFrame(rows))


# Advanced mode: a validation sequence of the user's (the validation rows with their labels swapped), whose reads
# are counted; a callback after the base callbacks computes the AUC on it with scikit-learn to compare.
USER_VALIDATION = """
import numpy as np
from keras.callbacks import Callback
from keras.utils import PyDataset
from sklearn.metrics import roc_auc_score

READS = [0]


class Swapped(PyDataset):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, index):
        READS[0] += 1
        x, y = self.inner[index]
        return x, y[:, ::-1]


class Check(Callback):
    def __init__(self, sequence):
        super().__init__()
        self.sequence = sequence

    def on_epoch_end(self, epoch, logs=None):
        reads = READS[0]
        truth, scores = [], []
        for i in range(len(self.sequence.inner)):
            x, y = self.sequence.inner[i]
            truth.append(np.argmax(y[:, ::-1], axis=1))
            scores.append(np.asarray(self.model.predict_on_batch(x))[:, 1])
        auc = roc_auc_score(np.concatenate(truth), np.concatenate(scores))
        print(f"CHECK epoch={epoch + 1} auc={auc:.6f} test={logs['Test ROC AUC']:.6f} reads={reads}")


def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    return build_train_sequence_with_batch_size(32), Swapped(build_validation_sequence_with_batch_size(16))


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    # no validation_data: only the base callbacks read the validation sequence
    model.fit(train_sequence, epochs=2, callbacks=base_callbacks + [Check(validation_sequence)])
"""

LOGITS_ARCHITECTURE = """from keras.layers import Input, Dense
from keras.losses import CategoricalCrossentropy
from keras.models import Model


def build_model(input_shapes, n_classes=None):
    main_input = Input(shape=input_shapes["main"], name="main")
    x = Dense(32, activation="relu")(main_input)
    return Model(inputs=main_input, outputs=Dense(n_classes)(x))


def compile_model(model):
    model.compile(optimizer="adam", loss=CategoricalCrossentropy(from_logits=True))
    return model
"""


@pytest.fixture(scope="module")
def dss_sessions(runtime: Runtime) -> dict[str, tuple[dict[str, Any], int]]:
    """Issue 22's trainings, submitted at once: name -> (task, session)."""
    from server.services.bootstrap import demo_bytes
    from tests.e2e.test_data_types import digits_zip

    digits = runtime.dataset("digits", digits_zip(n_per_class=20), "digits.zip")
    reviews = runtime.dataset("long_reviews", long_reviews(200))
    bc = runtime.dataset("bc22", demo_bytes("breast_cancer").getvalue())
    image = {"image": {"height": 16, "width": 16, "channels": 1}, "training": {"mode": "advanced"}}
    text = {"text": {"max_tokens": 10000, "sequence_length": TEXT_LENGTH}, "training": {"epochs": 3}}
    plans: list[tuple[str, int, str, dict[str, Any]]] = [
        ("augmentation_1", digits, "label", {**image, "code": {"training": dss_augmentation(1)}}),
        ("augmentation_3", digits, "label", {**image, "code": {"training": dss_augmentation(3)}}),
        ("text_conv1d", reviews, "label", {**text, "code": {"architecture": dss_text(DSS_TEXT_CONV1D)}}),
        ("text_recurrent", reviews, "label", {**text, "code": {"architecture": dss_text(DSS_TEXT_RECURRENT)}}),
        ("user_validation", bc, "diagnosis", {"training": {"mode": "advanced"}, "code": {"training": USER_VALIDATION}}),
        ("logits", bc, "diagnosis", {"training": {"epochs": 4}, "code": {"architecture": LOGITS_ARCHITECTURE}}),
    ]
    out = {}
    for name, dataset, target, patch in plans:
        task = runtime.task(dataset, target, patch=patch)
        out[name] = (task, runtime.train(task["id"])["id"])
    return out


def session_log(runtime: Runtime, session_id: int) -> str:
    return runtime.api.get(f"/api/v1/sessions/{session_id}/log").text


@pytest.mark.parametrize("n", [1, 3])
def test_dss_augmentation_sample_yields_n_augmented_copies(
    runtime: Runtime, dss_sessions: dict[str, Any], n: int
) -> None:
    _task, session_id = dss_sessions[f"augmentation_{n}"]
    succeeded(runtime, session_id)
    line = next(
        x[x.index("AUGMENTATION ") :] for x in session_log(runtime, session_id).splitlines() if "AUGMENTATION " in x
    )
    counts = dict(part.split("=") for part in line.split()[1:])
    assert int(counts["n"]) == n
    # DSS: every row the sequence yields is an augmented one (no un-augmented original); 0 calls before for n=1.
    assert int(counts["rows"]) > 0 and int(counts["calls"]) == int(counts["rows"]), line


# Measured on long_reviews(200) (docs/keras3-migration.md): start padding reaches 1.0 in 3 epochs with either sample,
# end padding cuts every sentiment word off (AUC 0.37-0.50 whatever the model).
TEXT_AUC_THRESHOLD = 0.8


@pytest.mark.parametrize("sample", ["text_conv1d", "text_recurrent"])
def test_dss_text_samples_learn_with_start_padding(runtime: Runtime, dss_sessions: dict[str, Any], sample: str) -> None:
    _task, session_id = dss_sessions[sample]
    final = succeeded(runtime, session_id)
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["input_shapes"] == {"review_preprocessed": [TEXT_LENGTH]}
    assert details["metrics"]["Test ROC AUC"] > TEXT_AUC_THRESHOLD, final["history"]


def test_advanced_mode_metrics_are_computed_on_the_users_validation_sequence(
    runtime: Runtime, dss_sessions: dict[str, Any]
) -> None:
    _task, session_id = dss_sessions["user_validation"]
    final = succeeded(runtime, session_id)
    # Keras's progress line may precede the callback's print on the same line.
    checks = [x[x.index("CHECK ") :] for x in session_log(runtime, session_id).splitlines() if "CHECK " in x]
    assert len(checks) == 2, checks
    for line, entry in zip(checks, final["history"], strict=True):
        values = dict(part.split("=") for part in line.split()[1:])
        assert int(values["reads"]) > 0  # the base callbacks read the user's sequence (fit had no validation_data)
        assert entry["Test ROC AUC"] == pytest.approx(float(values["auc"]), abs=1e-5), (line, entry)
        assert float(values["test"]) == pytest.approx(entry["Test ROC AUC"], abs=1e-5)
    # The labels are swapped in the user's sequence: a model that learns scores below 0.5 on it.
    assert final["history"][-1]["Test ROC AUC"] < 0.5, final["history"]
    # The kept model's evaluation is on that sequence too: most of its rows are off the diagonal.
    matrix = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()["evaluation"][
        "confusion_matrix"
    ]
    assert matrix[0][0] + matrix[1][1] < matrix[0][1] + matrix[1][0], matrix


def test_logits_are_detected_and_activated(runtime: Runtime, dss_sessions: dict[str, Any]) -> None:
    task, session_id = dss_sessions["logits"]
    final = succeeded(runtime, session_id)
    assert "the model outputs logits (the loss is compiled with from_logits=True)" in session_log(runtime, session_id)
    details = runtime.api.get(f"/api/v1/trained-models/{final['trained_model_id']}").json()
    assert details["output_activation"] == "softmax"
    assert details["metrics"]["Test ROC AUC"] > 0.9
    assert details["metrics"]["Test Log Loss"] < 0.6, details["metrics"]  # probabilities, not logits
    import pandas as pd

    from server.services.bootstrap import demo_bytes

    frame = pd.read_csv(demo_bytes("breast_cancer")).head(5).drop(columns=["diagnosis"])
    r = runtime.api.post(
        f"/api/v1/trained-models/{final['trained_model_id']}/predict", json={"rows": frame.to_dict("records")}
    )
    assert r.status_code == 200, r.text
    for row in r.json()["probabilities"]:
        assert all(0.0 <= p <= 1.0 for p in row) and sum(row) == pytest.approx(1.0, abs=1e-6), row


RAISING_FIT_MODEL = """def build_sequences(build_train, build_validation):
    return build_train(32), build_validation(32)


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    model.fit(train_sequence, nb_epoch=3, callbacks=base_callbacks, validation_data=validation_sequence)
"""

LONG_FIT_MODEL = """def build_sequences(build_train, build_validation):
    return build_train(8), build_validation(8)


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    model.fit(train_sequence, epochs=500, callbacks=base_callbacks, validation_data=validation_sequence)
"""


def test_a_dry_run_runs_fit_model_and_fails_where_training_would(runtime: Runtime) -> None:
    from server.services.bootstrap import demo_bytes

    ds = runtime.dataset("bc_dry22", demo_bytes("breast_cancer").getvalue())
    task = runtime.task(ds, "diagnosis", patch={"training": {"mode": "advanced"}})
    code = {**task["settings"]["code"], "training": RAISING_FIT_MODEL}
    r = runtime.api.post(f"/api/v1/ml-tasks/{task['id']}/validate", params={"dry_run": "true"}, json={"code": code})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] is False, body
    error = next(e for e in body["errors"] if e.get("cell") == "training")
    assert error["line"] == 6, error
    assert "nb_epoch" in error["message"] and "Keras 2 → Keras 3: write `epochs=`" in error["message"], error
    # A fit_model asking for 500 epochs still takes one step in a dry run.
    code = {**task["settings"]["code"], "training": LONG_FIT_MODEL}
    r = runtime.api.post(f"/api/v1/ml-tasks/{task['id']}/validate", params={"dry_run": "true"}, json={"code": code})
    body = r.json()
    assert body["ok"] is True, (body, runtime.log_tail())
    assert isinstance(body["dry_run"]["loss"], float)


def test_a_dry_run_names_the_keras3_fix_of_an_int_shape(runtime: Runtime) -> None:
    from server.services.bootstrap import demo_bytes

    ds = runtime.dataset("bc_shape22", demo_bytes("breast_cancer").getvalue())
    task = runtime.task(ds, "diagnosis")
    architecture = task["settings"]["code"]["architecture"].replace(
        'Input(shape=input_shapes["main"], name="main")', 'Input(shape=(30), name="main")'
    )
    assert "shape=(30)" in architecture
    code = {**task["settings"]["code"], "architecture": architecture}
    r = runtime.api.post(f"/api/v1/ml-tasks/{task['id']}/validate", params={"dry_run": "true"}, json={"code": code})
    body = r.json()
    assert body["ok"] is False, body
    error = next(e for e in body["errors"] if e.get("cell") == "architecture")
    line = architecture.splitlines()[error["line"] - 1]
    assert "shape=(30)" in line, (error, line)
    assert "write `shape=(30,)`" in error["message"], error
