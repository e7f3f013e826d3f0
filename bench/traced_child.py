"""A training child run with TensorFlow's own tracing counters read at its end (for bench/where_time_goes.py).

    python bench/traced_child.py JOB --events-fd N --counters OUT.json

Runs `worker.runtime.child.main` on JOB in this process (what `python -m worker.runtime.child` runs), then writes
to OUT.json what TensorFlow counted: the graph-building time of every tf.function trace (the
`/tensorflow/core/tf_function/graph_building_time_usecs` monitoring counter, nested traces counted once) and
`experimental_get_tracing_count()` of each tf.function still alive (the model's train/test/predict steps, the
metrics' forward pass). Then it ends as the child does (os._exit: no interpreter teardown). Kept apart from
where_time_goes.py so that the profiled process imports nothing the child would not.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any


def tracing_counters() -> dict[str, Any]:
    """TensorFlow's own counts of its tf.function tracing in this process so far."""
    from tensorflow.python.eager.polymorphic_function import polymorphic_function, tracing_compilation

    graph_us = tracing_compilation._graph_building_time_counter.get_cell().value()
    traces: dict[str, int] = {}
    for obj in gc.get_objects():  # the tf.functions still alive (a freed one's count is gone with it)
        if isinstance(obj, polymorphic_function.Function):
            count = int(obj.experimental_get_tracing_count())
            if count:
                traces[obj.name] = traces.get(obj.name, 0) + count
    return {"graph_building_s": graph_us / 1e6, "traces": traces, "traces_total": sum(traces.values())}


def main() -> None:
    """Run the child on the job, write the counters, exit with the child's status."""
    parser = argparse.ArgumentParser()
    parser.add_argument("job")
    parser.add_argument("--events-fd", required=True)
    parser.add_argument("--counters", required=True)
    args = parser.parse_args()
    from worker.runtime import child

    status = child.main([args.job, "--events-fd", args.events_fd])
    try:
        counters = tracing_counters()
    except Exception as exc:  # noqa: BLE001 - a TensorFlow without these internals: say so, keep the status
        counters = {"error": f"{type(exc).__name__}: {exc}"}
    Path(args.counters).write_text(json.dumps(counters))
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    main()
