"""Amounts and rates as Excel's currency, accounting and percent formats save them in a CSV ("1.234,56 €",
"($1,234.50)", "CHF 1'234.50", "12,5 %"), and quantities with their measurement unit ("3,5 kg", "20 °C"): numbers,
the unit said in the source, nothing lost when a column holds something else."""

from __future__ import annotations

from typing import Any

import pytest

from server.services.csv_numbers import split_unit, unit_columns
from tests.server.api.support import expect
from tests.server.api.test_csv_sources import _post, _read_back, _upload


def _types(body: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["type"] for c in body["columns"]}


@pytest.mark.parametrize(
    ("written", "number", "unit"),
    [
        ("1.234,56 €", "1.234,56", "€"),
        ("€ 1.234,56", "1.234,56", "€"),
        ("$1,234.50", "1,234.50", "$"),
        ("-$1,234.50", "-1,234.50", "$"),
        ("$-1,234.50", "-1,234.50", "$"),
        ("($1,234.50)", "-1,234.50", "$"),
        ("(1 234,56 €)", "-1 234,56", "€"),
        ("\u22125,00\u00a0€", "-5,00", "€"),
        ("CHF 1'234.50", "1'234.50", "CHF"),
        ("12,5 %", "12,5", "%"),
        ("12.5%", "12.5", "%"),
        ("1234", "1234", None),
        ("(1,234.50)", "-1,234.50", None),
        ("1.234,56-", "-1.234,56", None),
        ("1.234,56 €-", "-1.234,56", "€"),
        ("\u22125", "-5", None),
        (" $ -   ", "0", "$"),  # Excel's accounting format writes a zero so
        ("- €", "0", "€"),
        ("12 kg", "12", "kg"),  # quantities in a measurement unit
        ("3,5 l", "3,5", "l"),
        ("-5 °C", "-5", "°C"),
        ("120 km/h", "120", "km/h"),
        ("1.5kWh", "1.5", "kWh"),
    ],
)
def test_a_number_is_split_from_its_unit(written: str, number: str, unit: str | None) -> None:
    assert split_unit(written) == (number, unit)


@pytest.mark.parametrize(
    "written",
    [
        "€5€",
        "--5 €",
        "(-5 €)",
        "5 € 3",
        "EUR",
        "12 kgs",
        "12 kg 3 g",
        "kg 12",
        "2024-03-01",
        "€",
        "(5-)",
        "-5-",
        "(555) 123-4567",
        "-",
        "$ - $",
    ],
)
def test_what_is_not_one_number_with_one_unit_is_refused(written: str) -> None:
    assert split_unit(written) is None


def test_a_column_is_a_unit_column_only_with_one_unit_on_every_number() -> None:
    columns = {
        "amount": ["1,00 €", "2,50 €", "0"],  # a bare zero among amounts is still one
        "mixed": ["5 €", "$5"],  # two currencies are not one number
        "plain": ["1", "2"],
        "words": ["5 €", "free"],
        "accounting": ["1,234.50", "(99.00)", "0.00"],
        "sap": ["1.234,56-", "12,00", "7,50-"],
        "signed": ["-5", "+3", "2"],  # plain numbers: pyarrow reads them as they are
    }
    units, bare = unit_columns(columns)
    assert units == {"amount": "€", "accounting": "", "sap": ""}
    assert bare["amount"] == ["1,00", "2,50", "0"] and bare["sap"] == ["-1.234,56", "12,00", "-7,50"]
    assert bare["mixed"] == columns["mixed"]  # a column that is not one keeps its values


def test_a_german_excel_export_with_euros_and_percents_is_read_as_numbers(api: Any, project: str) -> None:
    text = (
        "Kunde;Umsatz;Rabatt;Saldo\r\n"
        "Müller;1.234,56 €;12,5 %;(1.234,56 €)\r\n"
        "Schäfer;987,00 €;3 %;-12,00 €\r\n"
        "Weiß;1.250.000,00 €;0,5 %;0,00 €\r\n"
    )
    body = _upload(api, project, text.encode("cp1252"))
    assert body["source"]["decimal"] == "," and body["source"]["thousands"] == "."
    assert _types(body) == {"Kunde": "categorical", "Umsatz": "numeric", "Rabatt": "numeric", "Saldo": "numeric"}
    data = _read_back(api, body)
    assert data["Umsatz"] == pytest.approx([1234.56, 987.0, 1250000.0])
    assert data["Rabatt"] == pytest.approx([12.5, 3.0, 0.5])  # as written: 12,5 % is 12.5
    assert data["Saldo"] == pytest.approx([-1234.56, -12.0, 0.0])
    notes = body["source"]["ambiguous"]
    assert "Umsatz: numbers written with '€', read without it." in notes
    assert "Rabatt: numbers written with '%', read without it." in notes


