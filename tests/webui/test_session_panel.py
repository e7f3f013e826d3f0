"""The results page's session panel without a worker: a queued session's place in line and its phases."""

from __future__ import annotations

import re
from typing import Any

from tests.webui.conftest import Web, location
from webui.session_view import ordinal, waiting_text


def test_ordinals_and_the_waiting_line() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip
    assert waiting_text(3) == "queued — 3rd in line" and waiting_text(None) == "waiting for a worker…"


def test_a_queued_session_says_its_place_in_line_and_its_phase(web: Web, task: dict[str, Any]) -> None:
    pages = [location(web.post(f"/ml-tasks/{task['id']}/train")) for _ in range(3)]
    page = web.get(pages[2]).text
    assert re.search(r'id="session-worker">queued — 3rd in line</p>', page), page
    assert re.search(r'<li data-phase="queued"><b>queued</b> <span class="muted" data-seconds>\d+\.\ds</span>', page)
    assert re.search(r'id="progress-label" class="small">Queued…</span>', page)
    assert re.search(r'id="charts"[^>]*hidden', page)  # no epoch yet: no empty charts
    assert "queued — 1st in line" in web.get(pages[0]).text
