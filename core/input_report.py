"""The preprocessing report: per input column, the values missing, present but not parsed, and imputed (counted by
the child on the rows it loads; scoring counts the rows sent as it transforms them, preprocessing.InputCounts)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from core import dates, preprocessing


def report(frame: pd.DataFrame, prep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per input column: its type, missing values, present values that did not parse, and values imputed."""
    out: dict[str, dict[str, Any]] = {}
    for m in prep["main"]:
        series = preprocessing.require(frame, m["column"])
        missing = int(series.isna().sum())
        entry = {"type": m["kind"], "missing": missing, "unparseable": 0, "imputed": 0}
        if m["kind"] in ("numeric", "date"):
            if m["kind"] == "numeric":
                failed = int(np.isnan(preprocessing.numbers(series)).sum())
            else:
                failed = int(dates.parse(series, m["dayfirst"]).isna().sum())
            entry.update(unparseable=failed - missing, imputed=failed)
        out[m["column"]] = entry
    for kind, cols in (("categorical", prep.get("index", {})), ("text", prep["text"]), ("image", prep["image"])):
        for col in cols:
            missing = int(preprocessing.require(frame, col).isna().sum())
            out[col] = {"type": kind, "missing": missing, "unparseable": 0, "imputed": 0}
    return out


def add_reports(total: dict[str, dict[str, Any]], part: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """TOTAL with the counts of PART (the report of further rows) added: a report made a batch at a time."""
    for col, counts in part.items():
        into = total.setdefault(col, {**counts, "missing": 0, "unparseable": 0, "imputed": 0})
        for key in ("missing", "unparseable", "imputed"):
            into[key] += counts[key]
    return total


def report_lines(counts: dict[str, dict[str, Any]], prep: dict[str, Any]) -> list[str]:
    """The log lines of a preprocessing report: one per input column."""
    how = {m["column"]: m.get("impute", "mean") for m in prep["main"]}
    lines = []
    for col, c in counts.items():
        line = f"input {col!r} ({c['type']}): {c['missing']} missing"
        if c["type"] in ("numeric", "date"):
            line += f", {c['unparseable']} did not parse, {c['imputed']} imputed ({how.get(col, 'mean')})"
        lines.append(line)
    return lines
