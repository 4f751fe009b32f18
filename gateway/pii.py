"""PII redaction of whole chat requests before cloud calls, with the answer restored.

Layer: domain. Detection and placeholders are the shared core's (`agentplane.pii`:
emails, phone numbers, Luhn-checked card numbers, mod-97-checked IBANs, replaced by
`[EMAIL_1]`-style placeholders). This module applies it to a whole request with one
mapping, so the same value gets the same placeholder in every message and tool-call
argument, and restores the originals in an answer or, through `StreamRestorer`, in a
stream whose chunks may split a placeholder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from agentplane import pii
from gateway.config import PiiSettings
from gateway.models import ChatRequest, Message, ToolCall

__all__ = ["Redaction", "Redactor", "StreamRestorer"]

_MAX_PLACEHOLDER = len("[EMAIL_9999]")
_PARTIAL = re.compile(r"\[[A-Z]{0,5}_?\d{0,4}$")


@dataclass(slots=True)
class Redaction:
    """The placeholders of one request, to restore them in the answer."""

    request: ChatRequest
    """The request with PII replaced."""
    originals: dict[str, str]
    """Placeholder -> original value."""

    @property
    def changed(self) -> bool:
        """Whether anything was replaced."""
        return bool(self.originals)

    def restore(self, text: str) -> str:
        """Put the original values back in place of known placeholders."""
        if not self.originals or "[" not in text:
            return text
        return pii.restore(text, self.originals)

    def restore_calls(self, calls: tuple[ToolCall, ...]) -> tuple[ToolCall, ...]:
        """Restore placeholders in tool-call arguments."""
        return tuple(replace(c, arguments_json=self.restore(c.arguments_json)) for c in calls)

    def stream_restorer(self) -> StreamRestorer:
        """A restorer for a streamed answer."""
        return StreamRestorer(self)


class StreamRestorer:
    """Restores placeholders in a stream, holding back text that may be half a placeholder."""

    def __init__(self, redaction: Redaction) -> None:
        self._redaction = redaction
        self._held = ""

    def feed(self, text: str) -> str:
        """Take the next piece; return what can be shown now."""
        buf = self._held + text
        cut = buf.rfind("[")
        if cut != -1 and len(buf) - cut < _MAX_PLACEHOLDER and _PARTIAL.match(buf, cut):
            self._held = buf[cut:]
            buf = buf[:cut]
        else:
            self._held = ""
        return self._redaction.restore(buf)

    def flush(self) -> str:
        """Whatever is still held, at the end of the stream."""
        held, self._held = self._held, ""
        return self._redaction.restore(held)


class Redactor:
    """Redacts whole requests.

    Args:
        settings: PII settings (`always_for_cloud`).
    """

    def __init__(self, settings: PiiSettings) -> None:
        self.always_for_cloud = settings.always_for_cloud

    def redact(self, request: ChatRequest) -> Redaction:
        """A copy of `request` with PII replaced in every message and tool-call argument."""
        mapping: dict[str, str] = {}

        def scrub(text: str) -> str:
            nonlocal mapping
            if not text:
                return text
            result = pii.redact(text, mapping)
            mapping = result.mapping
            return result.text

        messages = []
        for msg in request.messages:
            calls = tuple(replace(c, arguments_json=scrub(c.arguments_json)) for c in msg.tool_calls)
            messages.append(Message(msg.role, scrub(msg.content), msg.name, calls, msg.tool_call_id))
        return Redaction(replace(request, messages=messages), mapping)
