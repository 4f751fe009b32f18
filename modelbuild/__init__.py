"""Build-time pipeline for the `text-encoder` and `news-topic` reference models.

Layer: build tooling. Only this package may import torch and transformers, and only inside
functions, so importing it stays cheap. Run it as
`python -m modelbuild --out DIR [--force]`, or call `build_models`.
"""

from __future__ import annotations

from modelbuild.builder import BuildResult, build_models

__all__ = ["BuildResult", "build_models"]
