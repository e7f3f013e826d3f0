"""The reading options of a CSV upload, given as multipart fields (data.md "Reading a table"): validated (422
bad_reading_option naming the field) and normalised; csv_source detects the ones not given."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from server.errors import invalid

DELIMITERS = {",": ",", ";": ";", "\t": "\t", "tab": "\t", "\\t": "\t", "|": "|", "whitespace": "whitespace"}
QUOTES = {'"': '"', "'": "'", "none": None, "": None}
BOOLEANS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
THOUSANDS = {"none": None, ",": ",", ".": ".", " ": " ", "space": " ", "'": "'", "\u00a0": "\u00a0", "\u202f": "\u202f"}
THOUSANDS["\u2019"] = "\u2019"  # the typographic apostrophe of Windows' Swiss formats
OPTION_FIELDS = ("delimiter", "quote", "header", "encoding", "decimal", "thousands", "null_values", "skip_rows")
OPTION_FIELDS += ("skip_rows_after_header", "skip_initial_space")
MAX_SKIP_ROWS = 1000
# Character sets a CSV is written in (canonical codec names), not Python's transforms (idna, unicode_escape, …).
ENCODINGS = re.compile(
    r"utf-8(-sig)?|utf-(16|32)(-le|-be)?|ascii|iso8859-\d+|latin-1|cp\d+|mac-[a-z]+|koi8-[a-z]+"
    r"|gb2312|gbk|gb18030|big5(hkscs)?|shift_jis(x0213|_2004)?|euc_[a-z0-9]+|iso2022_[a-z0-9_]+|hz|johab"
)


def _bad(name: str, value: str, allowed: str) -> Exception:
    return invalid(
        f"Reading option {name}={value!r} is not valid; {allowed}.",
        errors=[{"field": name, "message": allowed}],
        code="bad_reading_option",
    )


def _pick(table: dict[str, Any], name: str, value: str, allowed: str) -> Any:
    key = value if value in table else value.strip().lower()
    if key not in table:
        raise _bad(name, value, allowed)
    return table[key]


def _encoding(value: str) -> str:
    try:
        name = codecs.lookup(value.strip()).name
    except LookupError:
        name = ""
    if not ENCODINGS.fullmatch(name):
        raise _bad("encoding", value, "give a text encoding such as utf-8, utf-16, cp1252 or latin-1")
    return name


def _null_values(value: str) -> list[str]:
    try:
        items = json.loads(value) if value.strip().startswith("[") else value.split(",")
    except ValueError:
        items = None
    if not isinstance(items, list) or len(items) > 50 or not all(isinstance(i, str) and len(i) <= 64 for i in items):
        raise _bad("null_values", value, "give a JSON list of strings or comma-separated markers (at most 50)")
    return sorted({"", *(i.strip() if i.strip() else i for i in items)}, key=lambda s: (s != "", s))


def parse_options(fields: dict[str, str]) -> dict[str, Any]:
    """The reading options given as multipart FIELDS, validated (422 bad_reading_option) and normalised."""
    given = {k: fields[k] for k in OPTION_FIELDS if fields.get(k, "") != ""}  # an empty field: detect it
    out: dict[str, Any] = {}
    if "delimiter" in given:
        out["delimiter"] = _pick(DELIMITERS, "delimiter", given["delimiter"], "one of , ; | tab or whitespace")
    if "quote" in given:
        out["quote"] = _pick(QUOTES, "quote", given["quote"], "one of \" ' or none")
    if "header" in given:
        out["header"] = _pick(BOOLEANS, "header", given["header"], "true or false")
    if "skip_initial_space" in given:
        out["skip_initial_space"] = _pick(BOOLEANS, "skip_initial_space", given["skip_initial_space"], "true or false")
    if "encoding" in given:
        out["encoding"] = _encoding(given["encoding"])
    if "decimal" in given:
        out["decimal"] = _pick({".": ".", ",": ","}, "decimal", given["decimal"], ". or ,")
    if "thousands" in given:
        out["thousands"] = _pick(
            THOUSANDS, "thousands", given["thousands"], "one of , . ' ’ space (or a space) or none"
        )
    if "null_values" in given:
        out["null_values"] = _null_values(given["null_values"])
    for name, where in (("skip_rows", "above"), ("skip_rows_after_header", "below")):
        if name in given:
            if not given[name].strip().isdigit() or int(given[name]) > MAX_SKIP_ROWS:
                raise _bad(name, given[name], f"give the number of lines {where} the header, 0 to {MAX_SKIP_ROWS}")
            out[name] = int(given[name])
    if out.get("thousands") and out["thousands"] == out.get("decimal"):
        raise _bad("thousands", given["thousands"], "the thousands separator must differ from the decimal separator")
    if out.get("delimiter") and out["delimiter"] == out.get("quote"):
        raise _bad("quote", given["quote"], "the quote must differ from the delimiter")
    return out
