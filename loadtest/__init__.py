"""Locust load tests over gRPC for agentplane."""

__all__: list[str] = []
