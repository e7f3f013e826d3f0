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
from sqlalchemy import ColumnElement, Row, Select, literal, tuple_
from sqlalchemy.orm import Session

from server.errors import ApiError
from server.services.ids import is_sql_int

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


def _sql_value(value: Any, column: ColumnElement[Any]) -> Any:
    """A cursor's VALUE as COLUMN's type binds it (400 bad_cursor when it cannot be one of COLUMN's values)."""
    kind = getattr(column.type, "impl_instance", column.type).python_type  # a TypeDecorator's: its impl's
    if isinstance(value, bool):
        raise _bad_cursor()
    if kind is datetime and isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)  # _plain wrote it as UTC seconds
        except (ValueError, OverflowError, OSError):
            raise _bad_cursor() from None
    if (kind is int and isinstance(value, int) and is_sql_int(value)) or (kind is str and isinstance(value, str)):
        return value
    raise _bad_cursor()


def sql_page(
    db: Session, query: Select[Any], columns: Sequence[ColumnElement[Any]], page: PageParams, descending: bool = False
) -> tuple[list[Row[Any]], str | None]:
    """keyset's page done in SQL: QUERY's rows ordered by COLUMNS (DESCENDING or not), after PAGE's cursor, at most
    PAGE.limit of them (LIMIT + 1 fetched to see whether more remain), and the next page's cursor. COLUMNS must end
    with a unique one (the id) so that ties on the others neither repeat nor skip rows; an index on them makes a
    page cost the same whatever the list's length. Cursors are keyset's: a list may move from one to the other."""
    keys = [c.label(f"_page_key_{i}") for i, c in enumerate(columns)]
    query = query.add_columns(*keys).order_by(*(c.desc() if descending else c.asc() for c in columns))
    if page.cursor is not None:
        after = decode_cursor(page.cursor)
        if len(after) != len(columns):  # a cursor of another list
            raise _bad_cursor()
        values = [literal(_sql_value(v, c), c.type) for v, c in zip(after, columns, strict=True)]
        left, right = (columns[0], values[0]) if len(columns) == 1 else (tuple_(*columns), tuple_(*values))
        query = query.where(left < right if descending else left > right)
    if page.limit is not None:
        query = query.limit(page.limit + 1)
    rows = list(db.execute(query).all())
    names = [k.name for k in keys]
    if page.limit is None:
        return rows, None
    return trim(rows, page.limit, lambda r: [r._mapping[n] for n in names])
