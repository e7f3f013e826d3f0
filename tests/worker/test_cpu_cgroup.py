"""The service's cpu cgroup and its trainings' siblings (worker/cgroups.py): the API and the worker join
fitstudio/service, each training gets a 512th of its weight (v1; v2 the same ratio)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from core import cpu_cgroups
from worker import cgroups
from worker.cgroups import TrainingCgroup

JOIN = "from worker import cgroups; print(cgroups.join_service()); print(open('/proc/self/cgroup').read())"


@pytest.fixture
def cpu_base() -> Path:
    base = cpu_cgroups.cpu_base()
    if base is None or cgroups._base() is None:
        pytest.skip("no usable cpu cgroup controller here: only the trainings' niceness ranks them")
    return base


def weight(path: Path) -> int:
    name = "cpu.shares" if (path / "cpu.shares").exists() else "cpu.weight"
    return int((path / name).read_text())


def test_a_process_that_joins_the_service_is_in_its_cpu_cgroup_with_its_weight(cpu_base: Path) -> None:
    out = subprocess.run([sys.executable, "-c", JOIN], capture_output=True, text=True, check=True).stdout
    joined = Path(out.splitlines()[0])
    assert joined == cpu_base / cpu_cgroups.SERVICE
    assert f"/{cpu_cgroups.BASE}/{cpu_cgroups.SERVICE}\n" in out.split("\n", 1)[1]  # where the kernel says it ran
    v1 = (joined / "cpu.shares").exists()
    assert weight(joined) == (cpu_cgroups.V1_SHARES if v1 else cpu_cgroups.V2_WEIGHTS)[cpu_cgroups.SERVICE]
    assert not cpu_cgroups.in_service()  # the test process itself stays put


def test_a_training_is_a_sibling_of_the_service_with_a_512th_of_its_weight(
    cpu_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"test-{uuid.uuid4().hex[:8]}-1"
    outside = TrainingCgroup.create(name + "x", 64)  # a worker outside the service: no cpu cgroup for it
    assert outside is not None and not (cpu_base / (name + "x")).exists()
    outside.remove()
    monkeypatch.setattr(cgroups, "in_service", lambda: True)  # as the worker, which joined the service
    cgroup = TrainingCgroup.create(name, 64)
    assert cgroup is not None
    cpu_path = cpu_base / name
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert cpu_path in cgroup.paths
        v1 = (cpu_path / "cpu.shares").exists()
        assert weight(cpu_path) == (cpu_cgroups.V1_SHARES if v1 else cpu_cgroups.V2_WEIGHTS)["training"]
        cgroup.add(proc.pid)
        assert cpu_cgroups.cpu_cgroup_of(proc.pid) == f"/{cpu_cgroups.BASE}/{name}"
    finally:
        proc.kill()
        proc.wait()
    cgroup.remove()
    assert not cpu_path.exists()


def test_the_stale_cleanup_keeps_the_service(cpu_base: Path) -> None:
    subprocess.run([sys.executable, "-c", JOIN], capture_output=True, check=True)  # it exists, maybe empty now
    assert (cpu_base / cpu_cgroups.SERVICE).is_dir()
    removed = cgroups.clean_stale(set())
    assert str(cpu_base / cpu_cgroups.SERVICE) not in removed and (cpu_base / cpu_cgroups.SERVICE).is_dir()


PARSE = """
import sys
from core import cpu_cgroups
from server.services import parse_process
from server.settings import get_settings
if sys.argv[1] == "service":
    cpu_cgroups.join(cpu_cgroups.SERVICE)
