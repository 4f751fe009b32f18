"""Outbound I/O of the gateway: provider adapters (OpenAI-compatible, Anthropic), Redis cache, usage stores."""

__all__: list[str] = []
