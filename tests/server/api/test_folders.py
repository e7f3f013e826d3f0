"""Managed folders and the weights store through HTTP (data.md "Managed folders and pre-trained weights")."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api import support
from tests.server.api.support import API, expect, expect_error


def _folder(api: Any, project: str, name: str = "resnet_weights", token: str | None = None) -> dict[str, Any]:
    return expect(api.post(f"{API}/projects/{project}/folders", json={"name": name}, token=token), 201)


def _put(api: Any, folder_id: int, path: str, content: bytes, token: str | None = None) -> Any:
    return api.client.put(
        f"{API}/folders/{folder_id}/files/{path}",
        content=content,
        headers={**api.headers(token), "content-type": "application/octet-stream"},
    )


def test_create_list_get_folder(api: Any, project: str) -> None:
    created = _folder(api, project)
    assert created["name"] == "resnet_weights" and isinstance(created["id"], int)
    listed = expect(api.get(f"{API}/projects/{project}/folders"), 200)
    assert [(f["id"], f["name"]) for f in listed] == [(created["id"], "resnet_weights")]
    body = expect(api.get(f"{API}/folders/{created['id']}"), 200)
    assert body["id"] == created["id"] and body["name"] == "resnet_weights" and body["files"] == []


def test_upload_list_download_delete_a_file(api: Any, project: str) -> None:
    folder = _folder(api, project)["id"]
    payload = bytes(range(256)) * 1000
    body = expect(_put(api, folder, "sub/dir/model.h5", payload), 201)
    assert body["path"] == "sub/dir/model.h5" and body["size"] == len(payload)
    expect(_put(api, folder, "vocab.txt", b"a\nb\n"), 201)
    files = expect(api.get(f"{API}/folders/{folder}"), 200)["files"]
    assert [(f["path"], f["size"]) for f in files] == [("sub/dir/model.h5", len(payload)), ("vocab.txt", 4)]
    assert all(f["modified_at"] for f in files)
    r = api.get(f"{API}/folders/{folder}/files/sub/dir/model.h5")
    assert r.status_code == 200 and r.content == payload
    expect(_put(api, folder, "vocab.txt", b"replaced"), 201)
    assert api.get(f"{API}/folders/{folder}/files/vocab.txt").content == b"replaced"
    assert api.delete(f"{API}/folders/{folder}/files/sub/dir/model.h5").status_code == 204
    assert [f["path"] for f in expect(api.get(f"{API}/folders/{folder}"), 200)["files"]] == ["vocab.txt"]
    expect_error(api.get(f"{API}/folders/{folder}/files/sub/dir/model.h5"), 404, "not_found")
    expect_error(api.delete(f"{API}/folders/{folder}/files/sub/dir/model.h5"), 404, "not_found")


def test_paths_are_normalized(api: Any, project: str) -> None:
    folder = _folder(api, project)["id"]
    assert expect(_put(api, folder, "a//./b.txt", b"x"), 201)["path"] == "a/b.txt"
    assert api.get(f"{API}/folders/{folder}/files/a/./b.txt").content == b"x"


@pytest.mark.parametrize(
    "path",
    ["%2e%2e/escape.txt", "a/%2e%2e/%2e%2e/escape.txt", "%2Fetc%2Fpasswd", "a%5Cb.txt", ".", "a/%2e%2e"],
    ids=["dotdot", "nested-dotdot", "absolute", "backslash", "dot", "trailing-dotdot"],
)
def test_bad_paths_are_refused(api: Any, project: str, path: str) -> None:
    folder = _folder(api, project)["id"]
    r = _put(api, folder, path, b"x")
    assert r.status_code in (404, 422), r.text
    if r.status_code == 422:
        assert r.json()["code"] == "bad_path"
    assert api.get(f"{API}/folders/{folder}/files/{path}").status_code in (404, 422)
    assert expect(api.get(f"{API}/folders/{folder}"), 200)["files"] == []
    assert not list((api.settings.data_root / "projects").rglob("escape.txt"))


def test_nul_in_path_is_refused(api: Any, project: str) -> None:
    folder = _folder(api, project)["id"]
    assert _put(api, folder, "a%00b", b"x").status_code == 404
    assert expect(api.get(f"{API}/folders/{folder}"), 200)["files"] == []


def test_file_and_folder_paths_do_not_collide(api: Any, project: str) -> None:
    folder = _folder(api, project)["id"]
    expect(_put(api, folder, "a/b.txt", b"x"), 201)
    expect_error(_put(api, folder, "a", b"x"), 409, "path_is_folder")
    expect_error(_put(api, folder, "a/b.txt/c", b"x"), 409, "path_under_file")


def test_upload_over_the_limit_is_413_and_keeps_nothing(api: Any, project: str, monkeypatch: Any) -> None:
    from server.settings import get_settings

    folder = _folder(api, project)["id"]
    monkeypatch.setattr(get_settings(), "max_upload_mb", 1)

    def chunks() -> Any:
        for _ in range(3):
            yield b"x" * (1 << 20)

    r = api.client.put(f"{API}/folders/{folder}/files/big.bin", content=chunks(), headers=api.headers())
    expect_error(r, 413, "too_large")
    declared = _put(api, folder, "big.bin", b"x" * ((1 << 20) + 1))
    expect_error(declared, 413, "too_large")
    assert expect(api.get(f"{API}/folders/{folder}"), 200)["files"] == []


def test_duplicate_and_bad_names(api: Any, project: str) -> None:
    _folder(api, project, "w")
    expect_error(api.post(f"{API}/projects/{project}/folders", json={"name": "w"}), 409, "folder_exists")
    for bad in ("", "a/b", "123", "x" * 201, "tab\there"):
        r = api.post(f"{API}/projects/{project}/folders", json={"name": bad})
        assert r.status_code == 422, (bad, r.text)
    support.create_project(api, "OTHER")
    _folder(api, "OTHER", "w")  # the same name in another project is fine


def test_delete_folder_removes_its_files(api: Any, project: str) -> None:
    folder = _folder(api, project)["id"]
    expect(_put(api, folder, "f.bin", b"x"), 201)
    assert api.delete(f"{API}/folders/{folder}").status_code == 204
    expect_error(api.get(f"{API}/folders/{folder}"), 404, "not_found")
    assert not (api.settings.data_root / "projects" / project / "folders" / str(folder)).exists()


def test_readers_list_and_download_writers_upload_and_delete(api: Any, project: str) -> None:
    folder = _folder(api, project)["id"]
    expect(_put(api, folder, "f.bin", b"data"), 201)
    reader = api.user("rita", project, "reader")
    writer = api.user("will", project, "writer")
    assert [f["id"] for f in expect(api.get(f"{API}/projects/{project}/folders", token=reader), 200)] == [folder]
    assert expect(api.get(f"{API}/folders/{folder}", token=reader), 200)["files"][0]["path"] == "f.bin"
    assert api.get(f"{API}/folders/{folder}/files/f.bin", token=reader).content == b"data"
    expect_error(_put(api, folder, "g.bin", b"x", token=reader), 403, "forbidden")
    expect_error(api.delete(f"{API}/folders/{folder}/files/f.bin", token=reader), 403, "forbidden")
    expect_error(api.post(f"{API}/projects/{project}/folders", json={"name": "r"}, token=reader), 403, "forbidden")
    expect_error(api.delete(f"{API}/folders/{folder}", token=reader), 403, "forbidden")
    expect(_put(api, folder, "g.bin", b"x", token=writer), 201)
    assert api.delete(f"{API}/folders/{folder}/files/g.bin", token=writer).status_code == 204
    _folder(api, project, "by_writer", token=writer)


def test_outsiders_see_404_and_anonymous_401(api: Any, project: str) -> None:
    folder = _folder(api, project)["id"]
    expect(_put(api, folder, "f.bin", b"data"), 201)
    outsider = api.user("olga")
    for r in (
        api.get(f"{API}/projects/{project}/folders", token=outsider),
        api.get(f"{API}/folders/{folder}", token=outsider),
        api.get(f"{API}/folders/{folder}/files/f.bin", token=outsider),
        _put(api, folder, "g.bin", b"x", token=outsider),
        api.delete(f"{API}/folders/{folder}/files/f.bin", token=outsider),
        api.delete(f"{API}/folders/{folder}", token=outsider),
    ):
        expect_error(r, 404, "not_found")
    expect_error(api.client.get(f"{API}/folders/{folder}"), 401)
    expect_error(api.client.put(f"{API}/folders/{folder}/files/x", content=b"x"), 401)
    expect_error(api.get(f"{API}/folders/999999"), 404, "not_found")
    expect_error(api.get(f"{API}/folders/abc"), 404, "not_found")


def test_services_work_without_http(api: Any, project: str, tmp_path: Any) -> None:
    from server.db import session_scope
    from server.services import access, auth, folders

    with session_scope() as db:
        user = auth.get_user(db, "owner")
        proj = access.project(db, user, project, "writer")
        folder = folders.create(db, api.settings, proj, user, "svc")
        src = tmp_path / "upload"
        src.write_bytes(b"abc")
        folders.put_file(db, api.settings, folder, user, "x/y.txt", src)
        assert [f["path"] for f in folders.list_files(api.settings, folder)] == ["x/y.txt"]
        assert folders.file_path(api.settings, folder, "x/y.txt").read_bytes() == b"abc"
        seen = folders.visible_to(db, api.settings, user)
        assert [(f["name"], f["project_key"]) for f in seen] == [("svc", project)]


# --- the weights store ---------------------------------------------------------------------------------------------


def _site_admin(api: Any) -> str:
    from server.db import session_scope
    from server.services import auth

    with session_scope() as db:
        admin = auth.create_user(db, "root_admin", password="pw-root", is_admin=True)
        return auth.create_token(db, admin, "test")


def test_weights_store_site_admins_upload_everyone_lists(api: Any) -> None:
    admin = _site_admin(api)
    name = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    r = api.client.put(f"{API}/weights/{name}", content=b"HDF", headers=api.headers(admin))
    assert expect(r, 201)["name"] == name
    assert (api.settings.weights_store / name).read_bytes() == b"HDF"
    assert [w["name"] for w in expect(api.get(f"{API}/weights"), 200)] == [name]
    expect_error(api.client.put(f"{API}/weights/other.h5", content=b"x", headers=api.headers()), 403, "forbidden")
    expect_error(api.delete(f"{API}/weights/{name}"), 403, "forbidden")
    expect_error(api.client.put(f"{API}/weights/.hidden", content=b"x", headers=api.headers(admin)), 422, "bad_name")
    assert api.delete(f"{API}/weights/{name}", token=admin).status_code == 204
    assert expect(api.get(f"{API}/weights"), 200) == []


def test_cli_weights_import_copies_files_into_the_store(api: Any, tmp_path: Any, capsys: Any) -> None:
    from fitstudio.cli import main

    a = tmp_path / "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5"
    a.write_bytes(b"one")
    b = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    b.write_bytes(b"two")
    assert main(["weights", "import", str(a), str(b)]) == 0
    assert (api.settings.weights_store / a.name).read_bytes() == b"one"
    assert (api.settings.weights_store / b.name).stat().st_mode & 0o777 == 0o644
    assert a.name in capsys.readouterr().out
    assert main(["weights", "import", str(tmp_path / "missing.h5")]) != 0


def test_deleting_the_project_deletes_its_folders(api: Any, project: str) -> None:
    folder = _folder(api, project)["id"]
    expect(_put(api, folder, "f.bin", b"x"), 201)
    assert api.delete(f"{API}/projects/{project}").status_code == 204
    support.create_project(api, project)
    expect_error(api.get(f"{API}/folders/{folder}"), 404, "not_found")
    assert expect(api.get(f"{API}/projects/{project}/folders"), 200) == []
    assert not (api.settings.data_root / "projects" / project / "folders").exists()
