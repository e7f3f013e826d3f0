"""Import a model trained elsewhere as a saved model (data.md "Import a model"; docs/decisions.md).

The upload (`.keras`, Keras 3 format, or legacy `.h5`) is checked in a child Python process, never in the API
process: Keras loads it with `safe_mode=True` (no Lambda bytecode, no custom objects) exactly as the load helpers of
code cells will, and a file that crashes or hangs the reader costs that child only. A valid model becomes version
v1 of a new saved model; its file is always a `.keras` (an `.h5` is converted, and so is a file whose training
configuration cannot be loaded safely: it is stored without it). What was learned about it (input shapes, output
shapes, the original file name) is kept in `import.json` beside the file, as the registry tables have no column for
it. An imported version has no trained model and no preprocessing: it can be loaded in code cells, downloaded and
exported, not scored (409).

That child is `python -m server.services.model_import_child SRC OUT`: it prints one JSON line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.errors import ApiError, conflict, invalid
from server.models import Project, SavedModel, SavedModelVersion, User
from server.services import audit, model_files, storage
from server.settings import Settings

SUFFIXES = (".keras", ".h5")
IMPORTED = "imported"  # SavedModelVersion.trained_model_id of an imported version: it has no trained model
META_FILE = "import.json"
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_ENTRIES = 10_000  # config.json, metadata.json, model.weights.h5 and a model's assets
EXPANDED_FACTOR = 4  # a .keras may expand to this many times FITSTUDIO_MAX_UPLOAD_MB
CHECK_TIMEOUT_S = 300.0
CHECK_CPU_S = 600
_slots = threading.BoundedSemaphore(2)  # checks at once: each child imports TensorFlow and holds the model


def suffix_of(filename: str) -> str:
    """The lower-case extension of FILENAME; 415 unless it is .keras or .h5."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise ApiError(
            415,
            "unsupported_file",
            f"File {filename!r} is not a .keras or .h5 model file; save the model with model.save('model.keras').",
        )
    return suffix


def check_name(name: str) -> str:
    """A saved model name: 1-200 printable characters."""
    name = (name or "").strip()
    if not name or len(name) > 200 or any(ord(c) < 32 for c in name):
        raise invalid(
            f"Saved model name {name!r} must be 1-200 printable characters.",
            errors=[{"field": "name", "message": "1-200 printable characters"}],
            code="bad_name",
        )
    return name


def _invalid_model(reason: str) -> ApiError:
    return invalid(
        f"The file is not a model fitstudio can import: {reason}",
        errors=[{"field": "file", "message": reason}],
        code="invalid_model",
    )


def _check_container(settings: Settings, path: Path, suffix: str) -> None:
    """Cheap checks before any Keras code reads PATH: the archive (or HDF5) structure, and its expanded size."""
    if suffix == ".h5":
        with open(path, "rb") as fh:
            if fh.read(len(HDF5_SIGNATURE)) != HDF5_SIGNATURE:
                raise _invalid_model(
                    "it is not an HDF5 file (a legacy Keras .h5 model starts with the HDF5 signature)."
                )
        return
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ENTRIES:
                raise _invalid_model(f"the archive holds {len(infos)} entries; a .keras file holds a handful.")
            names = {i.filename for i in infos}
            if "config.json" not in names:
                raise _invalid_model(
                    "it is a ZIP without config.json, not a Keras 3 .keras archive; save the model with "
                    "model.save('model.keras') in Keras 3 (or TensorFlow 2.13+)."
                )
            expanded = sum(i.file_size for i in infos)
            limit = EXPANDED_FACTOR * settings.max_upload_mb << 20
            if expanded > limit:
                raise ApiError(
                    413,
                    "too_large",
                    f"The archive expands to {expanded >> 20} MB; at most {limit >> 20} MB "
                    f"({EXPANDED_FACTOR} x FITSTUDIO_MAX_UPLOAD_MB).",
                )
            bad = archive.testzip()
            if bad is not None:
                raise _invalid_model(f"the archive is damaged ({bad!r} fails its CRC check); upload it again.")
    except zipfile.BadZipFile:
        raise _invalid_model(
            "it is not a ZIP archive, as a Keras 3 .keras file is; upload the file model.save() wrote."
        ) from None
    except (OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
        raise _invalid_model(f"the archive cannot be read ({type(exc).__name__}: {str(exc)[:200]}).") from None


def _child_env(home: Path) -> dict[str, str]:
    """The child's environment: no service secrets, no GPU, its own Keras home."""
    root = str(Path(__file__).resolve().parents[2])
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "KERAS_HOME": str(home / ".keras"),
        "TMPDIR": str(home),
        "LANG": os.environ.get("LANG", "C.UTF-8"),
        "PYTHONPATH": os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])]),
        "CUDA_VISIBLE_DEVICES": "",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if os.environ.get("KERAS_BACKEND"):
        env["KERAS_BACKEND"] = os.environ["KERAS_BACKEND"]
    return env


