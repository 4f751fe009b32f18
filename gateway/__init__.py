"""The LLM gateway service: the platform's only way to a large language model.

Reading order: server.py (composition root), service.py (gRPC) and http_front.py
(OpenAI-compatible HTTP), core.py (policy shared by both fronts), then the domain
modules (catalogue, routing, cache, single_flight, budget, usage, pii, validation,
openai_wire, http_wire, tokens, models, upstream), adapters/ (providers, Redis,
SQLite), config.py. embedded_llm.py launches the offline default model.
"""

__all__: list[str] = []
