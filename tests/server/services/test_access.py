"""The permission rules the pages and the API share: role ranks, a project's rights, design actions, site admins."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from server.errors import ApiError
from server.services import access


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (None, "reader", False),
        ("reader", "reader", True),
        ("reader", "writer", False),
        ("writer", "writer", True),
        ("writer", "admin", False),
        ("admin", "writer", True),
        ("admin", "admin", True),
    ],
)
def test_a_role_allows_what_its_rank_reaches(role: str | None, needed: str, allowed: bool) -> None:
    assert access.allows(role, needed) is allowed


def test_rights_say_who_writes_and_who_administers() -> None:
    assert not access.Rights(None).can_write and not access.Rights(None).is_admin
    assert not access.Rights("reader").can_write
    assert access.Rights("writer").can_write and not access.Rights("writer").is_admin
    assert access.Rights("admin").can_write and access.Rights("admin").is_admin


def test_the_design_actions_that_change_something_need_a_writer() -> None:
    assert [access.design_action_role(a) for a in ("save", "dry_run", "train")] == ["writer"] * 3
    assert [access.design_action_role(a) for a in ("validate", "inputs", "nonsense")] == ["reader"] * 3


def test_only_site_admins_pass_the_site_admin_check() -> None:
    access.require_site_admin(SimpleNamespace(is_admin=True), "manage the weights store")  # type: ignore[arg-type]
    with pytest.raises(ApiError) as caught:
        access.require_site_admin(SimpleNamespace(is_admin=False), "manage the weights store")  # type: ignore[arg-type]
    assert caught.value.status == 403 and caught.value.detail == "Only site admins manage the weights store."
