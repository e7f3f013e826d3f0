"""Numbers as people write them in a CSV: the decimal separator and the thousands separator, detected on the
file's first rows, and the columns written with thousands separators turned into numbers batch by batch."""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from server.services import csv_encoding

if TYPE_CHECKING:
    from server.services.csv_source import CsvSource

SAMPLE_ROWS = 1000  # rows the number format is detected on (a later misfit is read as text, never lost)
# Grouped digits before a decimal part say which separator is the decimal one whatever the grouping: "1.234,56" and
# France's "1 234,56" (a space, a no-break space or a narrow one, as Excel and LibreOffice write them) or
# Switzerland's "1'234.56" (or "1’234.56", the typographic apostrophe Windows' Swiss formats use).
_GROUPS = "[ '\u00a0\u202f\u2019]"
# India's grouping (lakh, crore): "12,34,56,789.00", groups of two before the last three.
_INDIAN = r"\d{1,2}(,\d{2})+,\d{3}"
_EXPONENT = r"([eE][-+]?\d+)?"  # "1,5E+02": Excel's scientific format with a decimal comma
COMMA_DECIMAL = re.compile(
    rf"[-+]?(\d+,(\d{{1,2}}|\d{{4,}})|\d{{1,3}}(?P<sep>[.]|{_GROUPS})\d{{3}}((?P=sep)\d{{3}})*,\d+|,\d+)"
    rf"{_EXPONENT}"
)
DOT_DECIMAL = re.compile(
    rf"[-+]?(\d+\.(\d{{1,2}}|\d{{4,}})|\d{{1,3}}(?P<sep>,|{_GROUPS})\d{{3}}((?P=sep)\d{{3}})*\.\d+|\.\d+"
    rf"|{_INDIAN}\.\d+){_EXPONENT}"
)
COMMA_AMBIGUOUS = re.compile(r"[-+]?\d{1,3}(,\d{3})+")
DOT_AMBIGUOUS = re.compile(r"[-+]?\d{1,3}(\.\d{3})+")


# Numbers as Excel's currency, accounting and percent formats and SAP's exports save them in a CSV: a currency
# sign or code, or a percent sign, before or after the number ("1 234,56 €", "$1,234.50", "- $ 12.00",
# "CHF 1'234.50", "12,5 %"), a negative in parentheses ("($1,234.50)", "(1,234.50)") or with a trailing minus
# ("1.234,56-"), a typographic minus ("−5"). The number is kept as written (12,5 % is 12.5).
_SIGNS = "$€£¥₹₽₩₺₪₫₴₦₱%"
_CODES = "EUR USD GBP CHF JPY CNY SEK NOK DKK PLN CZK HUF CAD AUD NZD INR BRL MXN ZAR".split()
_UNIT = f"[{re.escape(_SIGNS)}]|{'|'.join(_CODES)}"
# Measurement units after a number ("12 kg", "3,5 l", "20 °C", "120 km/h", "50K"): a column whose values all carry
# the same one holds quantities in it. Whatever the unit means (K: kelvins or thousands), one unit throughout keeps
# the values' ratios, which is what a model learns from; two units in one column are not one number.
_MEASURES = "mg g kg lb lbs oz mm cm m km in ft yd mi m² m³ m2 m3 ha ml cl dl l L gal ms s min h d W kW MW Wh kWh MWh"
_MEASURES += " J kJ kcal V mV A mA mAh Hz kHz MHz GHz KB kB MB GB TB °C °F K px pt ‰ km/h mph"
_MEASURE = "|".join(re.escape(u) for u in sorted(_MEASURES.split(), key=len, reverse=True))
_GAP = "[ \u00a0\u202f]*"
_WITH_UNIT = re.compile(
    rf"(?P<sign>[-+\u2212]?){_GAP}(?:(?P<pre>{_UNIT}){_GAP})?(?P<number>[-+\u2212]?[\d.,' \u00a0\u202f\u2019]*\d)"
    rf"(?:{_GAP}(?P<post>{_UNIT}|{_MEASURE}))?(?P<trail>[-\u2212]?)"
)
# A value that may end in a measurement unit (_may_be_written): a digit, then up to five of the units' characters.
_MEASURED = re.compile(rf"\d{_GAP}[A-Za-z°²³‰][A-Za-z/²³]{{0,4}}\n")
_LETTER = re.compile("[A-Za-z°²³‰]")
_MINUS = str.maketrans({"\u2212": "-"})
_ACCOUNTING_ZERO = re.compile(rf"(?P<pre>{_UNIT})?{_GAP}[-\u2212]{_GAP}(?P<post>{_UNIT})?")  # "$ -": Excel's zero


