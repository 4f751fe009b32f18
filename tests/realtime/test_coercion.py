"""Typed values from scraped strings."""

from __future__ import annotations

import pytest

from realtime.coercion import CoercionError, to_boolean, to_currency, to_date, to_integer, to_number, to_url


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("€1.234,50", 1234.5),
        ("$1,234.50", 1234.5),
        ("1 099,00 EUR", 1099.0),
        ("1,234 reviews", 1234.0),
        ("4.6 out of 5", 4.6),
        ("-12 %", -12.0),
        ("\u22123,5 °C", -3.5),
        ("CHF 1'250.\u2013", 1250.0),
        ("1.234.567", 1234567.0),
        ("Price: 12,5", 12.5),
    ],
)
def test_numbers(raw: str, value: float) -> None:
    assert to_number(raw) == value


def test_integers_and_errors() -> None:
    assert to_integer("1,287 reviews") == 1287
    with pytest.raises(CoercionError):
        to_integer("4.5 stars")
    with pytest.raises(CoercionError):
        to_number("call us")


@pytest.mark.parametrize(
    ("raw", "amount", "currency"),
    [
        ("€1.234,50", 1234.5, "EUR"),
        ("$12.99", 12.99, "USD"),
        ("12 USD", 12.0, "USD"),
        ("£399", 399.0, "GBP"),
        ("C$ 20", 20.0, "CAD"),
        ("1 099,00 EUR", 1099.0, "EUR"),
        ("42", 42.0, None),
    ],
)
def test_currency(raw: str, amount: float, currency: str | None) -> None:
    assert to_currency(raw) == {"amount": amount, "currency": currency}


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2024-03-05", "2024-03-05"),
        ("2024-03-05T10:00:00Z", "2024-03-05"),
        ("5 March 2024", "2024-03-05"),
        ("March 7, 2024", "2024-03-07"),
        ("Mar. 7 2024", "2024-03-07"),
        ("07.04.2024", "2024-04-07"),
        ("12/05/2024", "2024-05-12"),
        ("03/25/2024", "2024-03-25"),
        ("2024/03/05", "2024-03-05"),
        ("1er juillet 2024", "2024-07-01"),
    ],
)
def test_dates(raw: str, iso: str) -> None:
    assert to_date(raw) == iso


def test_bad_dates() -> None:
    for raw in ("soon", "31.02.2024", "March"):
        with pytest.raises(CoercionError):
            to_date(raw)


def test_urls_and_booleans() -> None:
    assert to_url("../docs/a.pdf", "http://shop.test/p/x") == "http://shop.test/docs/a.pdf"
    with pytest.raises(CoercionError):
        to_url("javascript:alert(1)", "http://shop.test/")
    assert to_boolean("In stock") is True
    assert to_boolean("Sold out") is False
    assert to_boolean("Limited edition") is True
