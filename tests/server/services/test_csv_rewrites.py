"""csv_rewrites.holds_again: a header repeated anywhere in a file, found in blocks (a memory map of the whole file
counted it all as the upload's memory), across a block's end too."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.services import csv_rewrites

HEADER = "Kunde;Betrag;Datum"


@pytest.mark.parametrize("shift", range(0, 30))
@pytest.mark.parametrize("end", [b"\r\nK1;2\r\n", b"\n", b""], ids=["crlf", "lf", "last line"])
def test_a_repeat_is_found_wherever_a_block_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shift: int, end: bytes
) -> None:
    monkeypatch.setattr(csv_rewrites, "SCAN_BLOCK", 64)
    path = tmp_path / "joined.csv"
    head = (HEADER + "\n").encode() + b"x" * (40 + shift) + b"\n"
    for before, found in ((b"", True), (b"\xef\xbb\xbf", True), (b"y", False)):  # a mark before it, or inside a row
        path.write_bytes(head + before + HEADER.encode() + end)
        assert csv_rewrites.holds_again(path, {HEADER}) is found, (before, shift)


def test_the_first_line_is_the_header_itself(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_bytes(b"\xef\xbb\xbf" + HEADER.encode() + b"\r\nK1;2,50;01.01.2024\r\n")
    assert not csv_rewrites.holds_again(path, {HEADER})


@pytest.mark.parametrize("binary", [False, True], ids=["text", "bytes"])
def test_titles_go_only_right_above_a_repeat_and_no_more_than_the_first_parts_lines(binary: bool) -> None:
    lines = ["T1\n", "\n", HEADER + "\n", "a;1;x\n", "short;1\n", "T2\n", "\n", HEADER + "\n", "b;2;y\n"]
    lines += ["T3\n", "T3b\n", "\n", HEADER + "\n", "c;3;z\n"]  # three lines: the first part's two go
    repeats = csv_rewrites.Repeats({HEADER}, titles=2, delimiter=";")
    if binary:
        repeats.binary()
        lines = [line.encode() for line in lines]
    kept = [out for n, line in enumerate(lines, 1) for out in repeats.kept(line, n)] + repeats.rest()
    text = [line.decode() if binary else line for line in kept]
    assert text == ["T1\n", "\n", HEADER + "\n", "a;1;x\n", "short;1\n", "b;2;y\n", "T3\n", "c;3;z\n"]
    assert (repeats.repeats, repeats.first, repeats.title_lines) == (2, 8, 2)
