"""server/services/ids.py: project keys, short ids, trained model ids, session references."""

from __future__ import annotations

import pytest

from server.services import ids


@pytest.mark.parametrize("key", ["AB", "P1", "MY_PROJECT", "A" + "B" * 31, "X_", "A0_9Z"])
def test_valid_project_keys(key: str) -> None:
    assert ids.is_project_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "A",  # too short: 2 characters at least
        "A" + "B" * 32,  # 33 characters: too long
        "ab",  # lower case
        "Ab",
        "1AB",  # must start with a letter
        "_AB",
        "A-B",
        "A B",
        "ÄB",
        "AB\n",  # a trailing newline is not part of a key
        "\nAB",
    ],
)
def test_invalid_project_keys(key: str) -> None:
    assert not ids.is_project_key(key)


def test_short_id_format_and_randomness() -> None:
    made = {ids.short_id() for _ in range(200)}
    assert len(made) == 200
    for value in made:
        assert len(value) == 8
        assert value.isascii() and value.isalnum()
        assert ids.SHORT_ID_RE.match(value)


@pytest.mark.parametrize("value", ["abcdefg", "abcdefghi", "abcd-fgh", "abcdefgh\n", ""])
def test_short_id_regex_rejects(value: str) -> None:
    assert not ids.SHORT_ID_RE.match(value)


def test_trained_model_id_format() -> None:
    tmid = ids.trained_model_id("CHURN", "aB3dE5gH", "Zz9yY8xX", 3)
    assert tmid == "A-CHURN-aB3dE5gH-Zz9yY8xX-s3-pp1-m1"


@pytest.mark.parametrize("project", ["AB", "MY_PROJ_2", "A" + "Z" * 31])
@pytest.mark.parametrize("number", [1, 9, 10, 12345])
def test_trained_model_id_round_trip(project: str, number: int) -> None:
    analysis, mltask = ids.short_id(), ids.short_id()
    tmid = ids.trained_model_id(project, analysis, mltask, number)
    assert ids.parse_trained_model_id(tmid) == {
        "project": project,
        "analysis": analysis,
        "mltask": mltask,
        "session": str(number),
    }


@pytest.mark.parametrize(
    "tmid",
    [
        "",
        "A-CHURN-aB3dE5gH-Zz9yY8xX-s3",  # no -pp1-m1
        "A-CHURN-aB3dE5gH-Zz9yY8xX-s3-pp1-m2",
        "B-CHURN-aB3dE5gH-Zz9yY8xX-s3-pp1-m1",
        "A-churn-aB3dE5gH-Zz9yY8xX-s3-pp1-m1",  # lower-case project
        "A-CHURN-aB3dE5g-Zz9yY8xX-s3-pp1-m1",  # 7-char analysis
        "A-CHURN-aB3dE5gH-Zz9yY8xX-sx-pp1-m1",
        "A-CHURN-aB3dE5gH-Zz9yY8xX-3-pp1-m1",
        "A-CHURN-aB3dE5gH-Zz9yY8xX-s3-pp1-m1\n",
        "xA-CHURN-aB3dE5gH-Zz9yY8xX-s3-pp1-m1",
    ],
)
def test_parse_trained_model_id_rejects(tmid: str) -> None:
    assert ids.parse_trained_model_id(tmid) is None


@pytest.mark.parametrize(("ref", "number"), [(3, 3), ("3", 3), ("s3", 3), ("S3", 3), (" s12 ", 12), ("007", 7)])
def test_parse_session_ref(ref: str | int, number: int) -> None:
    assert ids.parse_session_ref(ref) == number


@pytest.mark.parametrize("ref", [0, -1, "0", "s0", "s", "", "x3", "s-1", "3.0", 3.0, "s 3", "ss3", True, None, "3s"])
def test_parse_session_ref_rejects(ref: object) -> None:
    with pytest.raises(ValueError):
        ids.parse_session_ref(ref)  # type: ignore[arg-type]


def test_version_id_regex() -> None:
    assert ids.VERSION_ID_RE.match("v1")
    assert ids.VERSION_ID_RE.match("prod-2024.01_a")
    assert not ids.VERSION_ID_RE.match("-v1")
    assert not ids.VERSION_ID_RE.match("../v1")
    assert not ids.VERSION_ID_RE.match("v1/../x")
    assert not ids.VERSION_ID_RE.match("v1\n")
