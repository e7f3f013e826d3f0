"""The Dockerfile's stages and .dockerignore, read statically, and the wheel the builder stage installs."""

from __future__ import annotations

import fnmatch
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.conftest import DOCKERFILE, DOCKERIGNORE
from tests.helpers import ROOT

BUILD_TOOLS = ("build-essential", "gcc", "g++", "make", "apk ")
RUNTIME_PACKAGES = {"bubblewrap", "libseccomp2"}  # the training sandbox: the only Debian packages the images add


def stages() -> dict[str, dict[str, object]]:
    """Each `FROM base AS name` stage: its base and its instruction lines (continuations joined)."""
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    args: dict[str, str] = {}
    found: dict[str, dict[str, object]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        if word.upper() == "ARG" and current is None:
            name, _, default = rest.partition("=")
            args[name.strip()] = default.strip()
        elif word.upper() == "FROM":
            parts = rest.split()
            base = parts[0]
            for name, value in args.items():
                base = base.replace("${" + name + "}", value)
            current = []
            found[parts[-1] if len(parts) >= 3 and parts[-2].upper() == "AS" else f"stage{len(found)}"] = {
                "from": base,
                "lines": current,
            }
        elif current is not None:
            current.append(line)
    return found


def root_image(name: str, all_stages: dict[str, dict[str, object]]) -> str:
    """The image a stage ultimately starts from."""
    base = str(all_stages[name]["from"])
    return root_image(base, all_stages) if base in all_stages else base


def chain(name: str, all_stages: dict[str, dict[str, object]]) -> list[str]:
    """Every instruction of a stage and the stages it is built FROM."""
    base = str(all_stages[name]["from"])
    lines = list(all_stages[name]["lines"])  # type: ignore[call-overload]
    return (chain(base, all_stages) if base in all_stages else []) + lines


def test_final_images_are_slim_non_root_and_without_build_tools() -> None:
    all_stages = stages()
    assert {"builder", "builder-gpu", "runtime", "worker-gpu"} <= set(all_stages)
    assert list(all_stages)[-1] == "runtime"  # `docker build .` gives the API / CPU worker image
    for final in ("runtime", "worker-gpu"):
        assert root_image(final, all_stages) == "python:3.11-slim"
        lines = chain(final, all_stages)
        users = [line.split()[1] for line in lines if line.upper().startswith("USER ")]
        assert users and users[-1] == "fitstudio", final
        for line in lines:
            assert not any(tool in line for tool in BUILD_TOOLS), f"{final}: {line}"
            if "apt-get install" in line:
                words = line.split("apt-get install", 1)[1].split("&&")[0].split()
                assert {w for w in words if not w.startswith("-")} <= RUNTIME_PACKAGES, f"{final}: {line}"
                assert "rm -rf /var/lib/apt/lists" in line, f"{final}: apt lists left in the image"
        assert any("bubblewrap" in line for line in lines), f"{final}: no bubblewrap for the training sandbox"
        copies = [line for line in lines if line.upper().startswith("COPY")]
        assert copies and all("--from=builder" in c and "/opt/venv" in c for c in copies), copies


def test_builders_install_the_wheel_and_the_gpu_extra() -> None:
    all_stages = stages()
    builder = " ".join(all_stages["builder"]["lines"])  # type: ignore[arg-type]
    assert "pip wheel" in builder and "python -m venv /opt/venv" in builder and "fitstudio-*.whl" in builder
    gpu = " ".join(all_stages["builder-gpu"]["lines"])  # type: ignore[arg-type]
    assert "[gpu]" in gpu and "uninstall -y tensorflow-cpu" in gpu
    assert any("--from=builder-gpu" in line for line in all_stages["worker-gpu"]["lines"])  # type: ignore[union-attr]
    assert not any("--from=builder-gpu" in line for line in all_stages["runtime"]["lines"])  # type: ignore[union-attr]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore-style PATTERNS exclude PATH (or a folder above it)."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if any(fnmatch.fnmatch(p, pattern) or fnmatch.fnmatch(p.split("/")[-1], bare) for p in prefixes):
            return True
    return False


def test_dockerignore_keeps_secrets_caches_and_tests_out_but_the_sources_in() -> None:
    patterns = [ln.strip() for ln in DOCKERIGNORE.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    for path in (
        ".venv/bin/python",
        ".git/HEAD",
        ".env",
        "tests/e2e/test_training.py",
        "server/__pycache__/x.pyc",
        ".pytest_cache/v",
        ".ruff_cache/x",
        "fitstudio.egg-info/PKG-INFO",
    ):
        assert ignored(path, patterns), path
    for path in (
        "pyproject.toml",
        "README.md",
        "server/main.py",
        "worker/tasks.py",
        "migrations/env.py",
        "webui/templates",
        "fitstudio/cli.py",
    ):
        assert not ignored(path, patterns), path


@pytest.mark.timeout(300)
def test_the_wheel_carries_migrations_templates_and_observability(tmp_path: Path) -> None:
    context = tmp_path / "context"  # what the builder stage sees (a copy, so no build/ lands in the checkout)
    context.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, context / name)
    for package in ("server", "worker", "webui", "fitstudio", "migrations"):
        shutil.copytree(ROOT / package, context / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(tmp_path / "wheels"),
            str(context),
        ],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = (tmp_path / "wheels").glob("fitstudio-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"migrations/env.py", "migrations/config.py", "migrations/script.py.mako"} <= names
    assert any(n.startswith("migrations/versions/") and n.endswith(".py") for n in names)
    assert any(n.startswith("webui/templates/") for n in names)
    assert {"server/observability/metrics.py", "server/observability/logs.py", "worker/tasks.py"} <= names
    assert not any(n.startswith("tests/") for n in names)
