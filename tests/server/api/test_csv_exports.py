"""Files as spreadsheets, pandas and Polars write them (data.md "Reading a table"): France's grouped digits with a
decimal comma, Switzerland's apostrophes, codes with leading zeros and ids past 64 bits kept as written, the unnamed
columns Excel leaves at the end of a header and pandas gives its index, US date-times with AM/PM, Excel's "Unicode
Text" (.txt) and .tsv files, infinite numbers, text stored as string views, column names with "/" and quotes, and
values written as Excel text formulas (="00123").
Each file is built here and read back value by value."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.api.support import API, expect
from tests.server.api.test_csv_sources import _post, _read_back, _upload


def _types(body: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["type"] for c in body["columns"]}


@pytest.mark.parametrize(
    "group,encoding",
    [("\u00a0", "cp1252"), ("\u202f", "utf-8"), (" ", "utf-8"), ("\u00a0", "utf-8")],
    ids=["nbsp-cp1252", "narrow-nbsp-utf8", "space", "nbsp-utf8"],
)
def test_french_grouped_digits_with_a_decimal_comma_are_numbers(
    api: Any, project: str, group: str, encoding: str
) -> None:
    amounts = [1234.56, 987.5, 1250000.0, -20300.25]
    written = ["1 234,56", "987,50", "1 250 000,00", "-20 300,25"]
    text = "client;montant;pays\r\n" + "".join(
        f"Éloïse {i};{w.replace(' ', group)};France\r\n" for i, w in enumerate(written)
    )
    body = _upload(api, project, text.encode(encoding))
    assert body["source"]["decimal"] == "," and body["source"]["thousands"] == group
    assert _types(body)["montant"] == "numeric"
    assert _read_back(api, body)["montant"] == pytest.approx(amounts)


def test_swiss_apostrophes_with_decimals_are_numbers(api: Any, project: str) -> None:
    text = "konto;saldo\nA;1'234.50\nB;12.75\nC;1'000'000.05\n"
    body = _upload(api, project, text.encode())
    assert body["source"]["decimal"] == "." and body["source"]["thousands"] == "'"
    assert _read_back(api, body)["saldo"] == pytest.approx([1234.5, 12.75, 1000000.05])


def test_codes_with_leading_zeros_and_ids_past_64_bits_are_kept_as_written(api: Any, project: str) -> None:
    ids = [str(18446744073709551616 + 7 * i) for i in range(5)]  # 2**64 and up: a float would merge them
    zips = ["01000", "75001", "00501", "13008", "02110"]
    text = "id,zip,visits\n" + "".join(f"{i},{z},{n}\n" for n, (i, z) in enumerate(zip(ids, zips, strict=True)))
    body = _upload(api, project, text.encode())
    data = _read_back(api, body)
    assert data["id"] == ids and data["zip"] == zips and data["visits"] == [0, 1, 2, 3, 4]
    types = _types(body)
    assert types["id"] == types["zip"] == "categorical" and types["visits"] == "numeric"
    sniffed = expect(_post(api, project, "datasets/sniff", text.encode(), {}, "c.csv"), 200)
    assert sniffed["rows"][0] == [ids[0], "01000", 0] and _types(sniffed)["zip"] == "categorical"
    # The person can still read them as numbers: every value parses.
    r = api.client.patch(f"{API}/datasets/{body['id']}/columns/zip", headers=api.headers(), json={"type": "numeric"})
    assert expect(r, 200)["unparseable"] == 0


def test_unnamed_columns_excel_leaves_are_named_by_position_and_nothing_is_lost(api: Any, project: str) -> None:
    text = "name;;city;;\r\nAnn;7;Oslo;;\r\nBo;8;Rome;;\r\n"
    body = _upload(api, project, text.encode("cp1252"))
    assert [c["name"] for c in body["columns"]] == ["name", "column_2", "city", "column_4", "column_5"]
    assert any("'' → column_2, '' → column_4, '' → column_5" in note for note in body["source"]["ambiguous"])
    data = _read_back(api, body)
    assert data["name"] == ["Ann", "Bo"] and data["column_2"] == [7, 8] and data["city"] == ["Oslo", "Rome"]
    assert data["column_4"] == data["column_5"] == [None, None]
    sniffed = expect(_post(api, project, "datasets/sniff", text.encode("cp1252"), {}, "c.csv"), 200)
    assert [c["name"] for c in sniffed["columns"]] == ["name", "column_2", "city", "column_4", "column_5"]
    assert sniffed["rows"][0][:3] == ["Ann", 7, "Oslo"]


@pytest.mark.parametrize(
    "written",
    [
        ["1/5/2024 1:05 PM", "12/31/2024 11:59:30 am", "3/4/2024 12:00 AM"],  # US Excel
        ["2024/03/01", "2024/12/31 13:05", "2025/01/02"],  # Japan, China
        ["13-03-2024", "01-02-2024", "31-12-2024 10:00"],  # India, the Netherlands: day first, dashes
    ],
    ids=["am-pm", "year-slashes", "day-dashes"],
)
def test_dates_as_other_locales_write_them_are_dates(api: Any, project: str, written: list[str]) -> None:
    text = "when,v\n" + "".join(f"{w},{i}\n" for i, w in enumerate(written))
    body = _upload(api, project, text.encode())
    assert _types(body)["when"] == "date"
    when = next(c for c in body["columns"] if c["name"] == "when")
    assert when["stats"]["missing"] == 0 and "date_like" in when["hints"]


def test_day_first_dates_with_dashes_are_read_day_first() -> None:
    import pandas as pd

    from core import dates

    written = pd.Series(["13-03-2024", "01-02-2024", None])
    parsed = dates.parse(written, dates.detect_dayfirst(written))
    assert parsed.dt.strftime("%Y-%m-%d").tolist()[:2] == ["2024-03-13", "2024-02-01"]  # 1 February, not 2 January


def test_a_sep_line_before_the_header_names_the_delimiter(api: Any, project: str) -> None:
    text = "sep=;\r\nname;;score\r\nZoé;7;2,5\r\nÅsa;8;3,25\r\n"  # written for Excel, with a blank name too
    body = _upload(api, project, text.encode("cp1252"))
    assert body["source"]["delimiter"] == ";" and "delimiter" in body["source"]["detected"]
    assert _read_back(api, body) == {"name": ["Zoé", "Åsa"], "column_2": [7, 8], "score": [2.5, 3.25]}
    sniffed = expect(_post(api, project, "datasets/sniff", text.encode("cp1252"), {}, "c.csv"), 200)
    assert sniffed["rows"] == [["Zoé", 7, 2.5], ["Åsa", 8, 3.25]]


def test_excel_error_values_are_missing_values(api: Any, project: str) -> None:
    errors = ["#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#N/A"]
    text = "ratio,y\n" + "".join(f"{errors[i % 7] if i % 2 else i / 4},{i}\n" for i in range(28))
    body = _upload(api, project, text.encode())
    ratio = next(c for c in body["columns"] if c["name"] == "ratio")
    assert ratio["type"] == "numeric" and ratio["stats"]["missing"] == 14
    assert _read_back(api, body)["ratio"][:3] == [0.0, None, 0.5]


@pytest.mark.parametrize("filename,encoding", [("export.txt", "utf-16"), ("export.tsv", "utf-8")])
def test_tab_separated_txt_and_tsv_files_are_read(api: Any, project: str, filename: str, encoding: str) -> None:
    text = "name\tscore\r\nZoé\t2.5\r\nÅsa\t3.25\r\n"
    r = _post(api, project, "datasets", text.encode(encoding), {"name": filename.replace(".", "_")}, filename)
    body = expect(r, 201)
    assert body["source"]["delimiter"] == "\t"
    assert _read_back(api, body) == {"name": ["Zoé", "Åsa"], "score": [2.5, 3.25]}
    sniffed = expect(_post(api, project, "datasets/sniff", text.encode(encoding), {}, filename), 200)
    assert sniffed["rows"] == [["Zoé", 2.5], ["Åsa", 3.25]]


def test_a_name_written_twice_is_told_apart_by_its_position(api: Any, project: str) -> None:
    text = "Total;Region;Total;Total_3\r\n1;north;2;x\r\n3;south;4;y\r\n"  # two "Total" columns, as Excel allows
    body = _upload(api, project, text.encode("cp1252"))
    assert [c["name"] for c in body["columns"]] == ["Total", "Region", "Total_3_3", "Total_3"]
    assert any("'Total' → Total_3_3" in note for note in body["source"]["ambiguous"])
    assert _read_back(api, body) == {
        "Total": [1, 3],
        "Region": ["north", "south"],
        "Total_3_3": [2, 4],
        "Total_3": ["x", "y"],
    }


def test_a_pandas_export_with_its_nameless_index_keeps_its_header(api: Any, project: str) -> None:
    import pandas as pd

    frame = pd.DataFrame({"name": [f"P{i}" for i in range(30)], "city": ["Oslo", "Rome", "Lyon"] * 10})
    body = _upload(api, project, frame.to_csv().encode())  # ",name,city" then "0,P0,Oslo"
    assert [c["name"] for c in body["columns"]] == ["column_1", "name", "city"]
    data = _read_back(api, body)
    assert data["column_1"] == list(range(30)) and data["name"][:2] == ["P0", "P1"] and body["n_rows"] == 30


def test_a_headerless_file_whose_first_row_misses_a_value_stays_headerless(api: Any, project: str) -> None:
    text = "".join(f"{i},{'' if i == 0 else i * 2},{i * 1.5}\n" for i in range(40))
    body = _upload(api, project, text.encode())
    assert body["source"]["header"] is False and body["n_rows"] == 40
    assert _read_back(api, body)["column_2"][:3] == [None, 2, 4]


def test_columns_named_with_a_slash_and_quotes_get_model_inputs_keras_accepts(api: Any, project: str) -> None:
    from tests.server.api.support import create_analysis, create_ml_task, expect_error

    words = ["nice", "bad", "fine", "poor"] * 10
    rows = "".join(f'"{w} good","{w} day",{w},{i % 2}\n' for i, w in enumerate(words))
    text = 'notes/comments,notes_comments,"size ""in""",label\n' + rows
    dataset = _upload(api, project, text.encode())
    task = create_ml_task(api, create_analysis(api, project, dataset["id"])["id"], "label")
    features = {
        "notes/comments": {"role": "input", "type": "text"},
        "notes_comments": {"role": "reject", "type": "text"},
        'size "in"': {"role": "input", "type": "categorical", "encoding": "index"},
    }
    r = api.put(f"{API}/ml-tasks/{task['id']}/settings", json={"features": features})
    code = expect(r, 200)["code"]["architecture"]
    assert 'input_shapes["notes_comments_preprocessed"]' in code  # Keras refuses a "/" in an input's name
    assert 'input_shapes["size \\"in\\"_preprocessed"]' in code
    compile(code, "<architecture>", "exec")  # the quotes are written as a Python string's
    # "notes/comments" and "notes_comments" would feed one input: refused, naming the other column.
    features["notes_comments"]["role"] = "input"
    body = expect_error(api.put(f"{API}/ml-tasks/{task['id']}/settings", json={"features": features}), 422)
    assert [e["field"] for e in body["errors"]] == ["features.notes_comments"]
    assert "'notes/comments'" in body["errors"][0]["message"]


