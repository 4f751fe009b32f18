"""The realtime service of agentplane."""

__all__: list[str] = []
