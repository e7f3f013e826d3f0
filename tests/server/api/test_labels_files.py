"""Image archives labelled by a table under another name than index.csv, as Kaggle publishes them: `labels.csv`
naming images by id (dog breeds), `train.csv` by file name (aerial cactus), a metadata file beside folders that are
not classes (HAM10000)."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.security.support import png_bytes, zip_bytes
from tests.server.api.support import API, expect, expect_error

BREEDS = {f"{0x000BEC180EB18C7604DCECC8FE0DBA07 + 7919 * n:032x}": ("boston_bull", "dingo")[n % 2] for n in range(24)}
TEST_IDS = ["00a3edd22dc7859c487a64777fc8d093", "00a6892e5c7f92c1f465e213fd904582"]


def _send(api: Any, project: str, name: str, archive: bytes, **fields: str) -> Any:
    return api.post(
        f"{API}/projects/{project}/datasets",
        data={"name": name, **fields},
        files={"file": (f"{name}.zip", io.BytesIO(archive), "application/zip")},
    )


def _rows(api: Any, ds: dict[str, Any]) -> list[list[Any]]:
    return expect(api.get(f"{API}/datasets/{ds['id']}/preview?limit=50"), 200)["rows"]


def _dog_breeds() -> dict[str, bytes]:
    """Kaggle's dog-breed-identification download: ids without an extension, train/ and test/ folders."""
    labels = "id,breed\n" + "".join(f"{i},{b}\n" for i, b in BREEDS.items())
    submission = "id,boston_bull,dingo\n" + "".join(f"{i},0.5,0.5\n" for i in TEST_IDS)
    return {
        "labels.csv": labels.encode(),
        "sample_submission.csv": submission.encode(),
        **{f"train/{i}.jpg": png_bytes() for i in BREEDS},
        **{f"test/{i}.jpg": png_bytes() for i in TEST_IDS},
    }


def test_a_labels_file_naming_images_by_id_labels_them(api: Any, project: str) -> None:
    ds = expect(_send(api, project, "breeds", zip_bytes(_dog_breeds())), 201)
    assert ds["kind"] == "images" and ds["n_rows"] == 24
    assert {c["name"]: c["type"] for c in ds["columns"]} == {
        "id": "categorical",
        "breed": "categorical",
        "image": "image",
    }
    assert sorted(_rows(api, ds)) == [[i, b, f"train/{i}.jpg"] for i, b in sorted(BREEDS.items())]
    assert ds["source"] == {"labels_file": "labels.csv"}
    api.client.get(f"/login?token={api.token}")
    page = api.client.get(f"/datasets/{ds['id']}").text  # the gallery captions the breed, not the id
    first = next(iter(BREEDS))
    assert f'<figcaption title="train/{first}.jpg">boston_bull</figcaption>' in page
    files = api.settings.data_root / "projects" / project / "datasets" / str(ds["id"]) / "files"
    assert sorted(p.name for p in files.rglob("*.jpg")) == sorted(f"{i}.jpg" for i in BREEDS)  # not the test ones
    # the test images, by the table that names them
    scored = expect(_send(api, project, "to-score", zip_bytes(_dog_breeds()), member="sample_submission.csv"), 201)
    assert sorted(r[-1] for r in _rows(api, scored)) == [f"test/{i}.jpg" for i in TEST_IDS]


def test_a_train_csv_naming_images_by_file_name_in_a_folder(api: Any, project: str) -> None:
    names = ["0004be2cfeaba1c0361d39e2b000257b.jpg", "000c8a36845c0208e833c79c1bffedd1.jpg"]
    entries = {
        "train.csv": ("id,has_cactus\n" + f"{names[0]},1\n{names[1]},0\n").encode(),
        **{f"train/train/{n}": png_bytes() for n in names},
    }
    ds = expect(_send(api, project, "cactus", zip_bytes(entries)), 201)
    assert _rows(api, ds) == [[names[0], 1, f"train/train/{names[0]}"], [names[1], 0, f"train/train/{names[1]}"]]


def test_a_metadata_file_wins_over_folders_that_are_not_classes(api: Any, project: str) -> None:
    meta = "lesion_id,image_id,dx,age\nHAM_0000118,ISIC_0027419,bkl,80\nHAM_0002730,ISIC_0025030,nv,75\n"
    entries = {
        "HAM10000_metadata.csv": meta.encode(),
        "HAM10000_images_part_1/ISIC_0027419.jpg": png_bytes(),
        "HAM10000_images_part_2/ISIC_0025030.jpg": png_bytes(),
    }
    ds = expect(_send(api, project, "ham", zip_bytes(entries)), 201)
    rows = _rows(api, ds)
    assert [r[2] for r in rows] == ["bkl", "nv"]  # labelled by dx, not by the folder an image happens to be in
    assert rows[0][-2:] == ["HAM10000_images_part_1/ISIC_0027419.jpg", "HAM10000_images_part_1"]  # image, folder