def _limits() -> None:  # in the child, before exec
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (CHECK_CPU_S, CHECK_CPU_S))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def inspect(settings: Settings, src: Path, out: Path) -> dict[str, Any]:
    """Load SRC (named *.keras or *.h5) in a child process as the load helpers would; 422 invalid_model with the
    reason when it cannot be. The answer: {input_shapes, output_shapes, params, rewritten, notes, keras_version};
    when `rewritten`, the model to store was written to OUT (a .keras path)."""
    with _slots, tempfile.TemporaryDirectory(prefix="fitstudio-import-") as home:
        try:
            proc = subprocess.run(  # noqa: S603 - our own module, with the paths we chose
                [sys.executable, "-m", "server.services.model_import_child", str(src), str(out)],
                capture_output=True,
                timeout=CHECK_TIMEOUT_S,
                env=_child_env(Path(home)),
                cwd=home,
                preexec_fn=_limits,  # noqa: PLW1509 - only setrlimit, before exec
                start_new_session=True,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise _invalid_model(f"reading it took more than {CHECK_TIMEOUT_S:.0f} s.") from None
    lines = [line for line in proc.stdout.decode("utf-8", "replace").splitlines() if line.startswith("{")]
    try:
        answer = json.loads(lines[-1]) if lines else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        why = f"exit status {proc.returncode}" if proc.returncode >= 0 else f"signal {-proc.returncode}"
        raise _invalid_model(f"the Keras reader stopped without an answer ({why}); the file is likely damaged.")
    if not answer.get("ok"):
        raise _invalid_model(str(answer.get("reason") or "Keras cannot load it."))
    return answer


@dataclass(frozen=True)
class _Checked:
    """An upload Keras has read: the file to store, what the user named it, and what the reader learned."""

    stored: Path
    filename: str
    suffix: str
    info: dict[str, Any]


def import_file(
    db: Session, settings: Settings, project: Project, user: User, name: str, filename: str, upload: Path
) -> SavedModel:
    """Turn the received model file UPLOAD (consumed) into version v1 of a new saved model of PROJECT named NAME."""
    work: list[Path] = [upload]  # every temporary file of this import, removed whatever happens
    target_dir: Path | None = None
    try:
        name = check_name(name)
        suffix = suffix_of(filename)
        if _name_taken(db, project, name):
            raise _exists(project, name)
        checked = _check_upload(settings, upload, filename, suffix, work)
        saved = _new_saved_model(db, project, user, name)
        version_id = f"v{saved.next_version_number}"
        target_dir = storage.saved_version_dir(settings, project.key, saved.id, version_id)
        digest = _store(checked, target_dir)
        _add_version(db, settings, user, saved, target_dir / "model.keras")
        audit.record(
            db, user, "model.import", f"{saved.id}/{version_id}", project=project.key, name=name, sha256=digest
        )
        return saved
    except BaseException:
        if target_dir is not None and target_dir.exists():
            storage.remove_tree(target_dir.parent, settings.artifacts)
        raise
    finally:
        for path in work:
            path.unlink(missing_ok=True)


def _check_upload(settings: Settings, upload: Path, filename: str, suffix: str, work: list[Path]) -> _Checked:
    """Check UPLOAD's container, then read it in the child; the paths it makes are added to WORK."""
    _check_container(settings, upload, suffix)
    src = upload.with_name(upload.name + suffix)  # Keras chooses the format by the file's extension
    os.replace(upload, src)
    out = upload.with_name(upload.name + ".converted.keras")
    work += [src, out]
    info = inspect(settings, src, out)
    return _Checked(out if info.get("rewritten") else src, filename, suffix, info)


def _new_saved_model(db: Session, project: Project, user: User, name: str) -> SavedModel:
    """A new saved model NAME of PROJECT; 409 when the name was taken meanwhile."""
    saved = SavedModel(project_id=project.id, name=name, created_by=user.id)
    db.add(saved)
    try:
        db.flush()
    except IntegrityError:  # imported (or deployed) under the same name meanwhile
        db.rollback()
        raise _exists(project, name) from None
    return saved


def _store(checked: _Checked, target_dir: Path) -> str:
    """Move the checked model into TARGET_DIR as model.keras with its checksum and import.json; its SHA-256."""
    target = target_dir / "model.keras"
    storage.atomic_move(checked.stored, target)
    digest = model_files.write_checksum(target)
    meta = {
        "source": IMPORTED,
        "filename": Path(checked.filename).name[:255],
        "format": checked.suffix.lstrip("."),
        "sha256": digest,
        "size": target.stat().st_size,
        **{k: checked.info.get(k) for k in ("input_shapes", "output_shapes", "params", "keras_version", "notes")},
    }
    (target_dir / META_FILE).write_text(json.dumps(meta, indent=1))
    return digest


def _add_version(db: Session, settings: Settings, user: User, saved: SavedModel, target: Path) -> None:
    """Record TARGET as the next version of SAVED, and make it the active one."""
    version_id = f"v{saved.next_version_number}"
    db.add(
        SavedModelVersion(
            saved_model_id=saved.id,
            version_id=version_id,
            trained_model_id=IMPORTED,
            path=str(target.relative_to(settings.artifacts)),
            created_by=user.id,
        )
    )
    saved.next_version_number += 1
    saved.active_version = version_id
    db.flush()


def _name_taken(db: Session, project: Project, name: str) -> bool:
    return (
        db.scalar(select(SavedModel.id).where(SavedModel.project_id == project.id, SavedModel.name == name)) is not None
    )


def _exists(project: Project, name: str) -> ApiError:
    return conflict(
        "saved_model_exists",
        f"Project {project.key} already has a saved model named {name!r}; import under another name.",
    )


def is_imported(version: SavedModelVersion) -> bool:
    """Whether VERSION holds an imported model (no trained model, no preprocessing)."""
    return version.trained_model_id == IMPORTED


def metadata(settings: Settings, version: SavedModelVersion) -> dict[str, Any] | None:
    """What was recorded when VERSION was imported (import.json), or None (a deployed version, or unreadable)."""
    if not is_imported(version):
        return None
    try:
        doc = json.loads(((settings.artifacts / version.path).parent / META_FILE).read_text())
    except (OSError, ValueError):
        return {"source": IMPORTED}
    return doc if isinstance(doc, dict) else {"source": IMPORTED}


def not_scorable(saved: SavedModel, version: SavedModelVersion) -> ApiError:
    """409: an imported version has no preprocessing, so rows cannot be turned into its inputs."""
    return conflict(
        "model_not_scorable",
        f"Version {version.version_id} of saved model {saved.id} was imported: it has no preprocessing to turn rows "
        "into its inputs, so it cannot be scored here. Load it in a code cell with "
        f"get_keras_model_from_saved_model({saved.id}) to fine-tune it, or download it.",
    )
