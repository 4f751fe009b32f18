"""Domain inference: topic classification and out-of-domain gating for agent tasks.

Layer: domain package. `tokenization` and `artifacts` are the serving side and import only
numpy and tokenizers. The top-level `modelbuild` package produces the artifacts they read
and is the only place that may import torch, transformers or scikit-learn; nothing here
imports it (an import-linter contract).
"""

__all__: list[str] = []
