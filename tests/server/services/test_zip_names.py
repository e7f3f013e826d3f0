"""The code page of ZIP entry names a Windows wrote without the UTF-8 flag (server/services/zip_names.py): a
Japanese, Chinese, Taiwanese, Korean or Russian Windows' names read in its code page, Western names stay CP437 (the
ZIP format's), also where a few of their letters also read in another."""

from __future__ import annotations

import pytest

from server.services import zip_names

OTHER_SCRIPTS = [
    (["猫/", "犬/", "猫/写真1.jpg", "犬/写真2.jpg"], "cp932"),
    (["ねこ/a.jpg", "いぬ/b.jpg"], "cp932"),
    (["猫/1.jpg", "犬/2.jpg"], "cp932"),  # two kanji whose CP437 reading (`öL`, `îó`) looks almost Western
    (["「猫」の写真/1.jpg", "犬・いぬ/2.jpg", "ハムスター〜/3.jpg"], "cp932"),
    (["猫/1.jpg", "狗/2.jpg", "猫/照片1.jpg"], "gb18030"),  # GBK, as a Chinese Windows writes it
    (["貓/1.jpg", "狗/2.jpg"], "big5"),
    (["고양이/1.jpg", "개/2.jpg"], "cp949"),
    (["кошки/1.jpg", "собаки/2.jpg"], "cp866"),
    ([f"写真/ねこ{i:05d}.jpg" for i in range(20_000)], "cp932"),  # one name repeated: chardet misses it alone
    ([f"写真/{c}/{i}.jpg" for c in "猫犬" for i in range(10_000)], "cp932"),
]
WESTERN = [
    ["Äpfel/1.png", "Birnen/b.png", "Müller/x.png", "Grüße/y.png"],
    ["Äpfel/1.png"],
    ["élève/1.png", "garçon/2.png", "pâte/3.png", "crème brûlée/4.png"],  # chardet ranks CP932 first here
    ["niño/1.png", "año/2.png", "señor/x.png"],
    ["Søren/1.png", "Åse/2.png", "Ærø/3.png", "smørrebrød/4.png"],  # CP850's (CP437 has no ø)
]


@pytest.mark.parametrize(("names", "encoding"), OTHER_SCRIPTS)
def test_names_of_another_script_are_read_in_their_code_page(names: list[str], encoding: str) -> None:
    assert zip_names.code_page([n.encode(encoding) for n in names]) == encoding


@pytest.mark.parametrize("names", WESTERN)
def test_western_names_stay_cp437(names: list[str]) -> None:
    assert zip_names.code_page([n.encode("cp850") for n in names]) == "cp437"  # US DOS's CP437 and CP850 alike
    if all(c.isascii() or c in "ÄäÖöÜüßéèçâêîôûñáíóúÅåÆæ" for n in names for c in n):
        assert zip_names.code_page([n.encode("cp437") for n in names]) == "cp437"
