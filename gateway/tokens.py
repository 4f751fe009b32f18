"""Token estimates for providers that report no usage (e.g. llama.cpp streams).

Layer: domain. About four characters per token for English text with BPE
tokenizers, plus a few tokens of chat-template overhead per message. Estimates
are marked as such in `Usage.estimated`; budgets use them rather than nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from gateway.models import Message

__all__ = ["estimate_prompt_tokens", "estimate_tokens"]

_CHARS_PER_TOKEN = 4
_PER_MESSAGE_OVERHEAD = 4


def estimate_tokens(text: str) -> int:
    """Approximate token count of a text."""
    return (len(text) + _CHARS_PER_TOKEN - 1) // _CHARS_PER_TOKEN


def estimate_prompt_tokens(messages: Iterable[Message]) -> int:
    """Approximate prompt tokens of a conversation, template overhead included."""
    return sum(estimate_tokens(m.content) + _PER_MESSAGE_OVERHEAD for m in messages) + 2