_INTEGER = re.compile(r"[-+]?\d+")
_LEADING_ZERO = re.compile(r"[-+]?0\d+")
INT64_MAX = 2**63 - 1


def _bare_numbers(text: pa.Array, unit: str) -> tuple[pa.Array, pa.Array]:
    """TEXT (trimmed values of a column written with UNIT, or "" for accounting negatives only) as signed numbers'
    text, and which values were negatives in parentheses or with a trailing minus (split_unit, batch by batch)."""
    if unit:
        text = pc.replace_substring(text, unit, "")
    text = pc.replace_substring_regex(text, "[ \u00a0\u202f]", "")
    text = pc.replace_substring_regex(text, "^[-\u2212]$", "0")  # the accounting format's "$ -"
    negative = pc.or_(pc.match_substring_regex(text, r"^\(.*\)$"), pc.match_substring_regex(text, "[-\u2212]$"))
    text = pc.replace_substring_regex(text, "[()]|[-\u2212]$", "")
    return pc.replace_substring(text, "\u2212", "-"), negative


class NotNumber(Exception):
    """A value of a number column written with thousands separators is not such a number."""

    def __init__(self, column: str):
        """COLUMN holds it."""
        super().__init__(f"column {column!r} holds a value that is not a number")
        self.column = column


@functools.cache  # asked again for every value …/predict reads (row_numbers)
def number_pattern(decimal: str, thousands: str | None) -> re.Pattern[str]:
    """A number written with DECIMAL and, between groups of three digits (or India's two), THOUSANDS."""
    grouped = rf"\d{{1,3}}({re.escape(thousands)}\d{{3}})+|" if thousands else ""
    if thousands == ",":
        grouped += f"{_INDIAN}|"
    return re.compile(rf"[-+]?({grouped}\d+)({re.escape(decimal)}\d+)?")


def sample_columns(text: str, source: CsvSource) -> dict[str, list[str]]:
    """The values of the first SAMPLE_ROWS rows of TEXT (UTF-8 CSV) by column name, null markers left out."""
    quote = source.quote or "\x00"
    try:
        rows = list(_first(csv.reader(io.StringIO(text, newline=""), delimiter=source.delimiter, quotechar=quote)))
    except csv.Error:
        return {}
    if not rows:
        return {}
    width = len(rows[0])
    names = (source.names or rows[0]) if source.header else [f"column_{i + 1}" for i in range(width)]
    body = rows[1:] if source.header else rows
    nulls = set(source.null_values)
    return {
        name: [r[i].strip() for r in body if i < len(r) and r[i].strip() not in nulls] for i, name in enumerate(names)
    }


def _first(rows: Any) -> Any:
    for i, row in enumerate(rows):
        if i > SAMPLE_ROWS:
            return
        yield row


def _decimal(values: list[str], delimiter: str) -> tuple[str, str | None]:
    """The decimal separator the VALUES show, and a note when it is a guess between two readings."""
    comma = sum(1 for v in values if COMMA_DECIMAL.fullmatch(v))
    dot = sum(1 for v in values if DOT_DECIMAL.fullmatch(v))
    if comma or dot:
        return ("," if comma > dot else "."), None
    if any(COMMA_AMBIGUOUS.fullmatch(v) for v in values):
        guess = "," if delimiter == ";" else "."
        reading = "a decimal comma" if guess == "," else "a thousands separator"
        return guess, (
            f"decimal: values such as '2,243' could be 2243 or 2.243; the comma was read as {reading} "
            "(give `decimal` and `thousands` to change it)."
        )
    if delimiter == ";" and any(DOT_AMBIGUOUS.fullmatch(v) for v in values):
        return ",", "decimal: values such as '2.243' were read as 2243 (dot as thousands separator)."
    return ".", None


