"""The auth matrix for what tests/server/api/test_auth_matrix.py does not cover: saved models, trained models
(details, download, predict, deploy, delete), tokens and the audit log.

Same rules (api.md "Auth"): no token / unknown token -> 401; not a member -> 404 as for a missing resource;
reader: reads, downloads and scoring; writer: also deploy and switch versions; admin: also delete and the audit log.
A destructive case gets a fresh resource of its own, so the cases do not depend on each other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.conftest import Api
from tests.security.support import create_world, fabricate_trained_model
from tests.server.api.support import API, BAD_TOKEN, auth_headers, expect

ROLES = ["none", "bad", "outsider", "reader", "writer", "admin"]
RANK = {"reader": 0, "writer": 1, "admin": 2}
NEEDED = {"read": "reader", "write": "writer", "admin": "admin"}
KEY = "PERMS"
_counter = itertools.count(1)


@dataclass
class World:
    """The shared resources and one token per role."""

    api: Api
    ids: dict[str, Any]
    tokens: dict[str, str | None] = field(default_factory=dict)

    def fresh_trained_model(self) -> str:
        return fabricate_trained_model(self.api, self.ids["mt"], real_keras=False)

    def fresh_saved_model(self) -> int:
        body = {"saved_model_name": f"fresh{next(_counter)}"}
        return int(
            expect(self.api.post(f"{API}/trained-models/{self.ids['tm']}/deploy", json=body), 201)["saved_model_id"]
        )

    def fresh_version(self) -> str:
        version = f"old{next(_counter)}"
        body = {"saved_model_id": self.ids["sm"], "version_id": version, "activate": False}
        expect(self.api.post(f"{API}/trained-models/{self.ids['tm']}/deploy", json=body), 201)
        return version

    def fresh_token_of(self, role: str) -> int:
        """A new token of ROLE's user (for the revoke case); any id for callers without a user."""
        from sqlalchemy import select

        from server.db import session_scope
        from server.models import ApiToken
        from server.services import auth

        name = {"outsider": "pm_outsider"}.get(role, f"pm_{role}")
        with session_scope() as db:
            user = auth.get_user(db, name) or auth.get_user(db, "owner")
            assert user is not None
            auth.create_token(db, user, "spare")
            ident = db.scalar(select(ApiToken.id).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc()))
        assert ident is not None
        return int(ident)


@pytest.fixture(scope="module")
def world(module_api: Api) -> World:
    api = module_api
    ids = create_world(api, KEY)
    ids["tm"] = fabricate_trained_model(api, ids["mt"], real_keras=True)
    deployed = expect(api.post(f"{API}/trained-models/{ids['tm']}/deploy", json={"saved_model_name": "main"}), 201)
    ids["sm"], ids["v"] = deployed["saved_model_id"], deployed["version_id"]
    w = World(api, ids)
    w.tokens = {"none": None, "bad": BAD_TOKEN, "outsider": api.user("pm_outsider")}
    for role in ("reader", "writer", "admin"):
        w.tokens[role] = api.user(f"pm_{role}", KEY, role)
    return w


@dataclass(frozen=True)
class Endpoint:
    """One row of the matrix."""

    name: str
    method: str
    path: str
    access: str  # user | read | write | admin
    ok: int
    body: Callable[[World], dict[str, Any]] = lambda w: {}
    prepare: Callable[[World, str], dict[str, Any]] = lambda w, role: {}


ROWS = {"json": {"rows": [{"x": 3, "y": 2.5}, {"x": 4, "y": 3.0}]}}