def test_infinite_numbers_pandas_writes_are_counted_as_not_parsed(api: Any, project: str) -> None:
    text = "ratio,y\n" + "".join(f"{v},{i % 2}\n" for i, v in enumerate(["1.5", "inf", "2.5", "-inf", "", "3.5"] * 5))
    body = _upload(api, project, text.encode())
    ratio = next(c for c in body["columns"] if c["name"] == "ratio")
    assert ratio["type"] == "numeric"
    assert ratio["stats"]["missing"] == 5 and ratio["stats"]["unparseable"] == 10
    assert (ratio["stats"]["min"], ratio["stats"]["max"]) == (1.5, 3.5)


def test_parquet_text_written_as_string_views_is_stored_as_text(api: Any, project: str) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"city": pa.array(["Oslo", None, "Rome"] * 10, pa.string_view()), "n": list(range(30))})
    sink = io.BytesIO()
    pq.write_table(table, sink)  # as Polars 1.38 wrote its text columns
    assert pq.read_schema(io.BytesIO(sink.getvalue())).field("city").type == pa.string_view()
    body = expect(_post(api, project, "datasets", sink.getvalue(), {"name": "polars"}, "polars.parquet"), 201)
    assert _types(body) == {"city": "categorical", "n": "numeric"}
    assert _read_back(api, body)["city"][:3] == ["Oslo", None, "Rome"]


