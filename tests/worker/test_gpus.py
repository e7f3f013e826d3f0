"""worker/gpus.py GpuPool: one training per GPU, preferences, blocking acquire, timeouts."""

from __future__ import annotations

import threading
import time

import pytest

from worker.gpus import GpuPool


def test_two_trainings_never_share_a_gpu() -> None:
    pool = GpuPool([0, 1])
    first = pool.acquire([0])
    second = pool.acquire([0])  # asks for the busy GPU 0: gets the other one
    assert first == [0]
    assert second == [1]
    assert pool.busy == {0, 1}
    with pytest.raises(TimeoutError):
        pool.acquire([0], timeout=0.1)


def test_requested_ids_are_preferred() -> None:
    pool = GpuPool([0, 1, 2, 3])
    assert pool.acquire([2]) == [2]
    assert pool.acquire([3, 1]) == [3, 1]
    assert pool.busy == {1, 2, 3}
    assert pool.acquire([1]) == [0]  # 1 is busy: the free one


def test_no_preference_takes_the_first_free_gpu() -> None:
    pool = GpuPool([4, 5])
    assert pool.acquire([]) == [4]
    assert pool.acquire([]) == [5]


def test_unknown_requested_id_falls_back_to_a_free_gpu() -> None:
    pool = GpuPool([0, 1])
    assert pool.acquire([7]) == [0]


def test_partial_preference_is_completed_with_free_gpus() -> None:
    pool = GpuPool([0, 1, 2])
    pool.acquire([1])
    got = pool.acquire([1, 2])  # wants two, 1 busy: 2 plus another free one
    assert sorted(got) == [0, 2]
    assert got[0] == 2


def test_duplicate_ids_count_once() -> None:
    pool = GpuPool([0, 1, 1, 0])
    assert pool.gpus == [0, 1]
    assert pool.acquire([1, 1]) == [1]
    assert pool.busy == {1}


@pytest.mark.parametrize(("gpus", "wanted"), [([0], [0, 1]), ([0, 1], [0, 1, 2]), ([], []), ([], [0])])
def test_more_gpus_than_the_worker_has_is_a_value_error(gpus: list[int], wanted: list[int]) -> None:
    pool = GpuPool(gpus)
    with pytest.raises(ValueError, match="GPUs"):
        pool.acquire(wanted, timeout=0.1)
    assert pool.busy == set()


def test_acquire_blocks_until_release() -> None:
    pool = GpuPool([0])
    held = pool.acquire([0])
    got: list[list[int]] = []
    errors: list[BaseException] = []

    def waiter() -> None:
        try:
            got.append(pool.acquire([0], timeout=10))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=waiter, daemon=True)
    thread.start()
    time.sleep(0.3)  # time passes on purpose: acquire must NOT return while the only GPU is busy
    assert thread.is_alive(), "acquire returned while the only GPU was busy"
    assert got == []
    pool.release(held)
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert errors == []
    assert got == [[0]]
    assert pool.busy == {0}


def test_release_frees_for_reuse() -> None:
    pool = GpuPool([0, 1])
    a = pool.acquire([0, 1])
    assert sorted(a) == [0, 1]
    pool.release(a)
    assert pool.busy == set()
    assert sorted(pool.acquire([1, 0])) == [0, 1]


def test_timeout_holds_even_while_other_gpus_come_and_go() -> None:
    # GPU 0 stays busy; GPU 1 is taken and given back over and over. A training that needs both must
    # still give up after its timeout, not wait as long as the churn lasts.
    pool = GpuPool([0, 1])
    pool.acquire([0])
    stop = threading.Event()

    def churn() -> None:
        while not stop.is_set():
            got = pool.acquire([1], timeout=1)
            time.sleep(0.01)  # pacing on purpose: GPU 1 is held, then free, over and over
            pool.release(got)
            time.sleep(0.01)

    outcome: list[object] = []

    def waiter() -> None:
        start = time.monotonic()
        try:
            outcome.append(pool.acquire([0, 1], timeout=0.3))
        except TimeoutError as exc:
            outcome.append(exc)
        outcome.append(time.monotonic() - start)

    churner = threading.Thread(target=churn, daemon=True)
    churner.start()
    waiting = threading.Thread(target=waiter, daemon=True)
    waiting.start()
    waiting.join(timeout=3)
    still_waiting = waiting.is_alive()
    stop.set()
    churner.join(timeout=5)
    waiting.join(timeout=5)
    assert not still_waiting, "acquire(timeout=0.3) was still waiting after 3 s"
    assert isinstance(outcome[0], TimeoutError)
    assert outcome[1] < 2.0


def test_concurrent_trainings_never_overlap() -> None:
    pool = GpuPool([0, 1, 2])
    in_use: dict[int, int] = {}
    lock = threading.Lock()
    problems: list[str] = []
    max_parallel = [0]

    def training(i: int) -> None:
        try:
            gpus = pool.acquire([i % 3], timeout=20)
        except BaseException as exc:  # noqa: BLE001 - reported below
            problems.append(repr(exc))
            return
        with lock:
            for g in gpus:
                if g in in_use:
                    problems.append(f"GPU {g} given to {i} while {in_use[g]} holds it")
                in_use[g] = i
            max_parallel[0] = max(max_parallel[0], len(in_use))
        time.sleep(0.005)  # on purpose: hold the GPU a moment, so trainings overlap
        with lock:
            for g in gpus:
                in_use.pop(g, None)
        pool.release(gpus)

    threads = [threading.Thread(target=training, args=(i,), daemon=True) for i in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not any(t.is_alive() for t in threads)
    assert problems == []
    assert 1 <= max_parallel[0] <= 3
    assert pool.busy == set()
