"""Pages as the model sees them: markdown, text, links, paging."""

from __future__ import annotations

from pathlib import Path

from realtime.injection import InjectionScanner
from realtime.page import Page, window

SAMPLES = Path(__file__).parent / "samples"


def page(name: str, url: str = "http://shop.test/products/anvil") -> Page:
    return Page((SAMPLES / name).read_bytes(), "text/html", None, url, InjectionScanner())


def test_markdown_of_a_product_page_uses_the_main_content() -> None:
    view = page("product.html")
    assert view.title == "Acme Anvil 3000 \u2013 Acme Store"
    md = view.markdown
    assert md.startswith("# Acme Anvil 3000")
    assert "Was ~~€1.499,00~~" in md
    assert "- Forged steel\n- Weight: 50 kg\n- Free delivery" in md
    assert "![The anvil](http://shop.test/img/anvil.jpg)" in md
    assert "[Manual (PDF)](http://shop.test/docs/anvil-manual.pdf)" in md
    for noise in ("dataLayer", "color: red", "Home", "© 2024"):
        assert noise not in md
    assert view.text.startswith("Acme Anvil 3000\n\nSKU: AN-3000")
    assert "](" not in view.text and "**" not in view.text


def test_tables_lists_code_and_quotes() -> None:
    md = page("listing.html").markdown
    assert "| Route | Price | Date |  |\n| --- | --- | --- | --- |" in md
    assert "| LIS → BER | $129.99 | 12/05/2024 | [Book](http://shop.test/deal/1) |" in md
    assert "3. Prices include taxes\n4. Subject to *availability*" in md
    assert '```json\n{"updated": "2024-03-01"}\n```' in md
    policy = page("policy.html")
    assert "> Refunds are issued to the original payment method." in policy.markdown
    assert "- Perishable goods\n\n  - Flowers\n  - Food\n- Gift cards" in policy.markdown
    assert "Shop" not in policy.markdown  # outside role=main


def test_links_are_absolute_distinct_and_http_only() -> None:
    links = page("policy.html", "http://shop.test/help/returns").links(10)
    urls = [ln.url for ln in links]
    assert "http://shop.test/" in urls and "http://shop.test/faq" in urls
    assert not any(u.startswith("mailto:") for u in urls)
    assert len(urls) == len(set(urls))
    assert page("product.html").links(1)[0].url == "http://shop.test/"


def test_base_href_is_honoured() -> None:
    html = b"<html><head><base href='https://cdn.test/x/'></head><body><a href='y.html'>y</a></body></html>"
    p = Page(html, "text/html", None, "https://site.test/", InjectionScanner())
    assert p.links(5)[0].url == "https://cdn.test/x/y.html"


def test_plain_text_documents_pass_through() -> None:
    p = Page(b'{"price": 12}', "application/json", None, "http://api.test/p", InjectionScanner())
    assert p.text == '{"price": 12}' and p.markdown == '{"price": 12}' and p.title == ""


def test_windowing_like_the_reference_fetch_server() -> None:
    doc = "abcdefghij"
    first = window(doc, 0, 4)
    assert (first.content, first.next_index, first.total_length, first.truncated) == ("abcd", 4, 10, True)
    last = window(doc, 8, 4)
    assert (last.content, last.next_index, last.truncated) == ("ij", 0, False)
    past = window(doc, 50, 4)
    assert past.content == "" and past.start_index == 10 and past.next_index == 0


def test_each_view_is_computed_only_when_asked_for() -> None:
    md_page = page("product.html")
    assert md_page.markdown.startswith("# Acme Anvil 3000") and "text" not in md_page.__dict__
    text_page = page("product.html")
    assert text_page.text.startswith("Acme Anvil 3000") and "markdown" not in text_page.__dict__
    scanned = page("product.html")
    assert not scanned.body_injection.flagged
    assert not {"markdown", "text", "source"} & scanned.__dict__.keys()  # scanned in the raw bytes, nothing decoded
    assert scanned.charset == "utf-8"
    assert not md_page.injection.flagged and "text" not in md_page.__dict__  # reuses the markdown walk


def test_whitespace_runs_collapse_and_line_breaks_survive() -> None:
    html = "<p>one  \n <b>two</b>\t three<br>four <a href='/x'> five </a></p><p>&nbsp;</p><p>six<br><br>seven</p>"
    p = Page(html.encode(), "text/html", "utf-8", "http://x.test/a/", InjectionScanner())
    assert p.markdown == "one **two** three\nfour [five](http://x.test/x)\n\nsix\n\nseven"
    assert p.text == "one two three\nfour five\n\nsix\n\nseven"


def test_inline_html_is_read_as_given() -> None:
    p = Page.from_html("<title>Caf\u00e9</title><p>\u00a35 \U0001f600</p>", "http://x.test/", InjectionScanner())
    assert p.title == "Caf\u00e9" and p.text == "\u00a35 \U0001f600"
