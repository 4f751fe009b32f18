"""The controller service of agentplane."""

__all__: list[str] = []
