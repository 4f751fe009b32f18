"""The gateway service of agentplane."""

__all__: list[str] = []
