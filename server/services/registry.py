"""Saved models: deploy trained models as immutable versions, switch the active one, locate and delete."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.errors import conflict, invalid, not_found
from server.models import Project, SavedModel, SavedModelVersion, TrainedModel, User
from server.services import audit, model_files, model_import, storage, thresholds
from server.services.ids import VERSION_ID_RE, is_sql_int
from server.settings import Settings, get_settings


def deploy(
    db: Session,
    settings: Settings,
    user: User | None,
    model: TrainedModel,
    saved_model_id: int | None,
    saved_model_name: str | None,
    version_id: str | None,
    activate: bool,
) -> SavedModelVersion:
    """Deploy MODEL as a new version of a saved model (an existing one by id or name, or a new one by name); USER is
    None for a retrain whose submitter's account is gone."""
    project = db.get(Project, model.project_id)
    assert project is not None
    saved = _resolve_saved_model(db, user, project, saved_model_id, saved_model_name)
    version_id = _new_version_id(db, saved, version_id)
    target = _copy_model(settings, model, storage.saved_version_dir(settings, project.key, saved.id, version_id))
    version = _add_version(db, settings, user, saved, model, version_id, target)
    if activate or saved.active_version is None:
        saved.active_version = version_id
    db.flush()
    audit.record(
        db,
        user,
        "model.deploy",
        f"{saved.id}/{version_id}",
        trained_model=model.id,
        activate=activate,
        project=project.key,
    )
    return version


def _resolve_saved_model(
    db: Session, user: User | None, project: Project, saved_model_id: int | None, saved_model_name: str | None
) -> SavedModel:
    """The saved model of PROJECT with id SAVED_MODEL_ID, or else named SAVED_MODEL_NAME (created when new)."""
    if saved_model_id is not None:
        saved = db.get(SavedModel, saved_model_id) if is_sql_int(saved_model_id) else None
        if saved is None or saved.project_id != project.id:
            raise not_found("saved model", saved_model_id)
        return saved
    if not saved_model_name:
        raise invalid(
            "Give saved_model_id (a new version of it) or saved_model_name (found or created).",
            errors=[{"field": "saved_model_name", "message": "required without saved_model_id"}],
            code="missing_saved_model",
        )
    name = saved_model_name.strip()
    if not name or len(name) > 200:
        raise invalid("saved_model_name must be 1-200 characters.", code="bad_name")
    saved = db.scalar(select(SavedModel).where(SavedModel.project_id == project.id, SavedModel.name == name))
    if saved is None:
        saved = SavedModel(project_id=project.id, name=name, created_by=user.id if user else None)
        db.add(saved)
        db.flush()
    return saved


def _new_version_id(db: Session, saved: SavedModel, version_id: str | None) -> str:
    """VERSION_ID checked (or SAVED's next "vN"); 409 when SAVED already has it, as versions are immutable."""
    if version_id is None:
        version_id = f"v{saved.next_version_number}"
    elif not VERSION_ID_RE.match(version_id):
        raise invalid(
            f"Version id {version_id!r} must be 1-64 letters, digits, '.', '_' or '-'.", code="bad_version_id"
        )
    if db.scalar(
        select(SavedModelVersion.id).where(
            SavedModelVersion.saved_model_id == saved.id, SavedModelVersion.version_id == version_id
        )
    ):
        raise conflict(
            "version_exists", f"Saved model {saved.id} already has a version {version_id!r}; versions are immutable."
        )
    return version_id


def _copy_model(settings: Settings, model: TrainedModel, version_dir: Path) -> Path:
    """Copy MODEL's file, verified, into VERSION_DIR as model.keras; the copy's path."""
    source = settings.artifacts / model.path
    digest = model_files.verify_digest(source, f"trained model {model.id}")  # never deploy a damaged file
    target = version_dir / "model.keras"
    _copy_verified(source, target, digest, f"trained model {model.id}")
    thresholds.copy(source, target)  # the version keeps the decision threshold it was deployed with
    return target


def _add_version(
    db: Session,
    settings: Settings,
    user: User | None,
    saved: SavedModel,
    model: TrainedModel,
    version_id: str,
    target: Path,
) -> SavedModelVersion:
    """Record the copy TARGET of MODEL as version VERSION_ID of SAVED."""
    version = SavedModelVersion(
        saved_model_id=saved.id,
        version_id=version_id,
        trained_model_id=model.id,
        path=str(target.relative_to(settings.artifacts)),
        created_by=user.id if user else None,
    )
    db.add(version)
    saved.next_version_number += 1
    return version


def _copy_verified(source: Path, target: Path, digest: str, what: str) -> None:
    """Copy SOURCE to TARGET with its sidecar; the copy must hash to DIGEST (else it is removed, 409)."""
    try:
        storage.atomic_copy(source, target)
        copied = model_files.write_checksum(target)
        if copied != digest:
            raise model_files.corrupt(what, "it changed while it was copied")
    except BaseException:
        target.unlink(missing_ok=True)
        model_files.checksum_path(target).unlink(missing_ok=True)
        raise


def _project_key(db: Session, project_id: int) -> str | None:
    """The key of project PROJECT_ID (for the audit log)."""
    project = db.get(Project, project_id)
    return project.key if project else None