def test_a_table_naming_images_in_class_folders_keeps_the_folders(api: Any, project: str) -> None:
    entries = {"cat/a.png": png_bytes(), "dog/b.png": png_bytes(), "sizes.csv": b"file,width\na.png,4\nb.png,4\n"}
    ds = expect(_send(api, project, "sized", zip_bytes(entries)), 201)
    assert _rows(api, ds) == [["a.png", 4, "cat/a.png", "cat"], ["b.png", 4, "dog/b.png", "dog"]]
    assert [c["name"] for c in ds["columns"]] == ["file", "width", "image", "folder"]


def test_class_folders_stay_when_no_table_names_the_images(api: Any, project: str) -> None:
    entries = {"cat/a.png": png_bytes(), "dog/b.png": png_bytes(), "README.csv": b"author,licence\nme,CC-BY\n"}
    ds = expect(_send(api, project, "pets", zip_bytes(entries)), 201)
    assert sorted(_rows(api, ds)) == [["cat/a.png", "cat"], ["dog/b.png", "dog"]] and ds["source"] is None


def test_two_tables_naming_the_images_ask_which_and_a_bad_member_is_named(api: Any, project: str) -> None:
    entries = _dog_breeds()
    entries["labels_v2.csv"] = entries["labels.csv"]
    body = expect_error(_send(api, project, "two", zip_bytes(entries)), 422, "several_tables")
    assert "labels.csv, labels_v2.csv" in body["detail"] and "`member`" in body["detail"]
    body = expect_error(_send(api, project, "bad", zip_bytes(entries), member="nope.csv"), 422, "bad_member")
    assert "labels.csv" in body["detail"]
    ambiguous = {**_dog_breeds(), f"test/{next(iter(BREEDS))}.jpg": png_bytes()}  # one id in train/ and test/
    body = expect_error(_send(api, project, "amb", zip_bytes(ambiguous), member="labels.csv"), 422, "bad_archive")
    assert "which names 2 files" in body["detail"]


def test_an_index_csv_still_needs_no_guess(api: Any, project: str) -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("index.csv", "file,label\nimg/a.png,x\nb.png,y\n")  # b.png by its file name, in img/
        out.writestr("img/a.png", png_bytes())
        out.writestr("img/b.png", png_bytes())
        out.writestr("labels.csv", "file,label\nimg/a.png,z\n")
    ds = expect(_send(api, project, "idx", archive.getvalue()), 201)
    assert _rows(api, ds) == [["img/a.png", "x", "img/a.png"], ["b.png", "y", "img/b.png"]]
    assert ds["source"] is None


def test_an_index_of_paths_on_the_machine_that_wrote_it_finds_the_images(api: Any, project: str) -> None:
    index = "path;label\r\nC:\\Users\\ana\\Pictures\\cat\\1.jpg;cat\r\n/home/ana/photos/dog/1.jpg;dog\r\n"
    entries = {"index.csv": index.encode(), "cat/1.jpg": png_bytes(), "dog/1.jpg": png_bytes()}
    ds = expect(_send(api, project, "abs", zip_bytes(entries)), 201)
    assert [r[1:] for r in _rows(api, ds)] == [["cat", "cat/1.jpg"], ["dog", "dog/1.jpg"]]
    outside = {"index.csv": b"path,label\n/etc/passwd.png,a\n", "a.png": png_bytes()}
    body = expect_error(_send(api, project, "etc", zip_bytes(outside)), 422, "bad_archive")
    assert "'/etc/passwd.png', which is not in the archive" in body["detail"]
    online = {"index.csv": b"url,label\nhttps://images.example.com/cats/a.png,a\n", "b.png": png_bytes()}
    body = expect_error(_send(api, project, "web", zip_bytes(online)), 422, "bad_archive")
    assert "a web address: trainings have no network" in body["detail"]


def test_ids_in_train_and_test_folders_are_read_from_the_folder_the_table_names(api: Any, project: str) -> None:
    images = {f"{split}/{i}.png": png_bytes(3 + i, 3) for split in ("train", "test") for i in (1, 2, 3)}
    labels = b"id,label\n1,frog\n2,truck\n3,frog\n"  # Kaggle's CIFAR-10: trainLabels.csv, train/1.png, test/1.png
    ds = expect(_send(api, project, "cifar", zip_bytes({"trainLabels.csv": labels, **images})), 201)
    assert [r[1:] for r in _rows(api, ds)] == [
        ["frog", "train/1.png"],
        ["truck", "train/2.png"],
        ["frog", "train/3.png"],
    ]
    body = expect_error(_send(api, project, "which", zip_bytes({"labels.csv": labels, **images})), 422, "bad_archive")
    assert "labels.csv names '1', which names 2 files (train/1.png, test/1.png); give its path" in body["detail"]
