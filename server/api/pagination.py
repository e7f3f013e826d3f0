"""Pages of a list endpoint: optional `limit` and opaque `cursor`; the body stays the JSON array, the next page's
address goes in `Link: <…>; rel="next"` and `X-Next-Cursor` (docs/decisions.md)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query, Request, Response

from server.errors import ApiError

_T = TypeVar("_T")
MAX_LIMIT = 1000


@dataclass(frozen=True)
class PageParams:
    """What the caller asked for: LIMIT items (None: all of them) after CURSOR (None: from the start)."""

    limit: int | None
    cursor: str | None


def page_params(
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT, description="At most this many items (1…1000).")] = None,
    cursor: Annotated[str | None, Query(max_length=2000, description="X-Next-Cursor of the previous page.")] = None,
) -> PageParams:
    """The page parameters of a list route."""
    return PageParams(limit, cursor)


PageDep = Annotated[PageParams, Depends(page_params)]


def _plain(value: Any) -> Any:
    """A sort-key value as JSON can carry it, comparable with the others of its kind (datetimes as UTC seconds)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    return value


def _key_of(key: Callable[[_T], Sequence[Any]], item: _T) -> list[Any]:
    return [_plain(v) for v in key(item)]


def encode_cursor(values: list[Any]) -> str:
    """The opaque cursor of a sort key."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def _bad_cursor() -> ApiError:
    return ApiError(400, "bad_cursor", "The cursor is not one this list gave; start again without it.")


def decode_cursor(cursor: str) -> list[Any]:
    """The sort key in CURSOR; 400 bad_cursor when it is not one encode_cursor made."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # UnicodeDecodeError is a ValueError
        raise _bad_cursor() from None
    if not isinstance(values, list) or not values or not all(isinstance(v, str | int | float) for v in values):
        raise _bad_cursor()
    return values


def keyset(
    items: Sequence[_T], key: Callable[[_T], Sequence[Any]], page: PageParams, descending: bool = False
) -> tuple[list[_T], str | None]:
    """The page of ITEMS (ordered by KEY, DESCENDING or not) after the cursor, and the next page's cursor (None when
    none remain). A keyset, not an offset: items added or deleted meanwhile neither repeat nor skip the others."""
    if page.limit is None and page.cursor is None:
        return list(items), None  # no page asked for: the whole list, exactly as before pagination existed
    rows = sorted(items, key=lambda r: _key_of(key, r), reverse=descending)
    if page.cursor is not None:
        after = decode_cursor(page.cursor)
        if rows and len(after) != len(key(rows[0])):  # a cursor of another list
            raise _bad_cursor()
        try:
            rows = [r for r in rows if (_key_of(key, r) < after if descending else _key_of(key, r) > after)]
        except TypeError:  # a key of other types than this list's (a cursor of another list)
            raise _bad_cursor() from None
    if page.limit is None or len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, encode_cursor(_key_of(key, rows[-1]))


def paginate(
    request: Request,
    response: Response,
    items: Sequence[_T],
    page: PageParams,
    key: Callable[[_T], Sequence[Any]],
    descending: bool = False,
) -> list[_T]:
    """keyset's page of ITEMS, with the Link and X-Next-Cursor headers set on RESPONSE when more remain."""
    rows, next_cursor = keyset(items, key, page, descending)
    link_next(request, response, next_cursor)
    return rows


def link_next(request: Request, response: Response, next_cursor: str | None) -> None:
    """Point RESPONSE at the next page (this request with cursor NEXT_CURSOR), when there is one."""
    if next_cursor is not None:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'
        response.headers["X-Next-Cursor"] = next_cursor


def trim(rows: list[_T], limit: int, key: Callable[[_T], Sequence[Any]]) -> tuple[list[_T], str | None]:
    """A page of ROWS that a query fetched LIMIT + 1 of (in SQL, for lists too long to sort here), and its next
    cursor: KEY of the last row kept, when the extra row shows that more remain."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor(_key_of(key, rows[-1]))


def int_cursor(cursor: str | None) -> int | None:
    """The one integer a trim cursor of an id holds (400 bad_cursor for anything else)."""
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool):
        raise _bad_cursor()
    return values[0]
