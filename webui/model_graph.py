"""The layout of a model's graph on the trained model page: layers as boxes in topological rows, edges as arrows."""

from __future__ import annotations

import json
from typing import Any

BOX_W = 190  # wide enough for a 24-character name in the page's monospace font at 12px
BOX_H = 58
GAP_X = 24
GAP_Y = 36
PAD = 8
MAX_NAME = 24
LANE = 10  # the spacing of the lanes long edges run down


def layout(summary: dict[str, Any]) -> dict[str, Any]:
    """Size, box size, boxes [{name, label, type, shape, frozen, x, y}], edges [{source, target, path}]."""
    layers = summary.get("layers") or []
    rows = _rows(layers)
    widest = max((len(row) for row in rows), default=0)
    width = PAD * 2 + widest * BOX_W + max(widest - 1, 0) * GAP_X
    boxes: dict[str, dict[str, Any]] = {}
    for r, row in enumerate(rows):
        left = (width - (len(row) * BOX_W + (len(row) - 1) * GAP_X)) / 2  # each row centred
        for c, layer in enumerate(row):
            boxes[layer["name"]] = _box(layer, left + c * (BOX_W + GAP_X), PAD + r * (BOX_H + GAP_Y))
    edges: list[dict[str, Any]] = []
    for layer in layers:
        for source in (name for name in layer.get("inbound") or [] if name in boxes):
            path, lane = _route(boxes[source], boxes[layer["name"]], boxes.values(), len(edges))
            edges.append({"source": source, "target": layer["name"], "path": path})
            width = max(width, lane + PAD)
    height = PAD * 2 + len(rows) * BOX_H + max(len(rows) - 1, 0) * GAP_Y
    return {
        "width": width,
        "height": height,
        "box_w": BOX_W,
        "box_h": BOX_H,
        "boxes": list(boxes.values()),
        "edges": edges,
    }


def _rows(layers: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The layers grouped by depth (1 + the deepest layer they read), in the model's own order within a row."""
    depth: dict[str, int] = {}
    for layer in layers:  # Keras lists a model's layers in topological order: a layer's inputs come before it
        parents = [depth[name] for name in layer.get("inbound") or [] if name in depth]
        depth[layer["name"]] = 1 + max(parents) if parents else 0
    rows: list[list[dict[str, Any]]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for layer in layers:
        rows[depth[layer["name"]]].append(layer)
    return rows


def _box(layer: dict[str, Any], x: float, y: float) -> dict[str, Any]:
    name = layer["name"]
    shape = layer.get("output_shape")
    return {
        "name": name,
        "label": name if len(name) <= MAX_NAME else name[: MAX_NAME - 1] + "…",
        "type": layer["type"],
        "shape": "—" if shape is None else json.dumps(shape).replace("null", "None"),
        "frozen": bool(layer.get("params")) and not layer.get("trainable", True),  # as the table: weights kept fixed
        "x": x,
        "y": y,
    }


def _route(source: dict[str, Any], target: dict[str, Any], boxes: Any, k: int) -> tuple[str, float]:
    """The arrow from SOURCE's bottom to TARGET's top, and the rightmost x it uses.

    An edge between adjacent rows is one curve; a longer one runs down a lane right of the boxes it passes,
    so that no box hides it (K spaces the lanes of several long edges apart).
    """
    x1, y1 = source["x"] + BOX_W / 2, source["y"] + BOX_H
    x2, y2 = target["x"] + BOX_W / 2, target["y"]
    if y2 - y1 <= GAP_Y:
        bend = (y2 - y1) / 2
        return f"M{x1:g},{y1:g} C{x1:g},{y1 + bend:g} {x2:g},{y2 - bend:g} {x2:g},{y2:g}", max(x1, x2)
    between = [b["x"] + BOX_W for b in boxes if y1 < b["y"] < y2]
    lane = max(between, default=max(x1, x2)) + LANE * (1 + k % 4)
    top, bottom, bend = y1 + GAP_Y / 2, y2 - GAP_Y / 2, GAP_Y / 4
    return (
        f"M{x1:g},{y1:g} C{x1:g},{top:g} {lane:g},{y1:g} {lane:g},{top + bend:g} L{lane:g},{bottom - bend:g} "
        f"C{lane:g},{y2:g} {x2:g},{bottom:g} {x2:g},{y2:g}",
        lane,
    )
