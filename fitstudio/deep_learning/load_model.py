"""Load models of other trainings from code cells, through the worker (the cell holds no credentials)."""

from __future__ import annotations

from typing import Any

from fitstudio.deep_learning import _context


class ModelAccessError(RuntimeError):
    """The model does not exist or the submitter of this training may not read it."""


def _ask(**request: Any) -> str:
    if _context.channel is None:
        raise ModelAccessError("these helpers work only inside a fitstudio training")
    reply = _context.channel.ask("model_location", **request)
    if not reply.get("ok"):
        raise ModelAccessError(reply.get("error") or "the model could not be resolved")
    _context.loaded_models.append({k: reply.get(k) for k in ("kind", "id", "version_id", "trained_model_id")})
    return str(reply["path"])


def get_keras_model_location_from_trained_model(
    session_id: str | int | None = None, analysis_id: str | None = None, mltask_id: str | None = None
) -> str:
    """Path of a trained model's .keras file (None arguments mean the current analysis / ML task)."""
    return _ask(source="trained", session_id=session_id, analysis_id=analysis_id, mltask_id=mltask_id)


def get_keras_model_from_trained_model(
    session_id: str | int | None = None,
    analysis_id: str | None = None,
    mltask_id: str | None = None,
    **load_kwargs: Any,
) -> Any:
    """A trained model, loaded with keras.models.load_model(path, **LOAD_KWARGS) (custom_objects, compile…)."""
    import keras

    path = get_keras_model_location_from_trained_model(session_id, analysis_id, mltask_id)
    return keras.models.load_model(path, **load_kwargs)


def get_keras_model_location_from_saved_model(saved_model_id: str | int, version_id: str | None = None) -> str:
    """Path of a saved model version's .keras file (the active version unless VERSION_ID is given)."""
    return _ask(source="saved", saved_model_id=saved_model_id, version_id=version_id)


def get_keras_model_from_saved_model(
    saved_model_id: str | int, version_id: str | None = None, **load_kwargs: Any
) -> Any:
    """A saved model version, loaded with keras.models.load_model(path, **LOAD_KWARGS) (custom_objects, compile,
    safe_mode)."""
    import keras

    path = get_keras_model_location_from_saved_model(saved_model_id, version_id)
    return keras.models.load_model(path, **load_kwargs)
