"""Ids and names that reach file paths, hostile Host headers, and no server-side fetching of user URLs.

Every id or name that ends up in a path on disk (dataset id, trained model id, saved model id, version id in the
path and in ?version=, project key) is tried with traversal spellings; each answer is a 4xx with the spec's error
shape (the client checks every response), and nothing outside the data root and artifact store is read, written
or deleted: canary files beside them stay intact and the whole tree is unchanged after the refused calls.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import Api
from tests.security.fuzzing import error_shape_problem
from tests.security.support import create_world, fabricate_trained_model, raw_asgi_request, snapshot
from tests.server.api.support import API, expect, expect_error

ROOT = Path(__file__).resolve().parents[2]
KEY = "PATHS"

# What a hostile id looks like: plain, encoded and double-encoded traversal, Windows forms, URLs, control characters.
EVIL = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "..\\..\\..\\windows\\win.ini",
    "\\..\\canary.txt",
    "#/../../canary.txt",
    "%23/../../canary.txt",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "C:\\Windows\\win.ini",
    "C:%5CWindows%5Cwin.ini",
    "file:///etc/passwd",
    "file%3A%2F%2F%2Fetc%2Fpasswd",
    "..",
    ".",
    "%00",
    "1%00.keras",
    "v1%0a..%2f",
    "v1\r\nX-Injected: 1",
    "~root",
    "A-PATHS-..-..-s1-pp1-m1",
]


def _as_target(value: str) -> str:
    """VALUE as a request line carries it: escapes and dot segments as written, characters a request line cannot
    hold (controls, spaces, '#', '?') percent-escaped."""
    return quote(value, safe="%/\\:~.@!$&'()*+,;=")


@pytest.fixture(scope="module")
def world(module_api: Api) -> dict[str, Any]:
    """A project with a dataset, analysis, ML task, a trained model deployed as saved model v1, and canaries."""
    api = module_api
    w = create_world(api, KEY)
    w["tmid"] = fabricate_trained_model(api, w["mt"], real_keras=False)
    deployed = expect(api.post(f"{API}/trained-models/{w['tmid']}/deploy", json={"saved_model_name": "m"}), 201)
    w["saved"] = deployed["saved_model_id"]
    settings = api.settings
    canaries = [
        settings.home.parent / "canary.txt",
        settings.home / "canary.txt",
        settings.data_root / "canary.txt",
        settings.artifacts / "canary.txt",
        settings.data_root / "projects" / "canary.txt",
    ]
    for path in canaries:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("canary")
    w["canaries"] = canaries
    return w


def _tree(api: Api) -> dict[str, tuple[int, int]]:
    return snapshot(api.settings.home.parent, skip=[f"{api.settings.home.name}/fitstudio.db"])


def _path_templates(w: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path with {x} where the hostile value goes, request kwargs)."""
    body = {"json": {"rows": [{"x": 1, "y": 2}]}}
    return [
        ("GET", "/projects/{x}", {}),
        ("DELETE", "/projects/{x}", {}),
        ("GET", "/projects/{x}/datasets", {}),
        ("POST", "/projects/{x}/datasets", {"data": {"name": "n"}, "files": {"file": ("a.csv", b"a,b\n1,2\n")}}),
        ("PUT", "/projects/{x}/members/someone", {"json": {"role": "reader"}}),
        ("GET", "/projects/{x}/saved-models", {}),
        ("GET", "/projects/{x}/audit", {}),
        ("PUT", f"/projects/{KEY}/members/{{x}}", {"json": {"role": "reader"}}),
        ("GET", "/datasets/{x}", {}),
        ("GET", "/datasets/{x}/preview", {}),
        ("DELETE", "/datasets/{x}", {}),
        ("GET", "/trained-models/{x}", {}),
        ("GET", "/trained-models/{x}/location", {}),
        ("GET", "/trained-models/{x}/download", {}),
        ("POST", "/trained-models/{x}/predict", body),
        ("POST", "/trained-models/{x}/deploy", {"json": {"saved_model_name": "evil"}}),
        ("DELETE", "/trained-models/{x}", {}),
        ("GET", "/saved-models/{x}", {}),
        ("GET", "/saved-models/{x}/location", {}),
        ("GET", "/saved-models/{x}/download", {}),
        ("GET", "/saved-models/{x}/export", {}),
        ("POST", "/saved-models/{x}/predict", body),
        ("DELETE", "/saved-models/{x}", {}),
        ("GET", f"/saved-models/{w['saved']}/versions/{{x}}/location", {}),
        ("DELETE", f"/saved-models/{w['saved']}/versions/{{x}}", {}),
        ("GET", "/analyses/{x}", {}),
        ("GET", "/ml-tasks/{x}", {}),
        ("DELETE", "/ml-tasks/{x}", {}),
        ("DELETE", "/sessions/{x}", {}),
        ("GET", f"/ml-tasks/{w['mt']}/sessions/{{x}}", {}),
        ("GET", "/sessions/{x}/log", {}),
        ("DELETE", "/tokens/{x}", {}),
    ]