def version_of(db: Session, saved: SavedModel, version_id: str | None) -> SavedModelVersion:
    """The named version of SAVED, or its active one."""
    wanted = version_id or saved.active_version
    row = db.scalar(
        select(SavedModelVersion).where(
            SavedModelVersion.saved_model_id == saved.id, SavedModelVersion.version_id == wanted
        )
    )
    if row is None:
        raise not_found("version", f"{saved.id}/{wanted}")
    return row


def set_active(db: Session, user: User, saved: SavedModel, version_id: str) -> SavedModel:
    """Make VERSION_ID the active version (a revert is just this)."""
    version_of(db, saved, version_id)
    saved.active_version = version_id
    db.flush()
    audit.record(db, user, "model.activate", f"{saved.id}/{version_id}", project=_project_key(db, saved.project_id))
    return saved


def location(settings: Settings, saved: SavedModel, version: SavedModelVersion) -> dict[str, Any]:
    """{location, uri, download_url, version_id} of one version's file."""
    path = (settings.artifacts / version.path).resolve()
    base = settings.public_url.rstrip("/")
    return {
        "location": str(path),
        "uri": path.as_uri(),
        "download_url": f"{base}/api/v1/saved-models/{saved.id}/download?version={version.version_id}",
        "version_id": version.version_id,
    }


def file_path(settings: Settings, version: SavedModelVersion) -> Path:
    """The version's .keras file, checked against its SHA-256: 404 file_missing, 409 model_file_corrupt."""
    what = f"saved model {version.saved_model_id} version {version.version_id}"
    return model_files.verified(settings.artifacts / version.path, what)


def of_project(db: Session, project: Project) -> list[SavedModel]:
    """The project's saved models."""
    return list(db.scalars(select(SavedModel).where(SavedModel.project_id == project.id).order_by(SavedModel.id)))


def as_dict(db: Session, saved: SavedModel, settings: Settings | None = None) -> dict[str, Any]:
    """The API shape of a saved model with its versions (an imported version: source "imported", no trained model,
    and what was recorded of it at import)."""
    project = db.get(Project, saved.project_id)
    retrained = _retrained_from(db, saved)
    return {
        "id": saved.id,
        "name": saved.name,
        "project_key": project.key if project else None,
        "active_version": saved.active_version,
        "created_at": saved.created_at,
        "versions": [
            {
                "id": v.version_id,
                "trained_model_id": None if model_import.is_imported(v) else v.trained_model_id,
                "created_at": v.created_at,
                "active": v.version_id == saved.active_version,
                "source": "imported" if model_import.is_imported(v) else "trained",
                **(
                    {"imported": model_import.metadata(settings or get_settings(), v)}
                    if model_import.is_imported(v)
                    else {}
                ),
                **({"retrained_from": retrained[v.trained_model_id]} if v.trained_model_id in retrained else {}),
            }
            for v in saved.versions
        ],
    }


def _retrained_from(db: Session, saved: SavedModel) -> dict[str, dict[str, Any]]:
    """The lineage entry naming the version each of SAVED's retrained versions retrained, by trained model id."""
    ids = [v.trained_model_id for v in saved.versions]
    found: dict[str, dict[str, Any]] = {}
    for tmid, lineage in db.execute(select(TrainedModel.id, TrainedModel.lineage).where(TrainedModel.id.in_(ids))):
        for entry in lineage or []:
            if isinstance(entry, dict) and entry.get("kind") == "retrained_from":
                found[tmid] = {k: v for k, v in entry.items() if k != "kind"}
    return found


def delete_version(db: Session, settings: Settings, user: User, saved: SavedModel, version_id: str) -> None:
    """Delete a version that is not the active one, with its file."""
    version = version_of(db, saved, version_id)
    if version.version_id == saved.active_version:
        raise conflict("version_active", f"Version {version_id} is active; activate another version first.")
    folder = (settings.artifacts / version.path).parent
    db.delete(version)
    db.flush()
    storage.remove_tree(folder, settings.artifacts)
    audit.record(
        db, user, "model.version.delete", f"{saved.id}/{version_id}", project=_project_key(db, saved.project_id)
    )


def delete_saved_model(db: Session, settings: Settings, user: User, saved: SavedModel) -> None:
    """Delete a saved model, all its versions and their files."""
    project = db.get(Project, saved.project_id)
    folders = [(settings.artifacts / v.path).parent for v in saved.versions]
    ident = saved.id
    db.delete(saved)
    db.flush()
    for folder in folders:
        storage.remove_tree(folder, settings.artifacts)
    if project is not None:
        parent = storage.saved_version_dir(settings, project.key, ident, "x").parent
        if parent.exists():
            storage.remove_tree(parent, settings.artifacts)
    audit.record(db, user, "model.saved.delete", str(ident), project=project.key if project else None)


def delete_trained_model(db: Session, settings: Settings, user: User, model: TrainedModel) -> None:
    """Delete a trained model and its file (409 while a saved model version was deployed from it)."""
    used = db.scalar(select(SavedModelVersion).where(SavedModelVersion.trained_model_id == model.id).limit(1))
    if used is not None:
        raise conflict(
            "model_in_use",
            f"Trained model {model.id} is deployed as version {used.version_id} of saved "
            f"model {used.saved_model_id}; delete that version first.",
        )
    folder = (settings.artifacts / model.path).parent
    training = model.session  # the training session that made it no longer points at it
    if training is not None:
        training.trained_model_id = None
    ident = model.id
    db.delete(model)
    db.flush()
    storage.remove_tree(folder, settings.artifacts)
    audit.record(db, user, "model.trained.delete", ident, project=_project_key(db, model.project_id))
