"""Request checks shared by Classify and Embed: how many texts, how long, none empty.

Layer: domain. Raises `InvalidArgumentError` with one field violation per bad text, so a
caller learns every problem of a request at once; nothing is sent to a model before the
whole request passed.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentplane.errors import FieldViolation, InvalidArgumentError
from domain_inference.config import RequestLimitSettings

__all__ = ["MAX_VIOLATIONS_LISTED", "validate_texts"]

MAX_VIOLATIONS_LISTED = 10


def validate_texts(texts: Sequence[str], limits: RequestLimitSettings) -> None:
    """Check a request's texts against the limits.

    Args:
        texts: The request's texts.
        limits: Configured request limits.

    Raises:
        InvalidArgumentError: No texts, too many, or some text is empty, blank or too long;
            each bad text is named by index (`texts[3]`).
    """
    if not texts:
        raise InvalidArgumentError(
            f"texts is empty: send between 1 and {limits.max_texts} texts",
            reason="NO_TEXTS",
            violations=[FieldViolation("texts", "at least one text is required")],
        )
    if len(texts) > limits.max_texts:
        raise InvalidArgumentError(
            f"too many texts: {len(texts)} > {limits.max_texts} per request; split the request",
            reason="TOO_MANY_TEXTS",
            metadata={"texts": str(len(texts)), "max_texts": str(limits.max_texts)},
            violations=[FieldViolation("texts", f"at most {limits.max_texts} texts per request")],
        )
    violations: list[FieldViolation] = []
    for index, text in enumerate(texts):
        if len(text) > limits.max_chars_per_text:
            violations.append(
                FieldViolation(
                    f"texts[{index}]",
                    f"{len(text)} characters > {limits.max_chars_per_text}; shorten it (the model reads "
                    "only its first tokens anyway)",
                )
            )
        elif not text.strip():
            violations.append(FieldViolation(f"texts[{index}]", "text is empty or only whitespace"))
    if violations:
        shown = "; ".join(f"{v.field}: {v.description}" for v in violations[:MAX_VIOLATIONS_LISTED])
        more = (
            f" (and {len(violations) - MAX_VIOLATIONS_LISTED} more)" if len(violations) > MAX_VIOLATIONS_LISTED else ""
        )
        raise InvalidArgumentError(
            f"{len(violations)} invalid text(s): {shown}{more}",
            reason="INVALID_TEXT",
            violations=violations,
        )
