"""server/services/csv_encoding.py: a file a spreadsheet saved in its system's code page is read in that code page;
Western European files stay Windows-1252 whatever their size, as before."""

from __future__ import annotations

import codecs
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from server.services import csv_encoding, table_store
from tests.encoded_files import WORDS, csv_text

WESTERN = [language for language, (code_page, _, _) in WORDS.items() if code_page == "cp1252"]
OTHERS = [language for language in WORDS if language not in WESTERN]
SUPERSETS = {"big5": "big5hkscs"}  # chardet names the superset, which reads every Big5 file


@pytest.mark.parametrize("language", WESTERN)
@pytest.mark.parametrize("rows", [1, 3, 30, 3000])
def test_western_files_stay_windows_1252_at_every_size(language: str, rows: int) -> None:
    text = csv_text(language, rows)
    expected = "utf-8" if text.isascii() else "cp1252"  # a first row without accents is ASCII, so UTF-8 too
    assert csv_encoding.detect_encoding(text.encode("cp1252"), cut=False) == expected


@pytest.mark.parametrize("language", OTHERS)
@pytest.mark.parametrize("rows", [30, 3000])
def test_other_code_pages_are_found(language: str, rows: int) -> None:
    code_page, text = WORDS[language][0], csv_text(language, rows)
    found = csv_encoding.detect_encoding(text.encode(code_page), cut=False)
    assert found in (code_page, SUPERSETS.get(code_page)) and text.encode(code_page).decode(found) == text


@pytest.mark.parametrize("language", OTHERS)
def test_one_line_of_data_reads_right_or_as_windows_1252(language: str) -> None:
    """A file of a header and one row gives little to go on: its code page, or Windows-1252 as before, never a third."""
    code_page = WORDS[language][0]
    found = csv_encoding.detect_encoding(csv_text(language, 1).encode(code_page), cut=False)
    assert found in (code_page, SUPERSETS.get(code_page), "cp1252")
    if language in ("ru", "uk", "bg", "el", "he", "ar", "th", "ja", "zh", "zh-tw", "ko", "pl", "cs"):
        assert found in (
            code_page,
            SUPERSETS.get(code_page),
        )  # another script, or letters Windows-1252 does not have: found even here


def test_boms_utf16_and_utf8_come_first() -> None:
    text = csv_text("ru", 30)
    assert csv_encoding.detect_encoding(codecs.BOM_UTF8 + text.encode(), cut=False) == "utf-8-sig"
    assert csv_encoding.detect_encoding(text.encode("utf-16"), cut=False) == "utf-16"
    assert csv_encoding.detect_encoding(text.encode(), cut=False) == "utf-8"
    assert csv_encoding.detect_encoding(csv_text("de", 30).encode("utf-16-le"), cut=False) == "utf-16-le"
    cut = text.encode()[:-1]  # the head of a longer file ends inside a character
    assert csv_encoding.detect_encoding(cut, cut=True) == "utf-8"


def test_bytes_windows_1252_leaves_undefined_read_as_latin_1() -> None:
    assert csv_encoding.detect_encoding(b"name;v\r\nA\x81b;1\r\n", cut=False) == "latin-1"


@pytest.mark.parametrize(
    ("code_page", "written"),
    [
        ("cp932", "{y}年{m}月{d}日"),
        ("gb18030", "{y}年{m}月{d}日"),
        ("big5", "{y}年{m}月{d}日"),
        ("cp949", "{y}년 {m}월 {d}일"),
    ],
)
@pytest.mark.parametrize("rows", [1, 12])
def test_dates_written_with_their_marks_name_the_code_page(code_page: str, written: str, rows: int) -> None:
    """A log of dates, codes and numbers: its dates' year, month and day marks are its only text in that code page."""
    lines = [f"{written.format(y=2024, m=i % 12 + 1, d=i % 28 + 1)};A-{i:04d};{i * 3},5" for i in range(rows)]
    data = ("Datum;Code;Betrag\r\n" + "\r\n".join(lines) + "\r\n").encode(code_page)
    assert csv_encoding.detect_encoding(data, cut=False) in (code_page, SUPERSETS.get(code_page))


# Western languages whose Mac Roman files are found (Dutch's ë and ö read as ‘ and š, which Windows-1252 text holds,
# so a Dutch file stays Windows-1252; Icelandic's ð and þ are not in Mac Roman).
MAC_FOUND = ["de", "fr", "es", "it", "pt", "sv", "da", "no", "fi", "ca"]


@pytest.mark.parametrize("language", MAC_FOUND)
@pytest.mark.parametrize("rows", [30, 3000])
def test_mac_roman_files_are_found(language: str, rows: int) -> None:
    """Excel for Mac's "CSV (Macintosh)": read as Windows-1252, "Müller" was "MŸller" and "Besançon" "Besan‚on"."""
    text = csv_text(language, rows)
    found = csv_encoding.detect_encoding(text.encode("mac_roman"), cut=False)
    assert found == "mac-roman" and text.encode("mac_roman").decode(found) == text