def _send(api: Api, method: str, target: str, kwargs: dict[str, Any]) -> tuple[int, bytes]:
    """Send raw (see raw_asgi_request), with the request's JSON or multipart body; check the error shape."""
    import json

    headers = dict(api.headers())
    body = b""
    if "json" in kwargs:
        body = json.dumps(kwargs["json"]).encode()
        headers["content-type"] = "application/json"
    elif "files" in kwargs:
        body = (
            b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nn\r\n--b\r\nContent-Disposition: form-data; '
            b'name="file"; filename="a.csv"\r\n\r\na,b\n1,2\n\r\n--b--\r\n'
        )
        headers["content-type"] = "multipart/form-data; boundary=b"
    status, out_headers, content = raw_asgi_request(api.client.app, method, target, headers, body)
    if status in (307, 308):  # the trailing-slash redirect: same host, the path re-escaped; follow it once
        location = out_headers["location"]
        assert location.startswith("http://testserver/api/v1/"), location
        assert not any(ord(c) < 33 for c in location), f"unescaped characters in the redirect: {location!r}"
        target = location.removeprefix("http://testserver")
        status, out_headers, content = raw_asgi_request(api.client.app, method, target, headers, body)
    problem = error_shape_problem(status, out_headers.get("content-type", ""), content)
    assert problem is None, f"{method} {target}: {problem}"
    return status, content