INDIAN = [123456.5, 123456789.0, -987654.25, 512.75]


@pytest.mark.parametrize(
    ("written", "delimiter", "thousands", "amounts"),
    [
        (["1,23,456.50", "12,34,56,789.00", "-9,87,654.25", "512.75"], ",", ",", INDIAN),  # India's lakh and crore
        (["₹1,23,456.50", "₹12,34,56,789.00", "-₹9,87,654.25", "₹512.75"], ",", ",", INDIAN),  # with the rupee sign
        (["1’234’567.00", "1’250.50", "-12’345.25", "512.75"], ";", "\u2019", [1234567.0, 1250.5, -12345.25, 512.75]),
        (["1,5E+02", "2,25E-01", "-3E+00", "4,75E+03"], ";", None, [150.0, 0.225, -3.0, 4750.0]),  # decimal comma
    ],
    ids=["indian", "rupees", "swiss-typographic-apostrophe", "scientific-decimal-comma"],
)
def test_numbers_as_more_locales_write_them_are_numbers(
    api: Any, project: str, written: list[str], delimiter: str, thousands: str | None, amounts: list[float]
) -> None:
    text = f"name{delimiter}amount\n" + "".join(f'x{i}{delimiter}"{w}"\n' for i, w in enumerate(written))
    body = _upload(api, project, text.encode())
    assert _types(body)["amount"] == "numeric" and body["source"]["thousands"] == thousands
    assert _read_back(api, body)["amount"] == amounts


