"""bench/run_all.py's headline (issue 23): written by the script from the scripts' results only. The committed
bench/results/run_all.json must equal what its recorded sources give, and those sources what the results files
held (a hand edit of either fails here); `run_all.py --headline-only` writes such a file from the results."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.run_all import SOURCES, headline, headline_from

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"


def problems(doc: dict[str, Any], folder: Path) -> list[str]:
    """What in a run_all results DOC was not written from the scripts' results (FOLDER holds those files)."""
    figures = doc["figures"]
    if "sources" not in figures:
        return ["no sources: the headline cannot be traced to the scripts' results"]
    found = []
    recomputed = [list(row) for row in headline_from({n: s["figures"] for n, s in figures["sources"].items()})]
    if [list(row) for row in figures["headline"]] != recomputed:
        found.append("the headline differs from what its sources give")
    for name, source in figures["sources"].items():
        path = folder / f"{name}{'-quick' if doc['quick'] else ''}.json"
        current = json.loads(path.read_text()) if path.exists() else None
        # A script run again since then has a later "when": its older figures cannot be checked against it.
        if current is not None and current["when"] == source["when"] and current["figures"] != source["figures"]:
            found.append(f"{name}: the recorded figures differ from {path.name} of the same run")
    return found


def test_committed_headline_is_the_scripts() -> None:
    doc = json.loads((RESULTS / "run_all.json").read_text())
    assert problems(doc, RESULTS) == []


def test_a_hand_edited_headline_or_source_fails() -> None:
    doc = json.loads((RESULTS / "run_all.json").read_text())
    edited = json.loads(json.dumps(doc))
    edited["figures"]["headline"][0][1] = "9.99"
    assert problems(edited, RESULTS) == ["the headline differs from what its sources give"]
    name = next(iter(doc["figures"]["sources"]))
    edited = json.loads(json.dumps(doc))
    edited["figures"]["sources"][name]["figures"]["edited"] = 1.0
    found = problems(edited, RESULTS)
    if json.loads((RESULTS / f"{name}.json").read_text())["when"] == doc["figures"]["sources"][name]["when"]:
        assert f"{name}: the recorded figures differ from {name}.json of the same run" in found


def test_headline_only_writes_the_headline_of_the_results(tmp_path: Path) -> None:
    copied = [n for n in SOURCES if (RESULTS / f"{n}.json").exists()]
    assert copied, "no results files to make a headline from"
    for name in copied:
        shutil.copy(RESULTS / f"{name}.json", tmp_path / f"{name}.json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITSTUDIO_")}
    env["BENCH_RESULTS_DIR"] = str(tmp_path)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run_all.py"), "--headline-only"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads((tmp_path / "run_all.json").read_text())
    assert doc["figures"]["runs"] == {} and sorted(doc["figures"]["sources"]) == sorted(copied)
    assert problems(doc, tmp_path) == []
    assert [list(r) for r in doc["figures"]["headline"]] == [list(r) for r in headline(tmp_path, False)]
    assert doc["figures"]["headline"], "an empty headline"
