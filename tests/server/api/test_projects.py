"""Projects and members through HTTP (api.md "Projects", "Auth", "Errors")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api import support
from tests.server.api.support import API, expect, expect_error, send_raw

# --- create --------------------------------------------------------------------------------------------------------


def test_create_project_returns_201_with_the_caller_as_owner_and_admin(api: Any) -> None:
    body = expect(api.post(f"{API}/projects", json={"key": "CHURN_2", "name": "Churn"}), 201)
    assert body["key"] == "CHURN_2"
    assert body["name"] == "Churn"
    assert body["owner"] == "owner"
    assert body["created_at"]
    assert body["members"] == [{"user": "owner", "role": "admin"}]


def test_get_project_returns_key_name_owner_created_at_and_members(api: Any, project: str) -> None:
    body = expect(api.get(f"{API}/projects/{project}"), 200)
    assert {"key", "name", "owner", "created_at", "members"} <= set(body)
    assert body["key"] == project
    assert body["name"] == "Demo project"
    assert body["owner"] == "owner"
    assert body["members"] == [{"user": "owner", "role": "admin"}]


def test_project_name_defaults_to_the_key_when_left_out(api: Any) -> None:
    body = expect(api.post(f"{API}/projects", json={"key": "NONAME"}), 201)
    assert body["name"] == "NONAME"


@pytest.mark.parametrize(
    "key",
    ["lower", "Mixed", "A", "1ABC", "_ABC", "AB-C", "AB C", "ÄBC", "A" * 33, "", "AB/C", "A" * 70],
    ids=[
        "lower",
        "mixed",
        "one-char",
        "digit-first",
        "underscore-first",
        "dash",
        "space",
        "non-ascii",
        "33-chars",
        "empty",
        "slash",
        "70-chars",
    ],
)
def test_invalid_project_key_is_422(api: Any, key: str) -> None:
    body = expect_error(api.post(f"{API}/projects", json={"key": key, "name": "x"}), 422)
    assert body["code"] in ("bad_key", "invalid_request")
    assert expect(api.get(f"{API}/projects"), 200) == []


@pytest.mark.parametrize("key", ["AB", "A" * 32, "A_1", "Z9"])
def test_valid_project_keys_at_the_edges_are_accepted(api: Any, key: str) -> None:
    assert expect(api.post(f"{API}/projects", json={"key": key, "name": "x"}), 201)["key"] == key


def test_duplicate_project_key_is_409(api: Any, project: str) -> None:
    body = expect_error(api.post(f"{API}/projects", json={"key": project, "name": "again"}), 409, "project_exists")
    assert project in body["detail"]


def test_duplicate_project_key_by_another_user_is_409_too(api: Any, project: str) -> None:
    other = api.user("eve")
    expect_error(api.post(f"{API}/projects", json={"key": project}, token=other), 409, "project_exists")


def test_create_project_without_key_is_422_naming_the_field(api: Any) -> None:
    body = expect_error(api.post(f"{API}/projects", json={"name": "no key"}), 422)
    assert any(e.get("field") == "key" for e in body["errors"])


def test_create_project_with_unknown_field_is_422(api: Any) -> None:
    expect_error(api.post(f"{API}/projects", json={"key": "EXTRA", "colour": "red"}), 422)


@pytest.mark.parametrize("payload", [b"[]", b'"DEMO"', b"42", b"null"], ids=["list", "string", "number", "null"])
def test_create_project_with_a_body_that_is_not_an_object_is_422(api: Any, payload: bytes) -> None:
    expect_error(send_raw(api, "POST", f"{API}/projects", payload), 422)


@pytest.mark.parametrize("payload", [b"{bad", b'{"key": "X",}', b"\xff\xfe", b'{"key": '], ids=str)
def test_create_project_with_malformed_json_is_400(api: Any, payload: bytes) -> None:
    expect_error(send_raw(api, "POST", f"{API}/projects", payload), 400)


def test_create_project_with_a_non_string_key_is_422(api: Any) -> None:
    expect_error(api.post(f"{API}/projects", json={"key": 12345, "name": "x"}), 422)


def test_name_longer_than_200_characters_is_422(api: Any) -> None:
    expect_error(api.post(f"{API}/projects", json={"key": "LONG", "name": "n" * 201}), 422)


# --- list / get ----------------------------------------------------------------------------------------------------


def test_list_projects_shows_only_projects_the_caller_is_a_member_of(api: Any, project: str) -> None:
    support.create_project(api, "SECOND")
    bob = api.user("bob")
    assert expect(api.get(f"{API}/projects", token=bob), 200) == []
    assert [p["key"] for p in expect(api.get(f"{API}/projects"), 200)] == ["DEMO", "SECOND"]
    api.put(f"{API}/projects/SECOND/members/bob", json={"role": "reader"})
    assert [p["key"] for p in expect(api.get(f"{API}/projects", token=bob), 200)] == ["SECOND"]


def test_get_unknown_project_is_404(api: Any) -> None:
    expect_error(api.get(f"{API}/projects/NOPE"), 404, "not_found")


def test_non_member_gets_the_same_404_as_for_a_project_that_does_not_exist(api: Any, project: str) -> None:
    outsider = api.user("mallory")
    existing = expect_error(api.get(f"{API}/projects/{project}", token=outsider), 404, "not_found")
    missing = expect_error(api.get(f"{API}/projects/NOPE", token=outsider), 404, "not_found")
    assert existing["detail"].replace(project, "KEY") == missing["detail"].replace("NOPE", "KEY")


# --- members -------------------------------------------------------------------------------------------------------


def test_put_member_adds_a_user_with_a_role(api: Any, project: str) -> None:
    api.user("bob")
    assert expect(api.put(f"{API}/projects/{project}/members/bob", json={"role": "writer"}), 200) == {
        "user": "bob",
        "role": "writer",
    }
    members = expect(api.get(f"{API}/projects/{project}"), 200)["members"]
    assert {"user": "bob", "role": "writer"} in members


def test_put_member_changes_an_existing_role_and_the_new_role_applies(api: Any, project: str, demo_csv: bytes) -> None:
    bob = api.user("bob", project, "writer")
    expect(api.put(f"{API}/projects/{project}/members/bob", json={"role": "reader"}), 200)
    assert {"user": "bob", "role": "reader"} in expect(api.get(f"{API}/projects/{project}"), 200)["members"]
    expect_error(api.upload_csv(project, "x", demo_csv, token=bob), 403, "forbidden")


def test_a_second_admin_can_manage_members(api: Any, project: str) -> None:
    admin2 = api.user("ada", project, "admin")
    api.user("bob")
    expect(api.put(f"{API}/projects/{project}/members/bob", json={"role": "reader"}, token=admin2), 200)


def test_put_member_for_an_unknown_user_is_404(api: Any, project: str) -> None:
    expect_error(api.put(f"{API}/projects/{project}/members/ghost", json={"role": "reader"}), 404, "not_found")


@pytest.mark.parametrize("role", ["owner", "READER", "", None, 3])
def test_put_member_with_an_invalid_role_is_422(api: Any, project: str, role: Any) -> None:
    api.user("bob")
    expect_error(api.put(f"{API}/projects/{project}/members/bob", json={"role": role}), 422)


def test_put_member_without_role_is_422(api: Any, project: str) -> None:
    api.user("bob")
    body = expect_error(api.put(f"{API}/projects/{project}/members/bob", json={}), 422)
    assert any(e.get("field") == "role" for e in body["errors"])


def test_put_member_with_malformed_json_is_400(api: Any, project: str) -> None:
    api.user("bob")
    expect_error(send_raw(api, "PUT", f"{API}/projects/{project}/members/bob", b"{role: reader}"), 400)


def test_demoting_the_last_admin_is_409(api: Any, project: str) -> None:
    expect_error(api.put(f"{API}/projects/{project}/members/owner", json={"role": "writer"}), 409, "last_admin")
    assert expect(api.get(f"{API}/projects/{project}"), 200)["members"] == [{"user": "owner", "role": "admin"}]


def test_an_admin_can_step_down_when_another_admin_remains(api: Any, project: str) -> None:
    api.user("ada", project, "admin")
    expect(api.put(f"{API}/projects/{project}/members/owner", json={"role": "reader"}), 200)
    expect_error(api.put(f"{API}/projects/{project}/members/ada", json={"role": "reader"}), 403, "forbidden")


def test_put_member_on_an_unknown_project_is_404(api: Any) -> None:
    api.user("bob")
    expect_error(api.put(f"{API}/projects/NOPE/members/bob", json={"role": "reader"}), 404, "not_found")


# --- delete --------------------------------------------------------------------------------------------------------


def test_delete_project_is_204_and_then_the_project_and_its_resources_are_404(
    api: Any, project: str, analysis: dict[str, Any]
) -> None:
    dataset_id = analysis["dataset_id"]
    folder = api.settings.data_root / "projects" / project
    r = api.delete(f"{API}/projects/{project}")
    assert r.status_code == 204, r.text
    assert r.content == b""
    expect_error(api.get(f"{API}/projects/{project}"), 404, "not_found")
    expect_error(api.get(f"{API}/datasets/{dataset_id}"), 404, "not_found")
    expect_error(api.get(f"{API}/analyses/{analysis['id']}"), 404, "not_found")
    assert expect(api.get(f"{API}/projects"), 200) == []
    assert not folder.exists()


def test_a_deleted_project_key_can_be_reused(api: Any, project: str) -> None:
    assert api.delete(f"{API}/projects/{project}").status_code == 204
    support.create_project(api, project)


def test_delete_project_while_a_session_is_queued_is_409_until_it_is_aborted(
    api: Any, project: str, ml_task: dict[str, Any]
) -> None:
    session = support.train(api, ml_task["id"])
    expect_error(api.delete(f"{API}/projects/{project}"), 409, "session_running")
    expect(api.get(f"{API}/projects/{project}"), 200)
    expect(api.post(f"{API}/sessions/{session['id']}/abort"), 202)
    assert api.delete(f"{API}/projects/{project}").status_code == 204


def test_delete_unknown_project_is_404(api: Any) -> None:
    expect_error(api.delete(f"{API}/projects/NOPE"), 404, "not_found")


def test_delete_project_by_a_writer_is_403_and_keeps_it(api: Any, project: str) -> None:
    writer = api.user("wendy", project, "writer")
    expect_error(api.delete(f"{API}/projects/{project}", token=writer), 403, "forbidden")
    expect(api.get(f"{API}/projects/{project}"), 200)
