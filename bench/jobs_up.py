"""Run-through: batch jobs at size through `fitstudio up` (issue 21's "done when").

    .venv/bin/python bench/jobs_up.py [--quick] [--rows 1000000] [--eval-rows 100000] [--no-browser]

A fresh FITSTUDIO_HOME; `fitstudio up` (API, web UI and its supervised worker, SQLite, embedded broker) on a
free port. The demo breast-cancer task is trained (3 epochs, CPU) and deployed. Then, with the Python client:
- a ROWS-row table (the demo's 30 features resampled with 5 % noise, plus a row id; Parquet) is uploaded and
  scored; the job's progress is polled every 0.5 s, and the `fitstudio up` process tree's RSS sampled every
  0.25 s; a 5,000-row warm-up job (the worker imports TensorFlow and loads the model) and a tenth-size table are
  scored the same way first and a table three times the size after it, so the peaks show whether a job's memory
  grows with the dataset; the ROWS-row result is downloaded as CSV (streamed) and read back as a pandas frame;
- a second scoring of the 3×ROWS rows is aborted once it has scored some rows;
- an EVAL_ROWS-row labelled table is evaluated.
Then, unless --no-browser, Debian's Chromium (Playwright) logs in, scores the ROWS- and 3×ROWS-row tables and
evaluates on the EVAL_ROWS-row one from the saved model's page, watching each job's row until it links the result.
Results: bench/results/jobs_up.json.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import base_args, rss_bytes, show, wait, write_result  # noqa: E402
from bench.stack import Stack  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
TERMINAL = ("succeeded", "failed", "aborted")


class PeakRss:
    """The peak RSS of a process tree and of each of its processes, sampled every 0.25 s while in use (reset by
    `start`): the tree's total, and by process (its command line's first words) what it held before and at most."""

    def __init__(self, pid: int):
        self.pid, self.peak, self.base = pid, 0, 0
        self.by_process: dict[str, list[int]] = {}  # name -> [rss before, peak]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _each(self) -> dict[str, int]:
        import psutil

        out: dict[str, int] = {}
        try:
            root = psutil.Process(self.pid)
            for proc in [root, *root.children(recursive=True)]:
                try:
                    words = [w.rsplit("/", 1)[-1] for w in proc.cmdline()[:5]]
                    out[f"{proc.pid} {' '.join(words)[:80]}"] = proc.memory_info().rss
                except psutil.Error:
                    pass
        except psutil.Error:
            pass
        return out

    def start(self) -> PeakRss:
        self.base = self.peak = rss_bytes(self.pid)
        self.by_process = {name: [rss, rss] for name, rss in self._each().items()}
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            self.peak = max(self.peak, rss_bytes(self.pid))
            for name, rss in self._each().items():
                entry = self.by_process.setdefault(name, [0, 0])
                entry[1] = max(entry[1], rss)

    def stop(self) -> dict[str, Any]:
        self._stop.set()
        if self._thread:
            self._thread.join()
        mib = 2**20
        return {
            "rss_before_mib": self.base / mib,
            "peak_rss_mib": self.peak / mib,
            "by_process_mib": {k: [round(b / mib, 1), round(p / mib, 1)] for k, (b, p) in self.by_process.items()},
        }


def _table(rows: int, seed: int, labelled: bool) -> bytes:
    """ROWS demo-like rows as Parquet bytes (features with noise, a row id; the target when LABELLED)."""
    import numpy as np
    import pandas as pd

    from server.services.bootstrap import demo_bytes

    demo = pd.read_csv(io.BytesIO(demo_bytes("breast_cancer").getvalue()))
    rng = np.random.default_rng(seed)
    picked = demo.iloc[rng.integers(0, len(demo), rows)].reset_index(drop=True)
    features = picked.drop(columns=["diagnosis"])
    features = features * rng.normal(1.0, 0.05, size=features.shape)
    features.insert(0, "row_id", np.arange(rows, dtype="int64") + 5_000_000)
    if labelled:
        features["diagnosis"] = picked["diagnosis"]
    out = io.BytesIO()
    features.to_parquet(out, index=False)
    return out.getvalue()


def _upload(stack: Stack, name: str, payload: bytes) -> int:
    with tempfile.NamedTemporaryFile(suffix=".parquet") as fh:
        fh.write(payload)
        fh.flush()
        return int(stack.upload(Path(fh.name), name)["id"])


def _deployed(stack: Stack) -> int:
    """The demo task trained (3 epochs) and deployed: the saved model's id."""
    dataset = _upload(stack, "demo", _table(569, 1, labelled=True))
    task = stack.ml_task(dataset, "diagnosis", {"training": {"epochs": 3}})
    session = stack.wait_session(stack.train(task["id"])["id"], timeout=600)
    assert session["status"] == "succeeded", session
    body = stack.call(
        "POST", f"/trained-models/{session['trained_model_id']}/deploy", 201, json={"saved_model_name": "bc"}
    )
    return int(body["saved_model_id"])


def _followed(job: Any, rss: PeakRss) -> dict[str, Any]:
    """Wait for JOB, polling its progress every 0.5 s; its timings, progress samples and memory."""
    start, samples = time.monotonic(), []
    rss.start()
    while True:
        details = job.get_details()
        samples.append((round(time.monotonic() - start, 1), details["progress"]["rows"]))
        if details["status"] in TERMINAL:
            break
        time.sleep(0.5)
    wall = time.monotonic() - start
    figures = {"status": details["status"], "wall_s": wall, "progress": details["progress"], **rss.stop()}
    figures["rows_per_s"] = details["progress"]["rows"] / wall
    figures["progress_samples"] = len({rows for _, rows in samples})
    figures["error"] = details["error"]
    return figures