# Western languages whose DOS files (Excel's "CSV (MS-DOS)", CP850, lines ended in CR LF) are found: every one
# CP850 holds (French's œ is not in it: a file with one cannot be saved so).
DOS_FOUND = ["de", "fr", "es", "it", "pt", "nl", "sv", "da", "no", "fi", "is", "ca"]


@pytest.mark.parametrize("language", DOS_FOUND)
@pytest.mark.parametrize("rows", [30, 3000])
def test_dos_files_are_found(language: str, rows: int) -> None:
    """Read as Windows-1252, "Müller" was "M\x81ller" and "Niccolò" "Niccol•"; chardet took Italian for Central
    European and Swedish for Baltic."""
    text = csv_text(language, rows)
    found = csv_encoding.detect_encoding(text.encode("cp850"), cut=False)
    assert found == "cp850" and text.encode("cp850").decode(found) == text


def test_typographic_punctuation_keeps_a_file_windows_1252() -> None:
    """Quotes, apostrophes and dashes of Windows-1252 inside and around words are no sign of Mac Roman."""
    rows = ["l’Église;„Zitat“ – gut;don’t;Œuvre, cœur;naïve café", "‘quoted’;“more”;a—b;12 €;Škoda – Žilina"]
    rows += ["well—known;wait…what;it’s;pre–war;x"]
    text = "a;b;c;d;e\r\n" + "\r\n".join(rows * 50) + "\r\n"
    assert csv_encoding.detect_encoding(text.encode("cp1252"), cut=False) == "cp1252"
    english = "a;b\r\n" + "well—known;wait…what, it’s pre–war\r\n" * 50
    assert csv_encoding.detect_encoding(english.encode("cp1252"), cut=False) == "cp1252"


LATIN9_ROWS = {
    "fr": ["Cœur de bœuf;12,50 €;très bon", "Œuvres complètes;€ 30;à relire", "Sœur Marie;7,90\xa0€;reçu"],
    "fi": ["Šakki-lauta;19,90 €;hyvä", "Žaneta Šimková;5 €;ok", "Kirja;12,00 €;ei"],
    "et": ["Šokolaad;2,50 €;väga hea", "Žurnaal;4 €;tühi", "Müts;9,99 €;õige"],
}


@pytest.mark.parametrize("language", list(LATIN9_ROWS))
@pytest.mark.parametrize("rows", [1, 30])
def test_iso_8859_15_files_are_found(language: str, rows: int) -> None:
    """Older Unix exports in Latin-9: read as Windows-1252, "12,50 €" was "12,50 ¤" and "cœur" "c½ur"."""
    lines = (LATIN9_ROWS[language] * rows)[: max(rows, 1)]
    text = "name;price;note\n" + "\n".join(lines) + "\n"
    found = csv_encoding.detect_encoding(text.encode("iso8859-15"), cut=False)
    assert found == "iso8859-15" and text.encode("iso8859-15").decode(found) == text


def test_windows_1252_symbols_where_latin_9_has_letters_keep_a_file_windows_1252() -> None:
    """Fractions, an acute accent typed as an apostrophe and a currency sign in prose are Windows-1252's own."""
    rows = ["geht´s gut;¼ Liter;1½ Tassen", "Größe ½;¾-Takt;Preis ¤ offen", "naïve;café;Ähre"]
    text = "a;b;c\r\n" + "\r\n".join(rows * 20) + "\r\n"
    assert csv_encoding.detect_encoding(text.encode("cp1252"), cut=False) == "cp1252"
    with_euro = "a;b\r\n" + "Cœur;12,50 €\r\n" * 20  # Windows-1252's own € and œ (0x80, 0x9C)
    assert csv_encoding.detect_encoding(with_euro.encode("cp1252"), cut=False) == "cp1252"


def test_a_latin_9_price_list_is_stored_with_its_letters_and_euros(tmp_path: Path) -> None:
    rows = ["Cœur de bœuf;12,50 €;très bon", "Œuvres complètes;30,00 €;à relire", "Sœur Marie;7,90 €;reçu"] * 10
    upload = tmp_path / "prix.csv"
    upload.write_bytes(("nom;prix;note\n" + "\n".join(rows) + "\n").encode("iso8859-15"))
    stored = table_store.store_csv(upload, tmp_path / "prix.parquet")
    table = pq.read_table(tmp_path / "prix.parquet")
    assert table.column("nom").to_pylist()[:2] == ["Cœur de bœuf", "Œuvres complètes"]
    assert table.column("prix").to_pylist()[:3] == [12.5, 30.0, 7.9]  # "12,50 ¤" was text
    assert stored.source is not None and stored.source.encoding == "iso8859-15"