def number_columns(columns: dict[str, list[str]], decimal: str, thousands: str | None) -> list[str]:
    """The columns whose every value is a number written with THOUSANDS separators (at least one uses them)."""
    if not thousands:
        return []
    pattern = number_pattern(decimal, thousands)
    return [
        name
        for name, values in columns.items()
        if values and any(thousands in v for v in values) and all(pattern.fullmatch(v) for v in values)
    ]


def split_unit(value: str) -> tuple[str, str | None] | None:
    """VALUE as (the number's text, its currency or percent sign or None); accounting's parentheses, a trailing
    minus and a sign before the unit become a leading minus, and the accounting format's "$ -" is 0. None when
    VALUE is not a number with at most one such sign and one way of saying it is negative."""
    text, negative = value.strip(), False
    zero = _ACCOUNTING_ZERO.fullmatch(text)
    if zero and bool(zero["pre"]) != bool(zero["post"]):
        return "0", zero["pre"] or zero["post"]
    if text.startswith("(") and text.endswith(")"):
        text, negative = text[1:-1].strip(), True
    found = _WITH_UNIT.fullmatch(text)
    if not found or (found["pre"] and found["post"]) or (found["sign"] and found["number"][0] in "-+\u2212"):
        return None
    number = (found["sign"] + found["number"]).translate(_MINUS)
    if negative or found["trail"]:
        if number.startswith(("-", "+")) or (negative and found["trail"]):
            return None
        number = "-" + number
    return number, found["pre"] or found["post"]


_EXPONENT = re.compile(r"[-+\u2212]?\d+(?:[.,]\d+)?[eE][-+]?\d+")


def looks_like_number(value: str) -> bool:
    """Whether VALUE reads as a number in any common writing (split_unit's, or with an exponent: `1,5E-03`),
    before the file's decimal separator is known."""
    return split_unit(value) is not None or bool(_EXPONENT.fullmatch(value.strip()))