def test_hostile_ids_in_paths_get_json_4xx_and_touch_nothing(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    before = _tree(api)
    statuses: dict[int, int] = {}
    for method, template, kwargs in _path_templates(world):
        for value in EVIL:
            target = API + template.replace("{x}", _as_target(value))
            status, content = _send(api, method, target, kwargs)
            assert 400 <= status < 500, f"{method} {target} -> {status} {content[:300]!r}"
            statuses[status] = statuses.get(status, 0) + 1
    assert set(statuses) <= {400, 404, 405, 409, 415, 422}, statuses
    assert _tree(api) == before, "a request with a hostile id changed files on disk"
    for canary in world["canaries"]:
        assert canary.read_text() == "canary"
    # The real resources are all still there.
    expect(api.get(f"{API}/projects/{KEY}"), 200)
    expect(api.get(f"{API}/datasets/{world['ds']}"), 200)
    expect(api.get(f"{API}/trained-models/{world['tmid']}"), 200)
    assert api.get(f"{API}/saved-models/{world['saved']}/download").status_code == 200


def test_hostile_versions_in_the_query_get_json_4xx(module_api: Api, world: dict[str, Any]) -> None:
    api = module_api
    before = _tree(api)
    saved = world["saved"]
    for value in EVIL + ["../../../../../../../../etc/passwd", "v1/../../v1"]:
        for method, path, kwargs in [
            ("GET", f"/saved-models/{saved}/download", {}),
            ("GET", f"/saved-models/{saved}/export", {}),
            ("POST", f"/saved-models/{saved}/predict", {"json": {"rows": [{"x": 1, "y": 2}]}}),
        ]:
            r = api.client.request(method, API + path, params={"version": value}, headers=api.headers(), **kwargs)
            assert r.status_code in (404, 422), f"{method} {path}?version={value!r} -> {r.status_code} {r.text}"
        r = api.get(f"{API}/saved-models/{saved}/export", params={"format": value})
        assert r.status_code in (400, 422) and r.json()["code"] in ("bad_format", "invalid_request"), r.text
    assert _tree(api) == before


def test_hostile_names_in_bodies_never_become_paths(module_api: Api, world: dict[str, Any]) -> None:
    """Project keys and version ids are validated; names are only names (stored, never used to build a path)."""
    api = module_api
    before = _tree(api)
    artifacts = api.settings.artifacts.resolve()
    data_root = api.settings.data_root.resolve()
    for value in EVIL:
        r = api.post(f"{API}/projects", json={"key": value, "name": "x"})
        expect_error(r, 422)
        r = api.post(
            f"{API}/trained-models/{world['tmid']}/deploy", json={"saved_model_name": "m", "version_id": value}
        )
        # A version id is one folder name: letters, digits, '.', '_', '-', never '.' or '..' alone, no separator.
        assert r.status_code == 422 or (r.status_code == 201 and "/" not in value and value not in (".", "..")), (
            value,
            r.text,
        )
    r = api.post(f"{API}/trained-models/{world['tmid']}/deploy", json={"saved_model_name": "../../../../evil"})
    version = expect(r, 201)
    r = api.upload_csv(KEY, "../../../../evil", b"a,b\n1,2\n", "../../../evil.csv")
    dataset = expect(r, 201)
    new = sorted(set(_tree(api)) - set(before))
    assert new, "the deploy and the upload wrote their files"
    for rel in new:
        path = (api.settings.home.parent / rel).resolve()
        assert path.is_relative_to(artifacts) or path.is_relative_to(data_root), f"{path} is outside the stores"
    expect(api.delete(f"{API}/datasets/{dataset['id']}"), 204)
    expect(api.delete(f"{API}/saved-models/{version['saved_model_id']}"), 204)
    for canary in world["canaries"]:
        assert canary.read_text() == "canary"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example.com",
        "127.0.0.1.evil.example.com",
        "localhost.evil.example.com",
        "evil.example.com:8000",
        "[::2]",
        "169.254.169.254",
        "",
        "localhost@evil.example.com",
        "xn--80ak6aa92e.com",
    ],
)
def test_a_foreign_host_header_is_refused(module_api: Api, host: str) -> None:
    for path in ("/healthz", f"{API}/projects", "/login", "/openapi.json"):
        r = module_api.client.get(path, headers={**module_api.headers(), "host": host})
        body = expect_error(r, 400, "bad_host")
        assert "FITSTUDIO_ALLOWED_HOSTS" in body["detail"]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "localhost:8000", "127.0.0.1:8080", "testserver"])
def test_allowed_hosts_are_served(module_api: Api, host: str) -> None:
    r = module_api.client.get(f"{API}/projects", headers={**module_api.headers(), "host": host})
    assert r.status_code == 200, r.text


def test_the_service_never_fetches_a_url() -> None:
    """No module of the API or the web UI imports an HTTP client or opens outbound connections."""
    fetching = re.compile(
        r"^\s*(import|from)\s+(httpx|requests|aiohttp|urllib3|pycurl|http\.client|urllib\.request)\b"
        r"|urlopen\(|urlretrieve\(|create_connection\(|socket\.socket\(",
        re.MULTILINE,
    )
    found = []
    for folder in ("server", "webui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for match in fetching.finditer(path.read_text()):
                found.append(f"{path.relative_to(ROOT)}: {match.group(0).strip()}")
    assert not found, found
