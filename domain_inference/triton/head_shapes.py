"""Output ranks of an ONNX graph, read with ONNX Runtime (the serving venv has no `onnx`).

Layer: deployment tooling. The repository generator needs them: a rank-1 output [batch]
becomes config dims [1] (with an empty reshape on native backends).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["head_output_ranks"]


def head_output_ranks(path: Path) -> dict[str, int]:
    """Output name -> rank of the graph at `path`.

    Raises:
        FileNotFoundError: `path` does not exist.
    """
    from domain_inference.adapters.onnx_session import open_session

    session = open_session(path, threads=1)
    return {output.name: len(output.shape) for output in session.get_outputs()}
