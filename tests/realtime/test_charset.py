"""Charset choice: BOM, header, meta, then detection."""

from __future__ import annotations

import codecs

from realtime.charset import decode_body, normalise_charset


def test_header_wins_over_meta() -> None:
    body = "<meta charset='utf-8'><p>Café</p>".encode("latin-1")
    decoded = decode_body(body, "ISO-8859-1")
    assert "Café" in decoded and decoded.source == "header" and decoded.charset == "cp1252"


def test_meta_and_xml_declaration() -> None:
    assert decode_body('<meta charset="koi8-r"><p>Привет</p>'.encode("koi8_r"), None).charset == "koi8-r"
    xml = "<?xml version='1.0' encoding='iso-8859-15'?><a>€</a>".encode("iso-8859-15")
    assert "€" in decode_body(xml, None)


def test_bom_wins() -> None:
    decoded = decode_body(codecs.BOM_UTF16_LE + "héllo".encode("utf-16-le"), "iso-8859-1")
    assert decoded == "héllo" and decoded.source == "bom"


def test_detection_prefers_utf8_then_windows_1252() -> None:
    assert decode_body("naïve \u2013 ok".encode(), None).charset == "utf-8"
    text = "Les élèves étudient à l'école. " * 10
    decoded = decode_body(text.encode("cp1252"), None)
    assert decoded == text and decoded.source == "detected"
    russian = "Съешь же ещё этих мягких французских булок, да выпей чаю. " * 5
    assert decode_body(russian.encode("cp1251"), None) == russian


def test_unknown_labels() -> None:
    assert normalise_charset("no-such-charset") is None
    assert normalise_charset("latin1") == "cp1252"
    assert decode_body(b"abc", "bogus").charset == "utf-8"
