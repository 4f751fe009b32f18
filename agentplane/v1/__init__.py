"""Generated protobuf and gRPC stubs for agentplane.v1. Do not edit.

Regenerate with `make gen` (scripts/gen_protos.py); inputs sha256 718a78bb24e14caebfb2b762fcbac2879279433ff0a8c8d1b1f6258d55d6da33.
"""