print(parse_process.run(get_settings(), cpu_cgroups.cpu_cgroup_of, "self"))
"""


def _parse_process_cgroup(api_in: str, home: Path) -> str:
    """The cpu cgroup an upload's parse process runs in, started by an API process in API_IN's cgroup."""
    env = {"PATH": "/usr/bin:/bin", "FITSTUDIO_HOME": str(home)}
    run = subprocess.run([sys.executable, "-c", PARSE, api_in], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()[-1]


def test_an_uploads_parse_process_runs_in_the_uploads_cgroup_below_the_service(cpu_base: Path, tmp_path: Path) -> None:
    uploads = cpu_base / cpu_cgroups.UPLOADS
    assert _parse_process_cgroup("service", tmp_path) == f"/{cpu_cgroups.BASE}/{cpu_cgroups.UPLOADS}"
    v1 = (uploads / "cpu.shares").exists()
    weights = cpu_cgroups.V1_SHARES if v1 else cpu_cgroups.V2_WEIGHTS
    assert weight(uploads) == weights[cpu_cgroups.UPLOADS]
    assert weights[cpu_cgroups.SERVICE] > weights[cpu_cgroups.UPLOADS] > weights["training"]
    assert not cgroups.clean_stale(set()).count(str(uploads)) and uploads.is_dir()  # kept, even when empty
    # An API outside the service (another user, a container): its parses stay where it is, not above it.
    outside = _parse_process_cgroup("own", tmp_path)
    assert outside == cpu_cgroups.cpu_cgroup_of("self") and outside != f"/{cpu_cgroups.BASE}/{cpu_cgroups.UPLOADS}"


def test_a_sandboxed_scoring_is_above_the_trainings_and_below_the_service(
    cpu_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A person waits for a …/predict scored in the sandbox: at the trainings' weight, a busy host starved it past
    FITSTUDIO_SCORING_WAIT_S."""
    monkeypatch.setattr(cgroups, "in_service", lambda: True)
    name = f"test-{uuid.uuid4().hex[:8]}-2"
    cgroup = TrainingCgroup.create(name, 64, cpu_role="scoring")
    assert cgroup is not None
    try:
        weights = cpu_cgroups.V1_SHARES if (cpu_base / name / "cpu.shares").exists() else cpu_cgroups.V2_WEIGHTS
        assert weight(cpu_base / name) == weights["scoring"]
        assert weights["training"] < weights["scoring"] < weights[cpu_cgroups.SERVICE]
    finally:
        cgroup.remove()


def test_the_scoring_task_runs_its_child_at_the_scoring_weight(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from worker import score_task

    seen: dict[str, object] = {}

    def run_in_child(*args: object, **kwargs: object) -> object:
        seen.update(kwargs)
        raise RuntimeError("stop here")  # the task replies with the error; the role is what this test reads

    monkeypatch.setattr(score_task, "run_in_child", run_in_child)
    monkeypatch.setattr(score_task, "_claim", lambda folder: {"design": {}, "kind": "score"})
    monkeypatch.setattr(score_task, "_grant", lambda folder, request, granted: {"kind": "score"})
    monkeypatch.setattr(score_task, "scoring_job", lambda *a, **k: {})
    monkeypatch.setattr(score_task.exchange, "exchange", lambda settings, token: tmp_path)
    score_task.run_scoring("0" * 32)
    assert seen.get("cpu_role") == "scoring"


def test_the_empty_cgroups_of_a_starting_training_are_not_taken_for_stale_ones(
    cpu_base: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker makes a training's cgroups after starting its child and moves the child in a moment later; any
    worker's reconciler pass (one per worker of the host) removed them in between, and the child, never told to go,
    waited until its session's test timed out (two CI runs, 2026-12-06)."""
    monkeypatch.setattr(cgroups, "in_service", lambda: True)  # a worker of the service: a cpu cgroup too
    starter = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    name = f"s9-l1-{starter.pid}"
    cgroup = TrainingCgroup.create(name, 64)
    assert cgroup is not None
    try:
        folders = [p for p in (cgroups._base(), cgroups._memory_base(), cpu_base) if p and (p / name).is_dir()]
        assert cpu_base in folders
        removed = cgroups.clean_stale(set())  # as another worker, running no training, does
        assert not [r for r in removed if r.endswith(name)]
        assert all((p / name).is_dir() for p in folders)
        starter.kill()
        starter.wait()
        cgroups.clean_stale(set())  # now stale: removed (here, or by a worker of a test running meanwhile)
        assert not any((p / name).exists() for p in folders)
    finally:
        starter.kill()
        for folder in (p / name for p in (cgroups._base(), cgroups._memory_base(), cpu_base) if p):
            if folder.exists():
                folder.rmdir()


def test_a_child_whose_cgroup_went_is_stopped_not_left_waiting() -> None:
    from worker import runner

    class Gone:
        def add_tree(self, pid: int, expected: int = 1) -> None:
            raise FileNotFoundError(2, "No such file or directory", f"/sys/fs/cgroup/pids/fitstudio/s9-l1-{pid}")

    waiting = subprocess.Popen(  # as the child does: block until the worker's "go" line
        [sys.executable, "-c", "import os, sys; os.read(int(sys.argv[1]), 1)", "0"],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )
    assert waiting.stdin is not None
    runner.admit(waiting, Gone(), waiting.stdin.fileno(), expected=1)  # type: ignore[arg-type]
    assert waiting.wait(timeout=10) == -9  # stopped, not told to go unconfined
    ok_read, ok_write = os.pipe()
    runner.admit(waiting, None, ok_write, expected=1)  # no cgroups on this host: just go
    assert os.read(ok_read, 100) == b'{"type": "go"}\n'
