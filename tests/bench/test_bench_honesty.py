"""The measuring pieces behind issue 23's honest benchmarks, checked on their own (seconds, no workers): the
reference TensorFlow import runs as a training child does, tracing is what TensorFlow itself counts, the
profile's tracing bucket holds only stacks inside a trace, and CPU time of our own that is never reaped back to
us (a sandboxed child's) is not counted as other work's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench.common import Interference, tf_import_runs
from bench.where_time_goes import bucket_of

ROOT = Path(__file__).resolve().parents[2]


def test_reference_import_runs_at_the_training_niceness() -> None:
    own = os.nice(0)
    (run,) = tf_import_runs(1, nice=3)
    assert run["nice"] == min(19, own + 3)  # added to ours, as the child adds it to its worker's
    assert run["wall_s"] >= run["import_s"] > 0


def test_tracing_is_what_tensorflow_counts() -> None:
    code = """
import json, sys
import tensorflow as tf
sys.path.insert(0, "bench")
from traced_child import tracing_counters

@tf.function
def double(x):
    return x * 2

for _ in range(50):  # 50 calls, one trace
    double(tf.constant([1.0, 2.0]))
double(tf.constant([[1.0]]))  # another rank: a second trace
print(json.dumps(tracing_counters()))
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": "-1"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    counted = json.loads(proc.stdout.strip().splitlines()[-1])
    assert counted["traces"]["double"] == 2
    assert 0 < counted["graph_building_s"] < 30


def test_a_cached_tf_function_call_is_not_tracing() -> None:
    call = "call_function (tensorflow/python/eager/polymorphic_function/tracing_compilation.py:139)"
    fit = "fit (keras/src/backend/tensorflow/trainer.py:377)"
    trace = "_create_concrete_function (tensorflow/python/eager/polymorphic_function/tracing_compilation.py:310)"
    assert bucket_of([fit, call]) == "Keras fit: train/val steps, data adapter"
    assert bucket_of([fit, call, trace]) == "TF graph building (inside a tf.function trace)"
    assert bucket_of(["func_graph_from_py_func (tensorflow/python/framework/func_graph.py:1059)"]).startswith(
        "TF graph"
    )


# A child that starts a grandchild, lets it burn 1 s of CPU and exits without waiting for it: the grandchild's
# time never reaches our reaped-children totals (as a sandboxed training child's, through bubblewrap).
UNREAPED = """import os, time
r, w = os.pipe()
if os.fork() == 0:
    t = time.process_time()
    while time.process_time() - t < 1.0:
        pass
    os.write(w, b"x")
    time.sleep(3)
    os._exit(0)
os.read(r, 1)
time.sleep(1.5)  # both alive for three sampling intervals after the burn: a loaded host delays the sampler
os._exit(0)
"""


def test_unreaped_cpu_of_our_tree_is_ours() -> None:
    with Interference() as block:
        subprocess.run([sys.executable, "-c", UNREAPED], check=True, timeout=60)
    assert block.ours_s >= 0.9  # the grandchild's second (its parent's start-up adds a little)
    assert block.foreign_s >= 0 and 0 <= block.share <= 1
