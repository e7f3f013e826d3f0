"""Default ML task settings and code cells, generated for the prediction type and the dataset's schema."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import preprocessing
from core.catalog import DEFAULT_METRIC
from server.models import WorkerRecord, utcnow
from server.services import workers
from server.settings import Settings

_ARCH_HEAD = """\
from keras.layers import Input, Dense, Concatenate, Flatten, Conv2D, MaxPooling2D, Embedding, GlobalAveragePooling1D
from keras.models import Model

"""

_CLASSIFICATION_COMPILE = """
def compile_model(model):
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    return model
"""

_REGRESSION_COMPILE = """
def compile_model(model):
    model.compile(optimizer="adam", loss="mean_squared_error")
    return model
"""

TRAINING_DEFAULT = """\
def build_sequences(build_train_sequence_with_batch_size, build_validation_sequence_with_batch_size):
    batch_size = 32
    train_sequence = build_train_sequence_with_batch_size(batch_size)
    validation_sequence = build_validation_sequence_with_batch_size(batch_size)
    return train_sequence, validation_sequence


def fit_model(model, train_sequence, validation_sequence, base_callbacks):
    epochs = 10
    model.fit(train_sequence, epochs=epochs, callbacks=base_callbacks,
              validation_data=validation_sequence, shuffle=True)
"""

CUSTOM_SCORE_EXAMPLE = '''\
# Used when the metric is "Custom score".
GREATER_IS_BETTER = True


def score(y_true, y_pred):
    """y_true: true values (class indices for classification); y_pred: predictions (probabilities)."""
    raise NotImplementedError("write your score here")
'''


def architecture_code(prediction_type: str, input_kinds: dict[str, str]) -> str:
    """The default architecture cell: one branch per input, concatenated, two dense layers, the head."""
    lines = ["def build_model(input_shapes, n_classes=None):"]
    inputs: list[str] = []
    branches: list[str] = []
    if "main" in input_kinds:
        lines.append('    main_input = Input(shape=input_shapes["main"], name="main")')
        inputs.append("main_input")
        branches.append("main_input")
    for i, (name, kind) in enumerate(sorted((k, v) for k, v in input_kinds.items() if k != "main")):
        var = f"input_{i}"
        # A column's name as a Python literal: it may hold quotes or backslashes.
        literal = json.dumps(name, ensure_ascii=False)
        lines.append(f"    {var} = Input(shape=input_shapes[{literal}], name={literal})")
        inputs.append(var)
        if kind == "image":
            lines += [
                f'    b{i} = Conv2D(16, 3, activation="relu")({var})',
                f"    b{i} = MaxPooling2D()(b{i})",
                f'    b{i} = Conv2D(32, 3, activation="relu")(b{i})',
                f"    b{i} = MaxPooling2D()(b{i})",
                f"    b{i} = Flatten()(b{i})",
            ]
        elif kind == "index":  # a categorical column's integer ids (its `index` encoding)
            lines += [
                f"    b{i} = Embedding(input_dim=20001, output_dim=8)({var})",
                f"    b{i} = Flatten()(b{i})",
            ]
        else:  # text: token ids
            lines += [
                f"    b{i} = Embedding(input_dim=20001, output_dim=32)({var})",
                f"    b{i} = GlobalAveragePooling1D()(b{i})",
            ]
        branches.append(f"b{i}")
    if len(branches) == 1:
        lines.append(f"    x = {branches[0]}")
    else:
        lines.append(f"    x = Concatenate()([{', '.join(branches)}])")
    lines += ['    x = Dense(64, activation="relu")(x)', '    x = Dense(64, activation="relu")(x)']
    if prediction_type == "regression":
        lines.append('    predictions = Dense(1, activation="linear")(x)')
    else:
        lines.append('    predictions = Dense(n_classes, activation="softmax")(x)')
    model_inputs = inputs[0] if len(inputs) == 1 else "[" + ", ".join(inputs) + "]"
    lines.append(f"    return Model(inputs={model_inputs}, outputs=predictions)")
    compile_part = _REGRESSION_COMPILE if prediction_type == "regression" else _CLASSIFICATION_COMPILE
    return _ARCH_HEAD + "\n".join(lines) + "\n\n" + compile_part


def input_kinds(features: dict[str, dict[str, str]]) -> dict[str, str]:
    """Model input names (input_shapes' keys) → kind; numeric, dummy-encoded categorical and date share 'main'."""
    kinds: dict[str, str] = {}
    for name, spec in features.items():
        if spec.get("role") != "input":
            continue
        if spec["type"] == "categorical" and spec.get("encoding") == "index":
            kinds[preprocessing.input_name(name)] = "index"  # its own input, for an Embedding (data.md)
        elif spec["type"] in ("numeric", "categorical", "date"):
            kinds["main"] = "main"
        else:
            kinds[preprocessing.input_name(name)] = spec["type"]
    return kinds


REJECTED_HINTS = ("id_like", "constant")
EARLY_STOPPING_DEFAULT = {"enabled": True, "patience": 5}  # docs/decisions.md: early stopping by default


def initial_role(column: dict[str, Any]) -> str:
    """A new ML task's role for COLUMN: `reject` for an id-like or constant column (its hints), else `input`."""
    return "reject" if any(h in REJECTED_HINTS for h in column.get("hints") or []) else "input"


def gpu_worker_alive(db: Session, settings: Settings) -> bool:
    """True when a live worker (heartbeat fresh, accepting trainings) consumes the `gpu` queue and reports a GPU."""
    cutoff = utcnow() - timedelta(seconds=settings.worker_lost_after_s)
    query = select(WorkerRecord).where(WorkerRecord.stopped_at.is_(None), WorkerRecord.last_heartbeat >= cutoff)
    return any(
        workers.state_of(w, settings) == "alive" and bool(w.gpus) and "gpu" in (w.queues or [])
        for w in db.scalars(query)
    )


def default_settings(
    columns: list[dict[str, Any]], target: str, prediction_type: str, use_gpu: bool = False
) -> dict[str, Any]:
    """Complete default settings for a new ML task on a dataset with COLUMNS (USE_GPU: see gpu_worker_alive)."""
    features = {c["name"]: {"role": initial_role(c), "type": c["type"]} for c in columns if c["name"] != target}
    return {
        "features": features,
        "split": {"train_ratio": 0.8, "seed": 1337},
        "metric": DEFAULT_METRIC[prediction_type],
        "training": {
            "mode": "standard",
            "epochs": 10,
            "batch_size": 32,
            "steps_per_epoch": None,
            "shuffle": True,
            # On for new tasks: stops a run that no longer improves; the best epoch is kept either way.
            "early_stopping": dict(EARLY_STOPPING_DEFAULT),
            "time_limit_s": 86400,
            "seed": 1337,  # the TensorFlow seed (issue 20, decisions.md): the same design trains the same model
        },
        # The GPU queue only when a live worker has a GPU (docs/gpu.md): else the session would wait or run on a CPU.
        "gpu": {"use_gpu": use_gpu, "gpu_list": [0], "allow_growth": True},
        "image": {"height": 64, "width": 64, "channels": 3},
        "text": {"max_tokens": 20000, "sequence_length": 128},
        "code": {
            "architecture": architecture_code(prediction_type, input_kinds(features)),
            "training": TRAINING_DEFAULT,
            "custom_score": "",
        },
    }
