"""The code page of a ZIP's entry names written without the UTF-8 flag and not in UTF-8: the OEM code page of the
Windows that zipped them (its Explorer and 7-Zip write names so). CP437/CP850 in Western Europe and the US, which
ZIP's format names; CP932 on a Japanese Windows, GBK, Big5, the Korean code page or CP866 elsewhere. Read as CP437,
`猫/写真1.jpg` was the class `Ä╩É^`."""

from __future__ import annotations

import re

OEM = "cp437"  # what the ZIP format says such names are; CP850's accented letters are CP437's
# Other Windows' OEM code pages, each with the characters a name written in it commonly holds: Japanese kana and
# JIS's first-level kanji, GB2312's and Big5's common hanzi, KS X 1001's hangul, Cyrillic letters. Their byte
# ranges overlap, so a name decodes in several; it is read in the one where its characters are common.
CODE_PAGES = ("cp932", "gb18030", "big5", "cp949", "cp866")
_COMMON_CODES = {"cp932": ("shift_jis", 0x88, 0x98), "gb18030": ("gb2312", 0xB0, 0xD7), "big5": ("big5", 0xA4, 0xC6)}
_COMMON_CODES["cp949"] = ("euc_kr", 0xB0, 0xC8)
MIN_COMMON = 0.8  # the share of a reading's characters beyond ASCII that must be common in its code page
_SUPERSETS = {"big5hkscs": "big5"}
SAMPLE = 64 << 10  # the names' bytes chardet reads when several code pages read them
# Names read as CP437 look written in it when each accented letter stands alone between ASCII (`Äpfel`,
# `Müller`); names in another code page read so give runs of symbols and letters (`Ä╩É^`, `é╦é▒`).
_ODD = re.compile(r"[^\x00-\x7f]{2,}")
# A letter of another script beside a Latin one is a Western name misread (`Gr∴e` for `Grüße`, `ФL`).
_BESIDE_LATIN = re.compile(r"[A-Za-z][^\x00-\x7f]|[^\x00-\x7f][A-Za-z]")


def code_page(raw_names: list[bytes]) -> str:
    """The code page RAW_NAMES (entry names that are not UTF-8, as bytes) are written in: CP437 unless CP437 reads
    them as runs of symbols and another OEM code page reads every one in characters common in it; where several
    do, chardet's likeliest of them."""
    # each folder and file name once: 20,000 photos in two class folders are three names that say the code page
    joined = b"\n".join(sorted({part for name in raw_names for part in name.split(b"/") if not part.isascii()}))
    if joined.isascii() or not _ODD.search(joined.decode(OEM)):
        return OEM
    readings = {c: r for c in CODE_PAGES if (r := _reading(joined, c)) is not None}
    if len(readings) <= 1:
        return next(iter(readings), OEM)
    import chardet

    sample = joined[: joined.rfind(b"\n", 0, SAMPLE) + 1 or SAMPLE] if len(joined) > SAMPLE else joined
    found = chardet.detect_all(sample, include_encodings=CODE_PAGES, compat_names=False, ignore_threshold=True)
    likelihood = {_SUPERSETS.get(r["encoding"], r["encoding"]): r["confidence"] or 0.0 for r in found}
    return max(readings, key=lambda c: (likelihood.get(c, 0.0), readings[c]))


def _reading(joined: bytes, encoding: str) -> float | None:
    """The share of JOINED's characters beyond ASCII that are common in ENCODING when JOINED reads in it; None
    when it does not decode, too few are common, or one stands beside a Latin letter."""
    try:
        text = joined.decode(encoding)
    except UnicodeDecodeError:
        return None
    if _BESIDE_LATIN.search(text):
        return None
    beyond = [c for c in text if not c.isascii()]
    share = sum(_common(c, encoding) for c in beyond) / len(beyond)
    return share if share >= MIN_COMMON else None


def _common(char: str, encoding: str) -> bool:
    """Whether CHAR is one a name in ENCODING commonly holds."""
    code = ord(char)
    if encoding == "cp866":
        return 0x410 <= code <= 0x44F or char in "Ёё"
    if 0x3000 <= code <= 0x30FF or 0xFF01 <= code <= 0xFF5E:  # punctuation, kana, full-width forms
        return encoding == "cp932" or not 0x3040 <= code <= 0x30FF
    table, first, last = _COMMON_CODES[encoding]
    try:
        lead = char.encode(table)[0]
    except UnicodeEncodeError:
        return False
    return first <= lead <= last
