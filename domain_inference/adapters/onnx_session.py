"""Open ONNX Runtime CPU sessions with explicit threading.

Layer: adapters (file I/O). Used by the in-process path and by the Triton Python-backend
models, so both run the graphs with the same options.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["open_session"]


def open_session(path: Path, *, threads: int, allow_spinning: bool = False) -> Any:
    """An onnxruntime CPU session for the graph at `path`.

    Args:
        path: ONNX file.
        threads: Intra-op threads (inter-op is always 1: these graphs are sequential).
        allow_spinning: Let idle worker threads spin; off leaves the cores to the other
            processes on a small machine.

    Returns:
        The `onnxruntime.InferenceSession`.

    Raises:
        FileNotFoundError: `path` does not exist.
    """
    import onnxruntime as ort

    if not path.is_file():
        raise FileNotFoundError(f"ONNX model not found: {path}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
