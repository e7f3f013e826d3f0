"""The model card of a trained model, assembled from what is stored and rendered as HTML or Markdown.

One Jinja template (server/templates/model_card.j2) renders both formats: HTML escapes every value and draws the
charts as inline SVG; Markdown writes tables, fenced code and the per-epoch history as a table instead.
"""

from __future__ import annotations

import functools
import math
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup
from sqlalchemy.orm import Session

from server.models import Analysis, Dataset, MLTask, TrainedModel
from server.services import card_charts, card_features, model_provenance, trained_models
from server.settings import Settings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
MEDIA_TYPES = {"html": "text/html; charset=utf-8", "md": "text/markdown; charset=utf-8"}


def _num(value: Any) -> str:
    """A metric value as the pages show it: 4 significant digits, '—' when there is none."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def _md_cell(value: Any) -> str:
    """VALUE safe inside a Markdown table cell (pipes escaped, one line)."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _fence(code: str) -> str:
    """A Markdown code fence longer than any run of backticks in CODE."""
    return "`" * max([3, *(len(run) + 1 for run in re.findall("`+", code))])


@functools.cache
def _environment(fmt: str) -> jinja2.Environment:
    """The template environment of FMT: HTML escapes every value, Markdown writes them as they are."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=fmt == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters.update(num=_num, md=_md_cell, fence=_fence)
    return env


def _charts(model: TrainedModel, evaluation: dict[str, Any] | None) -> list[tuple[str, str]]:
    """(title, inline SVG) of the loss, the optimisation metric per epoch and the ROC curve."""
    history = model.history or []
    test, train = trained_models.test_key(model.metric), trained_models.TRAIN + model.metric
    charts = [
        ("Loss", card_charts.line_chart("Loss", card_charts.history_series(history, ["loss", "val_loss"]))),
        (
            model.metric,
            card_charts.line_chart(
                model.metric, card_charts.history_series(history, [test, train]), mark_x=model.best_epoch
            ),
        ),
    ]
    if evaluation and evaluation.get("roc"):
        charts.append(("ROC curve", card_charts.roc_chart(evaluation["roc"])))
    return [(title, svg) for title, svg in charts if svg]


def _history_rows(model: TrainedModel) -> tuple[list[str], list[list[Any]]]:
    """The history as a table: epoch, loss, val_loss and the optimisation metric (validation, train)."""
    keys = ["loss", "val_loss", trained_models.test_key(model.metric), trained_models.TRAIN + model.metric]
    history = model.history or []
    keys = [k for k in keys if any(k in h for h in history)]
    return ["epoch", *keys], [[h.get("epoch"), *(h.get(k) for k in keys)] for h in history]


def _tables(context: dict[str, Any]) -> dict[str, list[list[Any]]]:
    """The card's tables as rows of cells, the same in both formats."""
    training, seeds = context["training"], context["seeds"]
    stopping = training.get("early_stopping") or {}
    columns = ("column", "role", "type", "handling", "missing", "unparseable", "imputed")
    evaluation = context["evaluation"] or {}
    labels = evaluation.get("labels") or []
    tf_seed = seeds.get("tensorflow")
    if tf_seed is not None and seeds.get("tensorflow_drawn"):
        tf_seed = f"{tf_seed} (drawn at random: training.seed was null)"
    return {
        "feature_rows": [[f[c] for c in columns] for f in context["features"]],
        "training_rows": [
            ["mode", training.get("mode")],
            ["epochs", training.get("epochs")],
            ["batch size", training.get("batch_size")],
            ["steps per epoch", training.get("steps_per_epoch") or "all rows"],
            ["shuffle", training.get("shuffle")],
            ["early stopping", f"patience {stopping.get('patience')}" if stopping.get("enabled") else "off"],
            ["time limit (s)", training.get("time_limit_s")],
            ["TensorFlow seed (training.seed)", training.get("seed", "—")],
        ],
        "confusion_header": ["actual ↓ / predicted →", *labels],
        "metric_table": [[r["name"], r["test"], r["train"]] for r in context["metric_rows"]],
        "confusion_rows": [
            [labels[i] if i < len(labels) else i, *row]
            for i, row in enumerate(evaluation.get("confusion_matrix") or [])
        ],
        "lineage_rows": [
            [
                (e.get("kind") or "").replace("_", " "),
                e.get("id", e.get("saved_model_id")),  # a retrain names the saved model of the version it retrained
                e.get("version_id") or "—",
                e.get("trained_model_id") or "—",
            ]
            for e in context["lineage"]
            if isinstance(e, dict)
        ],
        "seed_rows": [["split", seeds.get("split")], ["tensorflow", "not recorded" if tf_seed is None else tf_seed]],
    }


def assemble(db: Session, settings: Settings, model: TrainedModel) -> dict[str, Any]:
    """Everything the card shows, from the trained model, its session's frozen design and what the child stored."""
    session = model.session
    design = session.design or {}
    frozen = design.get("settings") or {}
    task = db.get(MLTask, model.ml_task_id)
    analysis = db.get(Analysis, model.analysis_id)
    evaluation = trained_models.evaluation_of(settings, model)
    metric_rows, other = trained_models.metrics_table(model.metrics or {})
    header, history = _history_rows(model)
    return {
        "model": model,
        "session": session,
        "task": task,
        "analysis": analysis,
        # The dataset the session trained on: a retrain's may be another than its analysis's.
        "dataset": _trained_on(db, design, analysis),
        "target": design.get("target") or (task.target if task else ""),
        "submitter": design.get("submitted_by") or "—",
        "split": frozen.get("split") or {},
        "training": frozen.get("training") or {},
        "features": card_features.rows(frozen.get("features") or {}, model.preprocessing or {}),
        "cells": trained_models.frozen_cells(model),
        "metric_rows": metric_rows,
        "other_metrics": other,
        "score": trained_models.score(model),
        "history_header": header,
        "history": history,
        "evaluation": evaluation,
        "lineage": model.lineage or [],
        "charts": _charts(model, evaluation),
        **model_provenance.of(model),
    }


def _trained_on(db: Session, design: dict[str, Any], analysis: Analysis | None) -> Dataset | None:
    """The dataset DESIGN trained on, else ANALYSIS's."""
    dataset_id = design.get("dataset_id")
    found = db.get(Dataset, dataset_id) if isinstance(dataset_id, int) else None
    return found or (analysis.dataset if analysis else None)


def render(db: Session, settings: Settings, model: TrainedModel, fmt: str) -> str:
    """MODEL's card as FMT ('html' or 'md')."""
    context = assemble(db, settings, model)
    context.update(_tables(context))
    charts = [(title, Markup(svg)) for title, svg in context["charts"]]
    text = _environment(fmt).get_template("model_card.j2").render(**{**context, "charts": charts}, fmt=fmt)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"  # the macros' blank lines, at most one in a row
