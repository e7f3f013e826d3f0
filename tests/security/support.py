"""Helpers of the security tests: small worlds of resources, trained models made without a worker, tree snapshots."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.conftest import Api
from tests.server.api.support import API, expect

SMALL_CSV = ("x,y,label\n" + "".join(f"{i},{i * 0.5 + 1},{'ab'[i % 2]}\n" for i in range(20))).encode()


def create_world(api: Api, key: str) -> dict[str, Any]:
    """Project KEY with a dataset, an analysis, an ML task (predict 'label') and an aborted session, as the owner."""
    expect(api.post(f"{API}/projects", json={"key": key, "name": key.title()}), 201)
    ds = expect(api.upload_csv(key, "small", SMALL_CSV, "small.csv"), 201)
    an = expect(api.post(f"{API}/projects/{key}/analyses", json={"dataset_id": ds["id"], "name": "an"}), 201)
    mt = expect(api.post(f"{API}/analyses/{an['id']}/ml-tasks", json={"target": "label"}), 201)
    session = expect(api.post(f"{API}/ml-tasks/{mt['id']}/train", json={}), 202)
    expect(api.post(f"{API}/sessions/{session['id']}/abort"), 202)
    return {"key": key, "ds": ds["id"], "an": an["id"], "mt": mt["id"], "sid": session["id"], "n": "s1"}


def keras_model_file(path: Path, input_shapes: dict[str, list[int]], n_classes: int) -> None:
    """Save a small untrained Keras model with the given named inputs and a softmax head at PATH (imports Keras)."""
    import keras

    inputs = [keras.Input(shape=tuple(shape), name=name) for name, shape in input_shapes.items()]
    flat = [keras.layers.Flatten()(i) if len(i.shape) > 2 else i for i in inputs]
    merged = keras.layers.Concatenate()(flat) if len(flat) > 1 else flat[0]
    # tanh and seeded weights: no dead units, so no rows whose classes tie at 0.5 and flip with float noise
    # between batch sizes (a scored label or an accuracy then differed by one row between two ways of scoring).
    hidden = keras.layers.Dense(8, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed=7))
    head = keras.layers.Dense(n_classes, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(8))
    out = head(hidden(merged))
    model = keras.Model(inputs=inputs, outputs=out)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    model.save(path)


def fabricate_trained_model(api: Api, mltask_id: str, real_keras: bool = True) -> str:
    """A trained model of ML task MLTASK_ID stored exactly as a worker stores one, without running a training.

    A session is submitted through the API, claimed as a worker claims it, its preprocessing fitted on the
    dataset, and a model file (a real untrained Keras model, or a placeholder when REAL_KERAS is False) stored by
    the worker's own code; returns the trained model id.
    """
    from core import preprocessing
    from server.db import session_scope
    from server.models import Dataset, MLTask
    from server.services import datasets, model_files
    from worker import runner, state

    session = expect(api.post(f"{API}/ml-tasks/{mltask_id}/train", json={}), 202)
    lease = state.claim(session["id"], "security-tests")
    assert lease is not None, session
    row = state.load(session["id"])
    assert row is not None
    design = row.design
    with session_scope() as db:
        task = db.get(MLTask, mltask_id)
        assert task is not None
        ds = db.get(Dataset, task.analysis.dataset_id)
        assert ds is not None
        frame = datasets.load_frame(api.settings, ds)
    prep = preprocessing.fit(frame, design)
    prep["target"] = preprocessing.fit_target(frame[design["target"]], design["prediction_type"])
    shapes = prep.get("input_shapes") or preprocessing.input_shapes(prep)
    classes = prep["target"].get("classes")
    n_classes = len(classes) if classes else 1
    out_dir = Path(tempfile.mkdtemp(prefix="fab-", dir=api.settings.scratch_root))
    try:
        if real_keras:
            keras_model_file(out_dir / "model.keras", shapes, n_classes)
        else:
            (out_dir / "model.keras").write_bytes(b"PK placeholder: not a Keras file")
        result = {
            "metrics": {"Test ROC AUC": 0.5},
            "history": [{"epoch": 1, "Test ROC AUC": 0.5}],
            "best_epoch": 1,
            "input_shapes": shapes,
            "n_classes": n_classes,
            "class_labels": classes,
            "preprocessing": prep,
        }
        model = runner._store_model(api.settings, row, result, out_dir)
        model_files.write_checksum(api.settings.artifacts / model.path)  # as the worker stores it (idempotent)
        tmid = model.id
        assert state.finish(session["id"], lease, "succeeded", model=model)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    return tmid


def snapshot(root: Path, skip: Iterable[str] = ()) -> dict[str, tuple[int, int]]:
    """Every file under ROOT (relative path -> (size, mtime_ns)), leaving out paths that start with SKIP."""
    out: dict[str, tuple[int, int]] = {}
    skipped = tuple(skip)
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(root))
            if skipped and rel.startswith(skipped):
                continue
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def zip_bytes(entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """A ZIP archive of ENTRIES (name -> data), plus SYMLINKS (name -> link target) stored as Unix symlinks."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return buf.getvalue()


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    """A real PNG image of WIDTH x HEIGHT."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buf, format="PNG")
    return buf.getvalue()


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR declares WIDTH x HEIGHT pixels (valid CRCs) with one tiny IDAT: decoding it would explode."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def zip_with_many_entries(count: int) -> bytes:
    """A valid ZIP of COUNT empty stored entries 'c/<i>.png', written directly (zipfile takes ~0.2 ms an entry)."""
    import struct
    import zlib

    crc = zlib.crc32(b"")
    local: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for i in range(count):
        name = f"c/{i}.png".encode()
        header = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, crc, 0, 0, len(name), 0) + name
        central.append(
            struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, crc, 0, 0, len(name), 0, 0, 0, 0, 0, offset)
            + name
        )
        local.append(header)
        offset += len(header)
    directory = b"".join(central)
    entries = min(count, 0xFFFF)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, len(directory), offset, 0)
    if count > 0xFFFF:  # ZIP64 end records carry the real count
        zip64_end = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), offset)
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + len(directory), 1)
        end = (
            zip64_end
            + locator
            + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
        )
    return b"".join(local) + directory + end


def lying_size_zip(real: bytes, declared: int, name: str = "c/liar.png") -> bytes:
    """A ZIP whose one entry holds REAL (deflated) but declares DECLARED bytes uncompressed, in both headers."""
    import struct

    data = bytearray(zip_bytes({name: real}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.infolist()[0]
        end = zipfile._EndRecData(io.BytesIO(bytes(data)))  # type: ignore[attr-defined]
    struct.pack_into("<L", data, info.header_offset + 22, declared)
    central = end[zipfile._ECD_OFFSET]  # type: ignore[attr-defined]
    struct.pack_into("<L", data, central + 24, declared)
    return bytes(data)


def raw_asgi_request(
    app: Any, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """Send METHOD TARGET to the ASGI APP exactly as a server passes it on: no client-side normalisation.

    TARGET is the request line's target as written (percent-escapes and dot segments kept); like uvicorn, the
    scope's path is its percent-decoded form and raw_path the bytes. Returns (status, headers, body).
    """
    import asyncio
    from urllib.parse import unquote

    raw_path, _, query = target.partition("?")
    head = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    head += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1", "backslashreplace"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": head,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        await app(scope, receive, send)

    asyncio.run(call())
    start = next(m for m in sent if m["type"] == "http.response.start")
    out_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
    content = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], out_headers, content
