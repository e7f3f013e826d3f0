"""The Python client's trained_model.get_threshold() and set_threshold(t), through the real API."""

from __future__ import annotations

from typing import Any

import pytest

from tests.webui.conftest import Web
from tests.webui.support import fake_trained_model
from tests.webui.test_evaluation_pages import binary_evaluation


def test_the_client_reads_and_sets_a_binary_models_threshold(web: Web, task: dict[str, Any]) -> None:
    from fitstudio.client import Client, Conflict, InvalidRequest, NotFound

    doc = binary_evaluation(seed=3)
    tmid = fake_trained_model(web, task, doc)
    best = doc["charts"]["decision"]["f1_optimal_threshold"]
    with Client("http://testserver", web.api.token, transport=web.api.client._transport) as client:
        model = client.get_trained_model(tmid)
        assert model.get_threshold() == {"threshold": 0.5, "default": 0.5, "f1_optimal": best}
        assert model.set_threshold(0.37) == {"threshold": 0.37, "default": 0.5, "f1_optimal": best}
        assert model.get_threshold()["threshold"] == 0.37
        assert web.api.get(f"/api/v1/trained-models/{tmid}/threshold").json()["threshold"] == 0.37  # stored
        with pytest.raises(InvalidRequest):
            model.set_threshold(1.5)
        assert model.get_threshold()["threshold"] == 0.37
        with pytest.raises(NotFound):
            client.get_trained_model("P1-nope-s9").get_threshold()
        from server.db import session_scope
        from server.models import TrainedModel

        with session_scope() as db:
            db.get(TrainedModel, tmid).prediction_type = "regression"
        with pytest.raises(Conflict):
            model.get_threshold()