def test_the_typographic_apostrophe_can_be_given_as_the_thousands_separator(api: Any, project: str) -> None:
    body = _upload(api, project, "name;amount\nx;1’250\ny;12’345\n".encode(), thousands="\u2019")
    assert body["source"]["thousands"] == "\u2019" and "thousands" not in body["source"]["detected"]
    assert _read_back(api, body)["amount"] == [1250, 12345]


def test_values_written_as_excel_text_formulas_are_read_as_their_text(api: Any, project: str) -> None:
    """Exports meant for Excel write ="00123" so that Excel keeps a code's zeros: the code is 00123."""
    rows = "".join(f'="{i:05d}";{i},5;{"ab"[i % 2]};"=""DE-{i}"""\r\n' for i in range(40))
    body = _upload(api, project, ("Kundennr;Betrag;Klasse;Ref\r\n" + rows).encode("cp1252"), name="formulas")
    data = _read_back(api, body)
    assert data["Kundennr"][:3] == ["00000", "00001", "00002"] and data["Ref"][-1] == "DE-39"
    assert _types(body)["Kundennr"] == "categorical" and data["Betrag"][1] == 1.5
    notes = [n for n in body["source"]["ambiguous"] if "text formulas" in n]
    assert [n.split(":")[0] for n in notes] == ["Kundennr", "Ref"]
    mixed = _upload(api, project, b'id;v\r\n="007";1\r\nA-8;2\r\n', name="mixed")  # not all formulas: as written
    assert _read_back(api, mixed)["id"] == ['="007"', "A-8"]
