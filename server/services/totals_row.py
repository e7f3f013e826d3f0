"""A spreadsheet's totals row at the end of an exported table: a label such as "Total" or "Summe" and the sums of the
number columns above it. It is no record: trained on, it is an outlier as large as the whole table; scored, a
prediction for nobody. It is left out only when its label says total and every number it holds is its column's sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.compute as pc

# A totals row's label, as spreadsheets in the languages of the code pages read (csv_encoding) write it: compared
# case-folded, without a trailing colon.
TOTAL_LABELS = frozenset(
    (
        "total", "totals", "grand total", "sum", "subtotal",  # English
        "summe", "gesamt", "gesamtsumme", "insgesamt", "endsumme",  # German
        "total général", "totaux", "somme", "suma", "total general", "totale", "somma",  # French, Spanish, Italian
        "totaal", "som", "eindtotaal", "soma", "total geral",  # Dutch, Portuguese
        "summa", "totalt", "i alt", "yhteensä", "razem", "celkem", "součet", "итого", "всего", "toplam",
        "合計", "総計", "合计", "总计", "總計", "합계", "총계",  # Japanese, Chinese, Korean
    )
)  # fmt: skip
# The sums of a displayed table are rounded as its values are, so the sum of the rounded values above may differ
# from the total by a few units of the last digit: a match is within this share of the sum, or this much.
RELATIVE = 1e-3
ABSOLUTE = 0.05


def without_totals_row(batches: Iterable[pa.RecordBatch], found: list[str]) -> Iterator[pa.RecordBatch]:
    """BATCHES without their last row when it is a totals row; its label is then appended to FOUND. The last batch is
    held back until the next comes (memory: one batch more)."""
    sums: dict[str, float] = {}
    rows = 0
    held: pa.RecordBatch | None = None
    for batch in batches:
        if not batch.num_rows:
            continue
        if held is not None:
            rows += _add(sums, held)
            yield held
        held = batch
    if held is None:
        return
    body, last = held.slice(0, held.num_rows - 1), held.slice(held.num_rows - 1)
    rows += _add(sums, body)
    label = _label(last)
    if label is not None and rows >= 2 and _holds_sums(last, sums):
        found.append(label)
        if body.num_rows:
            yield body
        return
    yield held


def _numbers(batch: pa.RecordBatch) -> Iterator[tuple[str, pa.Array]]:
    for name, column in zip(batch.schema.names, batch.columns, strict=True):
        if pa.types.is_integer(column.type) or pa.types.is_floating(column.type) or pa.types.is_decimal(column.type):
            yield name, column


def _add(sums: dict[str, float], batch: pa.RecordBatch) -> int:
    """Add BATCH's number columns to SUMS; its row count."""
    for name, column in _numbers(batch):
        total = pc.sum(column.cast(pa.float64())).as_py()
        if total is not None:
            sums[name] = sums.get(name, 0.0) + total
    return batch.num_rows


def _label(row: pa.RecordBatch) -> str | None:
    """The text of ROW (one row) that says total, if one does."""
    for column in row.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            value = column[0].as_py()
            if value is not None and value.strip().rstrip(":").strip().casefold() in TOTAL_LABELS:
                return value.strip()
    return None


def _holds_sums(row: pa.RecordBatch, sums: dict[str, float]) -> bool:
    """Whether ROW holds a number and every number it holds is its column's sum in SUMS."""
    held = [(name, column[0].as_py()) for name, column in _numbers(row) if column[0].is_valid]
    if not held:
        return False
    for name, value in held:
        total = sums.get(name)
        if total is None or abs(float(value) - total) > max(ABSOLUTE, RELATIVE * abs(total)):
            return False
    return True
