"""docker-compose.yml and .env.example: `docker compose config` accepts them, and they say what operations.md asks."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import COMPOSE_FILE, ENV_EXAMPLE, compose_variables, env_example

SHARED = ("api", "worker", "worker-cpu")


def run_config(cmd: list[str], env_file: Path, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`<compose> --env-file ENV_FILE -f docker-compose.yml config …` with no FITSTUDIO_* of ours leaking in."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    return subprocess.run(
        [*cmd, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *extra, "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def command_line(service: dict[str, Any]) -> str:
    """A service's command as one shell-like string."""
    command = service.get("command", "")
    return command if isinstance(command, str) else " ".join(command)


def fitstudio_invocations(service: dict[str, Any]) -> list[list[str]]:
    """The argument lists of every `fitstudio …` the service's command runs."""
    command = service["command"]
    text = command[-1] if command[:2] == ["sh", "-c"] else shlex.join(command)
    calls: list[list[str]] = []
    for part in text.replace("&&", ";").split(";"):
        words = shlex.split(part)
        if words and words[0] == "exec":
            words = words[1:]
        if words and words[0] == "fitstudio":
            calls.append(words[1:])
    return calls


# --- `docker compose config` ---------------------------------------------------------------------------------------


def test_compose_config_accepts_the_example_env(compose_cmd: list[str], tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text(ENV_EXAMPLE.read_text())
    result = run_config(compose_cmd, env_file, tmp_path, "--profile", "cpu")
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert {"postgres", "redis", "api", "worker", "worker-cpu", "flower"} <= set(resolved["services"])
    assert "${" not in result.stdout
    example = env_example()
    for name in SHARED:
        env = resolved["services"][name]["environment"]
        assert env["FITSTUDIO_DATABASE_URL"] == example["FITSTUDIO_DATABASE_URL"]
        assert env["FITSTUDIO_BROKER_URL"] == example["FITSTUDIO_BROKER_URL"]
        assert env["FITSTUDIO_SECRET_KEY"] == example["FITSTUDIO_SECRET_KEY"]
        assert env["FITSTUDIO_ARTIFACT_ROOT"].startswith(env["FITSTUDIO_HOME"])
    devices = resolved["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia" and "gpu" in devices[0]["capabilities"]


def test_compose_config_refuses_a_missing_secret(compose_cmd: list[str], tmp_path: Path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text(
        "".join(
            line + "\n" for line in ENV_EXAMPLE.read_text().splitlines() if not line.startswith("FITSTUDIO_SECRET_KEY=")
        )
    )
    result = run_config(compose_cmd, env_file, tmp_path)
    assert result.returncode != 0
    assert "FITSTUDIO_SECRET_KEY" in result.stderr + result.stdout


# --- static checks of the file -------------------------------------------------------------------------------------


def test_postgres_and_redis_are_durable_and_checked(compose: dict[str, Any]) -> None:
    services, volumes = compose["services"], compose["volumes"]
    pg = services["postgres"]
    assert pg["image"].startswith("postgres:")
    assert any(v.split(":")[0] in volumes and v.endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])
    redis = services["redis"]
    assert redis["image"].startswith("redis:")
    assert "--appendonly yes" in command_line(redis)
    assert any(v.split(":")[0] in volumes and v.endswith(":/data") for v in redis["volumes"])
    assert redis["healthcheck"]["test"][-2:] == ["redis-cli", "ping"]


def test_api_migrates_then_serves_and_is_checked_on_healthz(compose: dict[str, Any]) -> None:
    api = compose["services"]["api"]
    calls = fitstudio_invocations(api)
    assert calls[0] == ["db", "upgrade"]
    assert calls[1][:3] == ["api", "--host", "0.0.0.0"]
    # Not /readyz: it answers 503 until a worker beats, and the workers start only once the API is healthy.
    check = " ".join(api["healthcheck"]["test"])
    assert "/healthz" in check and "/readyz" not in check
    assert api["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert api["build"]["target"] == "runtime"


def test_gpu_worker_reserves_one_nvidia_gpu_and_trains_one_at_a_time(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    devices = worker["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    (call,) = fitstudio_invocations(worker)
    assert call[0] == "worker"
    args = dict(zip(call[1::2], call[2::2], strict=False))
    assert args["--queues"] == "gpu" and args["--gpus"] == "0" and args["--concurrency"] == "1"
    assert worker["build"]["target"] == "worker-gpu"
    assert worker["depends_on"]["api"]["condition"] == "service_healthy"  # the API migrated the database first


def test_cpu_worker_is_optional_under_a_profile(compose: dict[str, Any]) -> None:
    cpu = compose["services"]["worker-cpu"]
    assert cpu["profiles"] == ["cpu"]
    (call,) = fitstudio_invocations(cpu)
    assert call[:3] == ["worker", "--queues", "cpu"]
    assert "deploy" not in cpu
    assert all("profiles" not in s for n, s in compose["services"].items() if n != "worker-cpu")


def test_commands_parse_with_the_real_cli(compose: dict[str, Any]) -> None:
    from fitstudio.cli import parser

    for name in SHARED:
        for call in fitstudio_invocations(compose["services"][name]):
            parser().parse_args(call)


def test_one_shared_volume_at_the_same_path_for_api_and_workers(compose: dict[str, Any]) -> None:
    services = compose["services"]
    mounts = {name: services[name]["volumes"] for name in SHARED}
    assert len({tuple(m) for m in mounts.values()}) == 1
    (mount,) = mounts["api"]
    volume, path = mount.split(":")[:2]
    assert volume in compose["volumes"]
    for name in SHARED:
        env = services[name]["environment"]
        assert env == services["api"]["environment"]
        assert env["FITSTUDIO_HOME"] == path
        assert env["FITSTUDIO_ARTIFACT_ROOT"].startswith(path + "/")


def test_flower_watches_the_broker_behind_auth_on_loopback(compose: dict[str, Any]) -> None:
    flower = compose["services"]["flower"]
    assert flower["image"].startswith("mher/flower")
    command = command_line(flower)
    assert command.startswith("celery --broker=${FITSTUDIO_BROKER_URL") and " flower" in command
    assert "FLOWER_BASIC_AUTH" in flower["environment"]
    assert all(str(p).startswith("127.0.0.1:") for p in flower["ports"])


def test_secrets_come_from_env_and_every_setting_exists() -> None:
    from server.settings import Settings

    variables = compose_variables()
    example = env_example()
    required = {name for name, modifier in variables.items() if modifier.startswith(":?")}
    assert {
        "FITSTUDIO_SECRET_KEY",
        "POSTGRES_PASSWORD",
        "FITSTUDIO_DATABASE_URL",
        "FITSTUDIO_BROKER_URL",
        "FITSTUDIO_PUBLIC_URL",
        "FITSTUDIO_ALLOWED_HOSTS",
    } <= required
    assert required <= set(example), f"missing from .env.example: {required - set(example)}"
    assert example["FITSTUDIO_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert example["FITSTUDIO_BROKER_URL"].startswith("redis://")
    assert f":{example['POSTGRES_PASSWORD']}@" in example["FITSTUDIO_DATABASE_URL"]
    fields = set(Settings.model_fields)
    commented = [line.lstrip("# ").split("=")[0] for line in ENV_EXAMPLE.read_text().splitlines()]
    names = {n for n in [*variables, *example, *commented] if n.startswith("FITSTUDIO_")}
    unknown = {n for n in names if n.removeprefix("FITSTUDIO_").lower() not in fields} - {"FITSTUDIO_PORT"}
    assert not unknown, f"not settings of server/settings.py: {unknown}"
