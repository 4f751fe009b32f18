"""Outbound I/O of domain_inference: the Triton gRPC client and the in-process ONNX Runtime path.

Layer: adapters. Submodules are imported where used (`domain_inference.adapters.triton`,
`.local`, `.onnx_session`), so a Triton Python-backend model that needs only a session
does not import the gRPC client.
"""

__all__: list[str] = []
