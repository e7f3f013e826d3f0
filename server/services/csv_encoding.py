"""Which encoding an uploaded text file is in: a BOM, UTF-16 without one, UTF-8, else the Windows code page a
spreadsheet saved it in (chardet, kept to Windows-1252 unless another is clearly likelier), Mac Roman, DOS's CP850 or
ISO-8859-15."""

from __future__ import annotations

import codecs
import functools
import re

# The code pages Excel's "CSV" uses on Windows, by the system's language: Western Europe, Central Europe,
# Cyrillic, Greek, Turkish, Hebrew, Arabic, Baltic, Thai, Japanese, Chinese (simplified, traditional), Korean.
CODE_PAGES = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257", "cp874", "cp932")
CODE_PAGES += ("gb18030", "big5", "cp949")
NAMES = {"cp1252": "Western European", "latin-1": "Western European", "cp1250": "Central European"}
NAMES |= {"cp1251": "Cyrillic", "cp1253": "Greek", "cp1254": "Turkish", "cp1255": "Hebrew", "cp1256": "Arabic"}
NAMES |= {"cp1257": "Baltic", "cp874": "Thai", "cp932": "Japanese", "gb18030": "Chinese, simplified"}
NAMES |= {"big5": "Chinese, traditional", "big5hkscs": "Chinese, traditional", "cp949": "Korean"}
NAMES |= {"mac-roman": "Western European, Mac", "iso8859-15": "Western European, ISO-8859-15"}
NAMES |= {"cp850": "Western European, DOS"}
# Another code page is taken over Windows-1252 only when chardet gives it this much confidence, and this many times
# Windows-1252's: the two read most Western text alike, and a wrong switch garbles what reading as cp1252 kept
# (docs/decisions.md, "Encodings").
MIN_CONFIDENCE = 0.015
OVER_CP1252 = 1.5
_UNDEFINED_IN_CP1252 = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
# Mac Roman, the code page of Excel for Mac's "CSV (Macintosh)", writes its accented small letters as the bytes
# Windows-1252 reads as punctuation and capitals: it is taken when that gives this many odd characters inside words,
# in the first SAMPLE bytes, and Mac Roman gives a quarter as many or fewer.
MIN_ODD_IN_WORDS = 2
SAMPLE = 200_000  # the bytes of the head the dates and Mac Roman's letters are looked for in (as many as chardet's)
# Where Mac Roman's and DOS's accented letters are that Windows-1252 has no letters at (its are 0xC0-0xFF).
_MAC_ROMAN_LETTERS = re.compile(rb"[\x80-\xbf]")
# The Western code pages taken over Windows-1252 by the letters in words: DOS's CP850 has CP437's small accented
# letters (US DOS) and more of Western Europe's capitals.
WESTERN_VARIANTS = ("mac-roman", "cp850")
MULTI_BYTE = ("cp932", "gb18030", "big5", "big5hkscs", "cp949")
_IN_WORD = re.compile(r"(?<=[^\W\d_])[^\x00-\x7f](?=[a-z])")
# ISO-8859-15 (Latin-9, the Western code page of older Unix systems and their exports) reads as Windows-1252 but for
# the euro sign and seven letters, at bytes Windows-1252 reads as symbols: `12,50 ¤` for `12,50 €`, `c½ur` for
# `cœur`. It is taken when one of them stands where only the euro sign or a letter can (_LATIN9_ONLY) and the head
# holds no byte of 0x80-0x9F: Windows-1252's own €, quotes, dashes and those letters, control codes in Latin-9.
# Not 0xB4 (Latin-9's Ž): Windows-1252 text writes its ´ as an apostrophe (`geht´s`).
_LATIN9_ONLY = re.compile(
    rb"[0-9][ \xa0]?\xa4|\xa4[ \xa0]?-?[0-9]|[A-Za-z\xc0-\xff][\xa6\xa8\xb8\xbc\xbd\xbe]|[\xa6\xa8\xbc][a-z\xdf-\xff]"
)
_WINDOWS_1252_ONLY = bytes(range(0x80, 0xA0))
# A date written with the year, month and day marks (2024年3月1日, 2024년 3월 1일) in a code page's bytes: it names
# the code page where the file holds no other text for chardet to go by (a sales log of dates, codes and numbers).
_DATE_MARKS = {"cp932": "年月日", "gb18030": "年月日", "big5": "年月日", "cp949": "년월일"}


