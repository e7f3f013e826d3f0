"""The features tab's per-feature option controls: prefilled, saved with the form, defaults not written."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData

from tests.webui.conftest import Web, location
from tests.webui.support import design_form
from tests.webui.test_design_defaults import _typed_task
from webui import design


def _rows(form: dict[str, str]) -> dict[str, str]:
    """Column name -> its row prefix (`feature-<i>`)."""
    return {v: k.removesuffix("-name") for k, v in form.items() if k.startswith("feature-") and k.endswith("-name")}


def _options(spec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in spec.items() if k not in ("role", "type")}


def _features(web: Web, task_id: str) -> dict[str, Any]:
    r = web.client.get(f"/api/v1/ml-tasks/{task_id}/settings")
    assert r.status_code == 200, r.text
    return r.json()["features"]


def test_option_controls_show_defaults_and_round_trip(web: Web) -> None:
    task_id = _typed_task(web)
    form = design_form(web, task_id)
    num, cat = _rows(form)["num"], _rows(form)["cat"]
    assert form[f"{num}-type"] == "numeric" and form[f"{cat}-type"] == "categorical"
    assert (form[f"{num}-impute"], form[f"{num}-impute_value"], form[f"{num}-rescale"]) == ("mean", "", "standard")
    assert (form[f"{cat}-encoding"], form[f"{cat}-max_values"]) == ("dummy", "100")
    before = _features(web, task_id)
    # Saving with every option at its default writes no option key.
    assert location(web.post(f"/ml-tasks/{task_id}/design", {**form, "action": "save"})).endswith("saved=1")
    after = _features(web, task_id)
    assert after == before and set(after["num"]) == {"role", "type"} and set(after["cat"]) == {"role", "type"}
    changed = {f"{num}-impute": "constant", f"{num}-impute_value": "2.5", f"{num}-rescale": "minmax"}
    changed |= {f"{cat}-encoding": "index", f"{cat}-max_values": "7"}
    assert location(web.post(f"/ml-tasks/{task_id}/design", {**form, **changed, "action": "save"})).endswith("saved=1")
    feats = _features(web, task_id)
    assert _options(feats["num"]) == {"impute": "constant", "impute_value": 2.5, "rescale": "minmax"}
    assert _options(feats["cat"]) == {"encoding": "index", "max_values": 7}
    again = design_form(web, task_id)  # the page shows the stored values
    assert {k: again[k] for k in changed} == {**changed, f"{num}-impute_value": "2.5"}
    # A value without a constant imputation is not written.
    only_value = {**form, f"{num}-impute_value": "4", "action": "save"}
    assert location(web.post(f"/ml-tasks/{task_id}/design", only_value)).endswith("saved=1")
    assert set(_features(web, task_id)["num"]) == {"role", "type"}
    # Back to the defaults: the option keys go away.
    assert location(web.post(f"/ml-tasks/{task_id}/design", {**form, "action": "save"})).endswith("saved=1")
    assert set(_features(web, task_id)["num"]) == {"role", "type"}


def test_invalid_option_shows_on_the_features_tab(web: Web) -> None:
    task_id = _typed_task(web)
    form = design_form(web, task_id)
    num, cat = _rows(form)["num"], _rows(form)["cat"]
    bad = {**form, f"{num}-impute": "constant", f"{cat}-max_values": "0", "action": "save"}
    r = web.post(f"/ml-tasks/{task_id}/design", bad)
    assert r.status_code == 422
    assert "impute_value" in r.text and "features" in r.text
    r = web.fetch(f"/ml-tasks/{task_id}/design", {**bad, "action": "validate"})
    assert r.status_code in (200, 422) and r.json()["ok"] is False
    assert all(e.get("field", "").startswith("features") for e in r.json()["errors"])


def test_text_and_date_options_round_trip(web: Web) -> None:
    task_id = _typed_task(web)
    form = design_form(web, task_id)
    txt, cat = _rows(form)["txt"], _rows(form)["cat"]
    assert (form[f"{txt}-max_tokens"], form[f"{txt}-sequence_length"]) == ("", "")  # empty: the task's settings
    changed = {f"{txt}-max_tokens": "500", f"{txt}-sequence_length": "12", f"{txt}-role": "input"}
    dated = {f"{cat}-type": "date", f"{cat}-dateparts": "1", f"{cat}-part-year": "1", f"{cat}-part-hour": "1"}
    assert location(web.post(f"/ml-tasks/{task_id}/design", {**form, **changed, **dated, "action": "save"}))
    feats = _features(web, task_id)
    assert _options(feats["txt"]) == {"max_tokens": 500, "sequence_length": 12}
    assert _options(feats["cat"]) == {"parts": ["year", "hour"]}
    again = design_form(web, task_id)
    assert again[f"{txt}-max_tokens"] == "500" and again[f"{cat}-part-year"] == "1" and f"{cat}-part-day" not in again
    every = {f"{cat}-part-{p}": "1" for p in ("year", "month", "day", "weekday", "hour", "epoch")}
    reset = {**again, f"{txt}-max_tokens": "", f"{txt}-sequence_length": "", f"{cat}-dateparts": "1", **every}
    assert location(web.post(f"/ml-tasks/{task_id}/design", {**reset, "action": "save"}))
    feats = _features(web, task_id)
    assert _options(feats["txt"]) == {} and _options(feats["cat"]) == {}
    none_ticked = {k: v for k, v in reset.items() if "-part-" not in k}
    r = web.post(f"/ml-tasks/{task_id}/design", {**none_ticked, "action": "save"})
    assert r.status_code == 422 and "parts" in r.text


def test_image_options_empty_is_the_task_setting() -> None:
    form = FormData([("feature-0-height", "32"), ("feature-0-width", ""), ("feature-0-channels", "1")])
    spec = {"role": "input", "type": "image"}
    assert design._feature_options(form, 0, spec, {}) == {"height": 32, "channels": 1, **spec}
    kept = {**spec, "width": 64, "height": 10}
    assert design._feature_options(FormData([]), 0, spec, kept) == kept  # no controls posted: API options kept
    assert design._feature_options(form, 0, {**spec, "type": "text"}, kept) == {**spec, "type": "text"}
