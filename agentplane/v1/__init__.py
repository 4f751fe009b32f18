"""Generated protobuf and gRPC stubs for agentplane.v1. Do not edit.

Regenerate with `make gen` (scripts/gen_protos.py); inputs sha256 3c048db3dd0c5f25b74c9f3a85b57195bbcac7d6e9ae5fbaf5ff89b9bcd032c0.
"""
