"""Shared by the deployment tests: the compose file, the .env example, and the docker compose client."""

from __future__ import annotations

import re
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from tests.helpers import IN_CI, ROOT

COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


def env_example() -> dict[str, str]:
    """The KEY=value lines of .env.example (comments and blanks skipped)."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def compose_variables() -> dict[str, str]:
    """Every ${VAR…} docker-compose.yml interpolates, mapped to its modifier (':?…' required, ':-…' default)."""
    found: dict[str, str] = {}
    for name, modifier in re.findall(r"\$\{([A-Z0-9_]+)([^}]*)\}", COMPOSE_FILE.read_text()):
        found[name] = modifier
    return found


@pytest.fixture(scope="session")
def compose() -> dict[str, Any]:
    """docker-compose.yml, parsed."""
    return yaml.safe_load(COMPOSE_FILE.read_text())


def compose_client() -> list[str] | None:
    """The compose command line: `docker compose` (plugin) or Debian's `docker-compose`; None when neither runs."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        probe = subprocess.run(["docker-compose", "version"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return ["docker-compose"]
    return None


@pytest.fixture(scope="session")
def compose_cmd() -> list[str]:
    """The compose client; skip (with the reason) only where no compose client is installed."""
    cmd = compose_client()
    if cmd is None:
        if IN_CI:
            pytest.fail("no docker compose client here, and CI=true needs one (scripts/test.sh installs it)")
        pytest.skip(
            "no docker compose client here (neither `docker compose` nor `docker-compose` runs); "
            "scripts/test.sh installs Debian's docker-compose where apt-get can"
        )
    return cmd
