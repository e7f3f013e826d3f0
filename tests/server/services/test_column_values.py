"""column_values: distinct counts the same in every process, and the most frequent values counted in Arrow."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from server.services import column_values

ROOT = Path(__file__).resolve().parents[3]
ESTIMATE = """
import sys
from server.services import column_stats
(col,) = column_stats.compute(sys.argv[1], [{"name": "order", "type": "categorical"}])
print(col["stats"]["distinct"], col["stats"]["distinct_exact"])
"""


def test_an_estimated_distinct_count_is_the_same_in_every_process(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    rng = np.random.default_rng(5)
    pq.write_table(pa.table({"order": [f"ORD-{i:08d}" for i in rng.permutation(150_000)]}), path)
    counts = set()
    for seed in ("1", "2", "3"):  # Python's own string hash differs with the seed; the estimate must not
        env = {"PYTHONHASHSEED": seed, "PYTHONPATH": str(ROOT)}
        ran = subprocess.run([sys.executable, "-c", ESTIMATE, str(path)], capture_output=True, text=True, env=env)
        assert ran.returncode == 0, ran.stderr
        counts.add(ran.stdout.strip())
    (answer,) = counts
    estimate, exact = answer.split()
    assert exact == "False" and abs(int(estimate) - 150_000) < 150_000 * 0.03


@pytest.mark.parametrize("kind", [pa.string(), pa.large_string(), pa.int64(), pa.bool_(), pa.date32()])
def test_hashes_of_distinct_values_differ(kind: pa.DataType) -> None:
    values = {
        pa.string(): ["a", "b", "ab", "ba", ""],
        pa.large_string(): ["a", "b", "ab", "ba", ""],
        pa.int64(): [0, 1, -1, 2**40],
        pa.bool_(): [True, False],
        pa.date32(): [0, 1, 19_000],
    }[kind]
    array = pa.array(values, pa.int32()).cast(kind) if kind == pa.date32() else pa.array(values, kind)
    hashed = column_values.hashes(array)
    assert len(set(hashed.tolist())) == len(values)


def test_top_values_are_exact_up_to_the_bound_and_keep_the_most_frequent_past_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(9)
    values = [f"v{int(k)}" for k in rng.zipf(1.6, 20_000) if k < 5_000]
    top = column_values.TopValues()
    for start in range(0, len(values), 1_000):
        top.add(pc.value_counts(pa.array(values[start : start + 1_000])))
    expected = sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert top.exact and top.ranked(10) == expected
    monkeypatch.setattr(column_values, "TOP_KEEP", 200)  # far fewer than the values: pruned as it goes
    pruned = column_values.TopValues()
    for start in range(0, len(values), 1_000):
        pruned.add(pc.value_counts(pa.array(values[start : start + 1_000])))
    ranked = pruned.ranked(10)
    assert not pruned.exact and [v for v, _ in ranked[:3]] == [v for v, _ in expected[:3]]
    assert all(count <= Counter(values)[value] for value, count in ranked)  # kept values: counted since kept


def test_ties_rank_by_the_values_text_as_before() -> None:
    top = column_values.TopValues()
    top.add(pc.value_counts(pa.array([10, 9, 9, 10, 100])))
    assert top.ranked(3) == [(10, 2), (9, 2), (100, 1)]  # "10" < "9" as text
