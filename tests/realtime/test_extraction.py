"""Declarative extraction schemas on the sample pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agentplane.errors import InvalidArgumentError
from realtime.config import ExtractionLimits
from realtime.extraction import FieldSpec, FieldType, validate_schema
from realtime.injection import InjectionScanner
from realtime.page import Page

SAMPLES = Path(__file__).parent / "samples"
LIMITS = ExtractionLimits()


def page(name: str, url: str = "http://shop.test/products/anvil") -> Page:
    return Page((SAMPLES / name).read_bytes(), "text/html", None, url, InjectionScanner())


def run(name: str, *fields: FieldSpec) -> tuple[dict[str, Any], dict[str, Any], float]:
    schema = validate_schema("t", tuple(fields), LIMITS)
    result = page(name).extract(schema, 1000)
    return result.data, {f.name: f for f in result.fields}, result.completeness


def test_product_fields_with_coercion() -> None:
    data, fields, completeness = run(
        "product.html",
        FieldSpec("name", "h1", required=True),
        FieldSpec("sku", "#sku"),
        FieldSpec("price", ".price", type=FieldType.CURRENCY, required=True),
        FieldSpec("old_price", ".was-price del", type=FieldType.NUMBER),
        FieldSpec("in_stock", ".stock", type=FieldType.BOOLEAN),
        FieldSpec("rating", ".stars", type=FieldType.NUMBER),
        FieldSpec("reviews", ".reviews", type=FieldType.INTEGER),
        FieldSpec("released", "time", attribute="datetime", type=FieldType.DATE),
        FieldSpec("released_text", ".released time", type=FieldType.DATE),
        FieldSpec("photo", "img.photo", attribute="src", type=FieldType.URL),
        FieldSpec("manual", "a.manual", attribute="href", type=FieldType.URL),
        FieldSpec("features", ".features li", multiple=True),
        FieldSpec("currency_attr", ".price", attribute="data-currency"),
        FieldSpec("weight", ".features li", multiple=True, type=FieldType.NUMBER, pattern=r"Weight: (\d+) kg"),
    )
    assert data == {
        "name": "Acme Anvil 3000",
        "sku": "AN-3000",
        "price": {"amount": 1234.5, "currency": "EUR"},
        "old_price": 1499.0,
        "in_stock": True,
        "rating": 4.6,
        "reviews": 1287,
        "released": "2024-03-05",
        "released_text": "2024-03-05",
        "photo": "http://shop.test/img/anvil.jpg",
        "manual": "http://shop.test/docs/anvil-manual.pdf",
        "features": ["Forged steel", "Weight: 50 kg", "Free delivery"],
        "currency_attr": "EUR",
        "weight": [50.0],
    }
    assert fields["features"].count == 3 and fields["weight"].count == 1
    assert completeness == 1.0


def test_missing_fields_lower_completeness_required_double() -> None:
    data, fields, completeness = run(
        "product.html",
        FieldSpec("name", "h1", required=True),
        FieldSpec("discount", ".discount", required=True),
        FieldSpec("colour", ".colour"),
    )
    assert data["discount"] is None and data["colour"] is None
    assert not fields["discount"].found and fields["discount"].required
    assert fields["discount"].error == "no element matches the selector"
    assert completeness == pytest.approx(2 / 5)


def test_nested_list_of_objects_and_partial_rows() -> None:
    data, fields, completeness = run(
        "listing.html",
        FieldSpec(
            "deals",
            "tr.deal",
            multiple=True,
            fields=(
                FieldSpec("route", ".route", required=True),
                FieldSpec("price", ".price", type=FieldType.CURRENCY),
                FieldSpec("date", ".date", type=FieldType.DATE),
                FieldSpec("link", "a", attribute="href", type=FieldType.URL),
            ),
        ),
    )
    deals = data["deals"]
    assert len(deals) == 4
    assert deals[0] == {
        "route": "LIS → BER",
        "price": {"amount": 129.99, "currency": "USD"},
        "date": "2024-05-12",
        "link": "http://shop.test/deal/1",
    }
    assert deals[1]["price"] == {"amount": 399.0, "currency": "GBP"} and deals[1]["date"] == "2024-03-07"
    assert deals[2]["price"] == {"amount": 1099.0, "currency": "EUR"} and deals[2]["date"] == "2024-04-07"
    assert deals[3]["price"] is None and deals[3]["date"] is None and deals[3]["link"] is None
    assert fields["deals.price"].count == 3 and fields["deals.route"].count == 4
    # deals (1) + route (2, required) + price/date/link (3 x 3/4) over 1 + 2 + 3
    assert completeness == pytest.approx((1 + 2 + 3 * 0.75) / 6)


def test_coercion_failure_is_reported() -> None:
    _, fields, _ = run("listing.html", FieldSpec("first_route_as_number", ".route", type=FieldType.NUMBER))
    assert not fields["first_route_as_number"].found
    assert "no number" in fields["first_route_as_number"].error


def test_html_field_and_attribute_on_context() -> None:
    data, _, _ = run(
        "policy.html",
        FieldSpec("days", "#days", type=FieldType.INTEGER),
        FieldSpec("effective", ".effective", type=FieldType.DATE),
        FieldSpec("quote", "blockquote", type=FieldType.HTML),
        FieldSpec("links", "a", multiple=True, fields=(FieldSpec("href", attribute="href"), FieldSpec("text"))),
    )
    assert data["days"] == 30 and data["effective"] == "2024-07-01"
    assert data["quote"].startswith("<blockquote>")
    assert {"href": "/faq#returns", "text": "FAQ"} in data["links"]


def test_invalid_schemas_name_the_bad_field() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        validate_schema(
            "bad",
            (
                FieldSpec("ok", "h1"),
                FieldSpec("broken", "div[", pattern="("),
                FieldSpec("ok", "p"),
                FieldSpec("", "p"),
            ),
            LIMITS,
        )
    fields = {v.field for v in caught.value.violations}
    assert {
        "schema.fields[1].selector",
        "schema.fields[1].pattern",
        "schema.fields[2].name",
        "schema.fields[3].name",
    } <= fields
    with pytest.raises(InvalidArgumentError):
        validate_schema("empty", (), LIMITS)
    deep = FieldSpec("a", "p")
    for depth in range(6):
        deep = FieldSpec(f"l{depth}", "div", fields=(deep,))
    with pytest.raises(InvalidArgumentError) as too_deep:
        validate_schema("deep", (deep,), ExtractionLimits(max_depth=3))
    assert "nesting" in too_deep.value.message


def test_schema_round_trips_through_json() -> None:
    spec = FieldSpec(
        "deals", "tr", multiple=True, fields=(FieldSpec("price", ".p", type=FieldType.CURRENCY, required=True),)
    )
    assert FieldSpec.from_dict(spec.to_dict()) == spec