def _score_and_abort(stack: Stack, saved: Any, rss: PeakRss, rows: int) -> dict[str, Any]:
    from fitstudio.client import Conflict

    out: dict[str, Any] = {}
    warm = _upload(stack, "warm-up", _table(5_000, 9, labelled=False))
    out["score_warm_up"] = _followed(saved.score(warm), rss)  # the worker imports TensorFlow, loads the model
    small = _upload(stack, f"score-{rows // 10}", _table(rows // 10, 2, labelled=False))
    out["score_tenth"] = _followed(saved.score(small), rss)
    big = _upload(stack, f"score-{rows}", _table(rows, 3, labelled=False))
    job = saved.score(big)
    out["score"] = _followed(job, rss)
    started = time.monotonic()
    path = job.download_result(stack.folder / "scored.csv", "csv")
    out["csv_download"] = {"seconds": time.monotonic() - started, "bytes": path.stat().st_size}
    frame = job.result_frame()
    out["result_frame"] = {"rows": len(frame), "columns": list(frame.columns[-3:])}
    triple = _upload(stack, f"score-{rows * 3}", _table(rows * 3, 5, labelled=False))
    out["score_triple"] = _followed(saved.score(triple), rss)  # whether the worker's peak still grows
    aborted = saved.score(triple)  # the largest: a fast job could end before the abort is seen
    wait(lambda: aborted.get_details()["progress"]["rows"] > 0, 300, "the second scoring's first batch", 0.1)
    try:
        aborted.abort()
    except Conflict:  # it ended first (a quick run's small table)
        pass
    final = wait(lambda: (d := aborted.get_details())["status"] in TERMINAL and d, 120, "the abort", 0.2)
    out["abort"] = {"status": final["status"], "rows_done": final["progress"]["rows"], "result": final["result"]}
    out["big_dataset_id"], out["triple_dataset_id"] = big, triple
    return out


def _watched(page: Any, form: str, button: str, dataset_id: int, url_key: str) -> dict[str, Any]:
    """Start a job from the saved model's form FORM on DATASET_ID; the job row's progress as the page showed it
    until the row links the result (jobs.js reloads the page when the job ends)."""
    from playwright.sync_api import Error as PlaywrightError

    page.select_option(f'{form} select[name="dataset_id"]', str(dataset_id))
    started, seen = time.monotonic(), []
    page.click(f'{form} button:has-text("{button}")')
    page.wait_for_url(re.compile(rf".*{url_key}=\d+#jobs$"))
    job_id = int(re.search(rf"{url_key}=(\d+)", page.url).group(1))
    row = f'tr[data-job="{job_id}"]'
    while time.monotonic() - started < 1800:
        try:  # a look may meet the reload
            if page.query_selector(f"{row} [data-job-result]"):
                break
            if (node := page.query_selector(f"{row} [data-job-rows]")) and (text := node.inner_text()) not in seen:
                seen.append(text)
        except PlaywrightError:
            pass
        page.wait_for_timeout(500)
    else:
        raise TimeoutError(f"the browser's job {job_id} did not end in 30 minutes")
    result = page.inner_text(f"{row} [data-job-result]")
    return {"wall_s": time.monotonic() - started, "progress_shown": seen, "result": result}


def _browser(stack: Stack, saved_id: int, scored: list[int], labelled: int) -> dict[str, Any]:
    """In Chromium, from the saved model's page: score each of SCORED, then evaluate on LABELLED."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        page = browser.new_page(base_url=stack.base_url)
        page.goto(f"/saved-models/{saved_id}")
        page.fill('input[name="username"]', "bench")
        page.fill('input[name="password"]', "bench-pw-1")
        page.click('button:has-text("Log in")')
        out = {}
        for n, dataset_id in enumerate(scored):
            page.wait_for_selector(f'#score-dataset-form option[value="{dataset_id}"]', state="attached")
            out[f"score_{n}"] = _watched(page, "#score-dataset-form", "Score the dataset", dataset_id, "scoring")
        page.wait_for_selector(f'#evaluate-dataset-form option[value="{labelled}"]', state="attached")
        form = "#evaluate-dataset-form"
        out["evaluate"] = _watched(page, form, "Evaluate on the dataset", labelled, "evaluating")
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    base_args(parser)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--eval-rows", type=int, default=100_000)
    parser.add_argument("--no-browser", action="store_true")
    args = parser.parse_args()
    rows, eval_rows = (20_000, 5_000) if args.quick else (args.rows, args.eval_rows)
    load_before = list(os.getloadavg())
    figures: dict[str, Any] = {"rows": rows, "eval_rows": eval_rows}
    with Stack("jobs-up", keep=args.keep) as stack:
        up, figures["readyz_s"] = stack.start_up()
        from fitstudio.client import Client

        stack.project()
        saved_id = _deployed(stack)
        client = Client(stack.base_url, stack.token)
        saved = client.get_saved_model(saved_id)
        rss = PeakRss(up.pid)
        figures.update(_score_and_abort(stack, saved, rss, rows))
        labelled = _upload(stack, f"evaluate-{eval_rows}", _table(eval_rows, 4, labelled=True))
        job = saved.evaluate(labelled)
        figures["evaluate"] = _followed(job, rss)
        figures["evaluate"]["metrics"] = job.evaluation()["metrics"] if job.last["status"] == "succeeded" else None
        if not args.no_browser:
            scored = [figures["big_dataset_id"], figures["triple_dataset_id"]]
            figures["browser"] = _browser(stack, saved_id, scored, labelled)
        client.close()
    show("batch jobs through fitstudio up", [(k, v) for k, v in figures.items() if k != "browser"])
    write_result("jobs_up", args.quick, figures, load_before)


if __name__ == "__main__":
    main()
