"""Reading typed values out of scraped strings: numbers, integers, dates, money, URLs, booleans.

Layer: domain (pure). Each function takes the raw string of one matched element
and returns a JSON-compatible value or raises `CoercionError` with a reason the
caller can show per field.

Number format: the last of "." and "," is the decimal mark when both occur
("1.234,50" and "1,234.50" are both 1234.5); a lone separator followed by
exactly three digits is read as a thousands separator when it is a comma
("1,234" = 1234) and as a decimal mark when it is a point ("1.234" = 1.234),
unless it repeats ("1.234.567" = 1234567). Spaces, apostrophes and
non-breaking spaces group thousands.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urljoin, urlsplit

__all__ = [
    "CoercionError",
    "to_boolean",
    "to_currency",
    "to_date",
    "to_integer",
    "to_number",
    "to_url",
]


class CoercionError(ValueError):
    """A value could not be read as the requested type."""


_MINUS = "-\u2212"
_NUMBER = re.compile(r"[-+\u2212]?\d[\d.,'\u00a0\u202f ]*")
_CURRENCY_SYMBOLS = (
    ("US$", "USD"), ("C$", "CAD"), ("A$", "AUD"), ("NZ$", "NZD"), ("HK$", "HKD"), ("R$", "BRL"), ("S$", "SGD"),
    ("€", "EUR"), ("£", "GBP"), ("¥", "JPY"), ("₹", "INR"), ("₩", "KRW"), ("₽", "RUB"), ("₺", "TRY"), ("₪", "ILS"),
    ("₫", "VND"), ("₴", "UAH"), ("zł", "PLN"), ("kr", "SEK"), ("Fr.", "CHF"), ("$", "USD"),
)  # fmt: skip
_ISO_CODE = re.compile(r"\b([A-Z]{3})\b")
_KNOWN_CODES = frozenset(
    [
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "CHF",
        "CAD",
        "AUD",
        "NZD",
        "CNY",
        "HKD",
        "SGD",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "RON",
        "BGN",
        "INR",
        "BRL",
        "MXN",
        "ZAR",
        "KRW",
        "RUB",
        "TRY",
        "ILS",
        "AED",
        "SAR",
        "THB",
        "IDR",
        "MYR",
        "PHP",
        "VND",
        "UAH",
        "ARS",
        "CLP",
        "COP",
        "PEN",
        "TWD",
        "ISK",
    ]
)
_MONTHS = {
    name: index
    for index, names in enumerate(
        (
            ("jan", "january", "janvier", "januar", "enero"),
            ("feb", "february", "fevrier", "février", "februar", "febrero"),
            ("mar", "march", "mars", "märz", "marzo"),
            ("apr", "april", "avril", "abril"),
            ("may", "mai", "mayo"),
            ("jun", "june", "juin", "juni", "junio"),
            ("jul", "july", "juillet", "juli", "julio"),
            ("aug", "august", "août", "aout", "agosto"),
            ("sep", "sept", "september", "septembre", "septiembre"),
            ("oct", "october", "octobre", "oktober", "octubre"),
            ("nov", "november", "novembre", "noviembre"),
            ("dec", "december", "décembre", "decembre", "dezember", "diciembre"),
        ),
        start=1,
    )
    for name in names
}
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_YMD = re.compile(r"(\d{4})[/.](\d{1,2})[/.](\d{1,2})")
_DMY_NUM = re.compile(r"(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})")
_WORDS = re.compile(r"[^\W\d_]+\.?|\d+", re.UNICODE)
_TRUE = frozenset({"true", "yes", "y", "1", "on", "in stock", "available", "ja", "oui", "sí", "si"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "out of stock", "unavailable", "sold out", "nein", "non"})


def _parse_number_token(token: str) -> float:
    sign = -1.0 if token[:1] in _MINUS else 1.0
    digits = token.lstrip("+" + _MINUS).strip().rstrip(".,")
    for grouping in ("'", "\u00a0", "\u202f", " "):
        digits = digits.replace(grouping, "")
    if "." in digits and "," in digits:
        decimal = "." if digits.rfind(".") > digits.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        digits = digits.replace(thousands, "").replace(decimal, ".")
    elif "," in digits:
        head, _, tail = digits.rpartition(",")
        digits = (
            digits.replace(",", "") if digits.count(",") > 1 or len(tail) == 3 else f"{head.replace(',', '')}.{tail}"
        )
    elif digits.count(".") > 1:
        digits = digits.replace(".", "")
    try:
        return sign * float(digits)
    except ValueError:
        raise CoercionError(f"{token!r} is not a number") from None


def to_number(raw: str) -> float:
    """The first number in `raw` ("€1.234,50" -> 1234.5, "-12 %" -> -12.0)."""
    match = _NUMBER.search(raw)
    if match is None:
        raise CoercionError(f"no number in {raw[:60]!r}")
    return _parse_number_token(match.group(0).strip())


def to_integer(raw: str) -> int:
    """The first number in `raw`, which must be integral ("1,234 reviews" -> 1234)."""
    value = to_number(raw)
    if not value.is_integer():
        raise CoercionError(f"{raw[:60]!r} is not an integer")
    return int(value)


def to_currency(raw: str) -> dict[str, Any]:
    """{"amount": number, "currency": ISO code or None} from "€1.234,50", "$12.99", "12 USD"."""
    amount = to_number(raw)
    currency: str | None = None
    for code in _ISO_CODE.findall(raw):
        if code in _KNOWN_CODES:
            currency = code
            break
    if currency is None:
        for symbol, code in _CURRENCY_SYMBOLS:
            if symbol in raw:
                currency = code
                break
    return {"amount": amount, "currency": currency}


def _date(year: int, month: int, day: int, raw: str) -> str:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        raise CoercionError(f"{raw[:60]!r} is not a valid date") from None


def to_date(raw: str) -> str:
    """An ISO date (YYYY-MM-DD) from ISO, "5 March 2024", "March 5, 2024", "05.03.2024", "2024/03/05".

    Numeric day/month orders are read as day first (05.03.2024 = 5 March), unless
    the separator is "/" and the second number cannot be a month (03/25/2024).
    """
    text = raw.strip()
    if m := _ISO_DATE.search(text):
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw)
    if m := _YMD.search(text):
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)), raw)
    if m := _DMY_NUM.search(text):
        first, second, numeric_year = int(m.group(1)), int(m.group(3)), int(m.group(4))
        if m.group(2) == "/" and second > 12 >= first:
            return _date(numeric_year, first, second, raw)
        return _date(numeric_year, second, first, raw)
    words = [w.lower().rstrip(".") for w in _WORDS.findall(text)]
    month: int | None = next((_MONTHS[w] for w in words if w in _MONTHS), None)
    numbers = [int(w) for w in words if w.isdigit()]
    year = next((n for n in numbers if n >= 1000), None)
    day = next((n for n in numbers if 1 <= n <= 31), None)
    if month is None or year is None or day is None:
        raise CoercionError(f"no date in {raw[:60]!r}")
    return _date(year, month, day, raw)


def to_url(raw: str, base_url: str) -> str:
    """`raw` made absolute against `base_url`; only http(s) and mailto results are accepted."""
    value = raw.strip()
    if not value:
        raise CoercionError("empty URL")
    url = urljoin(base_url, value) if base_url else value
    if urlsplit(url).scheme.lower() not in ("http", "https", "mailto"):
        raise CoercionError(f"{url[:80]!r} is not an absolute http(s) URL")
    return url


def to_boolean(raw: str, *, present: bool = True) -> bool:
    """Yes/no words, or `present` (the element exists) when the text is not one of them."""
    word = " ".join(raw.lower().split())
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    return present
