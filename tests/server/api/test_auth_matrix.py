"""The auth matrix (api.md "Auth"): every endpoint x {no token, bad token, non-member, reader, writer, admin}.

- no token / unknown token -> 401;
- a user who is not a member of the project -> 404, as for a resource that does not exist (never reveal it);
- reader: reads succeed, writes -> 403; writer: also create / edit / train; admin: also members and delete.

One world (project, dataset, analysis, ML task, queued session, users) is built once for the module; cases that
destroy something (DELETE, abort) get a fresh resource of their own, so the cases do not depend on each other.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_api
from tests.server.api import support
from tests.server.api.support import API, BAD_TOKEN, expect, settings_from_template

ROLES = ["none", "bad", "outsider", "reader", "writer", "admin"]
RANK = {"reader": 0, "writer": 1, "admin": 2}
NEEDED = {"read": "reader", "write": "writer", "admin": "admin"}
_counter = itertools.count(1)


@dataclass
class World:
    """The shared resources and one token per role."""

    api: Any
    key: str
    ids: dict[str, Any]
    tokens: dict[str, str | None] = field(default_factory=dict)

    def fresh_project(self) -> str:
        """A new project with the reader, writer and admin users as members."""
        key = f"FRESH{next(_counter)}"
        support.create_project(self.api, key)
        for role in ("reader", "writer", "admin"):
            expect(self.api.put(f"{API}/projects/{key}/members/{role}_user", json={"role": role}), 200)
        return key

    def fresh_dataset(self) -> int:
        """A new dataset in the shared project, used by no analysis."""
        r = support.upload(self.api, self.key, f"tmp{next(_counter)}", support.SMALL_CSV, "tmp.csv")
        return int(expect(r, 201)["id"])

    def fresh_session(self) -> int:
        """A new queued session of the shared ML task."""
        return int(support.train(self.api, self.ids["mt"])["id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, migrated_template: Path, demo_csv_cached: bytes) -> Iterator[World]:
    from server.settings import get_settings

    with pytest.MonkeyPatch.context() as mp:
        settings = settings_from_template(mp, tmp_path_factory.mktemp("matrix") / "home", migrated_template)
        api = make_api(settings)
        support.install_checks(api.client)
        with api.client:
            key = "MATRIX"
            support.create_project(api, key)
            dataset = expect(api.upload_csv(key, "breast_cancer", demo_csv_cached), 201)
            analysis = support.create_analysis(api, key, dataset["id"])
            mltask = support.create_ml_task(api, analysis["id"], "diagnosis")
            session = support.train(api, mltask["id"])
            ids = {
                "ds": dataset["id"],
                "an": analysis["id"],
                "mt": mltask["id"],
                "sid": session["id"],
                "n": f"s{session['number']}",
                "tm": f"A-{key}-{analysis['id']}-{mltask['id']}-s99-pp1-m1",
            }
            w = World(api, key, ids)
            w.tokens = {"none": None, "bad": BAD_TOKEN, "outsider": api.user("outsider")}
            for role in ("reader", "writer", "admin"):
                w.tokens[role] = api.user(f"{role}_user", key, role)
            api.user("extra")
            yield w
    get_settings.cache_clear()


@dataclass(frozen=True)
class Endpoint:
    """One row of the matrix."""

    name: str
    method: str
    path: str
    access: str  # public | user | read | write | admin
    ok: int  # the status of a caller with enough rights
    body: Callable[[World], dict[str, Any]] = lambda w: {}
    content_type: str = "application/json"  # of a successful answer
    prepare: Callable[[World], dict[str, Any]] = lambda w: {}


def _upload_body(w: World) -> dict[str, Any]:
    return {
        "data": {"name": f"up{next(_counter)}"},
        "files": {"file": ("u.csv", io.BytesIO(support.SMALL_CSV), "text/csv")},
    }


ENDPOINTS = [
    Endpoint(
        "create project",
        "POST",
        "/projects",
        "user",
        201,
        body=lambda w: {"json": {"key": f"NEW{next(_counter)}", "name": "new"}},
    ),
    Endpoint("list projects", "GET", "/projects", "user", 200),
    Endpoint("get project", "GET", "/projects/{key}", "read", 200),
    Endpoint("delete project", "DELETE", "/projects/{key}", "admin", 204, prepare=lambda w: {"key": w.fresh_project()}),
    Endpoint(
        "put member", "PUT", "/projects/{key}/members/extra", "admin", 200, body=lambda w: {"json": {"role": "reader"}}
    ),
    Endpoint("upload dataset", "POST", "/projects/{key}/datasets", "write", 201, body=_upload_body),
    Endpoint("list datasets", "GET", "/projects/{key}/datasets", "read", 200),
    Endpoint("get dataset", "GET", "/datasets/{ds}", "read", 200),
    Endpoint("preview dataset", "GET", "/datasets/{ds}/preview?limit=5", "read", 200),
    Endpoint("download dataset", "GET", "/datasets/{ds}/download?format=csv", "read", 200, content_type="text/csv"),
    Endpoint(
        "change a column's type",
        "PATCH",
        "/datasets/{ds}/columns/mean%20radius",
        "write",
        200,
        body=lambda w: {"json": {"type": "numeric"}},
    ),
    Endpoint("delete dataset", "DELETE", "/datasets/{ds}", "write", 204, prepare=lambda w: {"ds": w.fresh_dataset()}),
    Endpoint(
        "create analysis",
        "POST",
        "/projects/{key}/analyses",
        "write",
        201,
        body=lambda w: {"json": {"dataset_id": w.ids["ds"], "name": "m"}},
    ),
    Endpoint("list analyses", "GET", "/projects/{key}/analyses", "read", 200),
    Endpoint("get analysis", "GET", "/analyses/{an}", "read", 200),
    Endpoint(
        "create ML task",
        "POST",
        "/analyses/{an}/ml-tasks",
        "write",
        201,
        body=lambda w: {"json": {"target": "diagnosis"}},
    ),
    Endpoint("list ML tasks", "GET", "/analyses/{an}/ml-tasks", "read", 200),
    Endpoint("get ML task", "GET", "/ml-tasks/{mt}", "read", 200),
    Endpoint("get settings", "GET", "/ml-tasks/{mt}/settings", "read", 200),
    Endpoint(
        "put settings",
        "PUT",
        "/ml-tasks/{mt}/settings",
        "write",
        200,
        body=lambda w: {"json": {"split": {"train_ratio": 0.8, "seed": 1337}}},
    ),
    Endpoint("validate", "POST", "/ml-tasks/{mt}/validate", "read", 200, body=lambda w: {"json": {}}),
    Endpoint("train", "POST", "/ml-tasks/{mt}/train", "write", 202, body=lambda w: {"json": {}}),
    Endpoint("list sessions", "GET", "/ml-tasks/{mt}/sessions", "read", 200),
    Endpoint("get session by number", "GET", "/ml-tasks/{mt}/sessions/{n}", "read", 200),
    Endpoint("get session", "GET", "/sessions/{sid}", "read", 200),
    # Allowed, but a queued session cannot be interrupted: the role check passes and the state check answers 409.
    Endpoint("interrupt queued session", "POST", "/sessions/{sid}/interrupt", "write", 409),
    Endpoint(
        "abort session", "POST", "/sessions/{sid}/abort", "write", 202, prepare=lambda w: {"sid": w.fresh_session()}
    ),
    Endpoint("list trained models", "GET", "/ml-tasks/{mt}/trained-models", "read", 200),
    # Authentication first; then a trained model that does not exist is 404 for everyone.
    Endpoint("get unknown trained model", "GET", "/trained-models/{tm}", "user", 404),
    Endpoint("workers", "GET", "/workers", "user", 200),
    Endpoint("healthz", "GET", "/healthz", "public", 200),
    # Public: every caller gets the same answer, never 401. No worker runs in this world, so it is not ready (503).
    Endpoint("readyz", "GET", "/readyz", "public", 503),
]


def expected_status(endpoint: Endpoint, role: str) -> int:
    """What api.md says ROLE gets from ENDPOINT."""
    if endpoint.access == "public":
        return endpoint.ok
    if role in ("none", "bad"):
        return 401
    if endpoint.access == "user":
        return endpoint.ok
    if role == "outsider":
        return 404
    return endpoint.ok if RANK[role] >= RANK[NEEDED[endpoint.access]] else 403


def url_of(endpoint: Endpoint, values: dict[str, Any]) -> str:
    path = endpoint.path.format(**values)
    return path if endpoint.access == "public" else API + path


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name.replace(" ", "-") for e in ENDPOINTS])
def test_auth_matrix(world: World, endpoint: Endpoint, role: str) -> None:
    values = {"key": world.key, **world.ids, **endpoint.prepare(world)}
    headers = support.auth_headers(world.tokens[role])
    r = world.api.client.request(endpoint.method, url_of(endpoint, values), headers=headers, **endpoint.body(world))
    want = expected_status(endpoint, role)
    assert r.status_code == want, f"{role} {endpoint.method} {endpoint.path}: want {want}, got {r.status_code} {r.text}"
    if want == 401:
        assert r.json()["code"] in ("unauthorized", "bad_token")
    elif want == 403:
        assert r.json()["code"] == "forbidden"
    elif want == 404 and endpoint.access != "user":
        assert r.json()["code"] == "not_found"
    elif want == 204:
        assert r.content == b""
    elif want < 300:
        assert r.headers["content-type"].startswith(endpoint.content_type)


def test_refused_deletes_and_aborts_change_nothing(world: World) -> None:
    """A 401/403/404 on a destructive call leaves the resource as it was."""
    api = world.api
    key, ds, sid = world.fresh_project(), world.fresh_dataset(), world.fresh_session()
    for role in ("none", "bad", "outsider", "reader", "writer"):
        token = world.tokens[role]
        headers = support.auth_headers(token)
        assert api.client.delete(f"{API}/projects/{key}", headers=headers).status_code in (401, 403, 404)
        if role != "writer":
            assert api.client.delete(f"{API}/datasets/{ds}", headers=headers).status_code in (401, 403, 404)
            assert api.client.post(f"{API}/sessions/{sid}/abort", headers=headers).status_code in (401, 403, 404)
    expect(api.get(f"{API}/projects/{key}"), 200)
    expect(api.get(f"{API}/datasets/{ds}"), 200)
    assert expect(api.get(f"{API}/sessions/{sid}"), 200)["status"] == "queued"


def test_writes_refused_to_a_reader_change_nothing(world: World) -> None:
    api, reader = world.api, world.tokens["reader"]
    before = {
        "datasets": expect(api.get(f"{API}/projects/{world.key}/datasets"), 200),
        "analyses": expect(api.get(f"{API}/projects/{world.key}/analyses"), 200),
        "tasks": expect(api.get(f"{API}/analyses/{world.ids['an']}/ml-tasks"), 200),
        "settings": expect(api.get(f"{API}/ml-tasks/{world.ids['mt']}/settings"), 200),
        "sessions": expect(api.get(f"{API}/ml-tasks/{world.ids['mt']}/sessions"), 200),
        "members": expect(api.get(f"{API}/projects/{world.key}"), 200)["members"],
    }
    for endpoint in ENDPOINTS:
        destructive = endpoint.method == "DELETE" or endpoint.path.endswith("/abort")
        if endpoint.access not in ("write", "admin") or destructive:
            continue
        values = {"key": world.key, **world.ids}
        r = api.client.request(
            endpoint.method, url_of(endpoint, values), headers=support.auth_headers(reader), **endpoint.body(world)
        )
        assert r.status_code == 403, (endpoint.name, r.text)
    after = {
        "datasets": expect(api.get(f"{API}/projects/{world.key}/datasets"), 200),
        "analyses": expect(api.get(f"{API}/projects/{world.key}/analyses"), 200),
        "tasks": expect(api.get(f"{API}/analyses/{world.ids['an']}/ml-tasks"), 200),
        "settings": expect(api.get(f"{API}/ml-tasks/{world.ids['mt']}/settings"), 200),
        "sessions": expect(api.get(f"{API}/ml-tasks/{world.ids['mt']}/sessions"), 200),
        "members": expect(api.get(f"{API}/projects/{world.key}"), 200)["members"],
    }
    assert after == before


def test_a_non_member_gets_404_bodies_indistinguishable_from_missing_resources(world: World) -> None:
    """For every id-addressed resource, an outsider's 404 reads like the 404 for an id that does not exist."""
    api, outsider = world.api, world.tokens["outsider"]
    pairs = [
        (f"/projects/{world.key}", "/projects/NOSUCHKEY", world.key, "NOSUCHKEY"),
        (f"/datasets/{world.ids['ds']}", "/datasets/987654", str(world.ids["ds"]), "987654"),
        (f"/analyses/{world.ids['an']}", "/analyses/NoSuchAn", world.ids["an"], "NoSuchAn"),
        (f"/ml-tasks/{world.ids['mt']}", "/ml-tasks/NoSuchMt", world.ids["mt"], "NoSuchMt"),
        (f"/sessions/{world.ids['sid']}", "/sessions/987654", str(world.ids["sid"]), "987654"),
    ]
    for existing, missing, real_id, fake_id in pairs:
        a = api.client.get(API + existing, headers=support.auth_headers(outsider))
        b = api.client.get(API + missing, headers=support.auth_headers(outsider))
        assert a.status_code == b.status_code == 404
        assert a.json()["code"] == b.json()["code"]
        assert a.json()["detail"].replace(real_id, "ID") == b.json()["detail"].replace(fake_id, "ID")
