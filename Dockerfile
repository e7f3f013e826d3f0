# syntax=docker/dockerfile:1
# fitstudio images (docs/deploy.md):
#   docker build -t fitstudio .                                     API + CPU worker (default target: runtime)
#   docker build --target worker-gpu -t fitstudio-worker-gpu .      GPU worker: TensorFlow with CUDA from pip wheels;
#                                                                   the host needs the NVIDIA driver + container toolkit only
# Builder stages install the wheel into /opt/venv (pip's cache is a BuildKit cache mount, never in a layer); the
# final stages are python:3.11-slim plus that venv, no build tools, running as the non-root user `fitstudio`
# (uid/gid 10001) with FITSTUDIO_HOME=/var/lib/fitstudio.

ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: the fitstudio wheel and a venv with it and its dependencies (CPU TensorFlow) ----------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install /wheels/fitstudio-*.whl

# ---- builder-gpu: the same with the `gpu` extra (tensorflow[and-cuda]) -------------------------------------------
# pyproject's base dependencies name tensorflow-cpu; both distributions ship the `tensorflow` package, so the CPU one
# is removed and the GPU wheel's files are laid down again, leaving exactly the CUDA build in the venv.
FROM ${PYTHON_IMAGE} AS builder-gpu
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=builder /wheels /wheels
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && WHEEL="$(ls /wheels/fitstudio-*.whl)" \
 && /opt/venv/bin/pip install "${WHEEL}[gpu]" \
 && TF_VERSION="$(/opt/venv/bin/python -c 'import importlib.metadata as m; print(m.version("tensorflow"))')" \
 && /opt/venv/bin/pip uninstall -y tensorflow-cpu \
 && /opt/venv/bin/pip install --no-deps --force-reinstall "tensorflow==${TF_VERSION}"

# ---- base of the final images: slim Python, the fitstudio user, its home (the shared volume's mount point) ------
FROM ${PYTHON_IMAGE} AS base
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    FITSTUDIO_HOME=/var/lib/fitstudio \
    FITSTUDIO_LOG_FORMAT=json
# bubblewrap + libseccomp: the training sandbox (docs/security.md)
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap libseccomp2 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 fitstudio \
 && useradd --system --uid 10001 --gid fitstudio --home-dir /var/lib/fitstudio --shell /usr/sbin/nologin fitstudio \
 && mkdir -p /var/lib/fitstudio \
 && chown fitstudio:fitstudio /var/lib/fitstudio
WORKDIR /var/lib/fitstudio

# ---- worker-gpu: a Celery worker training on the GPU(s) the container is given -----------------------------------
FROM base AS worker-gpu
COPY --from=builder-gpu /opt/venv /opt/venv
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER fitstudio
CMD ["fitstudio", "worker", "--queues", "gpu", "--gpus", "0", "--concurrency", "1"]

# ---- runtime (default): the API + web UI, and the CPU worker (same image, other command) -------------------------
FROM base AS runtime
COPY --from=builder /opt/venv /opt/venv
USER fitstudio
EXPOSE 8000
CMD ["sh", "-c", "fitstudio db upgrade && exec fitstudio api --host 0.0.0.0 --port 8000"]
