"""The service's cpu cgroup and its trainings' siblings (worker/cgroups.py): the API and the worker join
fitstudio/service, each training gets a 512th of its weight (v1; v2 the same ratio)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from worker import cgroups
from worker.cgroups import TrainingCgroup

JOIN = "from worker import cgroups; print(cgroups.join_service()); print(open('/proc/self/cgroup').read())"


@pytest.fixture
def cpu_base() -> Path:
    base = cgroups._cpu_base()
    if base is None or cgroups._base() is None:
        pytest.skip("no usable cpu cgroup controller here: only the trainings' niceness ranks them")
    return base


def weight(path: Path) -> int:
    name = "cpu.shares" if (path / "cpu.shares").exists() else "cpu.weight"
    return int((path / name).read_text())


def test_a_process_that_joins_the_service_is_in_its_cpu_cgroup_with_its_weight(cpu_base: Path) -> None:
    out = subprocess.run([sys.executable, "-c", JOIN], capture_output=True, text=True, check=True).stdout
    joined = Path(out.splitlines()[0])
    assert joined == cpu_base / cgroups.SERVICE
    assert f"/{cgroups.BASE}/{cgroups.SERVICE}\n" in out.split("\n", 1)[1]  # where the kernel says it ran
    v1 = (joined / "cpu.shares").exists()
    assert weight(joined) == (cgroups.V1_SHARES if v1 else cgroups.V2_WEIGHTS)[cgroups.SERVICE]
    assert cgroups.cpu_cgroup_of("self") != f"/{cgroups.BASE}/{cgroups.SERVICE}"  # the test process itself stays put


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
        assert weight(cpu_path) == (cgroups.V1_SHARES if v1 else cgroups.V2_WEIGHTS)["training"]
        cgroup.add(proc.pid)
        assert cgroups.cpu_cgroup_of(proc.pid) == f"/{cgroups.BASE}/{name}"
    finally:
        proc.kill()
        proc.wait()
    cgroup.remove()
    assert not cpu_path.exists()


def test_the_stale_cleanup_keeps_the_service(cpu_base: Path) -> None:
    subprocess.run([sys.executable, "-c", JOIN], capture_output=True, check=True)  # it exists, maybe empty now
    assert (cpu_base / cgroups.SERVICE).is_dir()
    removed = cgroups.clean_stale(set())
    assert str(cpu_base / cgroups.SERVICE) not in removed and (cpu_base / cgroups.SERVICE).is_dir()