def detect_encoding(head: bytes, cut: bool) -> str:
    """The encoding of a file starting with HEAD (CUT: the file goes on, so HEAD's last character may be cut): a BOM,
    UTF-16 without one, UTF-8 when it decodes, else a Windows code page."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if (utf16 := _utf16_without_bom(head)) is not None:
        return utf16
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        if cut and exc.start >= len(head) - 4:
            return "utf-8"  # a character cut at the end of the head
    return code_page(head)


def code_page(head: bytes) -> str:
    """The Windows code page HEAD (not UTF-8) is likeliest in: chardet's first choice among CODE_PAGES when it is
    clearly likelier than Windows-1252; else Windows-1252 (Latin-1 for the five bytes Windows-1252 leaves undefined)."""
    import chardet

    if (dated := _dated_code_page(head[:SAMPLE])) is not None:
        return dated
    found = chardet.detect_all(
        head, include_encodings=CODE_PAGES, prefer_superset=True, compat_names=False, ignore_threshold=True
    )
    confidence = {r["encoding"]: r["confidence"] for r in found if r["encoding"]}
    best = max(confidence, key=confidence.__getitem__, default="cp1252")
    western = confidence.get("cp1252", 0.0)
    if best != "cp1252" and confidence[best] >= max(MIN_CONFIDENCE, OVER_CP1252 * western):
        # chardet has no DOS code page: it takes CP850's Italian or Swedish for Central European or Baltic
        return best if best in MULTI_BYTE else _western_variant(head[:SAMPLE], best) or best
    if variant := _western_variant(head[:SAMPLE], "cp1252"):
        return variant
    if _LATIN9_ONLY.search(head[:SAMPLE]) and len(head.translate(None, _WINDOWS_1252_ONLY)) == len(head):
        return "iso8859-15"
    if any(b in head for b in _UNDEFINED_IN_CP1252):
        return "latin-1"
    return "cp1252"


def _western_variant(head: bytes, read_as: str) -> str | None:
    """The Western code page HEAD is in rather than READ_AS, if any: Mac Roman (Excel for Mac's "CSV (Macintosh)")
    or DOS's CP850 (Excel's "CSV (MS-DOS)", DOS-era systems' exports), whichever gives its words fewer odd
    characters (_odd_in_words), when that is a quarter or less of what READ_AS gives, and that at least
    MIN_ODD_IN_WORDS. Where both read as well (Dutch, Danish), the line ends tell: DOS ends lines in CR LF."""
    if not _MAC_ROMAN_LETTERS.search(head):
        return None
    read = _odd_in_words(head.decode(read_as, errors="replace"))
    if read < MIN_ODD_IN_WORDS:
        return None
    odd = {variant: _odd_in_words(head.decode(variant)) for variant in WESTERN_VARIANTS}
    best = min(odd, key=odd.__getitem__)
    if odd["mac-roman"] == odd["cp850"]:
        best = "cp850" if b"\r\n" in head else "mac-roman"
    return best if odd[best] * 4 < read else None


def _odd_in_words(text: str) -> int:
    """How many characters of TEXT inside a word (after a letter, before a small one) are not small letters: what
    a wrong Western code page makes of accented letters (Mac Roman's "Müller" read as Windows-1252 is "MŸller",
    "Café" read the other way round "CafÈ"). Windows-1252's apostrophes, dashes and ellipsis are none (don’t,
    well—known, wait…what)."""
    return sum(1 for c in _IN_WORD.findall(text) if not c.islower() and c not in "’‘–—…")


@functools.cache
def _date_patterns() -> dict[str, tuple[bytes, re.Pattern[bytes]]]:
    """Per code page of _DATE_MARKS, its year mark and a date written with its marks, as that code page's bytes."""
    out = {}
    for page, marks in _DATE_MARKS.items():
        year, month, day = (mark.encode(page) for mark in marks)
        date = rb"\d{4} ?" + re.escape(year) + rb" ?\d{1,2} ?" + re.escape(month) + rb" ?\d{1,2} ?" + re.escape(day)
        out[page] = (year, re.compile(date))
    return out


def _dated_code_page(head: bytes) -> str | None:
    """The code page whose year, month and day marks HEAD writes a date with (_DATE_MARKS), if one does (the year
    mark looked for first: a quick scan)."""
    found = (page for page, (year, date) in _date_patterns().items() if year in head and date.search(head))
    return next(found, None)


def _utf16_without_bom(head: bytes) -> str | None:
    """utf-16-le or utf-16-be when HEAD reads as UTF-16 text without a BOM (mostly Latin letters: every second
    byte zero, on one side only), else None."""
    sample = head[:4096]
    if len(sample) < 16 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2], sample[1::2]
    for encoding, zeros, letters in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if zeros.count(0) >= 0.9 * len(zeros) and letters.count(0) <= 0.1 * len(letters):
            try:
                sample[: len(sample) // 2 * 2].decode(encoding)
            except UnicodeDecodeError:
                return None
            return encoding
    return None
