"""Generated protobuf and gRPC stubs for agentplane.v1. Do not edit.

Regenerate with `make gen` (scripts/gen_protos.py); inputs sha256 8cde24cb87608760ab1e52465fa4d5b3d7ce889f05ed51d2d1487a0beb2a6db8.
"""
