"""PII detection and reversible redaction: emails, phone numbers, card numbers, IBANs.

Layer: shared core, domain level (pure). The gateway redacts before any cloud call
and restores the placeholders in the answer; the controller stores sensitive task
text redacted. Card numbers must pass the Luhn check and IBANs the ISO 13616
mod-97 check, so order numbers and dates are not mistaken for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Redaction", "redact", "restore"]

_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_CARD = re.compile(r"\b(?:\d[ -]?){12,18}\d\b")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){2,4}(?!\w)")


def _luhn(digits: str) -> bool:
    total, parity = 0, len(digits) % 2
    for i, ch in enumerate(digits):
        d = int(ch)
        if i % 2 == parity:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_ok(match: str) -> bool:
    digits = re.sub(r"\D", "", match)
    return 13 <= len(digits) <= 19 and _luhn(digits)


def _iban_ok(match: str) -> bool:
    compact = match.replace(" ", "")
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return 15 <= len(compact) <= 34 and int(numeric) % 97 == 1


_DATE = re.compile(r"^\d{4}[-./]\d{1,2}[-./]\d{1,2}$|^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$")


def _phone_ok(match: str) -> bool:
    digits = re.sub(r"\D", "", match)
    if not 8 <= len(digits) <= 15 or _DATE.match(match.strip()):
        return False
    # A bare run of digits is more often an order or account number than a phone number.
    separators = len(re.findall(r"[ .-]", match.strip()))
    return match.lstrip().startswith(("+", "(")) or separators >= 2


_KINDS: tuple[tuple[str, re.Pattern[str], Callable[[str], bool]], ...] = (
    ("EMAIL", _EMAIL, lambda m: True),
    ("IBAN", _IBAN, _iban_ok),
    ("CARD", _CARD, _card_ok),
    ("PHONE", _PHONE, _phone_ok),
)


@dataclass
class Redaction:
    """Redacted text and the placeholder -> original mapping needed to restore it."""

    text: str
    mapping: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        """Whether anything was redacted."""
        return bool(self.mapping)

    def counts(self) -> dict[str, int]:
        """Redactions per kind, e.g. {"EMAIL": 2}."""
        out: dict[str, int] = {}
        for placeholder in self.mapping:
            kind = placeholder.strip("[]").rsplit("_", 1)[0]
            out[kind] = out.get(kind, 0) + 1
        return out


def redact(text: str, mapping: dict[str, str] | None = None) -> Redaction:
    """Replace PII with stable placeholders like `[EMAIL_1]`.

    Args:
        text: Text to redact.
        mapping: Placeholders already assigned (e.g. earlier messages of the same
            request), so that the same value gets the same placeholder everywhere.
    """
    assigned = dict(mapping or {})
    by_value = {v: k for k, v in assigned.items()}
    for kind, pattern, valid in _KINDS:

        def swap(m: re.Match[str], kind: str = kind, valid: Callable[[str], bool] = valid) -> str:
            value = m.group(0)
            if value.startswith("[") or not valid(value):
                return value
            placeholder = by_value.get(value)
            if placeholder is None:
                n = sum(1 for p in assigned if p.startswith(f"[{kind}_")) + 1
                placeholder = f"[{kind}_{n}]"
                assigned[placeholder] = value
                by_value[value] = placeholder
            return placeholder

        text = pattern.sub(swap, text)
    return Redaction(text, assigned)


def restore(text: str, mapping: dict[str, str]) -> str:
    """Put the original values back in place of their placeholders."""
    for placeholder, value in mapping.items():
        text = text.replace(placeholder, value)
    return text
