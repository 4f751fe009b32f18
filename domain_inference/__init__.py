"""Domain inference: topic classification and out-of-domain gating for agent tasks.

Layer: domain package. `tokenization` and `artifacts` are the serving side and import only
numpy and tokenizers; `modelbuild` produces the artifacts they read and is the only place
that may import torch or transformers.
"""

__all__: list[str] = []
