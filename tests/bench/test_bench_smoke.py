"""Smoke test of the benchmark scripts (bench/): each runs with --quick, exits 0 and writes its results file.

Benchmarks never fail on a timing; this only checks that they run and what their results hold. The ingest, image
checks and reconciler quick modes (seconds) run in every suite. The others (marker `bench`) are the benchmark tools'
own smoke checks, not product tests: each starts a stack, workers and TensorFlow children (about two minutes each on two
cores), so CI (`scripts/test.sh`) leaves them out; `scripts/test.sh --bench` runs them, and `bench/run_all.py
--quick` runs the scripts themselves (bench/README.md).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from server.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
SLOW = pytest.mark.slow  # they train real models
BENCH = pytest.mark.bench  # start workers and TensorFlow children: minutes; only `scripts/test.sh --bench` runs them


def run_quick(name: str, tmp_path: Path, *extra: str, result: str | None = None) -> dict:
    """Run bench/NAME.py --quick with results under TMP_PATH; the results document (RESULT-quick.json when the
    script writes under another name than its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FITSTUDIO_")}
    env.update(BENCH_RESULTS_DIR=str(tmp_path), TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--quick", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / f"{result or name}-quick.json").read_text())
    assert doc["quick"] is True and doc["figures"] and doc["machine"]["cores"]
    return doc


def test_ingest_quick(tmp_path: Path) -> None:
    figures = run_quick("ingest", tmp_path)["figures"]
    assert figures["uploads"][0]["n_rows"] == figures["rows"]
    assert figures["ratio"] > 0
    assert figures["late_type_change"]["upload"]["n_rows"] == figures["rows"]
    assert figures["writes_during_big_upload"]["writes"] >= 1 and figures["writes_idle"]["max_s"] > 0


def test_date_reading_quick(tmp_path: Path) -> None:
    figures = run_quick("date_reading", tmp_path)["figures"]
    for size in figures["sizes"]:
        assert figures[f"german_names/{size}"]["unread_now"] == 0 < figures[f"german_names/{size}"]["unread_before"]
        assert all(figures[f"{name}/{size}"]["now_s"] > 0 for name in ("iso", "timestamps"))


def test_column_stats_quick(tmp_path: Path) -> None:
    figures = run_quick("column_stats", tmp_path)["figures"]
    (tree,) = figures["20000"]["trees"].values()
    assert tree["orders"]["distinct"] == [20_000] and tree["region"]["distinct"] == [50]
    assert all(tree[name]["wall_s"] > 0 for name in ("text_numbers", "emails", "comment", "all"))


def test_json_ingest_quick(tmp_path: Path) -> None:
    figures = run_quick("json_ingest", tmp_path)["figures"]
    for kind in ("jsonl", "json"):
        got = figures[f"{kind}/20000"]
        assert got["fitstudio"]["rows"] == got["pandas"]["rows"] == [20_000] and got["fitstudio"]["peak_mb"] > 0
    assert figures["jsonl/20000"]["pyarrow"]["rows"] == [20_000]


def test_image_checks_quick(tmp_path: Path) -> None:
    figures = run_quick("image_checks", tmp_path)["figures"]
    got = figures["500"]
    assert all(got[v] > 0 for v in ("header", "decoded", "decoded, 1 thread")) and got["zip_mb"] > 1
    assert figures["12mp"]["check_s"] > 0


def test_reconciler_quick(tmp_path: Path) -> None:
    figures = run_quick("reconciler", tmp_path)["figures"]
    for size in ("1000", "10000"):
        assert {"old pass", "new pass", "new sweep", "spread"} <= set(figures[size])


@SLOW
@BENCH
def test_throughput_quick(tmp_path: Path) -> None:
    figures = run_quick("throughput", tmp_path, "--feeds", "")["figures"]
    for name in ("mlp", "cnn"):  # fitstudio's forward calls: 1,024 rows (64×64×3 images too)
        f = figures[name]
        assert f["validation_batch_size"] == 1024 and f["no_validation_n_val"] < f["n_val"]
        for ratio in ("ratio_with_metrics", "ratio_no_validation", "ratio_whole_run", "ratio_whole_run_no_validation"):
            s = f["spread"][ratio]
            assert s["n"] == 2 and 0 < s["min"] <= s["median"] <= s["max"]
        for rep in f["repeats"]:
            assert len(rep["session"]["epoch_s"]) == len(rep["plain"]["epoch_s"]) == f["epochs"] >= 3
            for side in ("session", "plain", "session_no_validation", "plain_no_validation"):
                assert rep[side]["whole_run_s"] > sum(rep[side]["epoch_s"])
                assert len(rep[side]["epoch_cpu_s"]) == len(rep[side]["epoch_s"])
            for side in ("session", "session_no_validation"):  # the child's CPU: the first epoch's start is unseen
                cpu = rep[side]["epoch_cpu_s"]
                assert cpu[0] is None and all(c is None or c > 0 for c in cpu[1:])
            for side in ("plain", "plain_no_validation"):  # at the niceness the sessions' children train at
                assert rep[side]["nice"] == min(19, os.nice(0) + Settings.model_fields["training_nice"].default)


@SLOW
@BENCH
def test_metric_overhead_quick(tmp_path: Path) -> None:
    figures = run_quick("metric_overhead", tmp_path)["figures"]
    assert "MALLOC_ARENA_MAX=2" in figures["malloc_env"]  # glibc's malloc as a training child has it
    for ptype in ("binary", "multiclass"):
        f = figures[ptype]
        assert f["validation_batch_size"] == 1024 and f["steps_epoch_spread_s"]["n"] >= 2
        assert f["overhead_vs_session_epoch"] == f["scores_s"] / (f["steps_epoch_s"] + f["scores_s"])
        assert f["overhead_spread"]["min"] <= f["overhead_vs_session_epoch"] <= f["overhead_spread"]["max"]
        assert f["overhead_cpu"] == f["scores_cpu_s"] / (f["steps_epoch_cpu_s"] + f["scores_cpu_s"])
        assert (f["train_sample_rows"], f["train_sample_rows_before"]) == (800, 2000)  # 8,000 trained on: a tenth
    images = figures["images_500"]  # the default CNN on 400 training images: 200 in the sample, 400 before
    assert (images["n_train"], images["n_val"], images["train_sample_rows"]) == (400, 100, 200)
    assert images["train_sample_rows_before"] == 400
    k = images["keras_validation_pass_s"]  # Keras's pass at the forward pass's rows a call
    assert images["validation_batch_size"] == 1024 and images["keras_validation_pass_at_s"] == {"1024": k}
    assert images["added_vs_validated_epoch"] == (images["scores_s"] - k) / (images["steps_epoch_s"] + k)
    assert images["overhead_before"] == images["scores_before_s"] / (
        images["steps_epoch_s"] + images["scores_before_s"]
    )


@SLOW
@BENCH
def test_malloc_arenas_quick(tmp_path: Path) -> None:
    figures = run_quick("malloc_arenas", tmp_path, "--workloads", "mlp", "--variants", "default,tuned")["figures"]
    variants = figures["mlp"]["variants"]
    assert set(variants) == {"default", "tuned"} and variants["default"]["cpu_vs_first"] == 1.0
    assert variants["default"]["runs"][0]["malloc_env"] == {}
    assert variants["tuned"]["runs"][0]["malloc_env"]["MALLOC_ARENA_MAX"] == "2"  # the training child's
    for f in variants.values():
        (run,) = f["runs"]
        assert f["epochs"] == len(run["wall_s"]) == len(run["cpu_s"]) == 2  # 3 epochs, the first not timed
        assert 0 < f["system_share"] < 1 and run["user_s"] > 0 and run["minor_faults"] > 0
        assert f["cpu_s"]["median"] == statistics.median(run["cpu_s"])


@BENCH
def test_isolation_cost_quick(tmp_path: Path) -> None:
    figures = run_quick("isolation_cost", tmp_path, "--workloads", "mlp")["figures"]
    variants = figures["mlp"]["variants"]
    assert list(variants) == ["plain", "bwrap", "memcg", "bwrap-memcg"] and variants["plain"]["cpu_vs_first"] == 1.0
    for name, f in variants.items():
        (run,) = f["runs"]
        assert f["epochs"] == len(run["wall_s"]) == len(run["cpu_s"]) == 2  # 3 epochs, the first not timed
        sandboxed, charged = name.startswith("bwrap"), name.endswith("memcg")
        # Where each ran, as the child saw it: bwrap's PID namespace and the seccomp filter; the cgroup's peak.
        assert run["seccomp_mode"] == (2 if sandboxed else 0)
        assert (run["pid"] < 10) == sandboxed
        assert (run["memcg_peak_mib"] is not None and run["memcg_peak_mib"] > 50) == charged


@BENCH
def test_epoch_stalls_quick(tmp_path: Path) -> None:
    figures = run_quick("epoch_stalls", tmp_path)["figures"]
    assert (figures["cnn"]["rows"], figures["mlp"]["rows"]) == (500, 5000)
    for workload in (figures["cnn"], figures["mlp"]):
        variants = workload["variants"]
        assert set(variants) == {"now", "autotune", "autotune, no metrics"}
        threshold = workload["slow_factor"] * statistics.median(variants["now"]["runs"][0]["wall_s"])
        for f in variants.values():
            (run,) = f["runs"]
            assert f["epochs"] == len(run["wall_s"]) == len(run["cpu_s"]) == 2  # 3 epochs, the first not timed
            assert run["cores"] == [c / w for w, c in zip(run["wall_s"], run["cpu_s"], strict=True)]
            assert f["slow_epochs"] == sum(w > threshold for w in run["wall_s"])


@SLOW
@BENCH
def test_image_feed_quick(tmp_path: Path) -> None:
    figures = run_quick("image_feed", tmp_path)["figures"]
    feeds = figures["300"]
    assert set(feeds) == {"arrays", "tfdata", "tfdata-held", "tfdata-rewrites", "sequence"}
    assert feeds["arrays"]["cpu_speed_vs_arrays"] == 1
    for f in feeds.values():
        assert f["steady_epoch_cpu_s"]["median"] > 0 and f["cpu_speed_vs_arrays"] > 0
        assert all(r["batches"] == 2 * 10 for r in f["runs"])  # 2 epochs of 300 images in batches of 32
        assert all(r["first_batch_s"] > 0 for r in f["runs"])  # 0.0 until a batch arrives
    assert feeds["tfdata"]["data_held_mb"] < feeds["arrays"]["data_held_mb"]  # uint8, not float32
    assert feeds["sequence"]["data_held_mb"] < feeds["arrays"]["data_held_mb"]  # scaled a batch at a time


@SLOW
@BENCH
def test_gpu_feed_quick(tmp_path: Path) -> None:
    figures = run_quick("gpu_feed", tmp_path)["figures"]
    assert figures["device"] == ("/GPU:0" if figures["gpus"] else "/CPU:0")
    assert figures["backend"] == "tensorflow" and figures["tensorflow"] and figures["cores"] >= 1
    for name, batches in (("mlp", 100), ("cnn", 10)):  # 80 % of 4,000 rows and of 400 images, in batches of 32
        f = figures[name]
        assert f["train_rows"] == batches * 32 and set(f["streamed_vs_memory"]) == {"fit", "pipeline"}
        assert all(ratio > 0 for ratio in [*f["streamed_vs_memory"].values(), *f["streamed_vs_tf_data"].values()])
        for feed in ("memory", "streamed", "tf.data"):
            assert f[feed]["fit_samples_per_s"] > 0 and f[feed]["pipeline_samples_per_s"] > 0
            assert f[feed]["pipeline_batches_per_s"] * 32 == pytest.approx(f[feed]["pipeline_samples_per_s"])
            assert f[feed]["placed_on"].endswith(figures["device"].replace("/", "device:"))
            if figures["nvidia_smi"] is None:  # no nvidia-smi: no utilisation, not a zero
                assert f[feed]["gpu_util_mean_pct"] is None and f[feed]["gpu_samples"] == [None]


@SLOW
@BENCH
def test_nice_sweep_quick(tmp_path: Path) -> None:
    figures = run_quick("nice_sweep", tmp_path, "--cap-s", "20", "--baseline", "1")["figures"]
    assert figures["nices"] == [0, 19]
    for n in (0, 19):
        api = figures["api_under_two_trainings"][f"nice {n}"]
        assert api["training_nice"] == n  # the value reached the stack's settings, not the default
        assert api["ok"] + api["error_count"] == api["requests"] > 0 and 0 <= api["foreign_cpu_share"] <= 1
        start = figures["start_on_loaded_host"][f"nice {n}"]
        assert 0 < start["median_s"] <= 20 and start["vs_idle"] > 0 and len(start["runs"]) == 1


@SLOW
@BENCH
def test_start_latency_quick(tmp_path: Path) -> None:
    figures = run_quick("start_latency", tmp_path)["figures"]
    assert figures["training_nice"] == 5 and "no teardown" in figures["tf_import_how"]
    assert figures["beyond_tf_import_s"] == figures["first_batch_s"] - figures["tf_import_s"]
    assert figures["tf_import_s"] >= figures["tf_import_in_process_s"] > 0


@SLOW
@BENCH
def test_start_latency_on_images_quick(tmp_path: Path) -> None:
    doc = run_quick("start_latency", tmp_path, "--images", "300", result="start_latency-images300")
    figures = doc["figures"]
    assert figures["images"] == 300 and figures["first_batch_s"] > 0
    warm, measured = figures["warmup"]["fitstudio_lines"], figures["runs"][0]["fitstudio_lines"]
    assert any("image cache of 'image' built" in line for line in warm)  # the warm-up session builds the cache
    assert any("image cache of 'image' reused" in line for line in measured)  # a second session finds it


@SLOW
@BENCH
def test_where_time_goes_quick(tmp_path: Path) -> None:
    figures = run_quick("where_time_goes", tmp_path, "--cases", "mlp")["figures"]
    counted = figures["mlp"]["tracing_by_tensorflow"]
    assert counted["graph_building_s"] > 0 and counted["traces"]["one_step_on_data"] >= 1
    assert counted["share_of_wall"] < 1


@SLOW
@BENCH
def test_api_load_mixed_quick(tmp_path: Path) -> None:
    extra = ("--mixed", "--views", "60", "--upload-rows", "20000")
    figures = run_quick("api_load", tmp_path, *extra, result="api_load_mixed")["figures"]
    assert figures["views_sessions"] == [60] and figures["baseline_idle"]["ok"] and figures["under_training"]["ok"]
    for res in (figures["baseline_idle"], figures["under_training"]):  # the API's own timing of the same requests
        assert res["api_side"]["requests"] >= res["ok"] and 0 <= res["api_side"]["over_50ms"] <= res["ok"], res
        assert res["generator_lag_max_ms"] >= res["generator_lag_p99_ms"] >= 0
    assert figures["under_training"]["training_steps_per_s"] > 0  # both trainings ran through the load
    for phase in ("idle_views_uploads", "under_training_views_uploads"):
        (res,) = figures[phase]
        assert res["sessions_in_task"] == 60 and res["ok"] and res["p99_ms"] >= res["p50_ms"] > 0
        views, uploads = res["background"]["views"], res["background"]["uploads"]
        assert views["ok"] >= 1 and not views["errors"] and views["page_bytes"] > 0
        assert uploads["ok"] >= 1 and not uploads["errors"] and uploads["rows"] == 20000


@SLOW
@BENCH
def test_jobs_up_quick(tmp_path: Path) -> None:
    figures = run_quick("jobs_up", tmp_path)["figures"]
    assert figures["rows"] == 20_000 and figures["readyz_s"] > 0
    for key, rows in (("score_tenth", 2_000), ("score", 20_000), ("score_triple", 60_000)):
        assert figures[key]["status"] == "succeeded" and figures[key]["progress"]["rows"] == rows, figures[key]
        assert figures[key]["peak_rss_mib"] >= figures[key]["rss_before_mib"] > 0
    assert figures["result_frame"]["rows"] == 20_000 and figures["csv_download"]["bytes"] > 0
    assert figures["abort"]["status"] in ("aborted", "succeeded")  # a quick job may end before the abort
    assert figures["evaluate"]["status"] == "succeeded" and figures["evaluate"]["metrics"]["ROC AUC"] > 0.5
    assert figures["browser"]["score_0"]["result"].startswith("dataset ")
    assert figures["browser"]["score_1"]["result"].startswith("dataset ")
    assert figures["browser"]["evaluate"]["result"].startswith("evaluation ")


@SLOW
@BENCH
def test_streamed_up_quick(tmp_path: Path) -> None:
    figures = run_quick("streamed_up", tmp_path)["figures"]
    assert figures["sizes"] == [20_000, 60_000] and figures["images"] == [300] and figures["readyz_s"] > 0
    for rows in figures["sizes"]:
        ours, plain = figures[str(rows)]["fitstudio"], figures[str(rows)]["plain"]
        assert ours["streamed"] and len(ours["epoch_s"]) == len(plain["epoch_s"]) == figures["epochs"]
        assert ours["child_rss_peak_mib"] >= ours["child_owned_peak_mib"] > 0 and ours["test_auc"] > 0.5
    images = figures["images_300"]
    assert (images["first"]["cache"], images["second"]["cache"]) == ("built", "reused") and images["first"]["streamed"]
    assert images["second"]["child_owned_peak_mib"] > 0


@SLOW
def test_text_vocab_quick(tmp_path: Path) -> None:
    figures = run_quick("text_vocab", tmp_path)["figures"]
    for rows in figures["sizes"]:
        f = figures[str(rows)]
        assert f["rows"] == rows and f["fit_s"] > 0 and 2 < f["vocabulary"] <= 20_000 and f["ids_shape"][1] == 128


@SLOW
def test_streamed_memory_quick(tmp_path: Path) -> None:
    figures = run_quick("streamed_memory", tmp_path)["figures"]
    assert list(figures["sizes"]) == ["100000", "300000"]
    for size, runs in figures["sizes"].items():
        now = runs["now"]
        assert now["rows"] == int(size) and 0.45 < now["auc"] < 0.55  # random outputs: an AUC near 0.5
        steps = now["step_peak_over_base_mib"]
        assert set(steps) == {
            "target",
            "split",
            "fit_sample",
            "fit",
            "inputs",
            "frames",
            "encode",
            "metrics",
            "evaluation",
        }
        assert steps["fit_sample"] > 10 and now["peak_over_base_mib"] >= max(steps.values())
        assert now["held_trimmed_over_base_mib"] < now["held_over_base_mib"]  # the freed heap was given back


def test_forward_rows_quick(tmp_path: Path) -> None:
    figures = run_quick("forward_rows", tmp_path)["figures"]["32x32x3/200"]
    assert [figures[cap]["rows_per_call"] for cap in ("48", "6", "3")] == [1024, 512, 256]  # 12 KiB a row
    assert figures["48"]["ratio_to_first"] == 1.0 and figures["3"]["max_abs_diff"] < 1e-5
