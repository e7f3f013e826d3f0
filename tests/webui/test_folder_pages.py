"""The folder pages and the weights admin page, server-side: create, list on the project page, upload (the same
request the page's script sends), delete; roles; the weights store for site admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import Api
from tests.webui.conftest import Web, location


def test_project_page_lists_folders_and_the_folder_page_uploads_lists_deletes(web: Web) -> None:
    assert location(web.post("/projects", {"key": "P1", "name": "First"})) == "/projects/P1"
    assert 'action="/projects/P1/folders"' in web.get("/projects/P1").text
    folder_url = location(web.post("/projects/P1/folders", {"name": "resnet_weights"}))
    folder_id = int(folder_url.rsplit("/", 1)[1])
    assert f'href="/folders/{folder_id}"' in web.get("/projects/P1").text
    page = web.get(folder_url)
    assert page.status_code == 200 and "No files yet" in page.text
    assert 'data-method="PUT"' in page.text and "/static/js/upload.js" in page.text and 'class="progress"' in page.text
    # What upload.js sends: the file as the body of a PUT, with the session cookie and the CSRF header.
    r = web.client.put(
        f"/api/v1/folders/{folder_id}/files/sub/model.h5", content=b"weights", headers={"x-csrf-token": web.csrf}
    )
    assert r.status_code == 201, r.text
    assert web.client.put(f"/api/v1/folders/{folder_id}/files/x.bin", content=b"x").status_code == 403  # no CSRF
    page = web.get(folder_url).text
    assert "sub/model.h5" in page and "dataiku.Folder(&#34;resnet_weights&#34;).get_path()" in page
    assert location(web.post(f"/folders/{folder_id}/delete-file", {"path": "sub/model.h5"})) == folder_url
    assert "No files yet" in web.get(folder_url).text
    assert location(web.post(f"/folders/{folder_id}/delete", {})) == "/projects/P1#folders"
    assert web.get(folder_url).status_code == 404


def test_bad_folder_name_shows_the_error_on_the_project_page(web: Web) -> None:
    location(web.post("/projects", {"key": "P1", "name": "First"}))
    r = web.post("/projects/P1/folders", {"name": "a/b"})
    assert r.status_code == 422 and "without" in r.text


def test_readers_see_the_folder_without_upload_or_delete(web: Web, api: Api) -> None:
    location(web.post("/projects", {"key": "P1", "name": "First"}))
    folder_id = int(location(web.post("/projects/P1/folders", {"name": "w"})).rsplit("/", 1)[1])
    api.user("rita", "P1", "reader")  # password "pw-rita"
    reader = Web(TestClient(api.client.app, raise_server_exceptions=False), api)
    reader.login("rita", "pw-rita")
    page = reader.get(f"/folders/{folder_id}")
    assert page.status_code == 200 and 'id="upload-form"' not in page.text and "Delete this folder" not in page.text
    assert reader.post(f"/folders/{folder_id}/delete", {}).status_code == 403
    assert 'action="/projects/P1/folders"' not in reader.get("/projects/P1").text


def test_weights_page_is_for_site_admins(web: Web, api: Api) -> None:
    assert web.get("/admin/weights").status_code == 403
    assert 'href="/admin/weights"' not in web.get("/").text
    from server.db import session_scope
    from server.services import auth

    with session_scope() as db:
        auth.create_user(db, "root_admin", password="root-pw", is_admin=True)
    admin = Web(TestClient(api.client.app, raise_server_exceptions=False), api)
    admin.login("root_admin", "root-pw")
    assert 'href="/admin/weights"' in admin.get("/").text
    page = admin.get("/admin/weights")
    assert page.status_code == 200 and "The store is empty" in page.text and 'data-url="/api/v1/weights"' in page.text
    name = "resnet50_weights_tf_dim_ordering_tf_kernels.h5"
    r = admin.client.put(f"/api/v1/weights/{name}", content=b"HDF", headers={"x-csrf-token": admin.csrf})
    assert r.status_code == 201, r.text
    assert name in admin.get("/admin/weights").text
    assert location(admin.post("/admin/weights/delete", {"name": name})) == "/admin/weights"
    assert "The store is empty" in admin.get("/admin/weights").text