def test_us_dollars_and_swiss_francs_are_read_as_numbers(api: Any, project: str) -> None:
    text = 'item,price,refund\nA,"$1,234.50",($99.99)\nB,$0.50,-$5.00\nC,"$ 12,000.00",$0.00\n'
    body = _upload(api, project, text.encode())
    data = _read_back(api, body)
    assert data["price"] == pytest.approx([1234.5, 0.5, 12000.0])
    assert data["refund"] == pytest.approx([-99.99, -5.0, 0.0])
    swiss = _upload(api, project, b"konto;saldo\nA;CHF 1'234.50\nB;CHF 12.00\nC;CHF -0.05\n", name="ch")
    assert _read_back(api, swiss)["saldo"] == pytest.approx([1234.5, 12.0, -0.05])
    sniffed = expect(_post(api, project, "datasets/sniff", text.encode(), {}, "p.csv"), 200)
    assert _types(sniffed)["price"] == "numeric" and sniffed["rows"][0][1] == pytest.approx(1234.5)


def test_accounting_and_sap_negatives_without_a_unit_are_numbers(api: Any, project: str) -> None:
    text = "Konto;Saldo;Menge\r\n4711;1.234,56-;3\r\n4712;12,00;4\r\n4713;1.000.000,00-;5\r\n"
    body = _upload(api, project, text.encode("cp1252"), name="sap")
    assert _read_back(api, body)["Saldo"] == pytest.approx([-1234.56, 12.0, -1000000.0])
    assert (
        "Saldo: negative numbers written in parentheses, with a trailing minus or a minus sign (−), read as numbers."
        in (body["source"]["ambiguous"])
    )
    us = _upload(api, project, b'account,balance,fee\nA,"1,234.50",$ 5.00\nB,(99.00), $ -   \nC,0.00,-\n', name="us")
    assert _read_back(api, us)["balance"] == pytest.approx([1234.5, -99.0, 0.0])
    fees = _read_back(api, us)["fee"]  # Excel's accounting zero is 0; a bare "-" stays a missing value (data.md)
    assert fees[:2] == pytest.approx([5.0, 0.0]) and fees[2] is None


def test_two_currencies_in_one_column_stay_text_as_written(api: Any, project: str) -> None:
    text = "item,price\nA,5 €\nB,$5\nC,7 €\n"
    body = _upload(api, project, text.encode())
    assert _read_back(api, body)["price"] == ["5 €", "$5", "7 €"]
    assert not any("price" in note for note in body["source"]["ambiguous"])


def test_a_unit_column_with_text_past_the_first_rows_is_kept_as_text(api: Any, project: str) -> None:
    """The unit is detected on the first 1,000 rows; a later value that is not such a number makes the column text,
    every value kept, and the source no longer says it was read as numbers."""
    rows = [f"{i},{i},{i % 90 + 1},50 €" for i in range(1500)] + ["1500,1500,7,ask us"]
    text = "id,n,qty,price\n" + "\n".join(rows) + "\n"
    body = _upload(api, project, text.encode())
    assert _types(body)["price"] != "numeric"
    column = expect(api.get(f"/api/v1/datasets/{body['id']}"), 200)
    assert not any("price" in note for note in column["source"]["ambiguous"])
    assert body["n_rows"] == 1501


def test_quantities_with_one_measurement_unit_are_numbers_and_two_units_stay_text(api: Any, project: str) -> None:
    rows = [f"{i},5 kg;{i - 10} °C;{i * 10} km/h;{i} {'kg' if i % 2 else 'g'};{i}A" for i in range(40)]
    text = "Gewicht;Temperatur;Tempo;Gemischt;Sicherung\r\n" + "\r\n".join(rows) + "\r\n"
    body = _upload(api, project, text.encode("cp1252"), name="messwerte")
    types = _types(body)
    assert [types[c] for c in ("Gewicht", "Temperatur", "Tempo", "Sicherung")] == ["numeric"] * 4
    assert types["Gemischt"] == "categorical"  # kg and g in one column: not one quantity, kept as written
    data = _read_back(api, body)
    assert data["Gewicht"][:3] == [0.5, 1.5, 2.5] and data["Temperatur"][:2] == [-10, -9] and data["Tempo"][1] == 10
    assert data["Gemischt"][:2] == ["0 g", "1 kg"]
    notes = body["source"]["ambiguous"]
    assert "Gewicht: numbers written with 'kg', read without it." in notes
    assert "Temperatur: numbers written with '°C', read without it." in notes
