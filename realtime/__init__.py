"""The realtime service of agentplane: polite, SSRF-safe fetching, extraction and watched sources."""

__all__: list[str] = []