ENDPOINTS = [
    Endpoint("list saved models", "GET", "/projects/{key}/saved-models", "read", 200),
    Endpoint("get saved model", "GET", "/saved-models/{sm}", "read", 200),
    Endpoint("saved model location", "GET", "/saved-models/{sm}/location", "read", 200),
    Endpoint("version location", "GET", "/saved-models/{sm}/versions/{v}/location", "read", 200),
    Endpoint("download saved model", "GET", "/saved-models/{sm}/download", "read", 200),
    Endpoint("predict with saved model", "POST", "/saved-models/{sm}/predict", "read", 200, body=lambda w: ROWS),
    Endpoint("export saved model", "GET", "/saved-models/{sm}/export?format=savedmodel", "read", 200),
    Endpoint(
        "switch active version",
        "POST",
        "/saved-models/{sm}/active-version",
        "write",
        200,
        body=lambda w: {"json": {"version_id": w.ids["v"]}},
    ),
    Endpoint(
        "delete version",
        "DELETE",
        "/saved-models/{sm}/versions/{v}",
        "admin",
        204,
        prepare=lambda w, role: {"v": w.fresh_version()},
    ),
    Endpoint(
        "delete saved model",
        "DELETE",
        "/saved-models/{sm}",
        "admin",
        204,
        prepare=lambda w, role: {"sm": w.fresh_saved_model()},
    ),
    Endpoint("get trained model", "GET", "/trained-models/{tm}", "read", 200),
    Endpoint("trained model location", "GET", "/trained-models/{tm}/location", "read", 200),
    Endpoint("download trained model", "GET", "/trained-models/{tm}/download", "read", 200),
    Endpoint("predict with trained model", "POST", "/trained-models/{tm}/predict", "read", 200, body=lambda w: ROWS),
    Endpoint(
        "deploy trained model",
        "POST",
        "/trained-models/{tm}/deploy",
        "write",
        201,
        body=lambda w: {"json": {"saved_model_name": f"deployed{next(_counter)}"}},
    ),
    Endpoint(
        "delete trained model",
        "DELETE",
        "/trained-models/{tm}",
        "admin",
        204,
        prepare=lambda w, role: {"tm": w.fresh_trained_model()},
    ),
    Endpoint("list own tokens", "GET", "/tokens", "user", 200),
    Endpoint(
        "revoke own token",
        "DELETE",
        "/tokens/{token}",
        "user",
        204,
        prepare=lambda w, role: {"token": w.fresh_token_of(role)},
    ),
    Endpoint("project audit log", "GET", "/projects/{key}/audit", "admin", 200),
]


def expected_status(endpoint: Endpoint, role: str) -> int:
    """What api.md says ROLE gets from ENDPOINT."""
    if role in ("none", "bad"):
        return 401
    if endpoint.access == "user":
        return endpoint.ok
    if role == "outsider":
        return 404
    return endpoint.ok if RANK[role] >= RANK[NEEDED[endpoint.access]] else 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name.replace(" ", "-") for e in ENDPOINTS])
def test_models_tokens_audit_matrix(world: World, endpoint: Endpoint, role: str) -> None:
    values = {"key": KEY, **world.ids, **endpoint.prepare(world, role)}
    url = API + endpoint.path.format(**values)
    r = world.api.client.request(endpoint.method, url, headers=auth_headers(world.tokens[role]), **endpoint.body(world))
    want = expected_status(endpoint, role)
    assert r.status_code == want, f"{role} {endpoint.method} {endpoint.path}: want {want}, got {r.status_code} {r.text}"
    if want == 401:
        assert r.json()["code"] in ("unauthorized", "bad_token")
    elif want == 403:
        assert r.json()["code"] == "forbidden"
    elif want == 404:
        assert r.json()["code"] == "not_found"
    elif want == 204:
        assert r.content == b""


def test_refused_model_deletions_change_nothing(world: World) -> None:
    """A 401/403/404 on a destructive model call leaves the model, its versions and its files as they were."""
    api = world.api
    tm, sm, version = world.fresh_trained_model(), world.fresh_saved_model(), world.fresh_version()
    files_before = sorted(p for p in api.settings.artifacts.rglob("*") if p.is_file())
    for role in ("none", "bad", "outsider", "reader", "writer"):
        headers = auth_headers(world.tokens[role])
        for path in (
            f"/trained-models/{tm}",
            f"/saved-models/{sm}",
            f"/saved-models/{world.ids['sm']}/versions/{version}",
        ):
            assert api.client.delete(API + path, headers=headers).status_code in (401, 403, 404)
    expect(api.get(f"{API}/trained-models/{tm}"), 200)
    expect(api.get(f"{API}/saved-models/{sm}"), 200)
    versions = [v["id"] for v in expect(api.get(f"{API}/saved-models/{world.ids['sm']}"), 200)["versions"]]
    assert version in versions
    assert sorted(p for p in api.settings.artifacts.rglob("*") if p.is_file()) == files_before