def unit_columns(columns: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The columns whose values are all numbers (split_unit) with at most one currency or percent sign, and at
    least one of them written with it or as a negative in another way: name -> that sign ("" for none); and
    COLUMNS with those columns' values written as bare numbers. Two currencies in one column are not one number:
    it stays text."""
    found, bare = {}, dict(columns)
    for name, values in columns.items():
        if not _may_be_written(values):
            continue
        split = [split_unit(v) for v in values]
        if not split or None in split:
            continue
        units = {s[1] for s in split if s is not None and s[1]}
        written = any(s is not None and s[0] != v.strip() for s, v in zip(split, values, strict=True))
        if len(units) == 1 or (not units and written):
            found[name] = units.pop() if units else ""
            bare[name] = [s[0] for s in split if s is not None]
    return found, bare


# What a value written with a unit or as an accounting negative holds, one of them at least (_may_be_written).
_MARKS = (*_SIGNS, *_CODES, "(", "-\n", "\u2212")


def _may_be_written(values: list[str]) -> bool:
    """Whether any of VALUES holds a unit sign or code, a parenthesis or a minus at its end: substring scans of
    their text (2 ms on 1,000 rows of 20 columns, where splitting every value took 18 ms of each upload's
    detection)."""
    text = "\n".join(values) + "\n"
    if any(mark in text for mark in _MARKS):
        return True
    return bool(_LETTER.search(text)) and bool(_MEASURED.search(text))  # columns of bare numbers: one quick scan


# A value written as an Excel formula that gives text, ="00123": how exports keep a code's zeros (and a long id's
# digits) when Excel opens the file. What it means is the text inside.
_FORMULA = r'="(.*)"'
_FORMULA_TEXT = re.compile(_FORMULA, re.S)


def formula_columns(columns: dict[str, list[str]]) -> list[str]:
    """The columns whose present values are all text formulas (="00123"), read as the text inside them."""
    return [name for name, values in columns.items() if values and all(_FORMULA_TEXT.fullmatch(v) for v in values)]


def unwrap_formulas(batch: pa.RecordBatch, columns: list[str]) -> pa.RecordBatch:
    """BATCH with the text formulas of COLUMNS (read as text) replaced by the text inside them (="00123" is 00123);
    a value further down that is no such formula is kept as written."""
    if not columns:
        return batch
    arrays = list(batch.columns)
    for name in columns:
        if (i := batch.schema.get_field_index(name)) >= 0:
            arrays[i] = pc.replace_substring_regex(arrays[i], f"^{_FORMULA}$", r"\1")
    return pa.RecordBatch.from_arrays(arrays, schema=batch.schema)


def code_columns(columns: dict[str, list[str]]) -> list[str]:
    """The columns of codes written in digits, read as text so that no value changes: every value an integer, and
    one with a leading zero (a postcode's "01000", an id's "007") or past a 64-bit integer (read as a float, twenty
    digits ids would no longer be told apart)."""
    return [name for name, values in columns.items() if are_codes(values)]


def are_codes(values: Iterable[str]) -> bool:
    """Whether VALUES (present ones) are codes written in digits (code_columns): a column of them is categorical."""
    values = list(values)
    return (
        bool(values)
        and all(_INTEGER.fullmatch(v) for v in values)
        and any(_LEADING_ZERO.fullmatch(v) or abs(int(v)) > INT64_MAX for v in values)
    )


def settle(source: CsvSource, text: str, given: dict[str, Any]) -> None:
    """Set SOURCE's decimal, thousands and number columns: GIVEN ones kept, the others detected on TEXT."""
    raw = sample_columns(text, source)
    source.width = len(raw)
    units, columns = unit_columns(raw)  # the separators are detected on the numbers, their units left out
    values = [v for vs in columns.values() for v in vs]
    note = None
    if "decimal" in given:
        source.decimal = given["decimal"]
    else:
        source.decimal, note = _decimal(values, source.delimiter)
        if given.get("thousands") == source.decimal:  # the given thousands separator decides the decimal one
            source.decimal, note = ("." if source.decimal == "," else ","), None
        source.detected.append("decimal")
    if "thousands" in given:
        source.thousands = given["thousands"]
    else:
        candidates = [c for c in (",", ".", " ", "'", "\u00a0", "\u202f", "\u2019") if c != source.decimal]
        source.thousands = next((c for c in candidates if number_columns(columns, source.decimal, c)), None)
        source.detected.append("thousands")
    source.number_columns = number_columns(columns, source.decimal, source.thousands)
    number = number_pattern(source.decimal, source.thousands)
    source.units = {name: unit for name, unit in units.items() if all(number.fullmatch(v) for v in columns[name])}
    source.number_columns += [name for name in source.units if name not in source.number_columns]
    source.code_columns = code_columns(raw)
    source.formula_columns = formula_columns(raw)
    if note and "decimal" not in given and "thousands" not in given:
        source.ambiguous.append(note)
    if not source.encoding.startswith("utf") and "encoding" in source.detected:
        script = f" ({csv_encoding.NAMES[source.encoding]})" if source.encoding in csv_encoding.NAMES else ""
        source.ambiguous.append(
            f"encoding: the file is not UTF-8; it was read as {source.encoding}{script} "
            "(give `encoding` if letters look wrong)."
        )


def convert(
    batch: pa.RecordBatch, columns: list[str], decimal: str, thousands: str | None, units: dict[str, str] | None = None
) -> pa.RecordBatch:
    """BATCH with COLUMNS (read as text) turned into float64: a column's unit (UNITS) and THOUSANDS removed,
    accounting's parentheses made negative, DECIMAL read as the point. Raises NotNumber naming a column that
    holds something else."""
    if not columns:
        return batch
    arrays = list(batch.columns)
    for name in columns:
        i = batch.schema.get_field_index(name)
        if i < 0:
            continue
        text, negative = pc.utf8_trim_whitespace(arrays[i]), None
        if units and name in units:
            text, negative = _bare_numbers(text, units[name])
        if thousands:
            text = pc.replace_substring(text, thousands, "")
        if decimal != ".":
            text = pc.replace_substring(text, decimal, ".")
        try:
            arrays[i] = pc.cast(text, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise NotNumber(name) from None
        if negative is not None:
            arrays[i] = pc.if_else(negative, pc.negate(arrays[i]), arrays[i])
    fields = [pa.field(f.name, pa.float64()) if f.name in columns else f for f in batch.schema]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))
