"""The model graph: each layer's inbound layers in the summary (as Keras's config has them) and the page's SVG."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.webui.conftest import Web
from tests.webui.support import fake_trained_model
from tests.webui.test_model_summary_page import EVALUATION, _store


def _config_inbound(model: Any) -> dict[str, list[str]]:
    """Each layer's inbound layer names as Keras's own functional config lists them (keras_history)."""
    found: dict[str, list[str]] = {}
    for layer in model.get_config()["layers"]:
        names: list[str] = []
        for node in layer["inbound_nodes"]:
            args = node["args"][0]
            for tensor in args if isinstance(args, list) else [args]:
                name = tensor["config"]["keras_history"][0]
                if name not in names:
                    names.append(name)
        found[layer["name"]] = names
    return found


def _two_inputs() -> Any:
    """Two inputs concatenated → Dense(4) frozen → Dense(1) and a skip Dense(1) from one input → Add."""
    import keras

    left, right = keras.Input((3,), name="left"), keras.Input((2,), name="right")
    joined = keras.layers.Concatenate(name="joined")([left, right])
    base = keras.layers.Dense(4, name="base")
    head = keras.layers.Dense(1, name="head")(base(joined))
    skip = keras.layers.Dense(1, name="skip")(right)
    base.trainable = False
    return keras.Model([left, right], keras.layers.Add(name="total")([head, skip]))


def test_inbound_of_a_functional_model_is_what_its_config_says() -> None:
    from server.services import model_summary

    model = _two_inputs()
    inbound = {layer["name"]: layer["inbound"] for layer in model_summary.summarize(model)["layers"]}
    assert inbound == _config_inbound(model)
    assert inbound["joined"] == ["left", "right"] and inbound["total"] == ["head", "skip"]
    assert inbound["left"] == [] and inbound["skip"] == ["right"]


def test_inbound_of_a_sequential_model_is_the_previous_layer() -> None:
    import keras

    from server.services import model_summary

    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(3, name="d1"), keras.layers.Dropout(0.1, name="drop")], name="seq"
    )
    model.add(keras.layers.Dense(1, name="d2"))
    config_order = [layer["config"]["name"] for layer in model.get_config()["layers"]][1:]  # [0] is the InputLayer
    summary = model_summary.summarize(model)
    assert [layer["name"] for layer in summary["layers"]] == config_order == ["d1", "drop", "d2"]
    assert [layer["inbound"] for layer in summary["layers"]] == [[], ["d1"], ["drop"]]


@pytest.mark.slow
def test_the_page_draws_one_box_per_layer_and_one_arrow_per_edge(web: Web, task: dict[str, Any]) -> None:
    tmid = fake_trained_model(web, task, EVALUATION)
    model = _two_inputs()
    _store(tmid, model)
    summary = web.api.get(f"/api/v1/trained-models/{tmid}/summary").json()
    assert {layer["name"]: layer["inbound"] for layer in summary["layers"]} == _config_inbound(model)
    page = web.get(f"/trained-models/{tmid}").text
    svg = re.search(r'<svg id="model-graph".*?</svg>', page, re.S).group(0)
    boxes = re.findall(
        r'<g class="graph-layer( frozen)?" data-layer="([^"]+)" transform="translate\(([\d.]+),([\d.]+)\)"', svg
    )
    assert sorted(name for _, name, _, _ in boxes) == sorted(layer.name for layer in model.layers)
    edges = re.findall(r'<path class="graph-edge" data-source="([^"]+)" data-target="([^"]+)"', svg)
    expected = {(source, name) for name, sources in _config_inbound(model).items() for source in sources}
    assert len(edges) == 7 and set(edges) == expected
    assert [name for frozen, name, _, _ in boxes if frozen] == ["base"]  # the frozen layer is marked, it alone
    assert re.search(r'data-layer="base"[^>]*><title>base \(Dense\), frozen</title>', svg)
    row = {name: float(y) for _, name, _, y in boxes}  # topological rows: every arrow points down
    assert all(row[source] < row[target] for source, target in edges)
    assert row["left"] == row["right"] < row["joined"] == row["skip"] < row["base"] < row["head"] < row["total"]
    long_edge = re.search(r'data-source="skip" data-target="total" d="([^"]+)"', svg).group(1)
    lane = float(re.search(r" L([\d.]+),", long_edge).group(1))  # the straight run down its lane
    left_of = {name: float(x) for _, name, x, _ in boxes}
    assert lane > max(left_of["base"], left_of["head"]) + 190  # it runs beside the boxes it passes, not behind them
